/**
 * Debian's PostgreSQL 15 with pg_partman 4.7 (postgresql-15-partman, the major Azure Database for
 * PostgreSQL offers), for the benchmark that compares dbops with pg_partman. Installed through
 * apt-get when missing; started with initdb/pg_ctl in a temporary folder on a free loopback port.
 * As root the server runs as the `postgres` system user the package creates, owning that folder.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/platform/db/embedded.js';
import { registerSecret } from '../../src/platform/redact.js';

const run = promisify(execFile);

export const PG15_BIN = '/usr/lib/postgresql/15/bin';
const PARTMAN_CONTROL = '/usr/share/postgresql/15/extension/pg_partman.control';
export const DEBIAN_PACKAGES = ['postgresql-15', 'postgresql-15-partman'];

/** The benchmark cannot run here; the message says why (printed, not a failure of dbops). */
export class Unavailable extends Error {
  override name = 'Unavailable';
}

export const partmanInstalled = () => existsSync(join(PG15_BIN, 'postgres')) && existsSync(PARTMAN_CONTROL);

/** The pg_partman version the installed control file offers, e.g. "4.7.2". */
export function partmanVersion(): string | null {
  if (!existsSync(PARTMAN_CONTROL)) return null;
  return /default_version\s*=\s*'([^']+)'/.exec(readFileSync(PARTMAN_CONTROL, 'utf8'))?.[1] ?? null;
}

async function aptGet(args: string[], note: (m: string) => void): Promise<{ ok: boolean; output: string }> {
  note(`apt-get ${args.join(' ')}`);
  try {
    const r = await run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stderr ?? ''}${e.stdout ?? ''}` || e.message };
  }
}

/**
 * Makes sure PostgreSQL 15 and pg_partman are installed: apt-get install when missing, with one
 * apt-get update first if the package lists do not know them. Throws Unavailable otherwise.
 */
export async function ensurePartman(note: (m: string) => void, options: { install?: boolean } = {}): Promise<void> {
  if (partmanInstalled()) return;
  if (options.install === false) throw new Unavailable(`${DEBIAN_PACKAGES.join(' and ')} are not installed (and --no-install was given)`);
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) {
    throw new Unavailable(`pg_partman needs Debian's ${DEBIAN_PACKAGES.join(' and ')}; this machine has no apt-get`);
  }
  if (process.getuid?.() !== 0) {
    throw new Unavailable(`${DEBIAN_PACKAGES.join(' and ')} are not installed and installing them needs root: sudo apt-get install ${DEBIAN_PACKAGES.join(' ')}`);
  }
  const install = ['install', '-y', '--no-install-recommends', ...DEBIAN_PACKAGES];
  let r = await aptGet(install, note);
  if (!r.ok) {
    note('not in the package lists: apt-get update once, then again');
    const u = await aptGet(['update'], note);
    r = u.ok ? await aptGet(install, note) : u;
  }
  if (!r.ok || !partmanInstalled()) {
    throw new Unavailable(`could not install ${DEBIAN_PACKAGES.join(' and ')} with apt-get: ${r.output.trim().split('\n').slice(-3).join(' / ')}`);
  }
}

export interface Pg15Server {
  port: number;
  url(database?: string): string;
  dataDir: string;
  stop(): Promise<void>;
}

function systemUser(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** A moved clock (scripts/test-on-dates.sh) reaches the server too; no other variable does (PG*, for one). */
const CLOCK_ENV = ['TZ', 'FAKETIME', 'LD_PRELOAD'] as const;

/** Runs a PostgreSQL program, as the postgres user when we are root. */
function pgProgram(program: string, args: string[], owner: { uid: number; gid: number } | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const clock = Object.fromEntries(CLOCK_ENV.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));
    const env = { ...clock, PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
    const child = spawn(join(PG15_BIN, program), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ? { uid: owner.uid, gid: owner.gid } : {}), env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} exited ${code}: ${out.trim().split('\n').slice(-5).join(' / ')}`))));
  });
}

/**
 * initdb + pg_ctl start in a fresh temporary folder, superuser `postgres` with a generated
 * password (scram-sha-256), listening on 127.0.0.1 only. `settings` are extra server settings.
 */
export async function startPg15(settings: Record<string, string> = {}): Promise<Pg15Server> {
  const isRoot = process.getuid?.() === 0;
  const owner = isRoot ? systemUser('postgres') : null;
  if (isRoot && !owner) throw new Unavailable('running as root, but there is no postgres system user to run the server as');
  const dir = await mkdtemp(join(tmpdir(), 'dbops-pg15-'));
  const dataDir = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  registerSecret(password);
  const pwfile = join(dir, 'pw');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chown(pwfile, owner.uid, owner.gid);
  }
  await chmod(dir, 0o700);
  const port = await freePort();
  const all: Record<string, string> = {
    port: String(port),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    shared_preload_libraries: 'pg_stat_statements',
    max_connections: '200',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    log_min_messages: 'warning',
    ...settings,
  };
  try {
    await pgProgram('initdb', ['-D', dataDir, '-U', 'postgres', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], owner);
    await rm(pwfile, { force: true });
    const conf = Object.entries(all)
      .map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
      .join('\n');
    await writeFile(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`);
    if (owner) await chown(join(dataDir, 'postgresql.auto.conf'), owner.uid, owner.gid);
    await pgProgram('pg_ctl', ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'], owner);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async stop() {
      await pgProgram('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop'], owner).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
