import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failoverCheck } from '../../src/jobs/failover-check/index.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import { handleSignals } from '../../src/events/handle.js';
import { registerJob } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { channelsFromSettings, createNotifier, createNotifyService, NOTIFY_SERVICE, type NotifierConfig } from '../../src/notify/notifier.js';
import { notifySettings } from '../../src/notify/settings.js';
import { runJob, type RunnerDeps } from '../../src/shared/runner/run-job.js';
import { readSettings, type Env } from '../../src/platform/settings.js';
import { startAcsEmulator, type AcsEmulator } from '../support/acs-emulator.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { azureExamplesDir } from '../support/azure-examples.js';
import { createTestDatabase, testDeps, testPgMajor, type TestDatabase } from '../support/db.js';
import { startTeamsReceiver, type TeamsReceiver } from '../support/teams-receiver.js';

const job = registerJob(failoverCheck);
const findJob = (name: string) => (name === job.name ? job : undefined);
const examples = azureExamplesDir;
const SERVER = 'phonebill-postgresql-prod';
const REPLICA = 'phonebill-postgresql-replica';

function resourceHealthAlert(target: string, options: { condition?: 'Fired' | 'Resolved'; alert?: string; at?: Date } = {}) {
  const payload = JSON.parse(readFileSync(join(examples, 'azuremonitor-commonAlertSchema-ResourceHealth-testaction.json'), 'utf8'));
  payload.data.essentials.alertId = `/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/${options.alert ?? 'fo-1'}`;
  payload.data.essentials.alertTargetIDs = [target];
  payload.data.essentials.monitorCondition = options.condition ?? 'Fired';
  payload.data.alertContext.properties = { title: 'Unplanned Failover Initiated', currentHealthStatus: 'Degraded', previousHealthStatus: 'Available', type: 'Downtime', cause: 'PlatformInitiated' };
  payload.data.alertContext.eventTimestamp = (options.at ?? new Date()).toISOString();
  return payload;
}

