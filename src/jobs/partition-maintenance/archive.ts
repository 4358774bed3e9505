import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { TokenCredential } from '@azure/core-auth';
import type { ContainerClient } from '@azure/storage-blob';
import { qualified } from '../../platform/db/sql.js';
import type { JobContext } from '../../shared/job.js';
import { errorMessage, registerSecret } from '../../platform/redact.js';
import type { ServiceProvider } from '../../shared/runner/runtime.js';
import { readSettings } from '../../platform/settings.js';
import { partitionSettings, type PartitionSettings } from './settings.js';

/** Where retired partitions are archived before they are dropped. */
export interface PartitionArchive {
  /** Container URL, for reports (no credentials). */
  readonly location: string;
  upload(blobName: string, body: Readable, metadata: Record<string, string>): Promise<{ url: string }>;
  /** Rows in a stored archive: lines of COPY text format, where every row is exactly one line. */
  countRows(blobName: string): Promise<number>;
}

declare module '../../shared/job.js' {
  interface JobServices {
    /** Where partition-maintenance archives retired partitions (offered when archiving is on). */
    partitionArchive?: PartitionArchive;
  }
}

/** An archive in an Azure Blob container (the SDK client comes in ready-made). */
export function blobArchive(container: ContainerClient): PartitionArchive {
  let ensured = false;
  return {
    location: container.url,
    async upload(blobName, body, metadata) {
      if (!ensured) {
        await container.createIfNotExists();
        ensured = true;
      }
      const blob = container.getBlockBlobClient(blobName);
      await blob.uploadStream(body, 4 * 1024 * 1024, 4, { metadata, blobHTTPHeaders: { blobContentType: 'application/gzip' } });
      return { url: blob.url };
    },
    async countRows(blobName) {
      const download = await container.getBlockBlobClient(blobName).download();
      const body = download.readableStreamBody;
      if (!body) throw new Error(`archive ${blobName} has no body`);
      let lines = 0;
      const gunzip = createGunzip();
      gunzip.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      await pipeline(body as NodeJS.ReadableStream, gunzip);
      return lines;
    },
  };
}

/** The archive the settings describe: a connection string (Azurite, local) or the container URL with the managed identity. */
export async function archiveFromSettings(s: PartitionSettings, credential: TokenCredential): Promise<PartitionArchive | undefined> {
  if (s.archiveConnectionString) {
    registerSecret(s.archiveConnectionString);
    const { BlobServiceClient } = await import('@azure/storage-blob');
    return blobArchive(BlobServiceClient.fromConnectionString(s.archiveConnectionString).getContainerClient(s.archiveContainer));
  }
  if (s.archiveContainerUrl) {
    const { ContainerClient } = await import('@azure/storage-blob');
    return blobArchive(new ContainerClient(s.archiveContainerUrl, credential));
  }
  return undefined;
}

/** Offers the archive to the job when archiving is on; the SDK loads on first use. */
export const partitionArchiveProvider: ServiceProvider = ({ env, log, credential }) => {
  try {
    const s = readSettings(partitionSettings, env);
    if (!s.archive) return {};
    let archive: Promise<PartitionArchive | undefined> | undefined;
    const lazy = () => (archive ??= archiveFromSettings(s, credential));
    const proxy: PartitionArchive = {
      location: s.archiveContainerUrl ?? `(connection string) ${s.archiveContainer}`,
      upload: async (...args) => (await required(lazy)).upload(...args),
      countRows: async (name) => (await required(lazy)).countRows(name),
    };
    return { partitionArchive: proxy };
  } catch (err) {
    // The job reads the same settings and reports what is wrong with them.
    log.debug('partition archive not offered', { error: errorMessage(err) });
    return {};
  }
};

async function required(lazy: () => Promise<PartitionArchive | undefined>): Promise<PartitionArchive> {
  const a = await lazy();
  if (!a) throw new Error('DBOPS_PARTITION_ARCHIVE is on but neither DBOPS_PARTITION_ARCHIVE_CONTAINER_URL nor DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING is set');
  return a;
}

/**
 * Streams a (detached) partition out with COPY, gzip-compressed, into the archive, then reads
 * the stored blob back and checks it holds exactly the table's rows. Throws when it does not.
 */
export async function archiveTable(
  ctx: JobContext,
  archive: PartitionArchive,
  table: { schema: string; name: string },
  blobName: string,
): Promise<{ url: string; rows: number; durationMs: number }> {
  const t = performance.now();
  const source = qualified(table.schema, table.name);
  const { url, rows } = await ctx.db.withClient(async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      // A large partition takes longer than the job's default statement_timeout to stream.
      await client.query('SET LOCAL statement_timeout = 0');
      const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${source}`);
      const rows = Number(counted.rows[0]!.n);
      const { to: copyTo } = await import('pg-copy-streams'); // only when archiving is on
      const copy = client.query(copyTo(`COPY ${source} TO STDOUT`));
      const gzip = createGzip();
      const [, uploaded] = await Promise.all([
        pipeline(copy, gzip),
        archive.upload(blobName, gzip, { rows: String(rows), source: `${table.schema}.${table.name}`, format: 'postgresql-copy-text-gzip' }),
      ]);
      if (copy.rowCount !== rows) throw new Error(`COPY streamed ${copy.rowCount} rows, the table holds ${rows}`);
      await client.query('COMMIT');
      return { url: uploaded.url, rows };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  const stored = await archive.countRows(blobName);
  if (stored !== rows) throw new Error(`the archive ${blobName} holds ${stored} rows, the partition ${rows}: not dropping it`);
  return { url, rows, durationMs: Math.round(performance.now() - t) };
}
