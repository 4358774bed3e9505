import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markSignal, recordSignal } from '../src/events/inbox.js';
import { epochToIso, normalizeSignals, serverResourceId } from '../src/events/normalize.js';
import { routeSignal } from '../src/events/route.js';
import { azureExamplesDir } from './support/azure-examples.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const examples = azureExamplesDir;
const example = (name: string): unknown => JSON.parse(readFileSync(join(examples, name), 'utf8'));

const server = serverResourceId('11111111-1111-1111-1111-111111111111', 'rg-phonebill-prod', 'phonebill-postgresql-prod');
const config = { serverResourceIds: [server], managedSecrets: ['pg-product-change-app'] };

const nearExpiry = (data: Record<string, unknown>, id = 'evt-1') => ({
  id,
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-dbops',
  subject: 'pg-product-change-app',
  eventType: 'Microsoft.KeyVault.SecretNearExpiry',
  eventTime: '2026-11-29T01:00:00Z',
  data,
  dataVersion: '1',
  metadataVersion: '1',
});

describe('signal normalisation', () => {
  it('reads the official Key Vault example, with its stray spaces, as a secret event', () => {
    const [s] = normalizeSignals(example('eventgrid-KeyVault-SecretNewVersionCreated.json'));
    expect(s).toMatchObject({
      kind: 'keyvault.secret-new-version',
      secret: { vault: 'sample-kv', name: 'newsecret', version: 'ee059b2bb5bc48398a53b168c6cdcb10', expires: '2019-05-28T22:21:42.000Z' },
    });
  });

  it.each([
    ['PascalCase, numeric strings', { Id: 'https://kv-dbops.vault.azure.net/secrets/pg-product-change-app/v1', VaultName: 'kv-dbops', ObjectType: 'Secret', ObjectName: 'pg-product-change-app', Version: 'v1', NBF: '1764000000', EXP: '1766592000' }],
    ['camelCase, numbers', { id: 'https://kv-dbops.vault.azure.net/secrets/pg-product-change-app/v1', vaultName: 'kv-dbops', objectType: 'Secret', objectName: 'pg-product-change-app', version: 'v1', nbf: 1764000000, exp: 1766592000 }],
    ['stray spaces in keys and values', { ' ObjectName ': ' pg-product-change-app ', 'Version ': ' v1', EXP: 1766592000, NBF: null, VaultName: 'kv-dbops' }],
  ])('reads SecretNearExpiry data in %s', (_label, data) => {
    const [s] = normalizeSignals(nearExpiry(data));
    expect(s).toMatchObject({ kind: 'keyvault.secret-near-expiry', secret: { name: 'pg-product-change-app', version: 'v1', vault: 'kv-dbops', expires: '2025-12-24T16:00:00.000Z' } });
    expect(routeSignal(s!, config)).toMatchObject({ action: 'run', job: 'password-rotation' });
  });

  it('takes NBF/EXP as numbers, numeric strings or null', () => {
    expect(epochToIso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(epochToIso(' 1559082102 ')).toBe('2019-05-28T22:21:42.000Z');
    expect(epochToIso(null)).toBeNull();
    expect(epochToIso('soon')).toBeNull();
  });

  it('ignores secrets dbops does not manage', () => {
    const [s] = normalizeSignals(nearExpiry({ ObjectName: 'someone-elses', Version: 'v9' }));
    expect(routeSignal(s!, config)).toMatchObject({ action: 'ignore', reason: expect.stringMatching(/not one dbops rotates/) });
  });

  it('reads the common alert schema; Fired and Resolved are different signals', () => {
    const payload = example('azuremonitor-commonAlertSchema-ResourceHealth-testaction.json') as { data: { essentials: Record<string, unknown> } };
    const [fired] = normalizeSignals(payload);
    expect(fired).toMatchObject({ kind: 'resource-health.alert', health: { current: 'Unavailable', previous: 'Available', condition: 'Fired' } });
    // The example targets a VM: not ours.
    expect(routeSignal(fired!, config).action).toBe('ignore');
    const ours = structuredClone(payload);
    ours.data.essentials.alertTargetIDs = [server.replace('flexibleservers', 'flexibleServers')];
    ours.data.essentials.monitorCondition = 'Resolved';
    const [resolved] = normalizeSignals(ours);
    expect(resolved!.id).not.toBe(fired!.id);
    expect(routeSignal(resolved!, config)).toMatchObject({ action: 'run', job: 'failover-check' });
  });

  it('routes a restart-with-failover action on our server to failover-check, others away', () => {
    const [ev] = example('eventgrid-Resources-ResourceActionSuccess.json') as Array<{ data: Record<string, unknown>; subject: string }>;
    const [theirs] = normalizeSignals([ev]);
    expect(routeSignal(theirs!, config)).toMatchObject({ action: 'ignore' });
    const ours = structuredClone(ev!);
    ours.data.resourceUri = server;
    ours.data.operationName = 'Microsoft.DBforPostgreSQL/flexibleServers/restart/action';
    const [s] = normalizeSignals([ours]);
    expect(s).toMatchObject({ kind: 'resource.action', operation: { name: 'Microsoft.DBforPostgreSQL/flexibleServers/restart/action', status: 'Succeeded' } });
    expect(routeSignal(s!, config)).toMatchObject({ action: 'run', job: 'failover-check' });
  });

  it('reads the Health Resources event in both schemas', () => {
    const [a] = normalizeSignals(example('eventgrid-HealthResources-AvailabilityStatusChanged.json'));
    const [b] = normalizeSignals(example('eventgrid-HealthResources-AvailabilityStatusChanged.cloudevent.json'));
    for (const s of [a, b]) expect(s).toMatchObject({ kind: 'health-resources.availability', health: { current: 'Available', previous: 'Unavailable' } });
    expect(b!.schema).toBe('cloudevents');
  });

  it('marks what it cannot read instead of throwing, element by element', () => {
    const out = normalizeSignals([42, { schemaId: 'Microsoft.Insights/activityLogs', data: {} }, { eventType: 'X' }, nearExpiry({ ObjectName: 'pg-product-change-app' })]);
    expect(out.map((s) => s.problem ?? 'ok')).toEqual([
      'not a JSON object',
      expect.stringMatching(/enable the common alert schema/),
      expect.stringMatching(/needs "id"/),
      'ok',
    ]);
    expect(() => normalizeSignals([])).toThrow(/empty array/);
  });
});

describe('event inbox', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('records a signal once; a redelivery is recognised', async () => {
    const [s] = normalizeSignals(nearExpiry({ ObjectName: 'pg-product-change-app', Version: 'v1' }, 'dup-1'));
    expect(await recordSignal(db.pool, s!, 'eventgrid', { any: 'payload' })).toBe(true);
    expect(await recordSignal(db.pool, s!, 'eventgrid', { any: 'payload' })).toBe(false);
    await markSignal(db.pool, s!.id, 'ignored', 'test');
    const { rows } = await db.pool.query(`SELECT status, reason FROM ops.event_inbox WHERE event_id = 'dup-1'`);
    expect(rows).toEqual([{ status: 'ignored', reason: 'test' }]);
  });
});
