import type { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { ConnectionTarget } from '../platform/db/connection.js';
import { parseServerUrl } from '../platform/db/server-url.js';
import type { Finding, JobDatabase, JobReport, JobServices } from '../shared/job.js';
import type { Logger } from '../platform/log.js';
import type { RunnerDeps } from '../shared/runner/run-job.js';
import { errorMessage } from '../platform/redact.js';
import { readSettings, type Env, type SettingsOf } from '../platform/settings.js';
import { emailChannel, logChannel, smsChannel, teamsChannel, type AcsConnection, type Channel } from './channels.js';
import { deliver, type DeliveryPolicy, type DeliveryResult } from './deliver.js';
import { renderAlert, type AlertEvent, type Language } from './messages.js';
import { channelsFor, type AlertSeverity, type ExternalChannel, type Route } from './routing.js';
import { notifySettings } from './settings.js';
import { claimSend, kindOf, recordDeliveries, releaseClaim, resolveAbsent, upsertOpenAlert, type DeliveryRecord, type OpenAlert } from './state.js';

export type AfterRunHook = NonNullable<RunnerDeps['afterRun']>[number];

export interface NotifierConfig {
  channels: Partial<Record<ExternalChannel, Channel>>;
  routes: readonly Route[];
  language: Language;
  renotifyMinutes: number;
  delivery: DeliveryPolicy;
  environment: string;
  now?: () => Date;
}

interface Planned {
  event: AlertEvent;
  channels: ExternalChannel[];
  /** For a claimed alert: what to restore if no channel takes it. */
  claim?: { claimedAt: Date; before: OpenAlert };
  alertId: number;
}

const key = (check: string, target: string) => `${check}\u0000${target}`;

/** The findings worth an alert: warnings and criticals, one per key (the worst), plus a failed run. */
export function alertingFindings(report: Pick<JobReport, 'findings' | 'status' | 'summary'>): Array<Finding & { severity: AlertSeverity; target: string }> {
  const byKey = new Map<string, Finding & { severity: AlertSeverity; target: string }>();
  const all: Finding[] = [...report.findings];
  if (report.status === 'failed') all.push({ check: 'job.failed', severity: 'warning', message: report.summary });
  for (const f of all) {
    if (f.severity !== 'warning' && f.severity !== 'critical') continue;
    const k = key(f.check, f.target ?? '');
    const prev = byKey.get(k);
    if (!prev || (prev.severity === 'warning' && f.severity === 'critical')) byKey.set(k, { ...f, severity: f.severity, target: f.target ?? '' });
  }
  return [...byKey.values()];
}

export function whereOf(target: ConnectionTarget): { server: string; database: string } {
  if (target.kind === 'entra') return { server: target.host, database: target.database };
  const u = parseServerUrl(target.url);
  return u ? { server: u.address, database: u.database || '(default)' } : { server: '(unparsable DATABASE_URL)', database: '' };
}

/**
 * The after-run hook that turns every finished report into alerts: new findings are sent once,
 * persisting ones again after the re-notify interval (at once when they get worse), cleared ones
 * get a recovery message. Dry runs and skipped runs change nothing; a failed run resolves nothing
 * (it did not look). Sends never throw into the job: every outcome lands in ops.alert_delivery.
 */
export function createNotifier(config: NotifierConfig): AfterRunHook {
  const now = config.now ?? (() => new Date());
  return async (report, { db, log }) => {
    if (report.dryRun || report.status === 'skipped') return;
    const at = now();
    const where = whereOf(db.target);
    const base = { job: report.job, environment: config.environment, ...where, runId: report.runId };
    const planned: Planned[] = [];

    const active = alertingFindings(report);
    for (const f of active) {
      const before = await upsertOpenAlert(db.query, { job: report.job, check: f.check, target: f.target, severity: f.severity, finding: f, now: at, runId: report.runId });
      if (!(await claimSend(db.query, before.id, at, config.renotifyMinutes))) continue;
      planned.push({
        alertId: before.id,
        event: { ...base, kind: kindOf(before, f.severity), check: f.check, target: f.target, severity: f.severity, finding: f, firstSeenAt: before.firstSeenAt },
        channels: channelsFor({ job: report.job, check: f.check, severity: f.severity }, config.routes),
        claim: { claimedAt: at, before },
      });
    }
    if (report.status !== 'failed') {
      // An info finding under the key of an open alert is how a job says "cleared, and here is
      // how it ended" (e.g. a failover's measured downtime): the recovery message carries it.
      const closing = new Map(report.findings.filter((f) => f.severity === 'info').map((f) => [key(f.check, f.target ?? ''), f]));
      for (const r of await resolveAbsent(db.query, report.job, active, at)) {
        if (r.lastSentAt === null) continue;
        const finding = closing.get(key(r.check, r.target)) ?? r.finding;
        planned.push({
          alertId: r.id,
          event: { ...base, kind: 'recovery', check: r.check, target: r.target, severity: r.severity, finding, firstSeenAt: r.firstSeenAt, resolvedAt: at },
          channels: channelsFor({ job: report.job, check: r.check, severity: r.severity }, config.routes),
        });
      }
    }
    if (planned.length === 0) return;

    const results = await sendAll(planned, config, log, at);
    await recordDeliveries(db.query, results.records);
    for (const p of planned) {
      if (!p.claim) continue;
      const external = results.records.filter((r) => r.alertId === p.alertId && r.channel !== 'log');
      if (external.length > 0 && external.every((r) => r.status === 'failed')) {
        await releaseClaim(db.query, p.alertId, p.claim.claimedAt, p.claim.before);
      }
    }
    const failed = results.records.filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      log.warn(`${failed.length} alert send(s) failed; recorded in ops.alert_delivery`, { channels: [...new Set(failed.map((r) => r.channel))] });
    }
  };
}

