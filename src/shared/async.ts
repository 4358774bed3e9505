/** Waits `ms`; an abort ends the wait early by rejecting with the signal's reason. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason ?? new Error('aborted'))), { once: true });
  });

/**
 * `load` run once and its promise shared, until it rejects: the next call then tries again
 * (a lazily loaded SDK client or module that failed to load is not cached as failed).
 */
export function memoizeUntilRejected<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    (value ??= load().catch((err: unknown) => {
      value = undefined;
      throw err;
    }));
}
