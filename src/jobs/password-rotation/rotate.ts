import type { KeyVaultSecrets } from '../../platform/azure/index.js';
import { onlyPlanned } from '../../shared/actions.js';
import { ident } from '../../platform/db/sql.js';
import type { Finding, JobContext } from '../../shared/job.js';
import type { ManagedRole } from '../../shared/rotation/managed-roles.js';
import { errorMessage } from '../../platform/redact.js';
import type { SettingsOf } from '../../platform/settings.js';
import { tryLogin } from './login.js';
import { newPassword, passwordFingerprint } from './policy.js';
import { advanceRecord, openRecord, openRecordFor, recentFingerprints } from './record.js';
import type { RotationParams, rotationSettings } from './settings.js';
import {
  alterStatement,
  expiryFrom,
  markCurrent,
  retireVersion,
  setPassword,
  storeVersion,
  testLogin,
  type Mode,
  type RotationHooks,
  type Step,
  type StepDeps,
  tags,
} from './steps.js';
import { CONTENT_TYPE, latestVersion, listVersions, readCredential, TAG, type Credential, type SecretVersion } from './vault.js';

export type RotationSettings = SettingsOf<typeof rotationSettings>;

export type RoleOutcomeKind = 'rotated' | 'planned' | 'not-due' | 'stale-event' | 'disabled' | 'missing-secret' | 'refused' | 'failed' | 'stuck';

export interface RoleOutcome {
  role: string;
  secret: string;
  login: string | null;
  outcome: RoleOutcomeKind;
  detail: string;
  oldVersion: string | null;
  newVersion: string | null;
  steps: Step[];
  durationMs: number;
  nextExpiry: string | null;
  findings: Finding[];
}

export interface RotationRequest {
  /** An operator named the role: rotate now whatever the expiry. */
  force: boolean;
  event?: Pick<RotationParams, 'version' | 'eventId' | 'eventTime'>;
}

interface Deps {
  ctx: JobContext;
  secrets: KeyVaultSecrets;
  settings: RotationSettings;
  server: string;
  hooks: RotationHooks;
}

const DAY = 86_400_000;
export const dualLogins = (role: string) => [`${role}_blue`, `${role}_green`] as const;

/**
 * One managed role: repair what an earlier run left, retire versions past their grace period,
 * decide whether a rotation is due, and rotate. Every path ends with Key Vault's newest version
 * signing in, or with a critical finding that says it does not and why.
 */
