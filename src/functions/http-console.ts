import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { manifests } from '../jobs/manifests.js';
import { createPool } from '../platform/db/connection.js';
import { loadConsoleData } from '../console/data.js';
import { escapeHtml } from '../console/html.js';
import { renderConsole } from '../console/render.js';
import { CONSOLE_HEADERS } from '../console/server.js';
import { errorMessage } from '../platform/redact.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

/** GET /api/console: the status page, server-rendered. */
export function consoleHandler(runtime: RuntimeSource) {
  return async (_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const deps = forInvocation(await runtime(), context);
    const pool = createPool(deps.target, { applicationName: 'dbops:console', lockTimeoutMs: 1000, statementTimeoutMs: 10_000, max: 2, connectTimeoutSeconds: 10, ...(deps.credential ? { credential: deps.credential } : {}) }, deps.log);
    try {
      const data = await loadConsoleData(pool, { jobs: manifests.map((j) => ({ name: j.name, title: j.title })), environment: deps.settings.environment });
      return { status: 200, headers: { ...CONSOLE_HEADERS }, body: renderConsole(data) };
    } catch (err) {
      return { status: 500, headers: { ...CONSOLE_HEADERS }, body: `<!doctype html><title>dbops</title><p>The status page could not be built: ${escapeHtml(errorMessage(err))}</p>` };
    } finally {
      await pool.end().catch(() => undefined);
    }
  };
}
