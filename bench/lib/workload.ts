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
  const table = options.table ?? KOS_LOG;
  return clientLoops<Sample>(url, { pauseMs: 40, ...options }, async (i, _n, timed) => {
    await timed(
      {},
      `INSERT INTO ${table} (request_id, integration_type, is_success, response_time_ms, request_data) VALUES ($1, 'PRODUCT_CHANGE', true, 120, '{"lineNumber":"010-0000-0000"}')`,
      [`BENCH-${i}`],
    );
  });
}

type Timed<S extends Sample> = (extra: Omit<S, keyof Sample>, text: string, values: unknown[]) => Promise<Array<Record<string, unknown>>>;

/**
 * `clients` sessions, each running `step` in a loop until stopped (or maxMs passed); every
 * query a step sends through `timed` is one sample, followed by the pause.
 */
function clientLoops<S extends Sample>(
  url: string,
  options: InsertLoadOptions,
  step: (client: number, n: number, timed: Timed<S>) => Promise<void>,
): { samples: S[]; errors: string[]; stop(): Promise<void> } {
  const pauseMs = options.pauseMs ?? 40;
  const until = performance.now() + (options.maxMs ?? 600_000);
  const samples: S[] = [];
  const errors: string[] = [];
  let stopping = false;
  const loops = Array.from({ length: options.clients ?? 4 }, async (_, i) => {
    const c = new pg.Client({ connectionString: url, application_name: `pc-app-${i}` });
    c.on('error', () => undefined);
    await c.connect();
    const timed: Timed<S> = async (extra, text, values) => {
      const start = performance.now();
      let failed = false;
      let rows: Array<Record<string, unknown>> = [];
      try {
        rows = (await c.query(text, values)).rows as Array<Record<string, unknown>>;
      } catch (err) {
        failed = true;
        if (errors.length < 20) errors.push(`${'op' in extra ? `${String(extra.op)}: ` : ''}${(err as Error).message}`);
      }
      samples.push({ ...extra, start, ms: performance.now() - start, failed } as S);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      return rows;
    };
    for (let n = 1; !stopping && performance.now() < until; n++) await step(i, n, timed);
    await c.end();
  });
  return {
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

export type ServiceOp = 'kos-insert' | 'request-insert' | 'status-update' | 'read-line' | 'read-customer' | 'read-kos';

export interface ServiceSample extends Sample {
  op: ServiceOp;
}

export interface ServiceLoad {
  readonly samples: readonly ServiceSample[];
  readonly errors: readonly string[];
  stop(): Promise<void>;
}

const HISTORY = 'product_change.pc_product_change_history';
/** The order a change request moves through; most end COMPLETED, a few FAILED (the sample data's mix). */
const NEXT_STATUS: Record<string, string> = { REQUESTED: 'VALIDATED', VALIDATED: 'PROCESSING' };

/**
 * The Product-Change service's traffic: each client, in turn, writes a KOS call log, creates a
 * change request and moves its open requests on (REQUESTED → VALIDATED → PROCESSING →
 * COMPLETED, 3 % FAILED), and reads through the plan's indexes (a line's requests by status,
 * a customer's latest requests, a request's KOS calls of the last week). Every query is timed.
 */
export function startServiceLoad(url: string, options: InsertLoadOptions = {}): ServiceLoad {
  const open = new Map<number, Array<{ id: string; status: string }>>();
  return clientLoops<ServiceSample>(url, { pauseMs: 15, ...options }, async (client, n, timed) => {
    const mine = open.get(client) ?? [];
    open.set(client, mine);
    const line = `010-${String((n * 7 + client) % 10000).padStart(4, '0')}-${String(n % 10000).padStart(4, '0')}`;
    const customer = `CUST${String((n * 31 + client) % 120000).padStart(6, '0')}`;
    await timed(
      { op: 'kos-insert' },
      `INSERT INTO ${KOS_LOG} (request_id, integration_type, is_success, response_time_ms, request_data) VALUES ($1, 'PRODUCT_CHANGE', true, $2, $3)`,
      [`LOAD-${client}-${n}`, 40 + (n % 400), JSON.stringify({ lineNumber: line })],
    );
    if (n % 3 === 0) {
      const made = await timed(
        { op: 'request-insert' },
        `INSERT INTO ${HISTORY} (line_number, customer_id, current_product_code, target_product_code) VALUES ($1, $2, 'PLAN_A', 'PLAN_B') RETURNING id`,
        [line, customer],
      );
      if (made[0]) mine.push({ id: String(made[0]['id']), status: 'REQUESTED' });
    }
    const req = mine.shift();
    if (req) {
      const next = NEXT_STATUS[req.status] ?? (n % 33 === 0 ? 'FAILED' : 'COMPLETED');
      await timed(
        { op: 'status-update' },
        `UPDATE ${HISTORY} SET process_status = $2::varchar, updated_at = now(), processed_at = CASE WHEN $2::varchar IN ('COMPLETED', 'FAILED') THEN now() END WHERE id = $1`,
        [req.id, next],
      );
      if (next === 'VALIDATED' || next === 'PROCESSING') mine.push({ id: req.id, status: next });
    }
    const sampleLine = `010-${String((n * 13) % 10000).padStart(4, '0')}-${String((n * 17) % 10000).padStart(4, '0')}`;
    await timed(
      { op: 'read-line' },
      `SELECT id, process_status, requested_at FROM ${HISTORY} WHERE line_number = $1 AND process_status = $2 AND requested_at > now() - interval '30 days' ORDER BY requested_at DESC LIMIT 20`,
      [sampleLine, 'COMPLETED'],
    );
    await timed({ op: 'read-customer' }, `SELECT id, line_number, process_status, requested_at FROM ${HISTORY} WHERE customer_id = $1 ORDER BY requested_at DESC LIMIT 20`, [customer]);
    await timed(
      { op: 'read-kos' },
      `SELECT id, is_success, response_time_ms, created_at FROM ${KOS_LOG} WHERE request_id = $1 AND integration_type = 'PRODUCT_CHANGE' AND created_at > now() - interval '7 days' ORDER BY created_at DESC LIMIT 10`,
      [`LOAD-${client}-${Math.max(1, n - 5)}`],
    );
  });
}

/** Milliseconds since the epoch, precise: comparable between the benchmark and its load process. */
export const clock = () => performance.timeOrigin + performance.now();

export interface RemoteLoad<S extends Sample> {
  /** Stops the load process and returns every sample, start times in clock() terms. */
  stop(): Promise<{ samples: S[]; errors: string[] }>;
}

/** Samples that started in [from, to] (clock() times). */
export const within = <S extends Sample>(samples: readonly S[], from: number, to: number): S[] => samples.filter((s) => s.start >= from && s.start <= to);

interface LoadChild {
  send(m: unknown): void;
  next(type: string): Promise<{ type: string; samples?: ServiceSample[]; errors?: string[] }>;
  exited: Promise<unknown>;
}
let child: Promise<LoadChild> | null = null;

async function loadChild(): Promise<LoadChild> {
  const { fork } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const proc = fork(fileURLToPath(new URL('./load-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    // Its stdout goes to stderr: with --json, stdout carries only the result.
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  const messages: Array<{ type: string; samples?: ServiceSample[]; errors?: string[] }> = [];
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  proc.on('message', (m) => {
    messages.push(m as (typeof messages)[number]);
    wake();
  });
  const exited = new Promise((resolve) => proc.once('exit', (code) => (wake(), resolve(code))));
  const next = async (type: string) => {
    for (;;) {
      const i = messages.findIndex((x) => x.type === type);
      if (i >= 0) return messages.splice(i, 1)[0]!;
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the load process exited before it sent "${type}"`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  await next('ready');
  return { send: (m) => proc.send(m as never), next, exited };
}

/**
 * Runs startInserts or startServiceLoad in a child process (one per benchmark, reused), so a
 * dbops job running in the benchmark's own process does not hold up the load's timing.
 * closeLoads() ends that process.
 */
export async function spawnLoad(kind: 'inserts', url: string, options?: InsertLoadOptions): Promise<RemoteLoad<Sample>>;
export async function spawnLoad(kind: 'service', url: string, options?: InsertLoadOptions): Promise<RemoteLoad<ServiceSample>>;
export async function spawnLoad(kind: 'inserts' | 'service', url: string, options: InsertLoadOptions = {}): Promise<RemoteLoad<Sample>> {
  child ??= loadChild();
  const c = await child;
  c.send({ type: 'start', spec: { kind, url, options } });
  await c.next('started');
  return {
    async stop() {
      c.send({ type: 'stop' });
      const m = await c.next('samples');
      return { samples: m.samples ?? [], errors: m.errors ?? [] };
    },
  };
}

/** Starts the load process now (it takes a second or two), while the benchmark sets up. */
export function warmLoads(): void {
  child ??= loadChild();
  child.catch(() => undefined);
}

export async function closeLoads(): Promise<void> {
  const c = await child?.catch(() => null);
  child = null;
  if (!c) return;
  c.send({ type: 'close' });
  await c.exited;
}