export async function processRole(deps: Deps, managed: ManagedRole, request: RotationRequest): Promise<RoleOutcome> {
  const { ctx, secrets, settings } = deps;
  const t0 = performance.now();
  const mode: Mode = settings.dualRole ? 'dual' : 'single';
  const d: StepDeps = { ctx, secrets, secret: managed.secret, role: managed.role, mode, server: deps.server, expiryDays: settings.expiryDays };
  const findings: Finding[] = [];
  const steps: Step[] = [];
  const out = (outcome: RoleOutcomeKind, detail: string, extra: Partial<RoleOutcome> = {}): RoleOutcome => ({
    role: managed.role,
    secret: managed.secret,
    login: null,
    outcome,
    detail,
    oldVersion: null,
    newVersion: null,
    steps,
    nextExpiry: null,
    ...extra,
    durationMs: Math.round(performance.now() - t0),
    findings,
  });
  const target = managed.role;

  const roleProblem = await prepareRoles(d, managed.role, mode);
  if (roleProblem) {
    findings.push({ check: 'rotation.role-missing', severity: 'critical', target, message: roleProblem });
    return out('failed', roleProblem);
  }

  let versions = await listVersions(secrets, managed.secret);
  let latest = await latestVersion(secrets, managed.secret, versions);

  // In dual-role mode a version naming the group role itself predates the mode (its login is
  // being retired): there is nothing to repair in it, only a first blue/green rotation to do.
  const repairable = latest && latest.enabled && (mode === 'single' || dualLogins(managed.role).some((l) => l === latest?.tags[TAG.login]) || latest.contentType === CONTENT_TYPE.dual);
  if (latest && repairable) {
    if (ctx.dryRun) {
      if (latest.state === 'pending') {
        await ctx.act(`finish or discard the interrupted rotation of ${managed.secret} (pending version ${latest.version})`, undefined, onlyPlanned);
      }
    } else {
      const repaired = await repair(d, latest, versions, findings);
      if (repaired) {
        versions = await listVersions(secrets, managed.secret);
        latest = await latestVersion(secrets, managed.secret, versions);
      }
    }
  }
  if (latest && latest.enabled && !ctx.dryRun) {
    const retired = await retireExpired(d, settings, latest, versions, findings);
    versions = versions.map((v) => (retired.has(v.version) ? { ...v, enabled: false } : v));
  }

  if (latest && !latest.enabled) {
    findings.push({ check: 'rotation.secret-disabled', severity: 'warning', target, message: `the newest version of ${managed.secret} is disabled: readers get nothing and dbops does not rotate it`, remedy: `enable it, or store the role's working password as a new version of ${managed.secret}` });
    return out('disabled', `${managed.secret} is disabled`, { oldVersion: latest.version });
  }
  const expires = latest?.expiresOn?.toISOString() ?? null;
  const base = { oldVersion: latest?.version ?? null, nextExpiry: expires };

  if (request.event) {
    const ev = request.event;
    const newer = latest?.createdOn && ev.eventTime ? latest.createdOn.getTime() > new Date(ev.eventTime).getTime() : false;
    if ((ev.version && latest && ev.version !== latest.version) || newer) {
      const detail = `event ${ev.eventId ?? ''} is about version ${ev.version ?? '?'}, but ${latest?.version ?? '?'} is current (rotated after the event): nothing to do`;
      findings.push({ check: 'rotation.event-stale', severity: 'info', target, message: detail });
      return out('stale-event', detail, base);
    }
  }
  if (!latest && !request.force) {
    findings.push({
      check: 'rotation.secret-missing',
      severity: 'warning',
      target,
      message: `Key Vault has no secret ${managed.secret}, so dbops does not know the password of ${managed.role} and leaves it alone`,
      remedy: `store the role's current password as ${managed.secret}, or create one now: dbops run password-rotation --param role=${managed.role}`,
    });
    return out('missing-secret', `${managed.secret} does not exist`);
  }
  if (latest && !request.force && !request.event) {
    const due = dueReason(latest, settings, ctx.now());
    if (!due) return out('not-due', `expires ${expires}`, base);
  }

  let current: Credential | null = null;
  if (latest) current = await readCredential(secrets, managed.secret, latest, managed.role);
  const login = mode === 'single' ? managed.role : idleLogin(managed.role, current);
  if (mode === 'dual') {
    const inUse = versions.filter((v) => v.enabled && v.version !== latest?.version && (v.tags[TAG.login] ?? managed.role) === login);
    if (inUse.length > 0) {
      const until = new Date((latest?.createdOn?.getTime() ?? ctx.now().getTime()) + settings.graceHours * 3_600_000).toISOString();
      const detail = `${login} is the idle login but version ${inUse[0]!.version} naming it is still within its grace period (until ${until}): readers may still use it`;
      findings.push({ check: 'rotation.idle-login-in-use', severity: 'warning', target, message: detail, remedy: `retry after ${until}` });
      return out('refused', detail, { ...base, login });
    }
  }

  if (ctx.dryRun) {
    const plan = mode === 'single' ? (['stage', 'set', 'test', 'finish'] as const) : (['set', 'test', 'stage', 'finish'] as const);
    const described: Record<Step, string> = {
      stage: `store a new generated password for ${login} as a version of ${managed.secret} tagged pending`,
      set: `set the password of ${login} (SCRAM-SHA-256 verifier)`,
      test: `sign in as ${login} with the new password`,
      finish: `mark the new version current, expiring in ${settings.expiryDays} days; disable the previous one after ${settings.graceHours} h`,
    };
    for (const step of plan) await ctx.act(described[step], step === 'set' ? alterStatement(login) : undefined, onlyPlanned);
    return out('planned', `would rotate ${login}`, { ...base, login });
  }

  return rotate(deps, d, managed, { latest, current, login, versions, steps, findings, eventId: request.event?.eventId ?? null }, out);
}

function dueReason(latest: SecretVersion, s: RotationSettings, now: Date): string | null {
  if (!latest.expiresOn) return 'it has no expiry date';
  if (latest.expiresOn.getTime() - s.windowDays * DAY <= now.getTime()) return `it expires on ${latest.expiresOn.toISOString()}`;
  if (latest.createdOn && now.getTime() - latest.createdOn.getTime() >= (s.expiryDays - s.windowDays) * DAY) return 'it is older than the policy allows';
  return null;
}

