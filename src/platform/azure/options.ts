import type { TokenCredential } from '@azure/core-auth';
import type { Logger } from '../log.js';

/** How clients are built; production passes nothing, tests point them at the emulator. */
export interface ClientFactoryOptions {
  /** Defaults to the Function App's identity (DefaultAzureCredential, loaded lazily). */
  credential?: TokenCredential;
  /** Extra CA certificate (PEM) to trust, e.g. the emulator's self-signed one. */
  tlsCa?: string;
  /** The SDKs' own retry for transient errors (5xx, network, Retry-After). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** Interval between status polls of long-running operations (the SDK default is 2 s, or Retry-After). */
  pollIntervalMs?: number;
  /** Waits of the Cost Management throttling policy; tests inject one that does not sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  log?: Logger;
}

/** Pipeline options every SDK client accepts. */
export function pipelineOptions(options: ClientFactoryOptions): { tlsOptions?: { ca: string }; retryOptions?: ClientFactoryOptions['retry'] } {
  return {
    ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
    ...(options.retry ? { retryOptions: options.retry } : {}),
  };
}