/**
 * Channels work in parallel, each through its alerts in order. A channel that failed every
 * attempt for one alert is not tried again in this run, so a dead channel costs one retry cycle
 * per run, not one per finding.
 */
async function sendAll(planned: readonly Planned[], config: NotifierConfig, log: Logger, at: Date): Promise<{ records: DeliveryRecord[] }> {
  const rendered = planned.map((p) => renderAlert(p.event, config.language, at));
  const records: DeliveryRecord[] = [];
  const record = (p: Planned, channel: string, r: DeliveryResult) =>
    records.push({ alertId: p.alertId, job: p.event.job, check: p.event.check, target: p.event.target, kind: p.event.kind, channel, ...r, runId: p.event.runId, at });

  const logs = logChannel(log);
  for (const [i, p] of planned.entries()) record(p, 'log', await deliver(logs, rendered[i]!, config.delivery, log));

  const names = [...new Set(planned.flatMap((p) => p.channels))].filter((n) => config.channels[n]);
  await Promise.all(
    names.map(async (name) => {
      const channel = config.channels[name]!;
      let dead: string | undefined;
      for (const [i, p] of planned.entries()) {
        if (!p.channels.includes(name)) continue;
        if (dead) {
          record(p, name, { status: 'failed', attempts: 0, error: `not tried: ${name} failed earlier in this run (${dead})`, durationMs: 0 });
          continue;
        }
        const result = await deliver(channel, rendered[i]!, config.delivery, log);
        record(p, name, result);
        if (result.status === 'failed') dead = result.error ?? 'failed';
      }
    }),
  );
  return { records };
}

export interface NotifierOptions {
  environment: string;
  now?: () => Date;
  /** The runtime's Azure credential, for Communication Services without an access key. */
  credential?: TokenCredential;
  /** Trust for a local ACS emulator (tests). */
  acsAgent?: Agent;
  acsPollIntervalMs?: number;
}

export type NotifySettings = SettingsOf<typeof notifySettings>;

