import { z } from 'zod';
import { readSettings, setting, type Env } from '../../platform/settings.js';

/** A database role whose password dbops rotates, and the Key Vault secret that holds it. */
export interface ManagedRole {
  role: string;
  secret: string;
}

const ROLE = /^[a-z_][a-z0-9_$]{0,53}$/;
// Key Vault secret names: 1-127 characters, letters, digits and dashes.
const SECRET = /^[0-9A-Za-z-]{1,127}$/;

export const DEFAULT_MANAGED_ROLES = 'product_change_app=product-change-app-password,product_change_readonly=product-change-readonly-password';

const managedRolesSchema = z.string().transform((text, ctx): ManagedRole[] => {
  const out: ManagedRole[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [role, secret, ...rest] = raw.split('=').map((s) => s.trim());
    if (!role || !secret || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${raw}" is not role=secret (e.g. product_change_app=product-change-app-password)` });
      continue;
    }
    if (!ROLE.test(role)) ctx.addIssue({ code: 'custom', message: `"${role}" is not a lower-case role name of at most 54 characters (dual-role mode appends _green)` });
    if (!SECRET.test(secret)) ctx.addIssue({ code: 'custom', message: `"${secret}" is not a Key Vault secret name (letters, digits and dashes)` });
    if (out.some((m) => m.role === role || m.secret.toLowerCase() === secret.toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: `"${raw}" repeats a role or a secret: each role has its own secret` });
    }
    out.push({ role, secret });
  }
  return out;
});

/**
 * The one place that says which roles dbops rotates. The password-rotation job reads it, and the
 * event router derives the managed secret names from it, so the two never disagree.
 */
export const managedRolesSetting = setting({
  env: 'DBOPS_ROTATION_ROLES',
  doc: 'Roles whose passwords password-rotation manages, as role=secret pairs separated by commas (the Key Vault secret holding each role\'s password). Add product_change_admin=product-change-admin-password to manage the admin role too. Key Vault events for other secrets are ignored.',
  default: DEFAULT_MANAGED_ROLES,
  plan: '4.1.1',
  schema: managedRolesSchema,
});

export function readManagedRoles(env: Env): ManagedRole[] {
  return readSettings({ roles: managedRolesSetting }, env).roles;
}

/** Secret names for the event router; a malformed setting manages nothing (the job reports why). */
export function managedSecretNames(env: Env): string[] {
  try {
    return readManagedRoles(env).map((m) => m.secret);
  } catch {
    return [];
  }
}
