import { randomBytes } from 'node:crypto';
import { armError, type EmulatorCore, type EmulatorResponse } from './core.js';

export interface EmulatedSecretVersion {
  version: string;
  value: string;
  enabled: boolean;
  created: number;
  updated: number;
  nbf?: number;
  exp?: number;
  contentType?: string;
  tags?: Record<string, string>;
}

export interface KeyVaultState {
  /** Versions per secret name, oldest first. */
  readonly secrets: Map<string, EmulatedSecretVersion[]>;
  /** Adds a version directly (test setup); returns its version id. */
  seed(name: string, value: string, attributes?: Partial<Omit<EmulatedSecretVersion, 'version' | 'value'>>): string;
  latest(name: string): EmulatedSecretVersion | undefined;
}

const now = () => Math.floor(Date.now() / 1000);

/** Key Vault secrets (data plane, shapes of the 7.5 examples), vault at the emulator's root. */
export function installKeyVault(core: EmulatorCore): KeyVaultState {
  const secrets = new Map<string, EmulatedSecretVersion[]>();
  const versions = (name: string) => secrets.get(name.toLowerCase());
  const state: KeyVaultState = {
    secrets,
    seed(name, value, attributes = {}) {
      const t = now();
      const v: EmulatedSecretVersion = { version: randomBytes(16).toString('hex'), value, enabled: true, created: t, updated: t, ...attributes };
      const list = versions(name) ?? [];
      list.push(v);
      secrets.set(name.toLowerCase(), list);
      return v.version;
    },
    latest: (name) => versions(name)?.at(-1),
  };
  const id = (name: string, v: EmulatedSecretVersion) => `${core.endpoint}/secrets/${name}/${v.version}`;
  const attributes = (v: EmulatedSecretVersion) => ({
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: v.created,
    updated: v.updated,
    recoveryLevel: 'Recoverable+Purgeable',
  });
  const meta = (v: EmulatedSecretVersion) => ({ ...(v.contentType ? { contentType: v.contentType } : {}), ...(v.tags ? { tags: v.tags } : {}) });
  const bundle = (name: string, v: EmulatedSecretVersion, withValue: boolean) => ({ ...(withValue ? { value: v.value } : {}), id: id(name, v), attributes: attributes(v), ...meta(v) });
  const notFound = (name: string, version?: string): EmulatorResponse =>
    armError(404, 'SecretNotFound', `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`);
  const find = (name: string, version?: string) => {
    const list = versions(name);
    return version ? list?.find((v) => v.version === version) : list?.at(-1);
  };
  const common = { auth: 'keyvault' as const };

  core.addRoute({
    ...common,
    operation: 'secrets.get',
    method: 'GET',
    path: '/secrets/{name}/{version}',
    handler: ({ params }) => {
      const v = find(params.name!, params.version || undefined);
      if (!v) return notFound(params.name!, params.version || undefined);
      if (!v.enabled) return { status: 403, body: { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } } };
      return { status: 200, body: bundle(params.name!, v, true) };
    },
  });
  // Registered after the generic GET so that it wins for ".../versions".
  core.addRoute({
    ...common,
    operation: 'secrets.listVersions',
    method: 'GET',
    path: '/secrets/{name}/versions',
    handler: ({ params }) => {
      const list = versions(params.name!) ?? [];
      // List items carry no recoveryLevel (GetSecretVersions example).
      const itemAttributes = (v: EmulatedSecretVersion) => {
        const { recoveryLevel: _omit, ...rest } = attributes(v);
        return rest;
      };
      return { status: 200, body: { value: list.map((v) => ({ id: id(params.name!, v), attributes: itemAttributes(v), ...meta(v) })), nextLink: null } };
    },
  });
  core.addRoute({
    ...common,
    operation: 'secrets.set',
    method: 'PUT',
    path: '/secrets/{name}',
    handler: ({ params, body }) => {
      const input = (body ?? {}) as { value?: string; contentType?: string; tags?: Record<string, string>; attributes?: { enabled?: boolean; nbf?: number; exp?: number } };
      if (typeof input.value !== 'string') return armError(400, 'BadParameter', 'Property value is required.');
      const version = state.seed(params.name!, input.value, {
        enabled: input.attributes?.enabled ?? true,
        ...(input.attributes?.nbf !== undefined ? { nbf: input.attributes.nbf } : {}),
        ...(input.attributes?.exp !== undefined ? { exp: input.attributes.exp } : {}),
        ...(input.contentType ? { contentType: input.contentType } : {}),
        ...(input.tags ? { tags: input.tags } : {}),
      });
      return { status: 200, body: bundle(params.name!, find(params.name!, version)!, true) };
    },
  });
  core.addRoute({
    ...common,
    operation: 'secrets.update',
    method: 'PATCH',
    path: '/secrets/{name}/{version}',
    handler: ({ params, body }) => {
      const v = find(params.name!, params.version || undefined);
      if (!v) return notFound(params.name!, params.version || undefined);
      const input = (body ?? {}) as { contentType?: string; tags?: Record<string, string>; attributes?: { enabled?: boolean; nbf?: number; exp?: number } };
      if (input.attributes?.enabled !== undefined) v.enabled = input.attributes.enabled;
      if (input.attributes?.nbf !== undefined) v.nbf = input.attributes.nbf;
      if (input.attributes?.exp !== undefined) v.exp = input.attributes.exp;
      if (input.contentType !== undefined) v.contentType = input.contentType;
      if (input.tags !== undefined) v.tags = input.tags;
      v.updated = now();
      return { status: 200, body: bundle(params.name!, v, false) };
    },
  });
  return state;
}
