import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import { registerSecret } from '../redact.js';
import { callAzure } from './errors.js';

export type { KeyVaultSecret, SecretProperties };

export interface SecretUpdate {
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
  contentType?: string;
  tags?: Record<string, string>;
}

/** Key Vault secrets. Every value read or written is registered for redaction first. */
export interface KeyVaultSecrets {
  readonly vaultUrl: string;
  set(name: string, value: string, options?: Omit<SecretUpdate, 'enabled'> & { enabled?: boolean }): Promise<KeyVaultSecret>;
  /** The current version, or the given one. */
  get(name: string, version?: string): Promise<KeyVaultSecret>;
  /** Properties of every version, newest first (by creation time). */
  listVersions(name: string): Promise<SecretProperties[]>;
  updateProperties(name: string, version: string, update: SecretUpdate): Promise<SecretProperties>;
}

export function createKeyVaultSecrets(loadClient: () => Promise<SecretClient>, vaultUrl: string): KeyVaultSecrets {
  const resource = (name: string, version?: string) => `secret ${name}${version ? ` (version ${version})` : ''} in ${vaultUrl}`;
  const seen = (s: KeyVaultSecret) => (registerSecret(s.value), s);
  return {
    vaultUrl,
    async set(name, value, options = {}) {
      registerSecret(value);
      return seen(await callAzure('set secret', resource(name), async () => (await loadClient()).setSecret(name, value, options)));
    },
    async get(name, version) {
      return seen(await callAzure('get secret', resource(name, version), async () => (await loadClient()).getSecret(name, version ? { version } : {})));
    },
    listVersions: (name) =>
      callAzure('list secret versions', resource(name), async () => {
        const out: SecretProperties[] = [];
        for await (const p of (await loadClient()).listPropertiesOfSecretVersions(name)) out.push(p);
        return out.sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0));
      }),
    updateProperties: (name, version, update) =>
      callAzure('update secret properties', resource(name, version), async () => (await loadClient()).updateSecretProperties(name, version, update)),
  };
}
