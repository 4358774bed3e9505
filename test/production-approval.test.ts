import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { maintenanceHandler } from '../src/functions/http-maintenance.js';
import { defineJob, registerJob, type RegisteredJob } from '../src/shared/job.js';
import { createTestDatabase, testDeps, type TestDatabase } from './support/db.js';

const { HttpRequest, InvocationContext } = functions;

/** Jobs under the production names, that only say they ran: the gate is what is tested. */
const stand = (name: string, plans: [string, ...string[]]): RegisteredJob =>
  registerJob(
    defineJob({
      name,
      title: name,
      description: 'stand-in',
      schedules: [],
      params: z.object({ plan: z.enum(plans), confirm: z.string().optional(), target: z.unknown().optional() }).strict(),
      async run(_ctx, p) {
        return { summary: `ran ${p.plan}` };
      },
    }),
  );

const principal = (p: unknown) => Buffer.from(JSON.stringify(p)).toString('base64');
const entra = (claims: Array<[string, string]>, authType = 'aad') => principal({ auth_typ: authType, name_typ: 'name', role_typ: 'roles', claims: claims.map(([typ, val]) => ({ typ, val })) });
const OID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const SCOPE_URI = 'http://schemas.microsoft.com/identity/claims/scope';
const APPROVER_OID = '11111111-2222-4333-8444-555555555555';
const OTHER_OID = '99999999-0000-4000-8000-000000000000';
/** A signed-in user's token: it carries the delegated scope the app registration exposes. */
const user = (claims: Array<[string, string]>) => entra([['scp', 'user_impersonation'], ...claims]);