describe('failover-check', () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  let teams: TeamsReceiver;
  let acs: AcsEmulator;
  // The probed server is this file's own PostgreSQL, so it can be stopped while the runner's stays up.
  let probed: EmbeddedServer;
  let env: Env;
  const log = memoryLogger();

  const deps = (): RunnerDeps => {
    const s = readSettings(notifySettings, env);
    const config: NotifierConfig = {
      channels: channelsFromSettings(s, log, { acsAgent: acs.agent, acsPollIntervalMs: 5 }),
      routes: s.routes,
      language: 'en',
      renotifyMinutes: s.renotifyMinutes,
      delivery: { timeoutMs: 2000, retries: 2, minBackoffMs: 5 },
      environment: 'test',
    };
    const d = testDeps(db, { env, log, services: { azure: emu.services(), [NOTIFY_SERVICE]: createNotifyService(config) } });
    d.afterRun = [createNotifier(config)];
    return d;
  };
  const events = async () =>
    (await db.pool.query(`SELECT id, detected_by, status, downtime_ms::int AS downtime_ms, downtime_exact, zone_before, zone_after, probe_attempts, signal_id, ha_state_after, platform_resolved_at FROM ops.failover_event ORDER BY id`)).rows;
  const sent = () => ({ teams: teams.received.length, email: acs.state.emails.length, sms: acs.state.sms.length });

  beforeAll(async () => {
    [db, teams, acs, probed] = await Promise.all([createTestDatabase(), startTeamsReceiver(), startAcsEmulator(), startEmbeddedPostgres({ major: testPgMajor() })]);
    emu = await startAzureEmulator({ serverName: SERVER, replicaName: REPLICA });
    env = {
      ...emu.env,
      DBOPS_FAILOVER_PROBE_URL: probed.url(),
      DBOPS_FAILOVER_PROBE_MAX_DELAY_SECONDS: '1',
      DBOPS_FAILOVER_PROBE_TIMEOUT_SECONDS: '60',
      DBOPS_TEAMS_WEBHOOK_URL: teams.url,
      DBOPS_ACS_ENDPOINT: acs.endpoint,
      DBOPS_ACS_ACCESS_KEY: acs.accessKey,
      DBOPS_ACS_EMAIL_SENDER: 'DoNotReply@dbops.example.com',
      DBOPS_ALERT_EMAIL_TO: 'dba@example.com',
      DBOPS_ACS_SMS_FROM: '+18005550100',
      DBOPS_ALERT_SMS_TO: '+821012345678',
    };
  }, 60_000);
  afterAll(async () => {
    await Promise.all([db.drop(), emu.close(), teams.close(), acs.close(), probed.stop()]);
  });
  beforeEach(() => {
    emu.clearFaults();
  });

  it('a timer poll with nothing changed records the baseline and alerts nobody', async () => {
    const report = await runJob(job, { source: 'timer' }, deps(), { trigger: 'timer' });
    expect(report.status).toBe('ok');
    expect(report.summary).toMatch(/^No failover: phonebill-postgresql-prod: Ready, Primary, zone 1 \(standby 2\), HA ZoneRedundant\/Healthy/);
    expect(sent()).toEqual({ teams: 0, email: 0, sms: 0 });
    const { rows } = await db.pool.query(`SELECT state->>'zone' AS zone, last_commit_at IS NOT NULL AS heartbeat FROM ops.failover_watch WHERE server_name = $1`, [SERVER]);
    expect(rows).toEqual([{ zone: '1', heartbeat: true }]);
  });

  it('a Resource Health alert: alerts at once, probes while the database is down, measures the downtime, resolves with the figures', async () => {
    // The platform moved the primary to zone 2 (what ARM shows after an HA failover).
    const s = emu.postgres.server(SERVER);
    [s.availabilityZone, s.standbyAvailabilityZone] = ['2', '1'];
    await probed.stopProcess();
    const stoppedAt = new Date();
    const handled = handleSignals(resourceHealthAlert(emu.postgres.serverId(SERVER), { at: stoppedAt }), { source: 'azure-monitor', trigger: 'alert', deps: deps(), findJob });
    // The opening alert goes out while the database is still down.
    const deadline = Date.now() + 15_000;
    while (teams.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sent().teams).toBe(1);
    await new Promise((r) => setTimeout(r, 1000));
    await probed.startProcess();
    const restartedAt = new Date();
    const outcomes = await handled;

    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'ran', job: 'failover-check', status: 'ok' })]);
    const [event] = await events();
    expect(event).toMatchObject({ detected_by: 'alert', status: 'resolved', downtime_exact: true, zone_before: '1', zone_after: '2', ha_state_after: 'Healthy' });
    expect(event.probe_attempts).toBeGreaterThan(1);
    // The measured downtime covers the whole time the database was stopped.
    expect(event.downtime_ms).toBeGreaterThanOrEqual(restartedAt.getTime() - stoppedAt.getTime() - 50);

    // Started, then resolved, on every failover channel (Teams, SMS, e-mail), in that order.
    expect(sent()).toEqual({ teams: 2, email: 2, sms: 2 });
    const [first, second] = teams.received.map((m) => JSON.stringify(m));
    expect(first).toMatch(/P1 CRITICAL/);
    expect(first).toMatch(/measuring until the primary accepts writes/);
    expect(second).toMatch(/RESOLVED/);
    expect(second).toMatch(/writable again after \d+(\.\d)? s \(target 120 s, met\); zone 1 → 2; HA Healthy/);
    expect(acs.state.sms[0]!.message).toMatch(/P1 CRITICAL/);
    expect(acs.state.sms[1]!.message).toMatch(/RESOLVED/);
    expect(JSON.stringify(log.lines)).not.toContain(new URL(probed.url()).password);
  }, 60_000);

  it('duplicate delivery, another resource, a resolved alert and an unknown schema: no second run, no crash', async () => {
    const before = sent();
    const d = deps();
    const again = await handleSignals(resourceHealthAlert(emu.postgres.serverId(SERVER)), { source: 'azure-monitor', trigger: 'alert', deps: d, findJob });
    expect(again).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);
    const other = await handleSignals(resourceHealthAlert(emu.postgres.serverId('someone-elses-server'), { alert: 'fo-2' }), { source: 'azure-monitor', trigger: 'alert', deps: d, findJob });
    expect(other).toEqual([expect.objectContaining({ outcome: 'ignored' })]);
    const resolved = await handleSignals(resourceHealthAlert(emu.postgres.serverId(SERVER), { condition: 'Resolved' }), { source: 'azure-monitor', trigger: 'alert', deps: d, findJob });
    expect(resolved).toEqual([expect.objectContaining({ outcome: 'ran', status: 'ok' })]);
    const unknown = await handleSignals({ schemaId: 'AzureMonitorMetricAlert', data: {} }, { source: 'azure-monitor', trigger: 'alert', deps: d, findJob });
    expect(unknown).toEqual([expect.objectContaining({ outcome: 'unreadable' })]);
    const rows = await events();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.platform_resolved_at).not.toBeNull();
    expect(sent()).toEqual(before);
  });

  it('the poll notices a failover nobody signalled and measures it', async () => {
    const s = emu.postgres.server(SERVER);
    [s.availabilityZone, s.standbyAvailabilityZone] = ['1', '2'];
    await db.pool.query(`UPDATE product_change.pc_circuit_breaker_state SET state = 'OPEN', failure_count = 5, state_changed_at = now() WHERE service_name = 'KOS_SERVICE'`);
    const report = await runJob(job, { source: 'timer' }, deps(), { trigger: 'timer' });
    // Reported, not reset.
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'failover.circuit-breaker', severity: 'warning', target: 'KOS_SERVICE', value: 'OPEN' }));
    expect((await db.pool.query(`SELECT state FROM product_change.pc_circuit_breaker_state`)).rows).toEqual([{ state: 'OPEN' }]);
    expect(report.summary).toMatch(/poll saw primary zone 2 → 1 on phonebill-postgresql-prod: writable again within [\d.]+ s \(target 120 s, met\)/);
    expect((await events()).at(-1)).toMatchObject({ detected_by: 'timer', status: 'resolved', zone_before: '2', zone_after: '1' });
  });

  it('promote without confirm only plans, with this deployment\'s names', async () => {
    const report = await runJob(job, { plan: 'promote-replica' }, deps(), { trigger: 'cli' });
    expect(report.actions).toEqual([expect.objectContaining({ status: 'planned' })]);
    expect(report.summary).toContain(`add --param confirm=${REPLICA} to execute`);
    expect(report.summary).toContain(`az postgres flexible-server replica promote --resource-group ${emu.postgres.resourceGroup} --name ${REPLICA} --promote-mode standalone --promote-option planned`);
    expect(report.summary).toContain(`${REPLICA}.postgres.database.azure.com`);
    expect(emu.calls.filter((c) => c.operation === 'servers.update')).toEqual([]);
    const dry = await runJob(job, { plan: 'promote-replica', confirm: REPLICA }, deps(), { trigger: 'cli', dryRun: true });
    expect(dry.summary).toMatch(/dry run; nothing changed/);
    expect(emu.calls.filter((c) => c.operation === 'servers.update')).toEqual([]);
  });

  it('a failing promote is reported clearly', async () => {
    emu.inject({ operation: 'servers.update', kind: 'lro-fail', code: 'ReplicaPromoteFailed', message: 'The replica could not be promoted: source server unreachable.' });
    const report = await runJob(job, { plan: 'promote-replica', confirm: REPLICA }, deps(), { trigger: 'cli' });
    expect(report.status).toBe('critical');
    expect(report.summary).toMatch(/promote replica phonebill-postgresql-replica \(standalone, planned\) failed: .*ReplicaPromoteFailed|could not be promoted/);
    expect(emu.postgres.server(REPLICA).replicationRole).toBe('AsyncReplica');
    const { rows } = await db.pool.query(`SELECT outcome FROM ops.failover_operation ORDER BY id DESC LIMIT 1`);
    expect(rows[0]!.outcome).toMatch(/^failed/);
  });

  it('a planned switchover with confirm calls the promote and reports the result', async () => {
    const report = await runJob(job, { plan: 'switchover', confirm: REPLICA }, deps(), { trigger: 'cli' });
    expect(report.status).toBe('ok');
    expect(report.summary).toMatch(/promote replica phonebill-postgresql-replica \(switchover, planned\) succeeded/);
    expect(emu.postgres.server(REPLICA).replicationRole).toBe('Primary');
    expect(emu.postgres.server(SERVER).replicationRole).toBe('AsyncReplica');
    // Put the roles back for the drill.
    Object.assign(emu.postgres.server(REPLICA), { replicationRole: 'AsyncReplica', sourceServerName: SERVER });
    Object.assign(emu.postgres.server(SERVER), { replicationRole: 'Primary' });
    delete emu.postgres.server(SERVER).sourceServerName;
  });

  it('a drill restarts with planned failover only when confirmed, and reports its RTO against 60–120 s', async () => {
    const planned = await runJob(job, { plan: 'drill', confirm: 'not-the-server' }, deps(), { trigger: 'cli' });
    expect(planned.summary).toMatch(/does not name phonebill-postgresql-prod/);
    expect(emu.postgres.restarts).toEqual([]);
    const report = await runJob(job, { plan: 'drill', confirm: SERVER }, deps(), { trigger: 'cli' });
    expect(emu.postgres.restarts).toEqual([{ server: SERVER, failover: true, failoverMode: 'PlannedFailover' }]);
    expect(report.summary).toMatch(/^Drill: RTO \d+(\.\d)? s, faster than the plan's 60 s/);
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'failover.drill', severity: 'info' }));
    expect((await events()).at(-1)).toMatchObject({ detected_by: 'drill', status: 'resolved' });
  });

  it('a promote that outlives the invocation is kept, not failed, and the same command resumes it', async () => {
    const promotes = () => emu.calls.filter((c) => c.operation === 'servers.update').length;
    const before = promotes();
    emu.setOperationPolls(10_000);
    const first = await runJob(job, { plan: 'promote-replica', confirm: REPLICA }, deps(), { trigger: 'cli', deadlineMs: 300 });
    emu.setOperationPolls(0);
    expect(first.status).toBe('warning');
    expect(first.summary).toMatch(/is still running in Azure .*run the same command again to follow it/);
    expect(promotes()).toBe(before + 1);
    await emu.settleOperations(); // Azure finishes it while nobody watches.
    const second = await runJob(job, { plan: 'promote-replica', confirm: REPLICA }, deps(), { trigger: 'cli' });
    expect(second.status).toBe('ok');
    expect(second.summary).toMatch(/succeeded/);
    // Resumed, not started again.
    expect(promotes()).toBe(before + 1);
    const { rows } = await db.pool.query(`SELECT outcome FROM ops.failover_operation ORDER BY id DESC LIMIT 1`);
    expect(rows[0]!.outcome).toBe('succeeded');
    Object.assign(emu.postgres.server(REPLICA), { replicationRole: 'AsyncReplica', sourceServerName: SERVER });
  });

  it('the probe connects afresh each attempt and never leaves sessions on the probed server', async () => {
    const c = new pg.Client({ connectionString: probed.url() });
    await c.connect();
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'dbops:failover-check%'`);
    await c.end();
    expect(rows[0].n).toBe(0);
  });
});
