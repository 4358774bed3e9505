import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveFromSettings, blobArchive, type PartitionArchive } from '../../src/jobs/partition-maintenance/archive.js';
import { partitionMaintenance } from '../../src/jobs/partition-maintenance/index.js';
import { azureCredential } from '../../src/platform/azure/credential.js';
import { partitionSettings } from '../../src/jobs/partition-maintenance/settings.js';
import { freePort } from '../../src/platform/db/embedded.js';
import { listPartitions, monthStart, monthlyPartitionName } from '../../src/platform/db/partitions.js';
import { loadSampleData } from '../../src/platform/db/sample-data.js';
import { registerJob } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { readSettings } from '../../src/platform/settings.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(partitionMaintenance);
const now = new Date();
const monthName = (offset: number) => monthlyPartitionName('pc_kos_integration_log', monthStart(now, offset));
// Azurite's well-known development account: public, documented, accepted only by the emulator.
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function waitForPort(port: number, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Azurite did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('partition-maintenance archives to Blob Storage (Azurite) before dropping', () => {
  let db: TestDatabase;
  let azurite: ChildProcess;
  let folder: string;
  let env: Record<string, string>;
  let archive: PartitionArchive;
  const rowsOf: Record<string, number> = {};

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'dbops-azurite-'));
    const port = await freePort();
    azurite = spawn(
      join(import.meta.dirname, '../../node_modules/.bin/azurite-blob'),
      ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', folder, '--silent', '--skipApiVersionCheck', '--disableTelemetry'],
      { stdio: 'ignore' },
    );
    await waitForPort(port);
    env = {
      DBOPS_PARTITION_ARCHIVE: 'true',
      DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
      DBOPS_PARTITION_LOCK_TIMEOUT_MS: '500',
      DBOPS_PARTITION_BLOCKER_WAIT_SECONDS: '0',
    };
    archive = (await archiveFromSettings(readSettings(partitionSettings, env), azureCredential({})))!;
    db = await createTestDatabase({ prefix: 'dbops_parts_archive' });
    await loadSampleData(db.pool, { months: 15, logsPerMonth: 700, changeRequests: 20 });
    for (const offset of [-14, -13]) {
      rowsOf[monthName(offset)] = Number((await db.pool.query(`SELECT count(*) AS n FROM product_change.${monthName(offset)}`)).rows[0].n);
    }
  });
  afterAll(async () => {
    await db?.drop();
    // Azurite may still be writing its folder: wait for it to exit before removing it.
    if (azurite && azurite.exitCode === null) {
      const exited = new Promise((resolve) => azurite.once('exit', resolve));
      azurite.kill();
      await exited;
    }
    rmSync(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  it('keeps every partition when archiving is on but no archive is configured', async () => {
    const report = await runJob(job, {}, testDeps(db, { env: { DBOPS_PARTITION_ARCHIVE: 'true' } }), { trigger: 'test' });
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'partition.archive-unconfigured' }));
    const names = (await listPartitions(db.pool, 'product_change', 'pc_kos_integration_log')).map((p) => p.name);
    expect(names).toContain(monthName(-14));
  });

  it('does not drop a partition whose archive holds the wrong number of rows, and finishes on the next run', async () => {
    const miscounting: PartitionArchive = { ...archive, upload: archive.upload, countRows: async (name) => (await archive.countRows(name)) - 1 };
    const first = await runJob(job, {}, testDeps(db, { env, services: { partitionArchive: miscounting } }), { trigger: 'test' });
    expect(first.status).toBe('critical');
    expect(first.findings).toContainEqual(expect.objectContaining({ check: 'partition.archive-failed', message: expect.stringMatching(/not dropping it/) }));
    expect(first.actions.some((a) => a.statement?.startsWith('DROP TABLE'))).toBe(false);
    const standalone = await db.pool.query('SELECT to_regclass($1) AS r', [`product_change.${monthName(-14)}`]);
    expect(standalone.rows[0].r).not.toBeNull();

    const log = memoryLogger();
    const second = await runJob(job, {}, testDeps(db, { env, services: { partitionArchive: archive }, log }), { trigger: 'test' });
    expect(second.status, JSON.stringify(second.findings)).toBe('ok');
    const dropped = (second.data as { tables: Array<{ dropped: Array<{ name: string; archivedRows: number; archiveUrl: string }> }> }).tables[0]!.dropped;
    expect(dropped.map((d) => [d.name, d.archivedRows])).toEqual([
      [monthName(-14), rowsOf[monthName(-14)]],
      [monthName(-13), rowsOf[monthName(-13)]],
    ]);

    const container = BlobServiceClient.fromConnectionString(env.DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING!).getContainerClient('partition-archive');
    const blobs: string[] = [];
    for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
      blobs.push(b.name);
      expect(Number(b.metadata?.rows)).toBe(rowsOf[b.name.split('/').pop()!.replace('.copy.gz', '')]);
    }
    expect(blobs.sort()).toEqual([monthName(-14), monthName(-13)].map((n) => `${db.name}/product_change/pc_kos_integration_log/${n}.copy.gz`).sort());
    for (const n of [monthName(-14), monthName(-13)]) {
      expect(await blobArchive(container).countRows(`${db.name}/product_change/pc_kos_integration_log/${n}.copy.gz`)).toBe(rowsOf[n]);
    }
    const ops = await db.pool.query(`SELECT partition_name, state, archived_rows::int AS rows FROM ops.partition_operation WHERE operation = 'retire' ORDER BY id`);
    expect(ops.rows.map((r) => [r.partition_name, r.state, r.rows])).toEqual([
      [monthName(-14), 'dropped', rowsOf[monthName(-14)]],
      [monthName(-13), 'dropped', rowsOf[monthName(-13)]],
    ]);
    // The storage key never leaves the process.
    expect(JSON.stringify(second)).not.toContain(AZURITE_KEY);
    expect(JSON.stringify(log.lines)).not.toContain(AZURITE_KEY);
  });
});
