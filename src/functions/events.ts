import type { EventGridEvent, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { loadJob } from './jobs.js';
import { handleSignals } from '../events/handle.js';
import { SignalParseError } from '../events/normalize.js';
import { errorMessage } from '../platform/redact.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

const MAX_ALERT_BYTES = 256 * 1024;

/**
 * Event Grid trigger (Key Vault secret events, resource-group actions). A throw makes Event
 * Grid retry, so only infrastructure failures throw; a bad or foreign event is logged and
 * acknowledged.
 */
export function eventGridHandler(runtime: RuntimeSource) {
  return async (event: EventGridEvent, context: InvocationContext): Promise<void> => {
    const deps = forInvocation(await runtime(), context);
    const outcomes = await handleSignals(event, { source: 'eventgrid', trigger: 'eventgrid', deps, findJob: loadJob });
    for (const o of outcomes) deps.log.info(`event ${o.id}: ${o.outcome}${o.job ? ` ${o.job}` : ''}: ${o.reason}`);
  };
}

/** Seconds an action group is asked to wait before it sends an alert again. */
const ALERT_RETRY_AFTER_SECONDS = 10;

/** POST /api/alerts/resource-health: an action group's Azure Function receiver (common alert schema). */
export function alertHandler(runtime: RuntimeSource) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const deps = forInvocation(await runtime(), context);
    const text = Buffer.from(await request.arrayBuffer()).toString('utf8');
    if (text.length > MAX_ALERT_BYTES) return { status: 413, jsonBody: { error: 'alert payload too large' } };
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      deps.log.warn('rejected alert: the body is not JSON');
      return { status: 400, jsonBody: { error: 'The body is not JSON: send the common alert schema.' } };
    }
    try {
      const outcomes = await handleSignals(payload, { source: 'azure-monitor', trigger: 'alert', deps, findJob: loadJob });
      const unreadable = outcomes.filter((o) => o.outcome === 'unreadable');
      // Only an unreadable payload is refused: retrying it would not help.
      if (unreadable.length === outcomes.length) return { status: 400, jsonBody: { error: unreadable.map((o) => o.reason).join('; '), outcomes } };
      return { status: 200, jsonBody: { outcomes } };
    } catch (err) {
      if (err instanceof SignalParseError) return { status: 400, jsonBody: { error: err.message } };
      context.error(`alert handling failed: ${errorMessage(err)}`);
      // Action groups retry a webhook only on 408, 429, 503 and 504: 503 with Retry-After, so an
      // alert that could not be recorded (the database failing over, say) comes again.
      return {
        status: 503,
        headers: { 'Retry-After': String(ALERT_RETRY_AFTER_SECONDS) },
        jsonBody: { error: 'The alert could not be handled now; the action group will retry.' },
      };
    }
  };
}
