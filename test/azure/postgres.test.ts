import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureOperationError, type Server } from '../../src/platform/azure/index.js';
import { ident } from '../../src/platform/db/sql.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { EMULATOR_DATABASE_TAG, realDatabaseRestores, snapshotDatabase } from '../../src/local-azure/restore.js';
import { adminUrl, createTestDatabase, urlFor } from '../support/db.js';

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await startAzureEmulator();
});
afterAll(async () => {
  await emu?.close();
});

describe('flexible servers through @azure/arm-postgresql-flexible', () => {
  it('gets the primary server, its replicas and its backups', async () => {
    const azure = emu.services();
    const server = await azure.postgres.getServer();
    expect(server.name).toBe(emu.serverName);
    expect(server.state).toBe('Ready');
    expect(server.highAvailability?.mode).toBe('ZoneRedundant');
    expect(server.version).toBe('14');
    const replicas = await azure.postgres.listReplicas();
    expect(replicas.map((r) => r.name)).toEqual([emu.replicaName]);
    expect(replicas[0]?.replica?.role).toBe('AsyncReplica');
    const backups = await azure.postgres.listBackups();
    expect(backups.length).toBeGreaterThan(0);
    expect(backups.at(-1)?.completedTime).toBeInstanceOf(Date);
    expect(emu.calls.filter((c) => c.operation === 'servers.get').every((c) => c.apiVersion === '2025-08-01')).toBe(true);
  });

  it('turns an ARM error into a message naming resource, operation, status and code, without the token', async () => {
    const azure = emu.services({ env: { DBOPS_AZURE_SERVER_NAME: 'no-such-server' } });
    const err = await azure.postgres.getServer().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AzureOperationError);
    const e = err as AzureOperationError;
    expect(e.status).toBe(404);
    expect(e.code).toBe('ResourceNotFound');
    expect(e.message).toMatch(/get server on flexible server no-such-server failed \(HTTP 404 ResourceNotFound\)/);
    expect(e.message).toMatch(/DBOPS_AZURE_/);
    const token = (await emu.credential.getToken('x'))!.token;
    expect(JSON.stringify({ m: e.message, s: e.stack })).not.toContain(token);
  });
});

