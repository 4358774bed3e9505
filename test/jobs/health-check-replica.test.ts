import { setTimeout } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { measureReplicaLag } from '../../src/platform/db/replica-lag.js';
import { registerJob, type Finding, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { createTestDatabase, testDeps, urlFor, type TestDatabase } from '../support/db.js';
import { startStreamingPair, until, type StreamingPair } from '../support/replica.js';

const job = registerJob(healthCheck);

/**
 * A real streaming replica (test/support/replica.ts) on a primary of this file's own: the
 * replica's lag, its WAL receiver and the primary's slot findings in each state the pair goes
 * through — streaming, receiver stopped while the primary writes, streaming again, primary down.
 */
describe('health-check against a real streaming replica', () => {
  let pair: StreamingPair;
  let db: TestDatabase;
  let standby: pg.Pool;
  const find = (r: JobReport, check: string, target?: string): Finding | undefined => r.findings.find((f) => f.check === check && (target === undefined || f.target === target));
  const run = () =>
    runJob(job, {}, testDeps(db, { env: { DBOPS_TPS_WARNING_BELOW: '0', DBOPS_REPLICA_URL: urlFor(db.name, pair.standby.url()) } }), { trigger: 'test' });

  beforeAll(async () => {
    pair = await startStreamingPair();
    db = await createTestDatabase({ prefix: 'dbops_replica', server: pair.primary.url() });
    await db.pool.query('CREATE TABLE public.writes (id bigserial PRIMARY KEY, payload text)');
    await pair.caughtUp();
    standby = new pg.Pool({ connectionString: urlFor(db.name, pair.standby.url()), max: 2 });
    standby.on('error', () => undefined);
  }, 120_000);
  afterAll(async () => {
    await standby?.end();
    await db?.drop().catch(() => undefined);
    await pair?.stop();
  });

  it('streaming and caught up: no lag however long ago the last transaction was, the standby and its slot active', async () => {
    await pair.caughtUp();
    const report = await run();
    const lag = find(report, 'replica.lag');
    expect(lag).toMatchObject({ severity: 'info', value: 0, details: expect.objectContaining({ receiverStatus: 'streaming' }) });
    expect(find(report, 'replication.standby-lag', pair.standbyName)).toMatchObject({ severity: 'info', details: expect.objectContaining({ state: 'streaming' }) });
    expect(find(report, 'replication.inactive-slot')).toBeUndefined();
    expect(report.findings.filter((f) => f.check.startsWith('replica') && f.severity !== 'info')).toEqual([]);
    expect(report.data['metrics']).toMatchObject({ 'replica.streaming': 1, 'replication.standbys': 1, 'replication.slots': 1 });
  });

  it('receiver stopped while the primary writes: critical, with the bytes it has not received, and the slot inactive', async () => {
    await pair.stopReceiver();
    await db.pool.query(`INSERT INTO public.writes (payload) SELECT repeat('x', 200) FROM generate_series(1, 5000)`);
    const report = await run();
    const lag = find(report, 'replica.lag');
    expect(lag).toMatchObject({ severity: 'critical', message: expect.stringMatching(/streaming has stopped \(no WAL receiver is running\) while the primary keeps writing/) });
    const bytes = (lag?.details as { bytesBehind: number | null }).bytesBehind;
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(find(report, 'replication.inactive-slot', pair.slotName)).toMatchObject({ severity: 'warning', message: expect.stringMatching(/is inactive and keeps/), remedy: expect.stringMatching(/pg_drop_replication_slot/) });
    expect(find(report, 'replication.standby-lag')).toMatchObject({ severity: 'info', message: expect.stringMatching(/no standby is streaming/) });
    expect(report.status).toBe('critical');
  });

  it('streaming again: the standby catches up, lag is back to none and the slot is active', async () => {
    await pair.startReceiver();
    await pair.caughtUp();
    const report = await run();
    expect(find(report, 'replica.lag')).toMatchObject({ severity: 'info', value: 0 });
    expect(find(report, 'replication.inactive-slot')).toBeUndefined();
    expect(find(report, 'replication.standby-lag', pair.standbyName)?.severity).toBe('info');
  });

  it('hot_standby_feedback: a query held open on the standby holds the primary’s horizon through the slot’s xmin, named', async () => {
    await standby.query('ALTER SYSTEM SET hot_standby_feedback = on');
    await standby.query('SELECT pg_reload_conf()');
    const reader = await standby.connect();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT count(*) FROM public.writes');
      await db.pool.query(`DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$`);
      await until(
        async () => Number((await db.pool.query<{ age: string | null }>('SELECT age(xmin) AS age FROM pg_replication_slots WHERE slot_name = $1', [pair.slotName])).rows[0]?.age ?? 0) >= 20,
        'the standby’s feedback to reach the slot',
      );
      const report = await runJob(job, {}, testDeps(db, { env: { DBOPS_TPS_WARNING_BELOW: '0', DBOPS_XMIN_HORIZON_WARNING_AGE: '10', DBOPS_REPLICA_URL: urlFor(db.name, pair.standby.url()) } }), { trigger: 'test' });
      const held = find(report, 'xmin-horizon', `replication slot ${pair.slotName} xmin`);
      expect(held).toMatchObject({ severity: 'warning', details: { kind: 'slot' }, remedy: 'the slot’s consumer is behind: speed it up' });
      expect(held?.value).toBeGreaterThanOrEqual(20);
      expect(find(report, 'replica.hot-standby-feedback')).toMatchObject({ severity: 'info', message: expect.stringMatching(/hot_standby_feedback is on/) });
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      reader.release();
      await standby.query('ALTER SYSTEM RESET hot_standby_feedback');
      await standby.query('SELECT pg_reload_conf()');
    }
  });

  it('WAL in flight is not lag: a replica caught replaying is read again a moment later, and only one still behind reports the time since its last replayed transaction', async () => {
    const primary = new pg.Client({ connectionString: db.url });
    await primary.connect();
    try {
      await pair.caughtUp();
      await standby.query('SELECT pg_wal_replay_pause()');
      await db.pool.query(`INSERT INTO public.writes (payload) VALUES ('in flight')`);
      const backlog = async () => Number((await standby.query<{ n: string }>('SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS n')).rows[0]?.n ?? 0);
      await until(async () => (await backlog()) > 0, 'the standby to receive WAL it does not replay');
      // Paused through both reads: still replaying, behind by the time since its last replayed transaction.
      const behind = await measureReplicaLag(standby, { primary, silentAfterSeconds: 60, settleMs: 50 });
      expect(behind).toMatchObject({ condition: 'replaying' });
      expect(behind.lagSeconds).toBeGreaterThan(0);
      // Resumed between the two reads (what the job's own run record usually is): current, no lag.
      const resume = setTimeout(300).then(() => standby.query('SELECT pg_wal_replay_resume()'));
      const settled = await measureReplicaLag(standby, { primary, silentAfterSeconds: 60, settleMs: 1500 });
      await resume;
      expect(settled).toMatchObject({ condition: 'current', lagSeconds: 0 });
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await primary.end();
    }
  });

  it('primary stopped: the one replica module says streaming stopped (what failover-check reads mid-failover), and current once it is back', async () => {
    // The same measurement failover-check runs, without a primary to compare with (it is down).
    await pair.primary.stopProcess();
    try {
      await until(async () => (await measureReplicaLag(standby, { silentAfterSeconds: 60 })).condition !== 'current', 'the standby to notice the primary is gone');
      const down = await measureReplicaLag(standby, { silentAfterSeconds: 60 });
      expect(down).toMatchObject({ inRecovery: true, condition: 'stopped', bytesBehind: null });
      expect(down.explanation).toMatch(/streaming has stopped/);
    } finally {
      await pair.primary.startProcess();
    }
    await pair.caughtUp();
    const primary = new pg.Client({ connectionString: db.url });
    await primary.connect();
    try {
      // Idle primary, everything replayed: current, lag 0 (failover-check used to read the time
      // since the last replayed transaction here, which grows while nothing is written).
      const back = await measureReplicaLag(standby, { primary, silentAfterSeconds: 60 });
      expect(back).toMatchObject({ condition: 'current', lagSeconds: 0 });
      expect(back.bytesBehind).toBeLessThan(1_000_000);
    } finally {
      await primary.end();
    }
  });
});
