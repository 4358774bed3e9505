import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordRotation, ROTATION_HOOKS_SERVICE } from '../../src/jobs/password-rotation/index.js';
import { readCoreSettings } from '../../src/shared/config.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { registerJob } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { runJob, type RunnerDeps } from '../../src/shared/runner/run-job.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { testPgMajor, type TestDatabase } from '../support/db.js';
import { allStoredValues, currentLogsIn, managedRole } from './password-rotation-support.js';

const job = registerJob(passwordRotation);

/**
 * Its own server: the shared one logs to stderr, this one to files (logging_collector), with
 * every statement logged as the plan sets it (log_statement = 'all').
 */
describe('password-rotation and the server log', () => {
  let server: EmbeddedServer;
  let emu: AzureEmulator;
  let db: TestDatabase;
  const logDir = () => join(server.dataDir, 'data', 'log');
  beforeAll(async () => {
    server = await startEmbeddedPostgres({
      major: testPgMajor(),
      settings: { logging_collector: 'on', log_destination: 'stderr', log_directory: 'log', log_statement: 'all', log_connections: 'on', log_min_error_statement: 'error' },
    });
    const url = server.url('postgres');
    await migrate({ kind: 'url', url }, memoryLogger());
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined); // the server stops after the tests
    db = { name: 'postgres', url, target: { kind: 'url', url }, pool, drop: () => pool.end() };
    emu = await startAzureEmulator();
  });
  afterAll(async () => {
    await emu?.close();
    await db?.drop();
    await server?.stop();
  });

  it('contains the verifiers dbops sent, and none of the generated passwords, even from failed steps', async () => {
    const m = await managedRole(db, emu);
    const env = { ...emu.env, ...m.env, DATABASE_URL: db.url, DBOPS_ENVIRONMENT: 'test' };
    const deps = (services: Record<string, unknown> = {}): RunnerDeps => ({
      target: db.target,
      settings: readCoreSettings(env),
      env,
      log: memoryLogger(),
      services: { azure: emu.services(), ...services },
      afterRun: [],
    });
    for (let i = 0; i < 3; i++) expect((await runJob(job, { role: m.role }, deps(), { trigger: 'test' })).status).toBe('ok');
    // A rotation whose login test fails is settled by setting passwords again: also by verifier.
    const failing = await runJob(job, { role: m.role }, deps({ [ROTATION_HOOKS_SERVICE]: { beforeStep: (s: string) => { if (s === 'test') throw new Error('injected'); } } }), { trigger: 'test' });
    expect(failing.findings.map((f) => f.check)).toContain('rotation.failed');
    expect(await currentLogsIn(db, emu, m.secret, m.role)).toBe(true);

    await db.pool.query('SELECT pg_rotate_logfile()');
    const log = readdirSync(logDir()).map((f) => readFileSync(join(logDir(), f), 'utf8')).join('\n');
    expect(log).toMatch(new RegExp(`ALTER ROLE "${m.role}" PASSWORD 'SCRAM-SHA-256\\$4096:`));
    expect(log.match(/ALTER ROLE "pc_app_[0-9a-f]+" PASSWORD 'SCRAM-SHA-256/g)!.length).toBeGreaterThanOrEqual(4);
    const passwords = allStoredValues(emu);
    expect(passwords.length).toBeGreaterThanOrEqual(5);
    for (const p of passwords) expect(log).not.toContain(p);
  });
});
