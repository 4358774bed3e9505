import type { KeyVaultSecrets } from '../../platform/azure/index.js';
import { ident, literal } from '../../platform/db/sql.js';
import type { JobContext } from '../../shared/job.js';
import { tryLogin } from './login.js';
import { scramVerifier, isScramVerifier } from './scram.js';
import { CONTENT_TYPE, credentialValue, TAG, type Credential, type SecretVersion, type VersionState } from './vault.js';

export type Mode = 'single' | 'dual';
export type Step = 'stage' | 'set' | 'test' | 'finish';

/**
 * Fault-injection seam for tests (ctx.services.passwordRotationHooks); absent in production.
 * `beforeStep` runs inside a step, so a throw is that step failing; `afterStep` runs once the
 * step is done and recorded, outside any error handling, so a throw is the process stopping there.
 */
export interface RotationHooks {
  beforeStep?(step: Step, role: string): void | Promise<void>;
  afterStep?(step: Step, role: string): void | Promise<void>;
}
export const ROTATION_HOOKS_SERVICE = 'passwordRotationHooks';

declare module '../../shared/job.js' {
  interface JobServices {
    /** Fault injection for password-rotation's tests; absent in production. */
    passwordRotationHooks?: RotationHooks;
  }
}

export interface StepDeps {
  ctx: JobContext;
  secrets: KeyVaultSecrets;
  secret: string;
  role: string;
  mode: Mode;
  server: string;
  expiryDays: number;
}

/** What the statement log shows: the verifier is a salted hash, and the report masks even that. */
export const alterStatement = (login: string) => `ALTER ROLE ${ident(login)} PASSWORD '<SCRAM-SHA-256 verifier>'`;

/** Sets the login's password by verifier; refuses to send anything the server would take as plaintext. */
export async function setPassword(d: StepDeps, c: Credential): Promise<void> {
  const verifier = scramVerifier(c.password);
  if (!isScramVerifier(verifier)) throw new Error('computed verifier is malformed; not sent (the server would store it as a plaintext password)');
  await d.ctx.act(`set the password of ${c.login} (SCRAM-SHA-256 verifier)`, alterStatement(c.login), () =>
    d.ctx.db.query(`ALTER ROLE ${ident(c.login)} PASSWORD ${literal(verifier)}`),
  );
}

export async function testLogin(d: StepDeps, c: Credential): Promise<void> {
  await d.ctx.act(`sign in as ${c.login} with the new password`, undefined, async () => {
    const problem = await tryLogin(d.ctx.withServer, d.ctx.db.target, c);
    if (problem) throw new Error(`the new password of ${c.login} does not sign in: ${problem}`);
  });
}

export function tags(d: StepDeps, login: string, state: VersionState, rotationId: number | null): Record<string, string> {
  return { [TAG.state]: state, [TAG.role]: d.role, [TAG.login]: login, [TAG.server]: d.server, ...(rotationId !== null ? { [TAG.rotation]: String(rotationId) } : {}) };
}

/** Stores a credential as the secret's newest version; returns its version id. */
export async function storeVersion(d: StepDeps, c: Credential, state: VersionState, rotationId: number | null, expiresOn?: Date): Promise<string> {
  const version = await d.ctx.act(`store a new version of ${d.secret} tagged ${state}`, undefined, async () => {
    const stored = await d.secrets.set(d.secret, credentialValue(c, d.mode), {
      contentType: CONTENT_TYPE[d.mode],
      tags: tags(d, c.login, state, rotationId),
      ...(expiresOn ? { expiresOn } : {}),
    });
    return stored.properties.version ?? '';
  });
  // Rotation steps run only outside a dry run (processRole plans instead).
  if (version === undefined) throw new Error(`a dry run stores no version of ${d.secret}`);
  return version;
}

export const expiryFrom = (d: StepDeps) => new Date(d.ctx.now().getTime() + d.expiryDays * 86_400_000);

/** Pending → current, with the expiry Key Vault warns about (SecretNearExpiry, 30 days before). */
export async function markCurrent(d: StepDeps, v: SecretVersion, expiresOn: Date): Promise<void> {
  await d.ctx.act(`mark version ${v.version} of ${d.secret} current, expiring ${expiresOn.toISOString()}`, undefined, () =>
    d.secrets.updateProperties(d.secret, v.version, { tags: { ...v.tags, [TAG.state]: 'current' }, expiresOn }),
  );
}

export async function retireVersion(d: StepDeps, v: SecretVersion, state: 'previous' | 'discarded'): Promise<void> {
  await d.ctx.act(`disable version ${v.version} of ${d.secret} (${state})`, undefined, () =>
    d.secrets.updateProperties(d.secret, v.version, { enabled: false, tags: { ...v.tags, [TAG.state]: state } }),
  );
}
