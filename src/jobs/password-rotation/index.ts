import { azureRequires, getAzure } from '../../platform/azure/index.js';
import { describeTarget } from '../../platform/db/connection.js';
import { defineJob, type Finding } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import type { ManagedRole } from '../../shared/rotation/managed-roles.js';
import { readSettings } from '../../platform/settings.js';
import { processRole, type RoleOutcome, type RotationRequest } from './rotate.js';
import { rotationParams, rotationSettings } from './settings.js';
import { manifest } from './manifest.js';

export { ROTATION_HOOKS_SERVICE, type RotationHooks } from './steps.js';

const describe = (o: RoleOutcome): string => {
  switch (o.outcome) {
    case 'rotated':
      return `${o.role}: rotated ${o.login} (version ${o.oldVersion ?? 'none'} → ${o.newVersion}), next expiry ${o.nextExpiry}`;
    case 'not-due':
      return `${o.role}: not due (${o.detail})`;
    case 'planned':
      return `${o.role}: ${o.detail} (dry run)`;
    default:
      return `${o.role}: ${o.outcome} — ${o.detail}`;
  }
};

/** Plan 4.3.2: database passwords rotated through Key Vault, staged, verified and recoverable. */
export const passwordRotation = defineJob({
  ...manifest,
  params: rotationParams,
  settings: rotationSettings,
  requires: azureRequires('keyVault'),
  fromSignal: (signal) =>
    signal.secret
      ? { secret: signal.secret.name, version: signal.secret.version, eventId: signal.id, eventTime: signal.time }
      : { eventId: signal.id },
  async run(ctx, p) {
    const { azure, missing } = getAzure(ctx.services, 'keyVault');
    if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}` };
    const settings = readSettings(rotationSettings, ctx.env);
    const hooks = ctx.services.passwordRotationHooks ?? {};

    let targets: ManagedRole[] = settings.roles;
    let request: RotationRequest = { force: false };
    if (p.role) {
      const m = settings.roles.find((r) => r.role === p.role);
      if (!m) {
        return {
          status: 'failed',
          summary: `${p.role} is not a managed role (managed: ${settings.roles.map((r) => r.role).join(', ') || 'none'}); add role=secret to DBOPS_ROTATION_ROLES.`,
        };
      }
      targets = [m];
      request = { force: true };
    } else if (p.secret) {
      const m = settings.roles.find((r) => r.secret.toLowerCase() === p.secret!.toLowerCase());
      if (!m) return { status: 'skipped', summary: `secret ${p.secret} is not managed by dbops; nothing to do.` };
      targets = [m];
      request = { force: false, event: { version: p.version ?? null, eventId: p.eventId, eventTime: p.eventTime ?? null } };
    } else if (p.eventId) {
      return { status: 'skipped', summary: `event ${p.eventId} names no secret; nothing to do.` };
    }

    const server = azure.settings.serverName ?? describeTarget(ctx.db.target);
    const findings: Finding[] = [];
    const steps: Record<string, number> = {};
    const outcomes: RoleOutcome[] = [];
    // One role at a time, under the job's advisory lock (taken by the runner).
    for (const managed of targets) {
      const t = performance.now();
      try {
        const o = await processRole({ ctx, secrets: azure.secrets, settings, server, hooks }, managed, request);
        outcomes.push(o);
        findings.push(...o.findings);
      } catch (err) {
        const message = `${managed.role}: ${errorMessage(err)}`;
        findings.push({ check: 'rotation.error', severity: 'critical', target: managed.role, message: `rotation could not run: ${message}`, remedy: 'the next run repairs whatever this run left; check Key Vault access and the role' });
        outcomes.push({ role: managed.role, secret: managed.secret, login: null, outcome: 'failed', detail: errorMessage(err), oldVersion: null, newVersion: null, steps: [], durationMs: Math.round(performance.now() - t), nextExpiry: null, findings: [] });
      }
      steps[managed.role] = Math.round(performance.now() - t);
    }
    return {
      summary: outcomes.map(describe).join('; ') || 'No managed roles configured (DBOPS_ROTATION_ROLES).',
      findings,
      steps,
      data: {
        mode: settings.dualRole ? 'dual' : 'single',
        roles: outcomes.map(({ findings: _f, ...rest }) => rest),
      },
    };
  },
});
