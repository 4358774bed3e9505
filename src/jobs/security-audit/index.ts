import { z } from 'zod';
import { defineJob, type Action, type Finding, type JobContext } from '../../shared/job.js';
import { PLAN_SCHEMA } from '../../shared/plan.js';
import { errorMessage } from '../../platform/redact.js';
import { paramInt } from '../../shared/runner/run-job.js';
import { readSettings, type SettingsOf } from '../../platform/settings.js';
import { getAzure } from '../../platform/azure/index.js';
import { csvLogSource } from './csvlog-source.js';
import { azureLogSource } from './log-analytics.js';
import { checkManagedSecrets, checkServerTls, listLoginRoles } from './hygiene.js';
import { auditServerLog } from './log-checks.js';
import { applyLockouts, liftExpiredLockouts } from './lockout.js';
import { checkPrivilegeDrift } from './privileges.js';
import { securityServices, type LogWindow, type ServerLogSource } from '../../shared/security-services.js';
import { securityAuditSettings } from './settings.js';
import { checkVersionSupport } from '../../shared/postgres-lifecycle.js';
import { manifest } from './manifest.js';

export { securityAuditSettings } from './settings.js';
export type { ManagedSecret, ManagedSecretInventory, ServerLogEntry, ServerLogSource, LogWindow } from '../../shared/security-services.js';
export { SERVICE_NAMES } from '../../shared/security-services.js';

type Settings = SettingsOf<typeof securityAuditSettings>;

const params = z
  .object({
    mode: z
      .enum(['daily', 'weekly', 'all'], { message: 'expected daily, weekly or all' })
      .default('daily')
      .describe('daily: server log and privilege drift; weekly: account, secret and certificate review; all: both'),
    hours: paramInt(1, 24 * 35)
      .optional()
      .describe('read the last N hours of the server log instead of continuing from the last run (the read position stays where it was)'),
  })
  .strict();

/** Plan sections 4.1, 4.3.2 and the daily/weekly security checklists of 8.1.1 and 8.1.2. */
export const securityAudit = defineJob({
  ...manifest,
  params,
  settings: securityAuditSettings,
  async run(ctx, p) {
    const s = readSettings(securityAuditSettings, ctx.env);
    const services = securityServices(ctx.services);
    const findings: Finding[] = [];
    const actions: Action[] = [];
    const steps: Record<string, number> = {};
    const data: Record<string, unknown> = { mode: p.mode };
    const timed = async (name: string, fn: () => Promise<void>) => {
      const t = performance.now();
      try {
        await fn();
      } catch (err) {
        findings.push({ check: `${name}.error`, severity: 'critical', message: `${name} check could not run: ${errorMessage(err)}` });
      }
      steps[name] = Math.round(performance.now() - t);
    };

    // Lockouts end on time whatever the mode, so every run lifts the expired ones.
    await timed('lockouts', async () => {
      actions.push(...(await liftExpiredLockouts(ctx)));
    });

    if (p.mode !== 'weekly') {
      const logs = getAzure(ctx.services, 'logs').azure?.logs;
      const source = services.serverLog ?? (s.serverLogPath ? csvLogSource(s.serverLogPath, s.serverLogFiles) : logs ? azureLogSource(logs) : undefined);
      if (!source) {
        findings.push({
          check: 'logs.not-configured',
          severity: 'info',
          message: 'no server log source: failed logins, permission changes and client addresses were not reviewed (set DBOPS_SERVER_LOG_PATH, or configure Log Analytics in Azure)',
        });
      } else {
        await timed('serverLog', () => auditLog(ctx, source, s, p.hours, findings, actions, data));
      }
      await timed('privileges', async () => {
        // One session: the seven catalog reads are queued on it. Through the pool they would each
        // open a session of their own, four logins that cost more than the reads (and load the
        // server while the service runs).
        const drift = await ctx.db.withClient((client) => checkPrivilegeDrift(client, { schema: PLAN_SCHEMA, ignoredRoles: s.ignoredRoles }));
        findings.push(...drift.findings);
        data.privileges = { rolesCompared: drift.rolesCompared, objectsCompared: drift.objectsCompared, differences: drift.findings.length };
      });
    }

    if (p.mode !== 'daily') {
      const hygiene = { passwordExpiryDays: s.passwordExpiryDays, expiryWarningDays: s.expiryWarningDays, ignoredRoles: s.ignoredRoles, secretInventory: services.secretInventory };
      await timed('tls', async () => {
        const tls = await checkServerTls(ctx, hygiene);
        findings.push(...tls.findings);
        data.certificate = tls.certificate && { ...tls.certificate, validFrom: tls.certificate.validFrom.toISOString(), validTo: tls.certificate.validTo.toISOString() };
      });
      await timed('accounts', async () => {
        const loginRoles = await listLoginRoles(ctx, s.ignoredRoles);
        data.loginRoles = loginRoles;
        findings.push(...(await checkManagedSecrets(ctx, loginRoles, hygiene)));
      });
      // A server past Azure's standard support gets no new minor releases: security patches only, and paid.
      await timed('versionSupport', async () => {
        const [support] = await checkVersionSupport(ctx.db, ctx.now(), s.versionSupportSeverity);
        if (support) {
          findings.push(support);
          data.versionSupport = support.details;
        }
      });
    }

    const problems = findings.filter((f) => f.severity !== 'info');
    const done = actions.filter((a) => a.status === 'done').length;
    const planned = actions.filter((a) => a.status === 'planned').length;
    const acted = done || planned ? ` ${done ? `${done} lockout change(s) made` : ''}${done && planned ? ', ' : ''}${planned ? `${planned} planned (dry run)` : ''}.` : '';
    return {
      summary:
        (problems.length === 0
          ? `No security problems found (${p.mode}).`
          : `${problems.length} security finding${problems.length > 1 ? 's' : ''} (${p.mode}): ${problems
              .slice(0, 3)
              .map((f) => f.message)
              .join('; ')}${problems.length > 3 ? '; …' : ''}`) + acted,
      findings,
      actions,
      steps,
      data,
    };
  },
});

