import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { tryLogin } from '../../src/jobs/password-rotation/login.js';
import { scramVerifier } from '../../src/jobs/password-rotation/scram.js';
import { parseCredential } from '../../src/jobs/password-rotation/vault.js';
import { serverSessions } from '../../src/platform/db/session.js';
import { ident, literal } from '../../src/platform/db/sql.js';
import { memoryLogger } from '../../src/platform/log.js';
import type { AzureEmulator } from '../../src/local-azure/index.js';
import type { TestDatabase } from '../support/db.js';

/** A uniquely named role (roles are cluster-wide; test files run in parallel) with a password seeded in Key Vault. */
export async function managedRole(db: { pool: pg.Pool }, emu: AzureEmulator, options: { login?: boolean; seed?: boolean } = {}) {
  const role = `pc_app_${randomBytes(4).toString('hex')}`;
  const secret = `pc-app-${role.slice(7)}-password`;
  const initial = `Init-${randomBytes(12).toString('base64url')}-9a`;
  await db.pool.query(`CREATE ROLE ${ident(role)} ${options.login === false ? 'NOLOGIN' : 'LOGIN'} PASSWORD ${literal(scramVerifier(initial))}`);
  if (options.seed !== false) emu.keyVault.seed(secret, initial, { contentType: 'text/plain' });
  return { role, secret, initial, env: { DBOPS_ROTATION_ROLES: `${role}=${secret}` } };
}

export async function dropRoles(db: { pool: pg.Pool }, ...roles: string[]) {
  for (const r of roles) {
    await db.pool.query(`DROP OWNED BY ${ident(r)}`).catch(() => undefined);
    await db.pool.query(`DROP ROLE IF EXISTS ${ident(r)}`).catch(() => undefined);
  }
}

/** The credential readers get from Key Vault now (its newest version). */
export function currentCredential(emu: AzureEmulator, secret: string, role: string) {
  const v = emu.keyVault.latest(secret);
  if (!v) throw new Error(`no secret ${secret}`);
  return { ...parseCredential(v.value, v.contentType ?? null, v.tags?.['dbops-login'] ?? role), version: v };
}

export async function logsIn(db: TestDatabase, login: string, password: string): Promise<boolean> {
  const withServer = serverSessions({ job: 'test', settings: { lockTimeoutMs: 5000, statementTimeoutMs: 10_000, connectTimeoutSeconds: 10 }, log: memoryLogger() });
  return (await tryLogin(withServer, db.target, { login, password })) === null;
}

export async function currentLogsIn(db: TestDatabase, emu: AzureEmulator, secret: string, role: string): Promise<boolean> {
  const c = currentCredential(emu, secret, role);
  return c.version.enabled && (await logsIn(db, c.login, c.password));
}

/** Some enabled stored version signs in: the role never lost its working stored password. */
export async function someStoredVersionLogsIn(db: TestDatabase, emu: AzureEmulator, secret: string, role: string): Promise<boolean> {
  for (const v of [...(emu.keyVault.secrets.get(secret.toLowerCase()) ?? [])].reverse()) {
    if (!v.enabled) continue;
    const c = parseCredential(v.value, v.contentType ?? null, v.tags?.['dbops-login'] ?? role);
    if (await logsIn(db, c.login, c.password)) return true;
  }
  return false;
}

export const allStoredValues = (emu: AzureEmulator) => [...emu.keyVault.secrets.values()].flat().map((v) => v.value);