function idleLogin(role: string, current: Credential | null): string {
  const [blue, green] = dualLogins(role);
  return current?.login === blue ? green : blue;
}

/** The role must exist; in dual-role mode its two logins are created (no password yet) as its members. */
async function prepareRoles(d: StepDeps, role: string, mode: Mode): Promise<string | null> {
  const { rows } = await d.ctx.db.query<{ rolname: string; rolcanlogin: boolean; rolconnlimit: number; member: boolean }>(
    `SELECT r.rolname, r.rolcanlogin, r.rolconnlimit,
            EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname = $1) AS member
       FROM pg_roles r WHERE r.rolname = ANY($2)`,
    [role, [role, ...dualLogins(role)]],
  );
  const group = rows.find((r) => r.rolname === role);
  if (!group) return `role ${role} does not exist on this server`;
  if (mode === 'single') return group.rolcanlogin ? null : `role ${role} cannot log in (NOLOGIN): in single-role mode its own password is rotated`;
  for (const login of dualLogins(role)) {
    const existing = rows.find((r) => r.rolname === login);
    const limit = group.rolconnlimit;
    if (!existing) {
      const statement = `CREATE ROLE ${ident(login)} LOGIN INHERIT IN ROLE ${ident(role)} CONNECTION LIMIT ${limit}`;
      await d.ctx.act(`create login ${login} as a member of ${role}`, statement, () => d.ctx.db.query(statement));
    } else if (!existing.member) {
      const statement = `GRANT ${ident(role)} TO ${ident(login)}`;
      await d.ctx.act(`make ${login} a member of ${role}`, statement, () => d.ctx.db.query(statement));
    }
  }
  return null;
}


/**
 * Makes Key Vault's newest version sign in. A pending version is what a run left between steps:
 * the database is asked which password it accepts, and the rotation is finished (pending signs
 * in) or discarded (the previous one does). A current version that does not sign in means the
 * password was changed outside dbops: Key Vault is the source of truth, so the role gets it back.
 * Returns true when it changed anything.
 */
async function repair(d: StepDeps, latest: SecretVersion, versions: readonly SecretVersion[], findings: Finding[]): Promise<boolean> {
  const open = await openRecordFor(d.ctx.db, d.secret);
  const cred = await readCredential(d.secrets, d.secret, latest, d.role);
  const works = (await tryLogin(d.ctx.withServer, d.ctx.db.target, cred)) === null;
  if (works && latest.state !== 'pending') {
    // A record left open before anything reached Key Vault (dual-role mode sets the idle login
    // first): the idle login's password is unknown, which is harmless; the next rotation sets it.
    if (open && open.newVersion !== latest.version) {
      await advanceRecord(d.ctx.db, open.id, 'discarded', { note: 'interrupted before its password was stored; nothing to undo' });
      return true;
    }
    return false;
  }
  if (latest.state === 'pending') {
    const settled = await settle(d, latest, previousOf(latest, versions), open?.id ?? null);
    findings.push({
      check: settled.ok ? 'rotation.recovered' : 'rotation.stuck',
      severity: settled.ok ? 'info' : 'critical',
      target: d.role,
      message: `an interrupted rotation of ${d.secret} (pending version ${latest.version}) was ${settled.detail}`,
    });
    return true;
  }
  // Current, yet the database refuses it.
  const fixed = await restorePassword(d, cred);
  findings.push(
    fixed
      ? { check: 'rotation.drift', severity: 'warning', target: d.role, message: `the password in ${d.secret} (version ${latest.version}) did not sign in as ${cred.login}; it was set on the role again (someone changed the password outside dbops?)` }
      : { check: 'rotation.stuck', severity: 'critical', target: d.role, message: `the password in ${d.secret} (version ${latest.version}) does not sign in as ${cred.login}, and setting it again did not help`, remedy: `check that ${cred.login} may log in (LOGIN, pg_hba, connection limit)` },
  );
  return true;
}

const previousOf = (latest: SecretVersion, versions: readonly SecretVersion[]) =>
  versions.find((v) => v.version !== latest.version && v.enabled && v.state !== 'pending' && v.state !== 'discarded') ?? null;

async function restorePassword(d: StepDeps, c: Credential): Promise<boolean> {
  try {
    await setPassword(d, c);
  } catch {
    return false;
  }
  return (await tryLogin(d.ctx.withServer, d.ctx.db.target, c)) === null;
}

