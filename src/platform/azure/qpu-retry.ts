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

/**
 * Cost Management's own retry headers, one per limit it enforces (query-processing units, the
 * entity, the tenant, the client type). Several may come on one 429; the call can succeed only
 * once every limit named has passed, so the longest wins.
 */
export const COST_MANAGEMENT_RETRY_HEADERS = [
  QPU_RETRY_HEADER,
  'x-ms-ratelimit-microsoft.costmanagement-entity-retry-after',
  'x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after',
  'x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after',
];

function headerMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** The longest of Cost Management's retry headers, else the standard Retry-After, as milliseconds. */
export function retryAfterMs(headers: { get(name: string): string | undefined }): number | undefined {
  const own = COST_MANAGEMENT_RETRY_HEADERS.map((name) => headerMs(headers.get(name))).filter((ms): ms is number => ms !== undefined);
  return own.length > 0 ? Math.max(...own) : headerMs(headers.get('retry-after'));
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
