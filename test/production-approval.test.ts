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
const APPROVER_OID = '11111111-2222-4333-8444-555555555555';

describe('HTTP: runs that act on production need a listed Entra principal', () => {
  let db: TestDatabase;
  const all = [stand('version-upgrade', ['precheck', 'rehearse', 'upgrade']), stand('failover-check', ['check', 'promote-replica', 'switchover', 'drill'])];
  const registry = { find: (n: string) => all.find((j) => j.name === n), names: () => all.map((j) => j.name) };
  const env = { WEBSITE_AUTH_ENABLED: 'True', DBOPS_PRODUCTION_APPROVERS: `${APPROVER_OID}, DBA@example.com` };
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

  it('an unlisted principal is refused by name; a listed one (object id or sign-in name, any case) runs, recorded as the approver', async () => {
    const unlisted = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([[OID, '99999999-0000-4000-8000-000000000000'], ['preferred_username', 'intern@example.com']]) });
    expect(unlisted.status).toBe(403);
    expect(error(unlisted)).toMatch(/intern@example\.com is not in DBOPS_PRODUCTION_APPROVERS/);

    const byId = await post('failover-check', { params: { plan: 'switchover' } }, { 'x-ms-client-principal': entra([[OID, APPROVER_OID]]) });
    expect(byId.status).toBe(200);
    expect(byId.jsonBody).toMatchObject({ summary: 'ran switchover' });
    const byName = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([['preferred_username', 'dba@EXAMPLE.com']]) });
    expect(byName.status).toBe(200);
    const { rows } = await db.pool.query(`SELECT triggered_by FROM ops.job_run WHERE job = 'version-upgrade' ORDER BY id DESC LIMIT 1`);
    expect(rows[0]?.triggered_by).toBe('aad:dba@example.com');
  });

  it('reads the principal as App Service sets it for a v1 access token, and never approves by display name or e-mail', async () => {
    // The shape App Service authentication puts in x-ms-client-principal for an Entra bearer token
    // (claim types as its handler maps them; name_typ and role_typ name the name and role claims).
    const appService = (claims: Array<[string, string]>) =>
      principal({
        auth_typ: 'aad',
        claims: [['aud', 'api://0d3c1f2a-5b6e-4c7d-8e9f-a0b1c2d3e4f5'], ['iss', 'https://sts.windows.net/72f988bf-0000-4000-8000-000000000000/'], ['ver', '1.0'], ...claims].map(([typ, val]) => ({ typ, val })),
        name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
        role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
      });
    const v1 = await post('version-upgrade', { params: { plan: 'upgrade' } }, {
      'x-ms-client-principal': appService([[OID, APPROVER_OID], ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'someone@example.com'], ['name', 'Some One']]),
    });
    expect(v1.status).toBe(200);
    const byUpn = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': appService([[OID, '99999999-0000-4000-8000-000000000000'], ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'dba@example.com']]) });
    expect(byUpn.status).toBe(200);
    for (const typ of ['name', 'email', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress']) {
      const lookalike = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': appService([[OID, '99999999-0000-4000-8000-000000000000'], [typ, 'dba@example.com']]) });
      expect(lookalike.status, typ).toBe(403);
      expect(error(lookalike)).toMatch(/dba@example\.com is not in DBOPS_PRODUCTION_APPROVERS/);
    }
  });

  it('forged principals: without App Service authentication in front, garbled, another provider, or empty of identity', async () => {
    const good = entra([[OID, APPROVER_OID]]);
    const noEasyAuth = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': good }, { DBOPS_PRODUCTION_APPROVERS: APPROVER_OID });
    expect(noEasyAuth.status).toBe(403);
    expect(error(noEasyAuth)).toMatch(/App Service authentication is not enabled on this Function App, so no signed-in principal can be trusted/);
    const garbled = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': 'not-base64-json!!' });
    expect(error(garbled)).toMatch(/cannot be read as an App Service authentication principal/);
    const github = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([[OID, APPROVER_OID]], 'github') });
    expect(error(github)).toMatch(/signed in by "github", not Microsoft Entra ID/);
    const nameOnly = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal-name': 'dba@example.com' });
    expect(nameOnly.status).toBe(403);
    const empty = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': entra([['roles', 'Admin']]) });
    expect(error(empty)).toMatch(/no object id or sign-in name/);
    const nobody = await post('version-upgrade', { params: { plan: 'upgrade' } }, { 'x-ms-client-principal': good }, { WEBSITE_AUTH_ENABLED: 'True' });
    expect(error(nobody)).toMatch(/not in DBOPS_PRODUCTION_APPROVERS \(empty: nobody may\)/);
  });
});
