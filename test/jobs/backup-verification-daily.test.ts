import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupVerification, isTemporaryRestoreServer, restoredServerTarget, temporaryServerName, weeklyTestDue } from '../../src/jobs/backup-verification/index.js';
import { readCoreSettings } from '../../src/shared/config.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { defaultServer } from '../../src/local-azure/postgres.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(backupVerification);
const HOUR = 3_600_000;

describe('backup-verification: the daily backup check', () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  const now = new Date();
  beforeAll(async () => {
    db = await createTestDatabase();
    emu = await startAzureEmulator();
  });
  afterAll(async () => {
    await emu?.close();
    await db?.drop();
  });
  beforeEach(() => {
    // Back to the plan: 35 days, geo-redundant, a backup an hour ago.
    Object.assign(emu.postgres.server(emu.serverName), defaultServer(emu.serverName, { resourceGroup: emu.resourceGroup, location: 'koreacentral' }, now));
    emu.postgres.backups.set(emu.serverName.toLowerCase(), [
      { name: 'older', backupType: 'Full', source: 'Automatic', completedTime: new Date(now.getTime() - 25 * HOUR).toISOString() },
      { name: 'newest', backupType: 'Full', source: 'Automatic', completedTime: new Date(now.getTime() - HOUR).toISOString() },
    ]);
  });
  const daily = () => runJob(job, { mode: 'daily' }, testDeps(db, { env: emu.env, services: { azure: emu.services() }, now: () => now }), { trigger: 'test' });

  it('is ok when backups are as planned, and reports the newest backup for the console', async () => {
    const report = await daily();
    expect(report.status, report.summary).toBe('ok');
    expect(report.data).toMatchObject({ latestBackup: new Date(now.getTime() - HOUR).toISOString(), latestBackupAgeHours: 1, backupRetentionDays: 35, geoRedundantBackup: 'Enabled', restoreWindowDays: 35 });
  });

  it('reports a missing recent backup', async () => {
    emu.postgres.backups.set(emu.serverName.toLowerCase(), [{ name: 'old', backupType: 'Full', source: 'Automatic', completedTime: new Date(now.getTime() - 30 * HOUR).toISOString() }]);
    const report = await daily();
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'backup.latest-age', target: emu.serverName, value: 30, threshold: 26, unit: 'h' }));
    emu.postgres.backups.set(emu.serverName.toLowerCase(), []);
    expect((await daily()).findings).toContainEqual(expect.objectContaining({ check: 'backup.none' }));
  });

  it('reports a retention shorter than planned, a short restore window and lost geo-redundancy', async () => {
    const server = emu.postgres.server(emu.serverName);
    server.backupRetentionDays = 7;
    server.earliestRestoreDate = new Date(now.getTime() - 7 * 24 * HOUR).toISOString();
    server.geoRedundantBackup = 'Disabled';
    const report = await daily();
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'backup.retention', value: 7, threshold: 35, remedy: expect.stringMatching(/--backup-retention 35/) }),
    );
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'backup.restore-window', severity: 'warning', value: 7, threshold: 35 }));
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'backup.geo-redundant', value: 'Disabled' }));
  });

  it('says which settings are missing without Azure, and prints the plan on a dry run', async () => {
    const report = await runJob(job, {}, testDeps(db), { trigger: 'test', dryRun: true });
    expect(report.status).toBe('skipped');
    expect(report.summary).toMatch(/Azure not configured[\s\S]*restore the server[\s\S]*delete it/);
  });
});

describe('backup-verification: the temporary server', () => {
  it('is named after its source, start and attempt, within 63 characters', () => {
    const at = new Date('2025-09-08T10:00:00Z');
    expect(temporaryServerName('phonebill-postgresql-prod', at, 12)).toBe('phonebill-postgresql-prod-rt-202509081000-12');
    expect(temporaryServerName('x'.repeat(63), at, 1).length).toBeLessThanOrEqual(63);
  });

  it('is recognised by its tags, and the production server and replica never are', () => {
    const tags = { purpose: 'dbops-restore-test', 'created-by': 'dbops backup-verification' };
    expect(isTemporaryRestoreServer({ name: 'pg-rt-1', tags }, ['pg', 'pg-replica'])).toBe(true);
    expect(isTemporaryRestoreServer({ name: 'PG', tags }, ['pg', 'pg-replica'])).toBe(false);
    expect(isTemporaryRestoreServer({ name: 'pg-rt-1', tags: { purpose: 'dbops-restore-test' } }, ['pg'])).toBe(false);
  });

  it('is reached with the production credentials at its own host, or Entra, or the emulator tags', () => {
    const server = { name: 'pg-rt-1', fullyQualifiedDomainName: 'pg-rt-1.postgres.database.azure.com', tags: { 'emulator-port': '6543', 'emulator-database': 'restored_x' } };
    const url = readCoreSettings({ DATABASE_URL: 'postgres://dbops:s3cret-value@prod.postgres.database.azure.com:5432/product_change_db?sslmode=require' });
    expect(restoredServerTarget(server, url)).toEqual({ kind: 'url', url: 'postgres://dbops:s3cret-value@pg-rt-1.postgres.database.azure.com:5432/product_change_db?sslmode=require' });
    expect(restoredServerTarget(server, url, { password: 'from vault' })).toMatchObject({ url: expect.stringContaining('dbops:from%20vault@') });
    expect(restoredServerTarget(server, url, { useEmulatorTags: true })).toMatchObject({ url: expect.stringContaining(':6543/restored_x') });
    const entra = readCoreSettings({ DBOPS_PG_AUTH: 'entra', DBOPS_PG_HOST: 'prod', DBOPS_PG_USER: 'func-dbops-prod' });
    expect(restoredServerTarget(server, entra)).toEqual({ kind: 'entra', host: 'pg-rt-1.postgres.database.azure.com', port: 5432, database: 'product_change_db', user: 'func-dbops-prod', ssl: true });
  });
});

describe('backup-verification: when a weekly test is due', () => {
  const saturday20 = '0 0 20 * * 6';
  it('is due after the scheduled start until an attempt starts, for a day at most', () => {
    const start = new Date('2025-09-13T20:00:00Z'); // a Saturday
    expect(weeklyTestDue(saturday20, new Date('2025-09-13T19:55:00Z'), null).due).toBe(false);
    expect(weeklyTestDue(saturday20, new Date('2025-09-13T20:10:00Z'), null).due).toBe(true);
    expect(weeklyTestDue(saturday20, new Date('2025-09-13T20:10:00Z'), new Date('2025-09-06T20:00:00Z')).due).toBe(true);
    expect(weeklyTestDue(saturday20, new Date('2025-09-13T20:20:00Z'), new Date('2025-09-13T20:10:00Z')).due).toBe(false);
    expect(weeklyTestDue(saturday20, new Date('2025-09-15T08:00:00Z'), null).due).toBe(false);
    expect(weeklyTestDue(saturday20, new Date('2025-09-14T08:00:00Z'), null).next.getTime()).toBe(start.getTime() + 7 * 24 * HOUR);
  });
});
