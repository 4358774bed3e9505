import type { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { GUID, list, readSettings, setting, SettingsError, type Env } from '../platform/settings.js';

/**
 * Runs that act on production itself (not a copy, not a report): over HTTP they need a person,
 * signed in with Microsoft Entra ID through App Service authentication, who is on
 * DBOPS_PRODUCTION_APPROVERS. A function key alone identifies an app, never a person. Dry runs
 * change nothing and need only the key.
 */
export const PRODUCTION_ACTIONS: Readonly<Record<string, { param: string; values: readonly string[] }>> = {
  'version-upgrade': { param: 'plan', values: ['upgrade'] },
  'failover-check': { param: 'plan', values: ['promote-replica', 'switchover', 'drill'] },
};

export const httpApiSettings = {
  productionApprovers: setting({
    env: 'DBOPS_PRODUCTION_APPROVERS',
    doc: "Object ids of the Microsoft Entra users (comma-separated GUIDs; `az ad user show --id <sign-in name> --query id -o tsv`) who may ask over HTTP for runs that act on production: version-upgrade plan=upgrade, failover-check plan=promote-replica, switchover and drill. They must come signed in through the Function App's App Service authentication with a user token; sign-in names are not accepted (Entra can give a freed name to someone else) and apps never approve. Empty: nobody may.",
    default: '',
    example: '00000000-0000-0000-0000-000000000000',
    schema: list().superRefine((ids, ctx) => {
      const bad = ids.filter((id) => !GUID.test(id));
      if (bad.length > 0)
        ctx.addIssue({
          code: 'custom',
          message: `${bad.map((b) => JSON.stringify(b.slice(0, 100))).join(', ')} ${bad.length === 1 ? 'is not an object id' : 'are not object ids'}: list users by object id only (a sign-in name can be renamed and given to someone else); \`az ad user show --id <sign-in name> --query id -o tsv\` prints it`,
        });
    }),
  }),
};

/** The App Service authentication principal (x-ms-client-principal: base64 JSON). */
const principalSchema = z.object({
  auth_typ: z.string(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
});

// The only claim approval rests on: immutable, and never given to another account (Microsoft
// Entra access token claims reference). Sign-in names (upn, preferred_username) are mutable and
// can be reassigned, so they, like display names and e-mail, only say who was refused.
const OBJECT_ID = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
const NAMES = [
  'preferred_username',
  'upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'name',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'email',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];
// Delegated scopes are "only included for user tokens"; an app's own token (client credentials,
// a managed identity) has roles instead. idtyp, when the app registration asks for it, says so
// outright.
const SCOPES = ['scp', 'http://schemas.microsoft.com/identity/claims/scope'];
const TOKEN_TYPE = ['idtyp'];

export type Approval = { allowed: true; approver: string } | { allowed: false; reason: string };

/** Whether this request's job and params act on production, and if so the param that makes it so. */
export function productionAction(job: string, params: Record<string, unknown>, dryRun: boolean): string | null {
  const rule = PRODUCTION_ACTIONS[job];
  if (!rule || dryRun) return null;
  const value = params[rule.param];
  return typeof value === 'string' && rule.values.includes(value) ? `${job} ${rule.param}=${value}` : null;
}

/**
 * Who approved, or why not. The principal header is trusted only where App Service
 * authentication runs in front of the app (WEBSITE_AUTH_ENABLED=True): it then removes any such
 * header a caller sent and sets its own; anywhere else the header is anyone's to forge.
 */
export function approveProductionAction(request: HttpRequest, env: Env, action: string): Approval {
  const refuse = (why: string): Approval => ({ allowed: false, reason: `${action} acts on production: ${why}` });
  let approvers: Set<string>;
  try {
    approvers = new Set(readSettings(httpApiSettings, env).productionApprovers.map((a) => a.toLowerCase()));
  } catch (err) {
    if (err instanceof SettingsError) return refuse(`nobody may until the setting is fixed: ${err.problems.join('; ')}`);
    throw err;
  }
  if ((env.WEBSITE_AUTH_ENABLED ?? '').toLowerCase() !== 'true') {
    return refuse('App Service authentication is not enabled on this Function App, so no signed-in principal can be trusted (a function key identifies an app, not a person). Enable it with the Microsoft Entra provider (unauthenticated requests allowed, so function keys keep working for everything else) and call with an Entra token for the app.');
  }
  const encoded = request.headers.get('x-ms-client-principal');
  if (!encoded) return refuse('no signed-in Microsoft Entra principal came with the request (a function key alone is not enough): call with an Entra access token for the app (Authorization: Bearer …).');
  let principal: z.infer<typeof principalSchema>;
  try {
    principal = principalSchema.parse(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')));
  } catch {
    return refuse('the x-ms-client-principal header cannot be read as an App Service authentication principal.');
  }
  if (principal.auth_typ.toLowerCase() !== 'aad') return refuse(`the principal was signed in by "${principal.auth_typ.slice(0, 40)}", not Microsoft Entra ID (aad).`);
  const claim = (types: string[]) => principal.claims.filter((c) => types.includes(c.typ)).map((c) => c.val);
  const oid = claim(OBJECT_ID)[0]?.toLowerCase();
  const name = claim(NAMES)[0]?.slice(0, 100);
  const who = name ?? oid ?? '?';
  const tokenType = claim(TOKEN_TYPE)[0]?.toLowerCase();
  if ((tokenType !== undefined && tokenType !== 'user') || claim(SCOPES).length === 0) {
    return refuse(`${who} signed in as an application (${tokenType === undefined ? 'the token has no delegated scope (scp)' : `idtyp=${tokenType.slice(0, 20)}`}), not as a user: only a person may approve, so an app's own token (client credentials, a managed identity) never does. Sign in as yourself and get a user token for the app: az account get-access-token --resource api://<client id>.`);
  }
  if (!oid) return refuse('the principal carries no object id (oid), the only claim an approver is matched on.');
  if (!approvers.has(oid)) {
    return refuse(`${who}${name ? ` (object id ${oid})` : ''} is not in DBOPS_PRODUCTION_APPROVERS${approvers.size === 0 ? ' (empty: nobody may)' : ''}.`);
  }
  return { allowed: true, approver: name ? `${oid} (${name})` : oid };
}
