import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, registerJob, type Finding } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { channelsFromSettings, createNotifier, type NotifierConfig } from '../../src/notify/notifier.js';
import { notifySettings } from '../../src/notify/settings.js';
import { jobDatabase, runJob } from '../../src/shared/runner/run-job.js';
import { buildRuntime, providers } from '../../src/runtime.js';
import { createReachabilityNotifier } from '../../src/notify/notifier.js';
import { readSettings, SettingsError, type Env } from '../../src/platform/settings.js';
import { startAcsEmulator, type AcsEmulator } from '../support/acs-emulator.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';
import { startTeamsReceiver, type TeamsReceiver } from '../support/teams-receiver.js';
import { expectAdaptiveCardMessage } from './card-shape.js';

let findings: Finding[] = [];
let throwInJob = false;
const probe = registerJob(
  defineJob({
    name: 'alert-probe',
    title: 'alert probe',
    description: 'returns the findings the test sets',
    schedules: [],
    params: z.object({}),
    async run() {
      if (throwInJob) throw new Error('probe exploded');
      return { summary: `${findings.length} finding(s)`, findings };
    },
  }),
);

const crit = (check: string, target = 'product_change.pc_kos_integration_log', extra: Partial<Finding> = {}): Finding => ({
  check,
  severity: 'critical',
  target,
  message: `${check} is out of bounds`,
  value: 171,
  threshold: 150,
  ...extra,
});
const warn = (check: string, target = '', extra: Partial<Finding> = {}): Finding => ({ ...crit(check, target, extra), severity: 'warning', ...extra });