describe('long-running operations', () => {
  it('restores to a point in time on a real database copy, and deletes it', async () => {
    const source = await createTestDatabase({ prefix: 'azure_src', migrated: false });
    await source.pool.query('CREATE TABLE orders (id int primary key, note text)');
    await source.pool.query("INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 42) g");
    const snapshot = await snapshotDatabase(adminUrl(), source.name);
    const hooks = realDatabaseRestores({ adminUrl: adminUrl(), snapshot });
    emu.postgres.hooks = hooks;
    emu.setOperationPolls(2);
    try {
      const azure = emu.services();
      const op = await azure.postgres.beginPointInTimeRestore({ targetServerName: 'pg-restore-check-1', pointInTime: new Date(Date.now() - 3600_000) });
      expect(op.isDone()).toBe(false);
      expect(emu.postgres.server('pg-restore-check-1').state).toBe('Provisioning');
      const restored = await op.wait();
      expect(restored.state).toBe('Ready');
      expect(restored.highAvailability?.mode).toBe('Disabled');
      const database = restored.tags?.[EMULATOR_DATABASE_TAG];
      expect(database).toBeTruthy();
      const copy = new pg.Client({ connectionString: urlFor(database!) });
      await copy.connect();
      const { rows } = await copy.query<{ n: string }>('SELECT count(*) AS n FROM orders');
      await copy.end();
      expect(rows[0]?.n).toBe('42');
      // The initial PUT carried the documented PITR body.
      const put = emu.calls.find((c) => c.operation === 'servers.createOrUpdate');
      expect(put?.body).toMatchObject({ properties: { createMode: 'PointInTimeRestore', sourceServerResourceId: azure.postgres.serverId() } });

      await (await azure.postgres.beginDelete('pg-restore-check-1')).wait();
      expect(emu.postgres.servers.has('pg-restore-check-1')).toBe(false);
      const gone = await source.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      expect(gone.rowCount).toBe(0);
    } finally {
      emu.setOperationPolls(1);
      emu.postgres.hooks = {};
      await source.drop();
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${ident(snapshot)}`);
      await c.end();
    }
  });

  it('serializes a started restore and resumes it with a fresh client (another invocation)', async () => {
    emu.setOperationPolls(3);
    try {
      const first = emu.services();
      const op = await first.postgres.beginPointInTimeRestore({ targetServerName: 'pg-restore-resume', pointInTime: new Date(Date.now() - 600_000) });
      const saved = op.serialize();
      expect(JSON.parse(saved)).toMatchObject({ kind: 'restore', serverName: 'pg-restore-resume' });
      expect(saved).not.toContain((await emu.credential.getToken('x'))!.token);
      const resumed = await emu.services().postgres.resume(saved);
      expect(resumed.kind).toBe('restore');
      const server = (await resumed.wait()) as Server;
      expect(server.name).toBe('pg-restore-resume');
      expect(server.state).toBe('Ready');
    } finally {
      emu.setOperationPolls(1);
    }
  });

  it('restarts with a forced failover: the zones swap', async () => {
    const azure = emu.services();
    const before = await azure.postgres.getServer();
    await (await azure.postgres.beginRestart({ failover: 'Forced' })).wait();
    expect(emu.postgres.restarts.at(-1)).toEqual({ server: emu.serverName, failover: true, failoverMode: 'ForcedFailover' });
    const after = await azure.postgres.getServer();
    expect(after.availabilityZone).toBe(before.highAvailability?.standbyAvailabilityZone);
  });

  it('refuses a failover on a server without HA, readably', async () => {
    const azure = emu.services();
    const err = (await azure.postgres.beginRestart({ name: emu.replicaName, failover: 'Planned' }).catch((e: unknown) => e)) as AzureOperationError;
    expect(err).toBeInstanceOf(AzureOperationError);
    expect(err.message).toMatch(/restart with planned failover on flexible server .*replica failed \(HTTP 400 HighAvailabilityNotEnabled\)/);
  });

  it('promotes the replica with a planned switchover: roles swap', async () => {
    const local = await startAzureEmulator();
    try {
      const azure = local.services();
      const promoted = await (await azure.postgres.beginPromoteReplica({ mode: 'switchover', option: 'planned' })).wait();
      expect(promoted.replicationRole).toBe('Primary');
      expect(local.calls.find((c) => c.operation === 'servers.update')?.body).toEqual({ properties: { replica: { promoteMode: 'Switchover', promoteOption: 'Planned' } } });
      expect((await azure.postgres.getServer()).replicationRole).toBe('AsyncReplica');
      expect((await azure.postgres.listReplicas(local.replicaName)).map((s) => s.name)).toEqual([local.serverName]);
    } finally {
      await local.close();
    }
  });

  it('reports an operation that fails in Azure with its error code', async () => {
    emu.inject({ operation: 'servers.createOrUpdate', kind: 'lro-fail', code: 'RestoreFailed', message: 'No backup covers the requested time.' });
    const op = await emu.services().postgres.beginPointInTimeRestore({ targetServerName: 'pg-restore-fails', pointInTime: new Date(Date.now() - 60_000) });
    const err = (await op.wait().catch((e: unknown) => e)) as AzureOperationError;
    expect(err).toBeInstanceOf(AzureOperationError);
    expect(err.code).toBe('RestoreFailed');
    expect(err.message).toMatch(/point-in-time restore of .* on flexible server pg-restore-fails failed \(RestoreFailed\): the operation failed in Azure: No backup covers/);
    expect(emu.postgres.servers.has('pg-restore-fails')).toBe(false);
  });

  it('stops waiting at the deadline on a hung operation, which can be resumed later', async () => {
    emu.inject({ operation: 'servers.createOrUpdate', kind: 'hang' });
    const op = await emu.services().postgres.beginPointInTimeRestore({ targetServerName: 'pg-restore-hangs', pointInTime: new Date(Date.now() - 60_000) });
    const err = (await op.wait({ deadlineMs: 50 }).catch((e: unknown) => e)) as AzureOperationError;
    expect(err.code).toBe('DeadlineReached');
    expect(err.message).toMatch(/still running/);
    expect(op.isDone()).toBe(false);
    const again = await emu.services().postgres.resume(op.serialize());
    expect(again.isDone()).toBe(false);
  });

  it('retries 5xx answers (the SDK policy) and then succeeds; gives a readable error when they persist', async () => {
    const flaky = emu.inject({ operation: 'servers.get', kind: 'error', status: 503, code: 'ServiceUnavailable', times: 2 });
    expect((await emu.services().postgres.getServer()).name).toBe(emu.serverName);
    expect(flaky.hits).toBe(2);
    emu.inject({ operation: 'servers.get', kind: 'error', status: 500, code: 'InternalServerError', message: 'Something broke.', times: 10 });
    const err = (await emu.services().postgres.getServer().catch((e: unknown) => e)) as AzureOperationError;
    emu.clearFaults();
    expect(err.status).toBe(500);
    expect(err.message).toMatch(/HTTP 500 InternalServerError.*Something broke/);
  });
});
