import functions from '@azure/functions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { alertHandler } from '../src/functions/events.js';
import { handleSignals } from '../src/events/handle.js';
import { defineJob, registerJob } from '../src/shared/job.js';
import { azureExamplesDir } from './support/azure-examples.js';
import { createTestDatabase, testDeps, type TestDatabase } from './support/db.js';

const { HttpRequest, InvocationContext } = functions;
const examples = azureExamplesDir;
const env = {
  DBOPS_AZURE_SUBSCRIPTION_ID: '11111111-1111-1111-1111-111111111111',
  DBOPS_AZURE_RESOURCE_GROUP: 'rg-phonebill-prod',
  DBOPS_AZURE_SERVER_NAME: 'phonebill-postgresql-prod',
};
const ourServer = '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-phonebill-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/phonebill-postgresql-prod';

function alertFor(target: string, condition = 'Fired', alert = 'a1') {
  const payload = JSON.parse(readFileSync(join(examples, 'azuremonitor-commonAlertSchema-ResourceHealth-testaction.json'), 'utf8'));
  payload.data.essentials.alertId = `/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/${alert}`;
  payload.data.essentials.alertTargetIDs = [target];
  payload.data.essentials.monitorCondition = condition;
  return payload;
}

describe('event and alert triggers', () => {
  let db: TestDatabase;
  const ran: unknown[] = [];
  const failoverCheck = registerJob(
    defineJob({
      name: 'failover-check',
      title: 'test stand-in that records what it was asked',
      description: 'records params',
      schedules: [],
      params: z.object({ signalId: z.string(), condition: z.string().nullable() }).strict(),
      fromSignal: (s) => ({ signalId: s.id, condition: s.health?.condition ?? null }),
      async run(_ctx, p) {
        ran.push(p);
        return { summary: `checked after ${p.signalId}` };
      },
    }),
  );
  const findJob = (n: string) => (n === 'failover-check' ? failoverCheck : undefined);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('runs the routed job once per signal; a redelivery is acknowledged and ignored', async () => {
    const deps = testDeps(db, { env });
    const first = await handleSignals(alertFor(ourServer), { source: 'azure-monitor', trigger: 'alert', deps, findJob });
    expect(first).toEqual([expect.objectContaining({ outcome: 'ran', job: 'failover-check', status: 'ok' })]);
    const again = await handleSignals(alertFor(ourServer), { source: 'azure-monitor', trigger: 'alert', deps, findJob });
    expect(again).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);
    const resolved = await handleSignals(alertFor(ourServer, 'Resolved'), { source: 'azure-monitor', trigger: 'alert', deps, findJob });
    expect(resolved).toEqual([expect.objectContaining({ outcome: 'ran' })]);
    expect(ran).toEqual([
      { signalId: expect.stringMatching(/#Fired$/), condition: 'Fired' },
      { signalId: expect.stringMatching(/#Resolved$/), condition: 'Resolved' },
    ]);
    const { rows } = await db.pool.query(`SELECT status, job_run_id IS NOT NULL AS linked FROM ops.event_inbox ORDER BY received_at`);
    expect(rows).toEqual([
      { status: 'processed', linked: true },
      { status: 'processed', linked: true },
    ]);
  });

  it('acknowledges an alert for another resource without running anything', async () => {
    const before = ran.length;
    const out = await handleSignals(alertFor(ourServer.replace('prod', 'other'), 'Fired', 'a2'), { source: 'azure-monitor', trigger: 'alert', deps: testDeps(db, { env }), findJob });
    expect(out).toEqual([expect.objectContaining({ outcome: 'ignored', reason: 'not about a server dbops looks after' })]);
    expect(ran.length).toBe(before);
  });

  it('HTTP receiver: 200 for a handled alert, 400 for an unknown schema or non-JSON, never a crash', async () => {
    const handler = alertHandler(() => testDeps(db, { env }));
    const post = (body: string) => handler(new HttpRequest({ method: 'POST', url: 'http://localhost/api/alerts/resource-health', body: { string: body } }), new InvocationContext());
    const ok = await post(JSON.stringify(alertFor(ourServer.replace('prod', 'third'), 'Fired', 'a3')));
    expect(ok.status).toBe(200);
    const unknown = await post(JSON.stringify({ schemaId: 'AzureMonitorMetricAlert', data: {} }));
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.jsonBody)).toMatch(/common alert schema/);
    const garbage = await post('not json');
    expect(garbage.status).toBe(400);
  });

  it('HTTP receiver: 503 with Retry-After when the alert cannot be recorded, so the action group retries', async () => {
    // No database answers on port 1: recording the alert fails as it does during a failover.
    const handler = alertHandler(() => ({ ...testDeps(db, { env }), target: { kind: 'url', url: 'postgres://dbops@127.0.0.1:1/none?connect_timeout=2' } }));
    const res = await handler(
      new HttpRequest({ method: 'POST', url: 'http://localhost/api/alerts/resource-health', body: { string: JSON.stringify(alertFor(ourServer, 'Fired', 'a503')) } }),
      new InvocationContext(),
    );
    expect(res.status).toBe(503);
    expect(new Headers(res.headers).get('retry-after')).toMatch(/^\d+$/);
  });
});
