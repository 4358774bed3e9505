import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { saveSnapshot, type Counters } from '../../src/jobs/health-check/snapshot.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import { registerJob, type Finding, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
import { createTestDatabase, testDeps, testPgMajor, type TestDatabase } from '../support/db.js';
import { until } from '../support/replica.js';

const job = registerJob(healthCheck);
const quiet: Env = { DBOPS_TPS_WARNING_BELOW: '0' };

/** The instant the snapshot-based tests run at; earlier snapshots are laid out relative to it. */
const T = new Date('2031-05-14T09:00:00Z');
const before = (ms: number) => new Date(T.getTime() - ms);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** XIDs consumed to push ages past the lowered autovacuum_freeze_max_age (its minimum, 100,000) times the default 150 %. */
const FREEZE_MAX_AGE = 100_000;
const CONSUMED_XIDS = 160_000;

/**
 * Each condition produced for real on a server of this file's own, started with what the
 * shared test server does not have: prepared transactions, logical decoding (a slot with a
 * catalog_xmin), max_slot_wal_keep_size (a slot's safe_wal_size and wal_status), and a lowered
 * autovacuum_freeze_max_age (wraparound findings within a few seconds of consumed XIDs).
 */
describe('health-check: conditions produced on a real server', () => {
  let server: EmbeddedServer;
  let db: TestDatabase;
  let other: TestDatabase;
  const clients: pg.Client[] = [];
  const connect = async (url: string, application_name = 'dbops-test-condition') => {
    const c = new pg.Client({ connectionString: url, application_name });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const pidOf = async (c: pg.Client) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const run = (env: Env = {}, now?: Date) => runJob(job, {}, testDeps(db, { env: { ...quiet, ...env }, ...(now ? { now: () => now } : {}) }), { trigger: 'test' });
  const find = (r: JobReport, check: string, target?: string): Finding | undefined => r.findings.find((f) => f.check === check && (target === undefined || f.target === target));
  const all = (r: JobReport, check: string): Finding[] => r.findings.filter((f) => f.check === check);
  /** A baseline snapshot at `takenAt` holding the given counters, as an earlier run would have left it. */
  const baseline = (takenAt: Date, counters: Partial<Counters>) =>
    saveSnapshot(db.pool, { runId: null, takenAt, mode: 'daily', status: 'ok', metrics: {}, counters, problems: [] });

  beforeAll(async () => {
    server = await startEmbeddedPostgres({
      major: testPgMajor(),
      settings: {
        wal_level: 'logical',
        max_wal_senders: '5',
        max_replication_slots: '5',
        max_prepared_transactions: '5',
        max_slot_wal_keep_size: '48MB',
        wal_keep_size: '0',
        autovacuum_freeze_max_age: String(FREEZE_MAX_AGE),
      },
    });
    db = await createTestDatabase({ prefix: 'dbops_conditions', server: server.url() });
    other = await createTestDatabase({ prefix: 'dbops_elsewhere', migrated: false, server: server.url() });
  }, 120_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await db.pool.query('DELETE FROM ops.health_snapshot');
  });
  afterAll(async () => {
    await other?.drop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await server?.stop();
  });

  it('checkpoints: requested ones against timed ones since a snapshot two hours before', async () => {
    const { rows } = await db.pool.query<{ checkpointer: boolean }>(`SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL AS checkpointer`);
    const counters = async () =>
      (
        await db.pool.query<{ timed: string; requested: string; stats_reset: Date | null }>(
          rows[0]!.checkpointer
            ? 'SELECT num_timed AS timed, num_requested AS requested, stats_reset FROM pg_stat_checkpointer'
            : 'SELECT checkpoints_timed AS timed, checkpoints_req AS requested, stats_reset FROM pg_stat_bgwriter',
        )
      ).rows[0]!;
    // Checkpoints this test did not ask for (the CREATE DATABASEs before it request them, and
    // their statistics may land late; a timed one may fall in) are counted by the job as well:
    // the expected figures are read from the server around the run, not assumed.
    const start = await counters();
    await baseline(before(2 * HOUR), { checkpointsTimed: Number(start.timed), checkpointsRequested: Number(start.requested), checkpointerReset: start.stats_reset?.toISOString() ?? null });
    for (let i = 0; i < 3; i++) await db.pool.query('CHECKPOINT');
    await until(async () => Number((await counters()).requested) >= Number(start.requested) + 3, 'the checkpoints to be counted');
    const since = (c: { timed: string; requested: string }) => ({ requested: Number(c.requested) - Number(start.requested), total: Number(c.requested) + Number(c.timed) - Number(start.requested) - Number(start.timed) });
    const low = since(await counters());

    const report = await run({}, T);
    const high = since(await counters());
    const f = find(report, 'checkpoints');
    expect(f).toMatchObject({ severity: 'warning', threshold: 30, unit: '%', message: expect.stringMatching(/^\d+ of \d+ checkpoints over the last 2(\.0)? h were requested rather than timed/), remedy: expect.stringMatching(/raise max_wal_size/) });
    const [requested, total] = (/^(\d+) of (\d+)/.exec(f!.message) ?? []).slice(1).map(Number);
    expect(requested).toBeGreaterThanOrEqual(low.requested);
    expect(requested).toBeLessThanOrEqual(high.requested);
    expect(total).toBeGreaterThanOrEqual(low.total);
    expect(total).toBeLessThanOrEqual(high.total);
    expect(f?.value).toBeGreaterThanOrEqual(75);
  });

  it('rollback ratio and temporary files over the interval since a snapshot five minutes before', async () => {
    const stats = async () =>
      (
        await db.pool.query<{ xacts: string; rollbacks: string; temp_files: string; temp_bytes: string; stats_reset: Date | null }>(
          `SELECT xact_commit + xact_rollback AS xacts, xact_rollback AS rollbacks, temp_files, temp_bytes, stats_reset FROM pg_stat_database WHERE datname = current_database()`,
        )
      ).rows[0]!;
    const start = await stats();
    await baseline(before(5 * MINUTE), {
      statsReset: start.stats_reset?.toISOString() ?? null,
      transactions: Number(start.xacts),
      rollbacks: Number(start.rollbacks),
      tempFiles: Number(start.temp_files),
      tempBytes: Number(start.temp_bytes),
    });
    const worker = await connect(db.url);
    // 300 transactions, three in four rolled back; then a sort that spills past a tiny work_mem.
    await worker.query(`DO $$ BEGIN FOR i IN 1..300 LOOP PERFORM txid_current(); IF i % 4 = 0 THEN COMMIT; ELSE ROLLBACK; END IF; END LOOP; END $$`);
    await worker.query(`SET work_mem = '64kB'`);
    await worker.query('SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) s');
    await worker.end(); // a backend sends the last of its statistics when it exits
    await until(async () => {
      const now = await stats();
      return Number(now.rollbacks) >= Number(start.rollbacks) + 225 && Number(now.temp_files) > Number(start.temp_files);
    }, 'the rollbacks and the temporary file to be counted');

    const report = await run({ DBOPS_TEMP_BYTES_PER_HOUR_WARNING: '1000000' }, T);
    const rollback = find(report, 'rollback-ratio');
    expect(rollback).toMatchObject({ severity: 'warning', threshold: 10, unit: '%', message: expect.stringMatching(/% of \d+ transactions rolled back over the last 5(\.0)? min/) });
    expect(rollback?.value).toBeGreaterThan(50);
    const temp = find(report, 'temp-files');
    expect(temp).toMatchObject({ severity: 'warning', threshold: 1_000_000, unit: 'bytes/h', message: expect.stringMatching(/^[1-9]\d* temporary files? \(.+\) written by queries over the last 5(\.0)? min/), remedy: expect.stringMatching(/work_mem/) });
    expect(report.data['metrics']).toMatchObject({ 'temp-files.count': expect.any(Number), 'rollback.percent': rollback?.value });
  });

  it('locks by mode: a granted SHARE ROW EXCLUSIVE lock and an ACCESS EXCLUSIVE request queued behind it', async () => {
    await db.pool.query('CREATE TABLE public.locked (id int)');
    const holder = await connect(db.url, 'lock-holder');
    const waiter = await connect(db.url, 'lock-waiter');
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.locked IN SHARE ROW EXCLUSIVE MODE');
    await waiter.query('BEGIN');
    const waiting = waiter.query('LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE').catch(() => undefined);
    try {
      await until(async () => (await db.pool.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'`)).rows.length > 0, 'the ACCESS EXCLUSIVE request to wait');
      const quietReport = await run();
      // The size of the locked table comes from its page counts: no check waits behind the queue.
      expect(quietReport.findings.filter((f) => f.details?.['checkFailed'])).toEqual([]);
      expect(find(quietReport, 'locks.waiting')).toMatchObject({ severity: 'info', message: expect.stringMatching(/^1 lock request waiting/) });
      const report = await run({ DBOPS_LOCKS_WAITING_WARNING: '0', DBOPS_LOCK_TABLE_WARNING_PERCENT: '0' });
      const f = find(report, 'locks.waiting');
      expect(f).toMatchObject({ severity: 'warning', value: 1, threshold: 0, message: expect.stringMatching(/AccessExclusiveLock \d+ \(\+1 waiting\).*ShareRowExclusiveLock 1/), remedy: expect.stringMatching(/AccessExclusiveLock waiter/) });
      expect(f?.details?.['byMode']).toMatchObject({ ShareRowExclusiveLock: { granted: 1, waiting: 0 }, AccessExclusiveLock: expect.objectContaining({ waiting: 1 }) });
      expect(find(report, 'locks.table-full')).toMatchObject({ severity: 'warning', threshold: 0, message: expect.stringMatching(/of the lock table/) });
    } finally {
      await holder.query('ROLLBACK');
      await waiting;
      await waiter.query('ROLLBACK');
    }
  });

  it('transaction age across every database: an idle-in-transaction session in another database', async () => {
    const elsewhere = await connect(other.url, 'elsewhere-app');
    const pid = await pidOf(elsewhere);
    await elsewhere.query('BEGIN');
    await elsewhere.query('SELECT txid_current()');
    const target = `pid ${pid} (postgres, elsewhere-app) in ${other.name}`;
    // The sessions check covers only this database; the transactions check the whole server.
    const idle = await run({ DBOPS_IDLE_IN_TRANSACTION_WARNING_SECONDS: '0' });
    expect(find(idle, 'transactions.idle-in-transaction', target)).toMatchObject({ severity: 'warning', threshold: 0, remedy: `SELECT pg_terminate_backend(${pid})`, details: expect.objectContaining({ database: other.name }) });
    expect(all(idle, 'sessions.idle-in-transaction').filter((f) => f.target?.includes(`pid ${pid} `))).toEqual([]);
    const long = await run({ DBOPS_LONG_TRANSACTION_WARNING_SECONDS: '0' });
    expect(find(long, 'transactions.long', target)).toMatchObject({ severity: 'warning', message: expect.stringMatching(/has had a transaction open for .* \(idle in transaction for .*\): vacuum cannot clean up after it in any database/) });
    expect(long.data['metrics']).toMatchObject({ 'transactions.oldest-seconds': expect.any(Number) });
  });

  it('xmin horizon: a logical slot’s catalog_xmin, a prepared transaction and a session’s snapshot in another database, each named', async () => {
    const slot = 'dbops_test_decoding';
    const gid = 'dbops-test-forgotten';
    await db.pool.query('CREATE TABLE IF NOT EXISTS public.prepared_target (id int)');
    // The slot first: creating a logical slot waits for every transaction running then (a prepared one too).
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]);
    const preparer = await connect(db.url);
    try {
      await preparer.query('BEGIN');
      await preparer.query('INSERT INTO public.prepared_target VALUES (1)');
      await preparer.query(`PREPARE TRANSACTION '${gid}'`);
      const reader = await connect(other.url, 'snapshot-holder');
      const pid = await pidOf(reader);
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT count(*) FROM pg_class');
      // Twenty more transactions, so each holder is at least that many behind.
      await db.pool.query(`DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$`);

      const report = await run({ DBOPS_XMIN_HORIZON_WARNING_AGE: '10', DBOPS_IDLE_IN_TRANSACTION_WARNING_SECONDS: '0' });
      const holders = all(report, 'xmin-horizon');
      const kinds = (k: string) => holders.filter((f) => f.details?.['kind'] === k);
      expect(kinds('slot')).toEqual([expect.objectContaining({ severity: 'warning', target: `replication slot ${slot} (inactive) catalog_xmin`, remedy: `SELECT pg_drop_replication_slot('${slot}') -- if its consumer is gone for good` })]);
      expect(kinds('prepared')).toEqual([expect.objectContaining({ severity: 'warning', target: `prepared transaction '${gid}' in ${db.name} (owner postgres)`, remedy: `ROLLBACK PREPARED '${gid}' (connected to ${db.name})` })]);
      expect(kinds('session')).toEqual([expect.objectContaining({ severity: 'warning', target: expect.stringMatching(new RegExp(`^pid ${pid} \\(postgres, snapshot-holder\\) in ${other.name}, idle in transaction`)), remedy: `SELECT pg_terminate_backend(${pid})` })]);
      for (const h of holders) expect(h.value).toBeGreaterThanOrEqual(20);
      expect(find(report, 'prepared-transactions', gid)).toMatchObject({ severity: 'warning', remedy: expect.stringMatching(/^ROLLBACK PREPARED 'dbops-test-forgotten'/) });
      // The daily report's summary names every problem: the first two in full, the rest by check.
      expect(report.summary).toMatch(/^\d+ warnings: .*; also /);
      for (const f of report.findings.filter((x) => x.severity !== 'info')) expect(report.summary.includes(f.message) || report.summary.includes(f.check)).toBe(true);
    } finally {
      await db.pool.query(`ROLLBACK PREPARED '${gid}'`).catch(() => undefined);
      await db.pool.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    }
  });

  it('replication slots: safe_wal_size under the warning, then wal_status lost once a checkpoint removes the WAL it needs', async () => {
    const slot = 'dbops_test_lagging';
    await db.pool.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    try {
      // max_slot_wal_keep_size is 48MB here, so any safe_wal_size is under a 1 TB warning.
      const near = await run({ DBOPS_SLOT_SAFE_WAL_WARNING_BYTES: String(2 ** 40) });
      expect(find(near, 'replication.slot-wal', slot)).toMatchObject({ severity: 'warning', message: expect.stringMatching(/can fall only .* further behind before it loses WAL \(safe_wal_size/), details: expect.objectContaining({ walStatus: 'reserved' }) });
      expect(find(near, 'replication.inactive-slot', slot)).toMatchObject({ severity: 'warning' });

      await db.pool.query('CREATE TABLE IF NOT EXISTS public.wal_filler (id int)');
      for (let i = 0; i < 5; i++) {
        await db.pool.query('INSERT INTO public.wal_filler VALUES ($1)', [i]);
        await db.pool.query('SELECT pg_switch_wal()');
      }
      await db.pool.query('CHECKPOINT');
      await until(async () => (await db.pool.query<{ s: string }>('SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.s === 'lost', 'the slot to lose its WAL');
      const lost = await run();
      expect(find(lost, 'replication.slot-wal', slot)).toMatchObject({ severity: 'critical', message: expect.stringMatching(/has lost WAL its consumer still needs \(wal_status lost\)/), remedy: expect.stringMatching(/pg_drop_replication_slot/) });
      expect(lost.status).toBe('critical');
    } finally {
      await db.pool.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    }
  });

  it('per-table size and growth against a snapshot a week before, a partitioned table summed over its partitions', async () => {
    await db.pool.query(`CREATE TABLE public.growing (id int, pad text)`);
    await db.pool.query(`INSERT INTO public.growing SELECT g, repeat('g', 200) FROM generate_series(1, 20000) g`);
    await db.pool.query(`CREATE TABLE public.parted (id int, pad text) PARTITION BY RANGE (id)`);
    await db.pool.query(`CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (10000)`);
    await db.pool.query(`CREATE TABLE public.parted_2 PARTITION OF public.parted FOR VALUES FROM (10000) TO (20000)`);
    await db.pool.query(`INSERT INTO public.parted SELECT g, repeat('p', 200) FROM generate_series(0, 19999) g`);
    await db.pool.query('ANALYZE public.growing, public.parted');
    const size = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql)).rows[0]!.n);
    const growing = await size(`SELECT pg_total_relation_size('public.growing') AS n`);
    const parted = await size(`SELECT pg_total_relation_size('public.parted_1') + pg_total_relation_size('public.parted_2') AS n`);
    const database = await size('SELECT pg_database_size(current_database()) AS n');
    // A week before, the table was a quarter of its size and the database 70 MB smaller.
    await baseline(before(7 * DAY), { tableBytes: { 'public.growing': Math.round(growing / 4), 'public.parted': parted }, databaseBytes: database - 70 * 1024 * 1024 });

    const report = await run({ DBOPS_CAPACITY_WARNING_BYTES: String(database + 100 * 1024 * 1024) }, T);
    const growth = find(report, 'capacity.table-growth');
    expect(growth).toMatchObject({ severity: 'info', message: expect.stringMatching(/^fastest-growing tables over the last 168(\.0)? h: public\.growing .*\/day → .* in 6 months/) });
    const tables = growth?.details?.['tables'] as Array<{ table: string; bytes: number; bytesPerDay: number }>;
    expect(tables[0]).toMatchObject({ table: 'public.growing', bytes: growing, bytesPerDay: Math.round((growing - Math.round(growing / 4)) / 7) });
    expect(tables.find((t) => t.table === 'public.parted')).toMatchObject({ bytes: parted, bytesPerDay: 0 });
    expect(tables.some((t) => t.table.startsWith('public.parted_'))).toBe(false);
    // 10 MB a day for 182.5 days is well past a warning 100 MB above today's size.
    expect(find(report, 'capacity.projection')).toMatchObject({ severity: 'warning', unit: 'bytes', message: expect.stringMatching(/\+10(\.0)? MB a day over the last 168(\.0)? h: about .* in 6 months \(warning above/), remedy: expect.stringMatching(/storage/) });
  });

  it('wraparound under a lowered autovacuum_freeze_max_age: the database and its tables, with the session holding the horizon', async () => {
    const holder = await connect(other.url, 'horizon-holder');
    const pid = await pidOf(holder);
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT count(*) FROM pg_class');
    // Each loop turn is a transaction of its own (COMMIT in a DO block) with an XID assigned.
    await db.pool.query(`DO $$ BEGIN FOR i IN 1..${CONSUMED_XIDS} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`);

    const report = await run();
    const dbFinding = find(report, 'wraparound', db.name);
    expect(dbFinding).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(new RegExp(`of autovacuum_freeze_max_age ${FREEZE_MAX_AGE.toLocaleString('en')}\\); the oldest xmin is held by pid ${pid} \\(postgres, horizon-holder\\) in ${other.name}`)),
      details: expect.objectContaining({ freezeMaxAge: FREEZE_MAX_AGE }),
    });
    expect((dbFinding?.details as { percentOfFreezeMaxAge: number }).percentOfFreezeMaxAge).toBeGreaterThan(150);
    const tables = all(report, 'wraparound.table');
    expect(tables.length).toBeGreaterThan(0);
    expect(tables[0]).toMatchObject({ severity: 'warning', message: expect.stringMatching(new RegExp(`% of autovacuum_freeze_max_age: autovacuum has not frozen it; the oldest xmin is held by pid ${pid} `)), remedy: expect.stringMatching(/^VACUUM \(FREEZE, VERBOSE\)/) });
    // Multixacts were not consumed: their age stays apart and quiet.
    expect(all(report, 'wraparound.multixact').filter((f) => f.severity !== 'info')).toEqual([]);
  }, 60_000);
});
