import type { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { list, readSettings, setting, type Env } from '../platform/settings.js';

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
    doc: "Microsoft Entra users (object ids or sign-in names, comma-separated) who may ask over HTTP for runs that act on production: version-upgrade plan=upgrade, failover-check plan=promote-replica, switchover and drill. They must come signed in through the Function App's App Service authentication; empty: nobody may.",
    default: '',
    example: '00000000-0000-0000-0000-000000000000,dba@example.com',
    schema: list(),
  }),
};

/** The App Service authentication principal (x-ms-client-principal: base64 JSON). */
const principalSchema = z.object({
  auth_typ: z.string(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
});

const OBJECT_ID = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
// Sign-in names an approver may be listed by. A display name (`name`) or `email` is not one: either
// can be the same for two people and is not checked by Entra, so it only names who was refused.
const SIGN_IN_NAMES = ['preferred_username', 'upn', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn'];
const DISPLAY_NAMES = ['name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'email', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];

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
  const { productionApprovers } = readSettings(httpApiSettings, env);
  const refuse = (why: string): Approval => ({ allowed: false, reason: `${action} acts on production: ${why}` });
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
  const claim = (types: string[]) => principal.claims.filter((c) => types.includes(c.typ)).map((c) => c.val.toLowerCase());
  const ids = [...claim(OBJECT_ID), ...claim(SIGN_IN_NAMES)];
  if (ids.length === 0) return refuse('the principal carries no object id or sign-in name.');
  const approvers = new Set(productionApprovers.map((a) => a.toLowerCase()));
  const match = ids.find((id) => approvers.has(id));
  if (!match) {
    const who = claim(SIGN_IN_NAMES)[0] ?? claim(DISPLAY_NAMES)[0] ?? claim(OBJECT_ID)[0] ?? '?';
    return refuse(`${who.slice(0, 100)} is not in DBOPS_PRODUCTION_APPROVERS${approvers.size === 0 ? ' (empty: nobody may)' : ''}.`);
  }
  return { allowed: true, approver: match };
}