/** Builds the configured channels; says once which are not configured and what they need. */
export function channelsFromSettings(s: NotifySettings, log: Logger, options: Pick<NotifierOptions, 'acsAgent' | 'acsPollIntervalMs' | 'credential'> = {}): NotifierConfig['channels'] {
  const channels: NotifierConfig['channels'] = {};
  const missing: string[] = [];
  if (s.teamsWebhookUrl) channels.teams = teamsChannel(s.teamsWebhookUrl);
  else missing.push('Teams (DBOPS_TEAMS_WEBHOOK_URL)');
  const acs: AcsConnection | undefined = s.acsEndpoint
    ? {
        endpoint: s.acsEndpoint,
        ...(s.acsAccessKey ? { accessKey: s.acsAccessKey } : {}),
        ...(options.credential ? { credential: options.credential } : {}),
        ...(options.acsAgent ? { agent: options.acsAgent } : {}),
        ...(options.acsPollIntervalMs !== undefined ? { pollIntervalMs: options.acsPollIntervalMs } : {}),
      }
    : undefined;
  if (acs && s.emailSender && s.emailTo.length > 0) channels.email = emailChannel(acs, s.emailSender, s.emailTo);
  else missing.push(`e-mail (${needs({ DBOPS_ACS_ENDPOINT: !!acs, DBOPS_ACS_EMAIL_SENDER: !!s.emailSender, DBOPS_ALERT_EMAIL_TO: s.emailTo.length > 0 })})`);
  if (acs && s.smsFrom && s.smsTo.length > 0) channels.sms = smsChannel(acs, s.smsFrom, s.smsTo);
  else missing.push(`SMS (${needs({ DBOPS_ACS_ENDPOINT: !!acs, DBOPS_ACS_SMS_FROM: !!s.smsFrom, DBOPS_ALERT_SMS_TO: s.smsTo.length > 0 })})`);
  if (Object.keys(channels).length > 0 && missing.length > 0) {
    log.info(`alerts: not configured: ${missing.join('; ')}; alerts routed there go to the log only`);
  }
  return channels;
}

function needs(flags: Record<string, boolean>): string {
  return `set ${Object.entries(flags)
    .filter(([, ok]) => !ok)
    .map(([name]) => name)
    .join(', ')}`;
}

/** The notifier for these settings, or undefined when no external channel is configured. Throws SettingsError on invalid ones. */
export function notifierFromEnv(env: Env, log: Logger, options: NotifierOptions): AfterRunHook | undefined {
  const config = notifierConfigFromEnv(env, log, options);
  return config ? createNotifier(config) : undefined;
}

/** The notifier configuration for these settings, or undefined when no external channel is configured. */
export function notifierConfigFromEnv(env: Env, log: Logger, options: NotifierOptions): NotifierConfig | undefined {
  // Invalid alert settings throw (SettingsError, like the core settings): running on without
  // the alerts someone configured would be silent.
  const s = readSettings(notifySettings, env);
  const channels = channelsFromSettings(s, log, options);
  if (Object.keys(channels).length === 0) return undefined;
  return {
    channels,
    routes: s.routes,
    language: s.language,
    renotifyMinutes: s.renotifyMinutes,
    delivery: { timeoutMs: s.sendTimeoutSeconds * 1000, retries: s.sendRetries, minBackoffMs: s.retryMinMs },
    environment: options.environment,
    ...(options.now ? { now: options.now } : {}),
  };
}

/** ctx.services key of the NotifyService (present when a channel is configured). */
export const NOTIFY_SERVICE = 'notify';

declare module '../shared/job.js' {
  interface JobServices {
    /** Alerts a running job sends before it finishes (present when a channel is configured). */
    notify?: NotifyService;
  }
}

export interface NotifyService {
  /**
   * Sends a running job's warning and critical findings now rather than after the run, through
   * the same routing, messages and de-duplication state as the after-run notifier: the run's
   * report then finds them already sent, and an info finding under the same check and target
   * in that report becomes their recovery message. Never throws; returns the delivery outcomes.
   */
  sendNow(findings: readonly Finding[], run: { job: string; runId: number | null; db: JobDatabase; log: Logger }): Promise<DeliveryRecord[]>;
}

