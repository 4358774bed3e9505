import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { readSettings, type Env } from '../settings.js';
import { azureSettings } from './settings.js';

/**
 * The one credential of a runtime: every Azure client (ARM, Monitor, Key Vault, Blob,
 * Communication Services) and the PostgreSQL Entra token share it, so its token cache too.
 * Reads only DBOPS_AZURE_CLIENT_ID, so a malformed other Azure setting does not stop it.
 */
export function azureCredential(env: Env): TokenCredential {
  const { managedIdentityClientId } = readSettings({ managedIdentityClientId: azureSettings.managedIdentityClientId }, env);
  return lazyDefaultCredential(managedIdentityClientId);
}

/**
 * The Function App's identity, loaded on first use: @azure/identity is large and a cold start
 * that never reaches Azure should not pay for it. With DBOPS_AZURE_CLIENT_ID a user-assigned
 * managed identity; otherwise DefaultAzureCredential (system identity in Azure, az login locally).
 */
export function lazyDefaultCredential(managedIdentityClientId?: string): TokenCredential {
  let inner: Promise<TokenCredential> | undefined;
  const load = async (): Promise<TokenCredential> => {
    const identity = await import('@azure/identity');
    return managedIdentityClientId
      ? new identity.DefaultAzureCredential({ managedIdentityClientId })
      : new identity.DefaultAzureCredential();
  };
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      inner ??= load();
      return (await inner).getToken(scopes, options);
    },
  };
}