describe('alerts', () => {
  let db: TestDatabase;
  let teams: TeamsReceiver;
  let acs: AcsEmulator;
  let clock = new Date('2025-09-08T00:00:00Z');
  const log = memoryLogger();
  let env: Env;

  const config = (over: Partial<NotifierConfig> = {}): NotifierConfig => {
    const s = readSettings(notifySettings, env);
    return {
      channels: channelsFromSettings(s, log, { acsAgent: acs.agent, acsPollIntervalMs: 5 }),
      routes: s.routes,
      language: s.language,
      renotifyMinutes: s.renotifyMinutes,
      delivery: { timeoutMs: 1500, retries: 3, minBackoffMs: 5 },
      environment: 'prod',
      now: () => clock,
      ...over,
    };
  };
  const run = async (over: Partial<NotifierConfig> = {}) => {
    const deps = testDeps(db, { env, log, now: () => clock });
    deps.afterRun = [createNotifier(config(over))];
    return runJob(probe, {}, deps, { trigger: 'test' });
  };
  const deliveries = async () =>
    (
      await db.pool.query<{ kind: string; channel: string; status: string; attempts: number; check_name: string; error: string | null }>(
        `SELECT kind, channel, status, attempts, check_name, error FROM ops.alert_delivery ORDER BY id`,
      )
    ).rows;
  const sent = () => ({ teams: teams.received.length, email: acs.state.emails.length, sms: acs.state.sms.length });

  beforeAll(async () => {
    [db, teams, acs] = await Promise.all([createTestDatabase(), startTeamsReceiver(), startAcsEmulator()]);
    env = {
      DBOPS_TEAMS_WEBHOOK_URL: teams.url,
      DBOPS_ACS_ENDPOINT: acs.endpoint,
      DBOPS_ACS_ACCESS_KEY: acs.accessKey,
      DBOPS_ACS_EMAIL_SENDER: 'DoNotReply@dbops.example.com',
      DBOPS_ALERT_EMAIL_TO: 'dba@example.com,lead@example.com',
      DBOPS_ACS_SMS_FROM: '+18005550100',
      DBOPS_ALERT_SMS_TO: '+821012345678,+821087654321',
    };
  });
  afterAll(async () => {
    await Promise.all([db.drop(), teams.close(), acs.close()]);
  });
  beforeEach(async () => {
    findings = [];
    throwInJob = false;
    teams.received.length = 0;
    teams.faults.length = 0;
    acs.state.emails.length = 0;
    acs.state.sms.length = 0;
    acs.state.faults.email.length = 0;
    acs.state.faults.sms.length = 0;
    clock = new Date(clock.getTime() + 24 * 3600_000);
    await db.pool.query('TRUNCATE ops.alert_delivery, ops.alert_state');
  });

  it('alerts Teams and SMS when the database cannot be reached (plan 6.2.2), once, then the recovery', async () => {
    const reachability = createReachabilityNotifier(config());
    const attempt = (url: string) => {
      const deps = testDeps(db, { env, log, now: () => clock });
      return runJob(probe, {}, { ...deps, target: { kind: 'url', url }, settings: { ...deps.settings, connectTimeoutSeconds: 2 }, reachability }, { trigger: 'test' });
    };
    // The same server and database, refusing this login: a connection failure like any other.
    const down = (() => {
      const u = new URL(db.url);
      u.password = 'not-shown-pw';
      return u.toString();
    })();
    expect((await attempt(down)).status).toBe('failed');
    expect(sent()).toEqual({ teams: 1, email: 0, sms: 1 });
    expect(JSON.stringify(teams.received[0])).toMatch(/database\.unreachable/);
    expect(JSON.stringify([teams.received, acs.state.sms])).not.toContain('not-shown-pw');
    await attempt(down);
    expect(sent()).toEqual({ teams: 1, email: 0, sms: 1 });
    expect((await attempt(db.url)).status).toBe('ok');
    expect(sent()).toEqual({ teams: 2, email: 0, sms: 2 });
  });

  it('routes a critical finding to Teams and SMS, as a valid Adaptive Card, in Korean by default', async () => {
    findings = [crit('connections.total', '', { message: 'active connections above the limit', unit: 'connections' })];
    const report = await run();
    expect(report.status).toBe('critical');
    expect(sent()).toEqual({ teams: 1, email: 0, sms: 1 });
    const card = expectAdaptiveCardMessage(teams.received[0]);
    const text = JSON.stringify(card);
    expect(text).toContain('P2 심각');
    expect(text).toContain('171 connections (임계값 150 connections)');
    expect(text).toContain('우선 조치');
    expect(text).toContain('pg_stat_activity');
    expect(acs.state.sms[0]).toMatchObject({ from: '+18005550100', to: ['+821012345678', '+821087654321'] });
    expect(acs.state.sms[0]!.message).toMatch(/^\[P2 심각\] connections\.total — prod: active connections above the limit — 171 connections/);
    expect((await deliveries()).map((d) => `${d.channel}:${d.status}`).sort()).toEqual(['log:sent', 'sms:sent', 'teams:sent']);
  });

  it('sends failover events to Teams, SMS and e-mail (through the long-running e-mail send)', async () => {
    findings = [crit('failover.detected', 'phonebill-postgresql-prod', { message: 'zone-redundant HA failed over to zone 2', value: 74, threshold: 120, unit: 's' })];
    await run();
    expect(sent()).toEqual({ teams: 1, email: 1, sms: 1 });
    const email = acs.state.emails[0]!;
    expect(email.to).toEqual(['dba@example.com', 'lead@example.com']);
    expect(email.subject).toMatch(/^\[P1 심각\] failover\.detected/);
    expect(email.plainText).toContain('새 Primary가 쓰기 가능한지');
    // The SDK polled the operation until it succeeded.
    expect(acs.state.requests.filter((r) => r.path.startsWith('/emails/operations/')).length).toBeGreaterThanOrEqual(1);
  });

  it('sends replica lag to Teams and e-mail, a storage warning to Teams and e-mail, another warning to Teams only', async () => {
    findings = [crit('replica.lag', 'replica', { value: 420, threshold: 300, unit: 's' }), warn('storage.percent', '', { value: 81, threshold: 75, unit: '%' }), warn('cpu.percent')];
    await run();
    const byCheck = (await deliveries()).filter((d) => d.channel !== 'log').map((d) => `${d.check_name}→${d.channel}`).sort();
    expect(byCheck).toEqual(['cpu.percent→teams', 'replica.lag→email', 'replica.lag→teams', 'storage.percent→email', 'storage.percent→teams']);
  });

  it('does not resend a persisting finding, re-notifies after the interval, escalates at once, and sends a recovery when it clears', async () => {
    findings = [warn('deadlocks.per-hour', '', { value: 7, threshold: 5 })];
    await run();
    expect(sent().teams).toBe(1);

    clock = new Date(clock.getTime() + 5 * 60_000);
    await run();
    await run({ channels: channelsFromSettings(readSettings(notifySettings, env), log) }); // a restarted instance: state is in ops
    expect(sent().teams).toBe(1);

    clock = new Date(clock.getTime() + 241 * 60_000);
    await run();
    expect(sent().teams).toBe(2);
    expect(JSON.stringify(teams.received[1])).toContain('지속 중');

    findings = [crit('deadlocks.per-hour', '', { value: 40, threshold: 5 })];
    clock = new Date(clock.getTime() + 60_000);
    await run();
    expect(sent()).toMatchObject({ teams: 3, sms: 1 });
    expect(JSON.stringify(teams.received[2])).toContain('악화');

    findings = [];
    clock = new Date(clock.getTime() + 60_000);
    const report = await run();
    expect(report.status).toBe('ok');
    expect(sent()).toMatchObject({ teams: 4, sms: 2 });
    const recovery = JSON.stringify(teams.received[3]);
    expect(recovery).toContain('복구됨');
    expect(recovery).toContain('"color":"Good"');
    expect((await deliveries()).filter((d) => d.channel === 'teams').map((d) => d.kind)).toEqual(['alert', 'renotify', 'escalation', 'recovery']);
    const { rows } = await db.pool.query(`SELECT resolved_at IS NOT NULL AS resolved FROM ops.alert_state`);
    expect(rows).toEqual([{ resolved: true }]);

    // The same finding later opens a new alert.
    findings = [warn('deadlocks.per-hour')];
    await run();
    expect(sent().teams).toBe(5);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ops.alert_state`)).rows[0].n).toBe(2);
  });

  it('sends once when two instances handle the same finding at the same moment', async () => {
    findings = [warn('locks.blocking')];
    const report = await run(); // records the run; now replay its hook from two "instances"
    teams.received.length = 0;
    await db.pool.query('TRUNCATE ops.alert_delivery, ops.alert_state');
    const hookCtx = { db: jobDatabase(db.pool, db.target), log, env, services: {} };
    await Promise.all([createNotifier(config())(report, hookCtx), createNotifier(config())(report, hookCtx)]);
    expect(teams.received.length).toBe(1);
  });

  it('retries a channel that answers 500 three times, then 200', async () => {
    teams.faults.push(500, 500, 500);
    findings = [warn('cache.hit-ratio', '', { value: 87, threshold: 90, unit: '%' })];
    const report = await run();
    expect(report.status).toBe('warning');
    expect(sent().teams).toBe(1);
    expect((await deliveries()).find((d) => d.channel === 'teams')).toMatchObject({ status: 'sent', attempts: 4 });
  });

  it('bounds a channel that never answers: the job still succeeds, the failure is recorded, the next run tries again', async () => {
    teams.faults.push('hang', 'hang');
    acs.state.faults.sms.push('hang', 'hang');
    findings = [crit('connections.total'), crit('wraparound.age', 'product_change.pc_product_change_history')];
    // Unbounded, this run would never return (the test would time out); bounded, each attempt
    // ends at the per-send deadline and the run goes on.
    const report = await run({ delivery: { timeoutMs: 300, retries: 1, minBackoffMs: 5 } });
    expect(report.status).toBe('critical');
    const rows = await deliveries();
    const teamsRows = rows.filter((d) => d.channel === 'teams');
    expect(teamsRows[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(teamsRows[0]!.error).toMatch(/no answer within 300 ms/);
    // The dead channel is not tried again for the second finding in the same run.
    expect(teamsRows[1]).toMatchObject({ status: 'failed', attempts: 0 });
    expect(log.lines.some((l) => l.includes('alert send(s) failed'))).toBe(true);

    // Nothing reached anyone, so the alerts are still due: the next run sends them.
    clock = new Date(clock.getTime() + 5 * 60_000);
    await run();
    expect(sent()).toMatchObject({ teams: 2, sms: 2 });
  });

  it('retries SMS only to the numbers that were not reached', async () => {
    acs.state.faults.sms.push({ smsFailFor: ['+821087654321'] });
    findings = [crit('connections.total')];
    await run();
    expect(acs.state.sms.map((s) => s.to)).toEqual([['+821012345678'], ['+821087654321']]);
  });

  it('writes English when DBOPS_ALERT_LANGUAGE=en', async () => {
    findings = [warn('storage.percent', '', { value: 81, threshold: 75, unit: '%' })];
    await run({ language: 'en' });
    const card = JSON.stringify(teams.received[0]);
    expect(card).toContain('[P3 WARNING] storage.percent');
    expect(card).toContain('81 % (threshold 75 %)');
    expect(card).toContain('First step');
    expect(acs.state.emails[0]!.subject).toContain('[P3 WARNING]');
  });

  it('alerts on a failed run and resolves nothing because of it', async () => {
    findings = [warn('cpu.percent')];
    await run();
    throwInJob = true;
    const report = await run();
    expect(report.status).toBe('failed');
    const open = await db.pool.query(`SELECT check_name FROM ops.alert_state WHERE resolved_at IS NULL ORDER BY check_name`);
    expect(open.rows.map((r) => r.check_name)).toEqual(['cpu.percent', 'job.failed']);
  });

  it('ignores dry runs and informational findings', async () => {
    findings = [{ check: 'setting.differs', severity: 'info', message: 'shared_buffers differs' }];
    await run();
    const deps = testDeps(db, { env, log, now: () => clock });
    deps.afterRun = [createNotifier(config())];
    findings = [crit('connections.total')];
    await runJob(probe, {}, deps, { trigger: 'test', dryRun: true });
    expect(sent()).toEqual({ teams: 0, email: 0, sms: 0 });
  });

  it('never lets a secret out: not in cards, e-mail, SMS, logs or the delivery log', async () => {
    teams.faults.push(500, 500, 500, 500);
    findings = [crit('connections.total', '', { message: `login failed for postgres://app:${'Sup3rSecret'}Pw@db/x with token=abc123def`, remedy: `ALTER ROLE app PASSWORD 'Sup3rSecretPw'` })];
    await run({ delivery: { timeoutMs: 1000, retries: 3, minBackoffMs: 1 } });
    const everything = JSON.stringify([teams.received, acs.state.emails, acs.state.sms, log.lines, await deliveries()]);
    expect(everything).not.toContain('Sup3rSecret');
    expect(everything).not.toContain('abc123def');
    expect(everything).not.toContain(teams.signature);
    expect(everything).not.toContain(acs.accessKey);
  });

  it('is installed by createRuntime when a channel is configured, and explains bad settings', () => {
    const base = { DATABASE_URL: db.url };
    expect(buildRuntime(providers, { env: base, log }).afterRun).toHaveLength(0);
    const withTeams = buildRuntime(providers, { env: { ...base, DBOPS_TEAMS_WEBHOOK_URL: teams.url }, log });
    expect(withTeams.afterRun).toHaveLength(1);
    expect(log.lines.some((l) => l.includes('not configured') && l.includes('DBOPS_ALERT_SMS_TO'))).toBe(true);
    expect(() => buildRuntime(providers, { env: { ...base, DBOPS_TEAMS_WEBHOOK_URL: teams.url, DBOPS_ALERT_ROUTES: '[{"check":"x","channels":["pager"]}]' }, log })).toThrow(
      SettingsError,
    );
    expect(() => buildRuntime(providers, { env: { ...base, DBOPS_ALERT_SMS_TO: '010-1234-5678' }, log })).toThrow(/E\.164/);
  });
});
