import { z } from 'zod';
import type { KeyVaultSecrets, SecretProperties } from '../../platform/azure/index.js';
import { AzureOperationError } from '../../platform/azure/index.js';
import { registerSecret } from '../../platform/redact.js';

/**
 * How dbops marks the versions it writes. Key Vault has no labels like AWS Secrets Manager's
 * AWSPENDING/AWSCURRENT: readers always get the newest version, so "current" is the newest
 * version, and the tags record how it got there.
 */
export const TAG = {
  state: 'dbops-state',
  role: 'dbops-role',
  login: 'dbops-login',
  server: 'dbops-server',
  rotation: 'dbops-rotation',
} as const;

export type VersionState = 'pending' | 'current' | 'previous' | 'discarded' | 'restored';

export interface Credential {
  login: string;
  password: string;
}

export interface SecretVersion {
  version: string;
  createdOn: Date | null;
  expiresOn: Date | null;
  enabled: boolean;
  contentType: string | null;
  tags: Record<string, string>;
  state: VersionState | null;
}

export const CONTENT_TYPE = { single: 'text/plain', dual: 'application/json' } as const;

const jsonCredential = z.object({ username: z.string().min(1).max(63), password: z.string().min(1) });

function toVersion(p: SecretProperties): SecretVersion {
  const tags = p.tags ?? {};
  const state = tags[TAG.state];
  return {
    version: p.version ?? '',
    createdOn: p.createdOn ?? null,
    expiresOn: p.expiresOn ?? null,
    enabled: p.enabled !== false,
    contentType: p.contentType ?? null,
    tags,
    state: state === 'pending' || state === 'current' || state === 'previous' || state === 'discarded' || state === 'restored' ? state : null,
  };
}

const notFound = (err: unknown) => err instanceof AzureOperationError && (err.status === 404 || err.code === 'SecretNotFound');

/** The secret's versions, newest first; none when the secret does not exist yet. */
export async function listVersions(secrets: KeyVaultSecrets, name: string): Promise<SecretVersion[]> {
  try {
    return (await secrets.listVersions(name)).map(toVersion);
  } catch (err) {
    if (notFound(err)) return [];
    throw err;
  }
}

/**
 * The version readers get now (Key Vault's "latest"). Listing order ties when versions share a
 * creation second, so the answer comes from reading the secret without a version.
 */
export async function latestVersion(secrets: KeyVaultSecrets, name: string, versions: readonly SecretVersion[]): Promise<SecretVersion | null> {
  if (versions.length === 0) return null;
  const newestEnabledFirst = versions[0]!;
  if (!versions.some((v) => v.enabled)) return newestEnabledFirst;
  try {
    const got = await secrets.get(name);
    const version = got.properties.version;
    return versions.find((v) => v.version === version) ?? toVersion(got.properties);
  } catch (err) {
    // The newest version is disabled (Key Vault answers 403): readers get nothing.
    if (err instanceof AzureOperationError && err.status === 403) return { ...newestEnabledFirst, enabled: false };
    throw err;
  }
}

/** Reads a version's credential: JSON {username, password} in dual-role mode, the bare password otherwise. */
export async function readCredential(secrets: KeyVaultSecrets, name: string, v: SecretVersion, defaultLogin: string): Promise<Credential> {
  const value = (await secrets.get(name, v.version)).value ?? '';
  return parseCredential(value, v.contentType, v.tags[TAG.login] ?? defaultLogin);
}

export function parseCredential(value: string, contentType: string | null, defaultLogin: string): Credential {
  if (contentType === CONTENT_TYPE.dual) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`the secret is marked ${CONTENT_TYPE.dual} but its value is not JSON`);
    }
    const c = jsonCredential.safeParse(parsed);
    if (!c.success) throw new Error('the secret value is JSON without a "username" and "password" string');
    registerSecret(c.data.password);
    return { login: c.data.username, password: c.data.password };
  }
  registerSecret(value);
  return { login: defaultLogin, password: value };
}

export function credentialValue(c: Credential, mode: 'single' | 'dual'): string {
  return mode === 'dual' ? JSON.stringify({ username: c.login, password: c.password }) : c.password;
}
