import { createAzureServices, type KeyVaultSecrets } from '../../platform/azure/index.js';
import type { ServiceProvider } from '../../shared/runner/runtime.js';
import type { ManagedRole } from '../../shared/rotation/managed-roles.js';
import { readSettings } from '../../platform/settings.js';
import { type ManagedSecret, type ManagedSecretInventory } from '../../shared/security-services.js';
import { dualLogins } from './rotate.js';
import { rotationSettings } from './settings.js';
import { TAG } from './vault.js';

/**
 * The security audit's weekly account review reads which login roles have a managed password
 * from here: one entry per login, dated by the secret's newest version. In dual-role mode both
 * logins are listed: the idle one's password is managed too (it is set at the next rotation).
 */
export function keyVaultSecretInventory(secrets: KeyVaultSecrets, roles: readonly ManagedRole[], dualRole: boolean): ManagedSecretInventory {
  return {
    async list(): Promise<ManagedSecret[]> {
      const out: ManagedSecret[] = [];
      for (const { role, secret } of roles) {
        let versions;
        try {
          versions = await secrets.listVersions(secret);
        } catch {
          continue; // no such secret: the review reports the login as unmanaged
        }
        const newest = versions.find((v) => v.enabled !== false) ?? versions[0];
        if (!newest) continue;
        const logins = dualRole ? [...dualLogins(role)] : [newest.tags?.[TAG.login] ?? role];
        for (const login of logins) {
          out.push({ name: secret, role: login, createdOn: newest.createdOn ?? null, expiresOn: newest.expiresOn ?? null, enabled: newest.enabled !== false });
        }
      }
      return out;
    },
  };
}

/** Listed in the composition root so every job sees it as ctx.services.managedSecretInventory. */
export const secretInventoryProvider: ServiceProvider = ({ env, log, credential, azureClient }) => {
  try {
    const azure = createAzureServices(env, { ...azureClient, log, credential });
    if (azure.missing('keyVault').length > 0) return {};
    const { roles, dualRole } = readSettings({ roles: rotationSettings.roles, dualRole: rotationSettings.dualRole }, env);
    return { managedSecretInventory: keyVaultSecretInventory(azure.secrets, roles, dualRole) };
  } catch {
    // Malformed settings: the audit says the inventory is not configured; the rotation job names the setting.
    return {};
  }
};