export function createNotifyService(config: NotifierConfig): NotifyService {
  const now = config.now ?? (() => new Date());
  return {
    async sendNow(findings, { job, runId, db, log }) {
      try {
        const at = now();
        const base = { job, environment: config.environment, ...whereOf(db.target), runId };
        const planned: Planned[] = [];
        for (const f of alertingFindings({ findings: [...findings], status: 'ok', summary: '' })) {
          const before = await upsertOpenAlert(db.query, { job, check: f.check, target: f.target, severity: f.severity, finding: f, now: at, runId });
          if (!(await claimSend(db.query, before.id, at, config.renotifyMinutes))) continue;
          planned.push({
            alertId: before.id,
            event: { ...base, kind: kindOf(before, f.severity), check: f.check, target: f.target, severity: f.severity, finding: f, firstSeenAt: before.firstSeenAt },
            channels: channelsFor({ job, check: f.check, severity: f.severity }, config.routes),
            claim: { claimedAt: at, before },
          });
        }
        if (planned.length === 0) return [];
        const { records } = await sendAll(planned, config, log, at);
        await recordDeliveries(db.query, records);
        for (const p of planned) {
          const external = records.filter((r) => r.alertId === p.alertId && r.channel !== 'log');
          if (p.claim && external.length > 0 && external.every((r) => r.status === 'failed')) await releaseClaim(db.query, p.alertId, p.claim.claimedAt, p.claim.before);
        }
        return records;
      } catch (err) {
        log.warn('immediate alert failed; the run\'s report will be sent at its end', { error: errorMessage(err) });
        return [];
      }
    },
  };
}

/** The notify service a job was given, if alert channels are configured. */
export function getNotify(services: JobServices): NotifyService | undefined {
  return services.notify;
}

/**
 * When a job cannot reach its database there is no ops schema to keep alert state in, yet the
 * plan's first critical alert (§6.2.2, "데이터베이스 연결 실패") is exactly that. This sends a
 * `database.unreachable` critical through the same channels and routing, de-duplicated in this
 * process (once per re-notify interval per database), and a recovery when a run reaches the
 * database again. Several instances may each send once: for an outage that is the right error.
 */
export function createReachabilityNotifier(config: NotifierConfig): {
  unreachable(report: JobReport, target: ConnectionTarget, log: Logger): Promise<void>;
  reachable(report: JobReport, target: ConnectionTarget, log: Logger): Promise<void>;
} {
  const now = config.now ?? (() => new Date());
  const down = new Map<string, { firstSeenAt: Date; lastSentAt: Date; finding: Finding }>();
  const check = 'database.unreachable';
  const send = async (report: JobReport, target: ConnectionTarget, log: Logger, kind: 'alert' | 'renotify' | 'recovery', state: { firstSeenAt: Date; finding: Finding }) => {
    const where = whereOf(target);
    const at = now();
    const event: AlertEvent = {
      kind,
      job: report.job,
      check,
      target: `${where.server}/${where.database}`,
      severity: 'critical',
      finding: state.finding,
      firstSeenAt: state.firstSeenAt,
      ...(kind === 'recovery' ? { resolvedAt: at } : {}),
      environment: config.environment,
      ...where,
      runId: report.runId,
    };
    const { records } = await sendAll([{ alertId: 0, event, channels: channelsFor({ job: report.job, check, severity: 'critical' }, config.routes) }], config, log, at);
    const failed = records.filter((r) => r.status === 'failed');
    if (failed.length > 0) log.warn(`${failed.length} unreachable-database alert send(s) failed`, { channels: failed.map((r) => r.channel) });
  };
  return {
    async unreachable(report, target, log) {
      const where = whereOf(target);
      const k = `${where.server}/${where.database}`;
      const at = now();
      const seen = down.get(k);
      const finding: Finding = { check, severity: 'critical', target: k, message: report.summary };
      if (!seen) {
        const state = { firstSeenAt: at, lastSentAt: at, finding };
        down.set(k, state);
        await send(report, target, log, 'alert', state);
      } else if (config.renotifyMinutes > 0 && at.getTime() - seen.lastSentAt.getTime() >= config.renotifyMinutes * 60_000) {
        seen.lastSentAt = at;
        await send(report, target, log, 'renotify', { ...seen, finding });
      }
    },
    async reachable(report, target, log) {
      const where = whereOf(target);
      const k = `${where.server}/${where.database}`;
      const seen = down.get(k);
      if (!seen) return;
      down.delete(k);
      await send(report, target, log, 'recovery', seen);
    },
  };
}
