import pRetry from 'p-retry';
import type { Logger } from '../platform/log.js';
import { errorMessage } from '../platform/redact.js';
import { SendError, type Channel } from './channels.js';
import type { RenderedAlert } from './messages.js';

export interface DeliveryPolicy {
  /** Longest wait for one attempt. */
  timeoutMs: number;
  retries: number;
  minBackoffMs: number;
}

export interface DeliveryResult {
  status: 'sent' | 'failed';
  attempts: number;
  error?: string;
  durationMs: number;
}

/** Runs one attempt with a deadline, even against a channel that ignores its abort signal. */
async function withDeadline(attempt: (signal: AbortSignal) => Promise<void>, ms: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new SendError(`no answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    await Promise.race([attempt(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends with retries and exponential back-off; never throws: the outcome is returned to be recorded. */
export async function deliver(channel: Channel, alert: RenderedAlert, policy: DeliveryPolicy, log: Logger): Promise<DeliveryResult> {
  const attempt = channel.prepare(alert);
  const t0 = performance.now();
  let attempts = 0;
  try {
    await pRetry(
      async () => {
        attempts += 1;
        await withDeadline(attempt, policy.timeoutMs);
      },
      {
        retries: policy.retries,
        factor: 2,
        minTimeout: policy.minBackoffMs,
        maxTimeout: Math.max(policy.minBackoffMs, 30_000),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
          log.debug('alert send attempt failed', { channel: channel.name, attempt: attemptNumber, retriesLeft, error: errorMessage(error) }),
      },
    );
    return { status: 'sent', attempts, durationMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return { status: 'failed', attempts, error: errorMessage(err), durationMs: Math.round(performance.now() - t0) };
  }
}
