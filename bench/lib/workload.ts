/**
 * The service's write traffic for the benchmarks: a few clients inserting integration-log rows,
 * each insert timed, and the latency figures the benchmarks report about a time window.
 */
import pg from 'pg';
import { percentile } from '../support.js';

export const KOS_LOG = 'product_change.pc_kos_integration_log';

export interface Sample {
  start: number;
  ms: number;
  failed: boolean;
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
  /** Inserts that failed or took longer than one second. */
  failedOrOver1s: number;
}

export function latency(samples: readonly Sample[]): Latency {
  const ms = samples.map((s) => s.ms);
  return {
    n: samples.length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: ms.length ? Math.max(...ms) : NaN,
    failed: samples.filter((s) => s.failed).length,
    failedOrOver1s: samples.filter((s) => s.failed || s.ms > 1000).length,
  };
}

export interface InsertLoad {
  /** Inserts that started in [from, to] (performance.now() times). */
  between(from: number, to: number): Sample[];
  readonly samples: readonly Sample[];
  readonly errors: readonly string[];
  stop(): Promise<void>;
}

export interface InsertLoadOptions {
  clients?: number;
  /** Pause after each insert on each client. */
  pauseMs?: number;
  /** Stops by itself after this long (a bound on the loop), default 10 minutes. */
  maxMs?: number;
  table?: string;
}

/**
 * Clients inserting one integration-log row at a time (created_at defaults to now(), so rows land
 * in the current partition), like the service's KOS calls. 4 clients with a 40 ms pause is
 * about the plan's 100 transactions a second; a shorter pause samples the latency more often.
 */
export function startInserts(url: string, options: InsertLoadOptions = {}): InsertLoad {
  const clients = options.clients ?? 4;
  const pauseMs = options.pauseMs ?? 40;
  const table = options.table ?? KOS_LOG;
  const until = performance.now() + (options.maxMs ?? 600_000);
  const samples: Sample[] = [];
  const errors: string[] = [];
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, i) => {
    const c = new pg.Client({ connectionString: url, application_name: `pc-app-${i}` });
    c.on('error', () => undefined);
    await c.connect();
    while (!stopping && performance.now() < until) {
      const start = performance.now();
      let failed = false;
      try {
        await c.query(
          `INSERT INTO ${table} (request_id, integration_type, is_success, response_time_ms, request_data) VALUES ($1, 'PRODUCT_CHANGE', true, 120, '{"lineNumber":"010-0000-0000"}')`,
          [`BENCH-${i}`],
        );
      } catch (err) {
        failed = true;
        if (errors.length < 20) errors.push((err as Error).message);
      }
      samples.push({ start, ms: performance.now() - start, failed });
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
    await c.end();
  });
  return {
    between: (from, to) => samples.filter((s) => s.start >= from && s.start <= to),
    samples,
    errors,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmtMs = (ms: number) => (Number.isNaN(ms) ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