describe('HTTP: runs that act on production need a listed Entra principal', () => {
  let db: TestDatabase;
  const all = [stand('version-upgrade', ['precheck', 'rehearse', 'upgrade']), stand('failover-check', ['check', 'promote-replica', 'switchover', 'drill'])];
  const registry = { find: (n: string) => all.find((j) => j.name === n), names: () => all.map((j) => j.name) };
  const env = { WEBSITE_AUTH_ENABLED: 'True', DBOPS_PRODUCTION_APPROVERS: `${APPROVER_OID}, 22222222-2222-4222-8222-222222222222` };
  const post = (job: string, body: unknown, headers: Record<string, string> = {}, extraEnv: Record<string, string> = env) =>
    maintenanceHandler(() => testDeps(db, { env: extraEnv }), registry)(
      new HttpRequest({ method: 'POST', url: `http://localhost/api/maintenance/${job}`, params: { job }, headers, body: { string: JSON.stringify(body) } }),
      new InvocationContext(),
    );
  const error = (res: { jsonBody?: unknown }) => (res.jsonBody as { error: string }).error;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('a function key alone (no principal) gets 403 with the reason; precheck, rehearse, check and dry runs need only the key', async () => {
    const res = await post('version-upgrade', { params: { plan: 'upgrade', confirm: 'pg-1' } });
    expect(res.status).toBe(403);
    expect(error(res)).toMatch(/^version-upgrade plan=upgrade acts on production: no signed-in Microsoft Entra principal came with the request \(a function key alone is not enough\)/);
    for (const plan of ['precheck', 'rehearse']) expect((await post('version-upgrade', { params: { plan } })).status).toBe(200);
    expect((await post('failover-check', { params: { plan: 'check' } })).status).toBe(200);
    expect((await post('version-upgrade', { params: { plan: 'upgrade' }, dryRun: true })).status).toBe(200);
  });

  it("failover-check's promote-replica, switchover and drill are gated the same way", async () => {
    for (const plan of ['promote-replica', 'switchover', 'drill']) {
      const res = await post('failover-check', { params: { plan } });
      expect(res.status, plan).toBe(403);
      expect(error(res)).toContain(`failover-check plan=${plan} acts on production`);
    }
  });

  it('an unlisted user is refused by name and object id; a listed object id (any case) runs, recorded as the approver', async () => {
    const unlisted = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': user([[OID, OTHER_OID], ['preferred_username', 'intern@example.com']]) });
    expect(unlisted.status).toBe(403);
    expect(error(unlisted)).toMatch(/intern@example\.com \(object id 99999999-0000-4000-8000-000000000000\) is not in DBOPS_PRODUCTION_APPROVERS\.$/);

    const byId = await post('failover-check', { params: { plan: 'switchover' } }, { 'x-ms-client-principal': user([[OID, APPROVER_OID.toUpperCase()]]) });
    expect(byId.status).toBe(200);
    expect(byId.jsonBody).toMatchObject({ summary: 'ran switchover' });
    const named = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': user([[OID, APPROVER_OID], ['preferred_username', 'dba@example.com']]) });
    expect(named.status).toBe(200);
    const { rows } = await db.pool.query(`SELECT triggered_by FROM ops.job_run WHERE job = 'version-upgrade' ORDER BY id DESC LIMIT 1`);
    expect(rows[0]?.triggered_by).toBe(`aad:${APPROVER_OID} (dba@example.com)`);
  });

  it('reads the principal as App Service sets it for a v1 access token, and never approves by sign-in name, display name or e-mail', async () => {
    // The shape App Service authentication puts in x-ms-client-principal for an Entra bearer token
    // (claim types as its handler maps them; name_typ and role_typ name the name and role claims).
    const appService = (claims: Array<[string, string]>) =>
      principal({
        auth_typ: 'aad',
        claims: [['aud', 'api://0d3c1f2a-5b6e-4c7d-8e9f-a0b1c2d3e4f5'], ['iss', 'https://sts.windows.net/72f988bf-0000-4000-8000-000000000000/'], ['ver', '1.0'], [SCOPE_URI, 'user_impersonation'], ...claims].map(([typ, val]) => ({ typ, val })),
        name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
        role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
      });
    const v1 = await post('version-upgrade', { params: { plan: 'upgrade' } }, {
      'x-ms-client-principal': appService([[OID, APPROVER_OID], ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'someone@example.com'], ['name', 'Some One']]),
    });
    expect(v1.status).toBe(200);
    // The sign-in name of a listed approver, on another account (a renamed user's freed UPN), is refused.
    const env = { WEBSITE_AUTH_ENABLED: 'True', DBOPS_PRODUCTION_APPROVERS: APPROVER_OID };
    for (const typ of ['preferred_username', 'upn', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'name', 'email', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress']) {
      const lookalike = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': appService([[OID, OTHER_OID], [typ, 'dba@example.com']]) }, env);
      expect(lookalike.status, typ).toBe(403);
      expect(error(lookalike)).toMatch(/dba@example\.com \(object id 99999999-0000-4000-8000-000000000000\) is not in DBOPS_PRODUCTION_APPROVERS/);
    }
  });

  it('an application never approves, even with a listed object id: no delegated scope, or idtyp=app', async () => {
    // A managed identity's or service principal's own token (client credentials): roles, no scp.
    const appOnly = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([[OID, APPROVER_OID], ['roles', 'Maintenance.Run'], ['azp', '0d3c1f2a-5b6e-4c7d-8e9f-a0b1c2d3e4f5']]) });
    expect(appOnly.status).toBe(403);
    expect(error(appOnly)).toMatch(/signed in as an application \(the token has no delegated scope \(scp\)\), not as a user: only a person may approve/);
    const typed = await post('failover-check', { params: { plan: 'drill' } }, { 'x-ms-client-principal': entra([[OID, APPROVER_OID], ['idtyp', 'app'], ['scp', 'user_impersonation']]) });
    expect(typed.status).toBe(403);
    expect(error(typed)).toMatch(/signed in as an application \(idtyp=app\)/);
    const typedUser = await post('failover-check', { params: { plan: 'drill' } }, { 'x-ms-client-principal': entra([[OID, APPROVER_OID], ['idtyp', 'user'], ['scp', 'user_impersonation']]) });
    expect(typedUser.status).toBe(200);
  });

  it('a sign-in name in DBOPS_PRODUCTION_APPROVERS is a settings error: every production action is refused, saying which entry and how to get its object id', async () => {
    const res = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': user([[OID, APPROVER_OID]]) }, { WEBSITE_AUTH_ENABLED: 'True', DBOPS_PRODUCTION_APPROVERS: `${APPROVER_OID}, DBA@example.com` });
    expect(res.status).toBe(403);
    expect(error(res)).toMatch(/acts on production: nobody may until the setting is fixed: DBOPS_PRODUCTION_APPROVERS=.* is invalid: "DBA@example\.com" is not an object id: list users by object id only .*az ad user show --id <sign-in name> --query id -o tsv/);
    expect((await post('version-upgrade', { params: { plan: 'precheck' } }, {}, { DBOPS_PRODUCTION_APPROVERS: 'DBA@example.com' })).status).toBe(200);
  });

  it('forged principals: without App Service authentication in front, garbled, another provider, or empty of identity', async () => {
    const good = user([[OID, APPROVER_OID]]);
    const noEasyAuth = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': good }, { DBOPS_PRODUCTION_APPROVERS: APPROVER_OID });
    expect(noEasyAuth.status).toBe(403);
    expect(error(noEasyAuth)).toMatch(/App Service authentication is not enabled on this Function App, so no signed-in principal can be trusted/);
    const garbled = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': 'not-base64-json!!' });
    expect(error(garbled)).toMatch(/cannot be read as an App Service authentication principal/);
    const github = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([['scp', 'user_impersonation'], [OID, APPROVER_OID]], 'github') });
    expect(error(github)).toMatch(/signed in by "github", not Microsoft Entra ID/);
    const nameOnly = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal-name': 'dba@example.com' });
    expect(nameOnly.status).toBe(403);
    const empty = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': user([['preferred_username', 'dba@example.com']]) });
    expect(error(empty)).toMatch(/the principal carries no object id \(oid\), the only claim an approver is matched on/);
    const nobody = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': good }, { WEBSITE_AUTH_ENABLED: 'True' });
    expect(error(nobody)).toMatch(/not in DBOPS_PRODUCTION_APPROVERS \(empty: nobody may\)/);
  });
});
