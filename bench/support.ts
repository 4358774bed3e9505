import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/platform/db/embedded.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger } from '../src/platform/log.js';

export interface BenchResult {
  name: string;
  title: string;
  /** Rows of [label, ...values] for the readable table. */
  table: string[][];
  ratio?: number;
  /** What `ratio` divides, for the table (default: baseline / dbops). */
  ratioLabel?: string;
  goal?: string;
  goalMet?: boolean;
  [key: string]: unknown;
}

export interface BenchModule {
  run(options: { json: boolean; args: string[] }): Promise<BenchResult>;
}

export interface BenchDatabase {
  server: EmbeddedServer;
  url: string;
  pool: pg.Pool;
  stop(): Promise<void>;
}

/** A migrated product_change_db on a fresh embedded PostgreSQL 14. */
export async function benchDatabase(settings: Record<string, string> = {}): Promise<BenchDatabase> {
  const server = await startEmbeddedPostgres({ settings });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE product_change_db');
  await admin.end();
  const url = server.url('product_change_db');
  await migrate({ kind: 'url', url }, createLogger({ level: 'warn' }));
  const pool = new pg.Pool({ connectionString: url, max: 8, options: '-c TimeZone=UTC' });
  pool.on('error', () => undefined);
  return {
    server,
    url,
    pool,
    async stop() {
      await pool.end();
      await server.stop();
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Progress goes to stderr so --json output stays one object. */
export const note = (message: string) => process.stderr.write(`${message}\n`);
