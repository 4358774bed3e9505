import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { versionUpgrade } from '../../src/jobs/version-upgrade/index.js';
import { loadSampleData } from '../../src/platform/db/sample-data.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { readServerVersion } from '../../src/shared/postgres-lifecycle.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { realDatabaseRestores, snapshotDatabase } from '../../src/local-azure/restore.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import { upgradeOnRealServer } from '../../src/local-azure/upgrade-copy.js';
import { jobRegistry } from '../../src/runtime.js';
import { adminUrl, createTestDatabase, testDeps, testPgMajor, type TestDatabase } from '../support/db.js';

const job = registerJob(versionUpgrade);

// The test server runs the run's major (DBOPS_TEST_PG_MAJOR, 14 by default); the rehearsals and
// the upgrade go to a later one: 17 (the default target) from 14 to 16, 18 from 17. From 18 there
// is no later target, so those tests are skipped there.
const runMajor = testPgMajor();
const target = runMajor < 17 ? 17 : 18;
/** A second target, for the upgrade Azure fails. */
const other = runMajor < 16 ? 16 : target;
const noLaterTarget = runMajor >= 18;

describe(`version-upgrade${noLaterTarget ? ` (rehearsal and upgrade tests skipped: PostgreSQL ${runMajor} has no later major to upgrade to)` : ''}`, () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  let major: number;
  let clock: Date;

  beforeAll(async () => {
    db = await createTestDatabase();
    await loadSampleData(db.pool, { months: 2, logsPerMonth: 200, changeRequests: 200, monthsAhead: 1 });
    major = (await readServerVersion(db.pool)).major;
    const snapshot = await snapshotDatabase(adminUrl(), db.name);
    emu = await startAzureEmulator();
    emu.postgres.hooks = realDatabaseRestores({ adminUrl: adminUrl(), snapshot });
    emu.postgres.server(emu.serverName).version = String(major);
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(`${db.name}_backup`)}`);
    await admin.end();
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query(`DELETE FROM ops.version_upgrade`);
    emu.clearFaults();
    clock = new Date();
  });

  const env = () => ({ ...emu.env, DBOPS_BACKUP_TEST_EMULATOR_TAGS: 'true' });
  const run = (params: Record<string, unknown>, options: { azure?: boolean; dryRun?: boolean; env?: Record<string, string> } = {}) =>
    runJob(job, params, testDeps(db, { env: { ...env(), ...options.env }, services: options.azure === false ? {} : { azure: emu.services(), jobs: jobRegistry }, now: () => clock }), { trigger: 'test', dryRun: options.dryRun ?? false });
  const copies = () => [...emu.postgres.servers.values()].filter((s) => s.tags?.purpose === 'dbops-restore-test').map((s) => s.name);
  const copyDatabases = async () => (await db.pool.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'restored\\_%'`)).rows.map((r) => r.datname);

  async function untilDone(params: Record<string, unknown>, max = 12): Promise<JobReport[]> {
    const reports: JobReport[] = [];
    do {
      if (reports.length >= max) throw new Error(`not done after ${max} runs: ${reports.slice(0, 3).map((r) => `${r.summary} ${JSON.stringify(r.findings.map((f) => f.message))}`).join(" | ")}`);
      reports.push(await run(params));
    } while (reports.at(-1)!.data.state !== 'done' && reports.at(-1)!.status !== 'failed');
    return reports;
  }

  it('refuses a target Azure does not offer, saying which it does', async () => {
    await expect(run({ plan: 'precheck', target: 13 })).rejects.toThrow(/target: expected a PostgreSQL major Azure offers as an upgrade target: 15, 16, 17, 18/);
  });

  it.skipIf(noLaterTarget)('precheck: names event triggers and views on pg_stat_activity as blockers, each with its remedy', async () => {
    await db.pool.query(`CREATE FUNCTION public.note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$`);
    await db.pool.query(`CREATE EVENT TRIGGER note_ddl ON ddl_command_end EXECUTE FUNCTION public.note_ddl()`);
    await db.pool.query(`CREATE VIEW public.who_is_on AS SELECT pid, usename FROM pg_stat_activity`);
    try {
      const report = await run({ plan: 'precheck', target });
      expect(report.status).toBe('critical');
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.blocker.event-trigger', target: 'note_ddl', remedy: expect.stringContaining('DROP EVENT TRIGGER "note_ddl"') }));
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.blocker.dependent-view', target: 'who_is_on', remedy: expect.stringContaining('DROP VIEW who_is_on') }));
      // The emulated replica must go and come back: said, with the DR gap.
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.replica', severity: 'warning', target: emu.replicaName, message: expect.stringContaining('disaster recovery has a gap') }));
      expect(report.data.storage).toMatchObject({ sizeGb: 256 });
    } finally {
      await db.pool.query('DROP EVENT TRIGGER note_ddl; DROP FUNCTION public.note_ddl(); DROP VIEW public.who_is_on');
    }
    const clean = await run({ plan: 'precheck', target }, { azure: false });
    expect(clean.findings.filter((f) => f.severity === 'critical')).toEqual([]);
    expect(clean.summary).toMatch(/No blocker dbops can see/);
  });

  it.skipIf(noLaterTarget)('rehearse: restores a copy, upgrades it through the PATCH, verifies it for real and deletes it; a copy still on the old major fails verification', async () => {
    const reports = await untilDone({ plan: 'rehearse', target });
    const last = reports.at(-1)!;
    const patch = emu.calls.find((c) => c.method === 'PATCH' && (c.body as { properties?: { createMode?: string } })?.properties?.createMode === 'Update');
    expect(patch).toMatchObject({ apiVersion: '2025-08-01', body: { properties: { version: String(target), createMode: 'Update' } } });
    expect(emu.postgres.upgrades.at(-1)).toMatchObject({ to: String(target), outcome: 'succeeded' });
    // The emulator's copy is a database on this test's server (the old major): the SQL says so.
    expect(last.data).toMatchObject({ state: 'done', result: 'failed', upgradeMeasured: 'exact' });
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.version', severity: 'critical', message: expect.stringContaining(`not ${target}`) }));
    expect(typeof last.data.upgradeSeconds).toBe('number');
    expect(copies()).toEqual([]);
    expect(await copyDatabases()).toEqual([]);
  });

  it.skipIf(noLaterTarget)("rehearse (dry run): the copy's restore point lags by backup-verification's setting, and nothing starts", async () => {
    const report = await run({ plan: 'rehearse', target }, { dryRun: true, env: { DBOPS_BACKUP_RESTORE_POINT_LAG_MINUTES: '30' } });
    expect(report.summary).toMatch(/dry run: nothing started/);
    expect(report.actions[0]?.description).toContain(`as of ${new Date(clock.getTime() - 30 * 60_000).toISOString()}`);
    expect(copies()).toEqual([]);
  });

  it.skipIf(noLaterTarget)('rehearse: a failed upgrade, restored by the service, fails the rehearsal and leaves no copy', async () => {
    emu.inject({ operation: 'servers.upgrade', kind: 'lro-fail', code: 'MajorVersionUpgradeFailed', message: 'pg_upgrade failed; the server was restored from the pre-upgrade snapshot' });
    const last = (await untilDone({ plan: 'rehearse', target: other })).at(-1)!;
    expect(last.data).toMatchObject({ state: 'done', result: 'failed' });
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.rehearsal.failed', severity: 'critical', message: expect.stringMatching(/Azure restored its pre-upgrade snapshot.*MajorVersionUpgradeFailed|pg_upgrade failed/) }));
    expect(emu.postgres.upgrades.at(-1)).toMatchObject({ to: String(other), outcome: 'failed-restored' });
    expect(copies()).toEqual([]);
  });

  it.skipIf(noLaterTarget)("rehearse: Azure's failing pre-check fails the rehearsal with its reason", async () => {
    emu.postgres.hooks.upgradePrecheck = () => 'extension timescaledb is not supported';
    try {
      const last = (await untilDone({ plan: 'rehearse', target })).at(-1)!;
      expect(last.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.rehearsal.failed', message: expect.stringContaining('timescaledb is not supported') }));
      expect(emu.postgres.upgrades.at(-1)).toMatchObject({ outcome: 'precheck-failed' });
      expect(copies()).toEqual([]);
    } finally {
      delete emu.postgres.hooks.upgradePrecheck;
    }
  });

  it.skipIf(noLaterTarget)('upgrade: refused without a recent passed rehearsal; with one, prints the plan until confirmed by name, then deletes the replica, upgrades and recreates it', async () => {
    const refused = await run({ plan: 'upgrade', target, confirm: emu.serverName });
    expect(refused.status).toBe('failed');
    expect(refused.summary).toMatch(new RegExp(`no successful rehearsal of PostgreSQL ${target} within 14 days`));
    await db.pool.query(
      `INSERT INTO ops.version_upgrade (kind, state, result, source_server, server_name, from_version, target_version, restore_point, started_at, deadline_at, finished_at, measurements)
       VALUES ('rehearsal', 'done', 'passed', $1, $1 || '-rt-x', $2, $5, $3, $3, $4, $4, '{"expectedDowntimeMinutes": 12.5}')`,
      [emu.serverName, String(major), new Date(clock.getTime() - 2 * 86_400_000), new Date(clock.getTime() - 86_400_000), String(target)],
    );
    const plan = await run({ plan: 'upgrade', target });
    expect(plan.status).toBe('ok');
    expect(plan.summary).toMatch(new RegExp(`Nothing done: add confirm=${emu.serverName}`));
    expect(plan.actions.map((a) => a.description)).toEqual([
      expect.stringContaining('record the restore point'),
      expect.stringContaining(`delete read replica ${emu.replicaName}`),
      expect.stringContaining('upgrade'),
      expect.stringContaining('verify the version'),
      expect.stringContaining(`recreate read replica ${emu.replicaName} in koreasouth (Standard_D2s_v3)`),
    ]);
    const wrong = await run({ plan: 'upgrade', target, confirm: 'some-other-server' });
    expect(wrong.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.confirm' }));
    expect(emu.postgres.server(emu.serverName).version).toBe(String(major));

    const reports = await untilDone({ plan: 'upgrade', target, confirm: emu.serverName });
    const steps = reports.flatMap((r) => r.findings.filter((f) => f.check === 'upgrade.step').map((f) => f.message));
    expect(steps[0]).toMatch(/restore point recorded: .*az postgres flexible-server restore/);
    expect(steps.some((m) => /read replica .* is being deleted for the upgrade: disaster recovery has a gap/.test(m))).toBe(true);
    expect(steps.some((m) => /recreated in koreasouth: disaster recovery is back/.test(m))).toBe(true);
    expect(emu.postgres.server(emu.serverName)).toMatchObject({ version: String(target), state: 'Ready', highAvailability: { mode: 'ZoneRedundant', state: 'Healthy' } });
    expect(emu.postgres.server(emu.replicaName)).toMatchObject({ replicationRole: 'AsyncReplica', location: 'koreasouth', sku: { name: 'Standard_D2s_v3' }, state: 'Ready' });
    const last = reports.at(-1)!;
    expect(last.data).toMatchObject({ state: 'done', rollback: [expect.stringContaining(`--restore-time`), expect.stringContaining('connection string')] });
    // The SQL sees the embedded server's major, not Azure's word: a real check.
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'upgrade.version', severity: 'critical' }));
  });

  describe.skipIf(noLaterTarget)('rehearse on a real server of the target major', () => {
    let upgraded: EmbeddedServer;
    beforeAll(async () => {
      upgraded = await startEmbeddedPostgres({ major: target });
      const real = await upgradeOnRealServer({ sourceAdminUrl: adminUrl(), target: upgraded });
      const restores = emu.postgres.hooks;
      emu.postgres.hooks = {
        ...restores,
        onUpgrade: real.onUpgrade,
        onDelete: async (server) => {
          await restores.onDelete?.(server);
          const database = server.tags?.['emulator-database'];
          if (database) await real.onDelete(database);
        },
      };
    }, 180_000);
    afterAll(async () => {
      await upgraded?.stop();
    });

    it(`the copy runs PostgreSQL ${target}: install-verification, the health check and the restore verification pass on it; the measured time is the expected downtime`, async () => {
      const reports = await untilDone({ plan: 'rehearse', target });
      const last = reports.at(-1)!;
      // The post-upgrade statements are actions like any other, each with its statement.
      expect(reports.flatMap((r) => r.actions)).toContainEqual(expect.objectContaining({ statement: 'ANALYZE', status: 'done' }));
      expect(last.findings.filter((f) => f.severity === 'critical'), last.summary).toEqual([]);
      expect(last.data).toMatchObject({ state: 'done', result: 'passed', upgradeMeasured: 'exact', copyVersion: expect.stringMatching(new RegExp(`^${target}\\.`)) });
      expect(last.data.jobs).toMatchObject({ 'install-verification': { problems: 0 }, 'health-check': { problems: 0 } });
      expect(typeof last.data.expectedDowntimeMinutes).toBe('number');
      expect(last.summary).toMatch(new RegExp(`^Rehearsal #\\d+ passed: .* upgraded from PostgreSQL \\d+ to ${target} .*expected downtime`));
      expect(copies()).toEqual([]);
    });
  });
});
