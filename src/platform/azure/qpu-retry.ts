import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { sleep } from '../../shared/async.js';
import { AzureThrottledError } from './errors.js';

export const QPU_RETRY_HEADER = 'x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after';
export const QPU_RETRY_POLICY_NAME = 'dbopsCostManagementQpuRetry';

export interface QpuRetryOptions {
  /** Longest total wait across the retries of one call. */
  maxTotalWaitMs: number;
  /** Injected in tests so they need not wait for real. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each wait (logging). */
  onWait?: (ms: number, attempt: number) => void;
}

/** Seconds in the QPU header (or the standard Retry-After), as milliseconds. */
function retryAfterMs(headers: { get(name: string): string | undefined }): number | undefined {
  for (const name of [QPU_RETRY_HEADER, 'retry-after']) {
    const raw = headers.get(name);
    if (raw === undefined) continue;
    const seconds = Number(raw);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(raw);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

/**
 * Cost Management throttles per tenant by query-processing units and says when to come back in
 * its own header, which the SDKs' retry does not read. This policy waits as told and retries,
 * as long as the total wait stays within the bound; past it, it fails with a clear error
 * instead of outliving the function invocation.
 */
export function qpuRetryPolicy(options: QpuRetryOptions): PipelinePolicy {
  const wait = options.sleep ?? sleep;
  return {
    name: QPU_RETRY_POLICY_NAME,
    async sendRequest(request, next) {
      let waited = 0;
      for (let attempt = 1; ; attempt++) {
        const response = await next(request);
        if (response.status !== 429) return response;
        const ms = retryAfterMs(response.headers) ?? 10_000;
        if (waited + ms > options.maxTotalWaitMs) {
          throw new AzureThrottledError(
            'Cost Management query',
            new URL(request.url).pathname.replace(/\/providers\/Microsoft\.CostManagement\/.*$/i, '') || 'scope',
            429,
            'TooManyRequests',
            `throttled ${attempt} time(s); Azure asks to wait ${Math.round(ms / 1000)} s more, beyond the ${Math.round(options.maxTotalWaitMs / 1000)} s allowed (DBOPS_COST_MAX_THROTTLE_WAIT_SECONDS, waited ${Math.round(waited / 1000)} s). Cost Management allows 12 query units per 10 s per tenant: run the check later or at another time than other cost tools.`,
          );
        }
        options.onWait?.(ms, attempt);
        await wait(ms, request.abortSignal as AbortSignal | undefined);
        waited += ms;
      }
    },
  };
}