/**
 * Converges a pending version: finish it if the database accepts it; else restore the previous
 * one if the database accepts that; else (neither: an ALTER whose outcome is unknown) set the
 * pending password and finish, or set the previous one back and restore it.
 */
interface Settled {
  ok: boolean;
  how: 'finished' | 'rolled-back' | 'stuck';
  detail: string;
}

async function settle(d: StepDeps, pending: SecretVersion, previous: SecretVersion | null, recordId: number | null): Promise<Settled> {
  const login = (c: Credential) => tryLogin(d.ctx.withServer, d.ctx.db.target, c);
  const next = await readCredential(d.secrets, d.secret, pending, d.role);
  const prev = previous ? await readCredential(d.secrets, d.secret, previous, d.role) : null;
  const finish = async (how: string) => {
    const expiresOn = expiryFrom(d);
    await markCurrent(d, pending, expiresOn);
    if (recordId !== null) await advanceRecord(d.ctx.db, recordId, 'finished', { newVersion: pending.version, expiresAt: expiresOn, note: how });
    return { ok: true, how: 'finished' as const, detail: `finished (${how})` };
  };
  const discard = async (how: string) => {
    await storeVersion(d, prev!, 'restored', recordId, previous!.expiresOn ?? undefined);
    await retireVersion(d, pending, 'discarded');
    if (recordId !== null) await advanceRecord(d.ctx.db, recordId, 'rolled-back', { note: how });
    return { ok: true, how: 'rolled-back' as const, detail: `rolled back (${how}); version ${previous!.version}'s password is current again` };
  };
  if ((await login(next)) === null) return finish('the database accepts the new password');
  if (prev && (await login(prev)) === null) return discard('the database still accepts the previous password');
  if (await restorePassword(d, next)) return finish('the new password was set again');
  if (prev && (await restorePassword(d, prev))) return discard('the previous password was set again');
  return { ok: false, how: 'stuck', detail: 'left pending: the database accepts neither the new nor the previous password, and setting them failed' };
}

/** Disables versions superseded longer than the grace period ago, and leftovers of discarded rotations. */
async function retireExpired(d: StepDeps, s: RotationSettings, latest: SecretVersion, versions: readonly SecretVersion[], findings: Finding[]): Promise<Set<string>> {
  const retired = new Set<string>();
  const supersededAt = latest.createdOn?.getTime() ?? d.ctx.now().getTime();
  const graceOver = supersededAt + s.graceHours * 3_600_000 <= d.ctx.now().getTime();
  for (const v of versions) {
    if (v.version === latest.version || !v.enabled) continue;
    const leftover = v.state === 'pending' || v.state === 'discarded';
    if (!leftover && !graceOver) continue;
    try {
      await retireVersion(d, v, leftover ? 'discarded' : 'previous');
      retired.add(v.version);
    } catch (err) {
      findings.push({ check: 'rotation.retire-failed', severity: 'warning', target: d.role, message: `could not disable old version ${v.version} of ${d.secret}: ${errorMessage(err)}` });
    }
  }
  return retired;
}

interface RotateState {
  latest: SecretVersion | null;
  current: Credential | null;
  login: string;
  versions: readonly SecretVersion[];
  steps: Step[];
  findings: Finding[];
  eventId: string | null;
}