async function auditLog(
  ctx: JobContext,
  source: ServerLogSource,
  s: Settings,
  hours: number | undefined,
  findings: Finding[],
  actions: Action[],
  data: Record<string, unknown>,
): Promise<void> {
  const end = ctx.now();
  const earliest = new Date(end.getTime() - (hours ?? s.auditWindowHours) * 3_600_000);
  let start = earliest;
  if (hours === undefined) {
    const { rows } = await ctx.db.query<{ read_until: Date }>('SELECT read_until FROM ops.security_log_watermark WHERE source = $1', [source.id]);
    const readUntil = rows[0]?.read_until;
    if (readUntil && readUntil.getTime() >= earliest.getTime()) start = readUntil.getTime() < end.getTime() ? readUntil : end;
    else if (readUntil) {
      findings.push({
        check: 'logs.gap',
        severity: 'warning',
        message: `the server log from ${readUntil.toISOString()} to ${earliest.toISOString()} was not reviewed: the last run was more than ${s.auditWindowHours} h ago (run with --param hours=N to read further back)`,
        details: { from: readUntil.toISOString(), to: earliest.toISOString() },
      });
    }
  }
  const window: LogWindow = { start, end };
  const audit = await auditServerLog(source, {
    window,
    failedLoginThreshold: s.failedLoginThreshold,
    failedLoginWindowMinutes: s.failedLoginWindowMinutes,
    allowedSubnets: s.allowedSubnets,
    allowLoopback: s.allowLoopback,
    connectionRatePerMinute: s.connectionRatePerMinute,
    signal: ctx.signal,
  });
  const lockouts = await applyLockouts(ctx, audit.bursts, { personalRoles: s.personalRoles, lockoutMinutes: s.lockoutMinutes });
  for (const f of audit.findings) {
    const decision = f.check === 'login.failed' && f.target ? lockouts.decisions[f.target] : undefined;
    findings.push(decision ? { ...f, details: { ...f.details, lockout: decision } } : f);
  }
  findings.push(...lockouts.findings);
  actions.push(...lockouts.actions);
  data.serverLog = {
    source: source.id,
    window: { start: window.start.toISOString(), end: window.end.toISOString() },
    entriesRead: audit.entriesRead,
    failedLoginsByRole: audit.failedLoginsByRole,
    connectionsByAddress: audit.connectionsByAddress,
    peakMinute: audit.peakMinute,
    permissionChanges: audit.permissionChanges.length,
  };
  // An ad-hoc look back (hours) or a dry run leaves the daily read position alone.
  if (hours === undefined && !ctx.dryRun) {
    await ctx.db.query(
      `INSERT INTO ops.security_log_watermark (source, read_until, run_id, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (source) DO UPDATE SET read_until = excluded.read_until, run_id = excluded.run_id, updated_at = now()`,
      [source.id, end, ctx.runId],
    );
  }
}