async function rotate(
  deps: Deps,
  d: StepDeps,
  managed: ManagedRole,
  st: RotateState,
  out: (o: RoleOutcomeKind, detail: string, extra?: Partial<RoleOutcome>) => RoleOutcome,
): Promise<RoleOutcome> {
  const { ctx, secrets, settings, hooks } = deps;
  const { latest, login, findings, steps } = st;
  const target = managed.role;

  // Generate: policy-compliant and none of the last N (readable versions, and fingerprints of
  // the ones dbops generated, which outlive their disabled versions).
  const readable = st.versions.filter((v) => v.enabled).slice(0, settings.history);
  const values: string[] = [];
  for (const v of readable) values.push((await readCredential(secrets, managed.secret, v, managed.role)).password);
  const password = newPassword({ minLength: settings.minLength }, { values, fingerprints: await recentFingerprints(ctx.db, managed.secret, settings.history) });
  const next: Credential = { login, password };
  const record = await openRecord(ctx.db, {
    secretName: managed.secret,
    roleName: managed.role,
    loginName: login,
    mode: d.mode,
    previousVersion: latest?.version ?? null,
    fingerprint: passwordFingerprint(password),
    eventId: st.eventId,
    runId: ctx.runId,
  });

  const held: { staged: SecretVersion | null } = { staged: null };
  const run = async (step: Step, fn: () => Promise<void>) => {
    await hooks.beforeStep?.(step, managed.role);
    await fn();
    steps.push(step);
  };
  const stage = async () => {
    const version = await storeVersion(d, next, 'pending', record.id);
    held.staged = { version, createdOn: ctx.now(), expiresOn: null, enabled: true, contentType: CONTENT_TYPE[d.mode], tags: tags(d, login, 'pending', record.id), state: 'pending' };
    await advanceRecord(ctx.db, record.id, 'staged', { newVersion: version });
  };
  const set = async () => {
    await setPassword(d, next);
    await advanceRecord(ctx.db, record.id, 'set');
  };
  const test = async () => {
    await testLogin(d, next);
    await advanceRecord(ctx.db, record.id, 'tested');
  };
  const expiresOn = expiryFrom(d);
  const finish = async () => {
    await markCurrent(d, held.staged!, expiresOn);
    await advanceRecord(ctx.db, record.id, 'finished', { expiresAt: expiresOn });
  };
  // Single-role: Key Vault first, so the password the role is about to get is never only in
  // memory. Dual-role: the idle login first, so Key Vault's newest version always names a login
  // whose password works (nobody uses the idle login, so losing its new password costs nothing).
  const order: Array<[Step, () => Promise<void>]> =
    d.mode === 'single'
      ? [['stage', stage], ['set', set], ['test', test], ['finish', finish]]
      : [['set', set], ['test', test], ['stage', stage], ['finish', finish]];

  const result = (kind: RoleOutcomeKind, detail: string) =>
    out(kind, detail, { login, oldVersion: latest?.version ?? null, newVersion: held.staged?.version ?? null, nextExpiry: kind === 'rotated' ? expiresOn.toISOString() : (latest?.expiresOn?.toISOString() ?? null) });

  for (const [step, fn] of order) {
    try {
      await run(step, fn);
    } catch (err) {
      const reason = errorMessage(err);
      return result(...(await afterFailure(d, step, reason, held.staged, latest, record.id, findings, target)));
    }
    // Outside the try: a throw here is the process stopping between two steps.
    await hooks.afterStep?.(step, managed.role);
  }
  await retireExpired(d, settings, held.staged!, st.versions, findings);
  return result('rotated', `rotated ${login}`);
}

/** A step failed: roll forward or back until Key Vault's newest version signs in, and say which. */
async function afterFailure(
  d: StepDeps,
  step: Step,
  reason: string,
  staged: SecretVersion | null,
  latest: SecretVersion | null,
  recordId: number,
  findings: Finding[],
  target: string,
): Promise<[RoleOutcomeKind, string]> {
  if (!staged) {
    // Nothing reached Key Vault: its newest version is the one that worked before.
    await advanceRecord(d.ctx.db, recordId, 'discarded', { note: `${step} failed: ${reason}` }).catch(() => undefined);
    const detail = `rotation of ${d.secret} stopped at ${step} (${reason}); nothing was stored, the current password still works`;
    findings.push({ check: 'rotation.failed', severity: 'warning', target, message: detail, remedy: 'the next run retries' });
    return ['failed', detail];
  }
  if (step === 'finish') {
    // The new password is set, tested and Key Vault's newest version: only its tags are behind.
    const detail = `rotation of ${d.secret} is done but marking version ${staged.version} current failed (${reason}); it already signs in, the next run finishes it`;
    findings.push({ check: 'rotation.failed', severity: 'warning', target, message: detail });
    return ['failed', detail];
  }
  let settled: Settled;
  try {
    settled = await settle(d, staged, latest, recordId);
  } catch (err) {
    settled = { ok: false, how: 'stuck', detail: `not settled (${errorMessage(err)}); the next run repairs it` };
  }
  const detail = `rotation of ${d.secret} failed at ${step} (${reason}) and was ${settled.detail}`;
  findings.push({ check: settled.ok ? 'rotation.failed' : 'rotation.stuck', severity: settled.ok ? 'warning' : 'critical', target, message: detail });
  return [settled.how === 'finished' ? 'rotated' : settled.ok ? 'failed' : 'stuck', detail];
}
