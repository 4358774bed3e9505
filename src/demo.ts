import cliProgress from 'cli-progress';
import pg from 'pg';
import { jobs } from './jobs/index.js';
import { startEmbeddedPostgres } from './platform/db/embedded.js';
import { migrate } from './platform/db/migrate.js';
import { loadSampleData } from './platform/db/sample-data.js';
import { exitCodeFor, worstStatus, type JobReport } from './shared/job.js';
import { createLogger } from './platform/log.js';
import { formatReport } from './shared/report-format.js';
import { runJob } from './shared/runner/run-job.js';
import { buildRuntime, providers } from './runtime.js';

export interface DemoOptions {
  keep: boolean;
  small: boolean;
  out?: NodeJS.WritableStream;
}

/**
 * What `npm start` runs: a real PostgreSQL 14 in a temporary folder, the migrations, about 15
 * months of realistic data, and every job that needs no Azure, with a readable report.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const say = (line = '') => out.write(`${line}\n`);
  const log = createLogger({ level: 'warn' });
  const t0 = performance.now();
  say('dbops demo: starting an embedded PostgreSQL 14 …');
  const server = await startEmbeddedPostgres({ persistent: options.keep });
  let stopped = false;
  const stop = async () => {
    if (!stopped && !options.keep) {
      stopped = true;
      await server.stop();
    }
  };
  const onInterrupt = () => void stop().finally(() => process.exit(130));
  if (!options.keep) process.once('SIGINT', onInterrupt);
  try {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE product_change_db');
    await admin.end();
    const url = server.url('product_change_db');
    const env = { ...process.env, DATABASE_URL: url, DBOPS_PG_AUTH: 'url', DBOPS_ENVIRONMENT: 'demo' };
    const deps = buildRuntime(providers, { env, log });
    const { applied } = await migrate(deps.target, log);
    say(`migrated: ${applied.length} migrations applied`);

    const bar = new cliProgress.SingleBar(
      { format: 'loading sample data [{bar}] {percentage}% | {step}', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 2000, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => undefined);
    const tl = performance.now();
    let started = false;
    const data = await loadSampleData(pool, {
      ...(options.small ? { logsPerMonth: 2_000, changeRequests: 20_000 } : {}),
      onProgress: (done, total, step) => {
        if (!started) {
          bar.start(total, 0, { step });
          started = true;
        }
        bar.update(done, { step });
      },
    });
    bar.stop();
    await pool.end();
    say(
      `loaded ${data.logRows.toLocaleString('en')} integration-log rows in ${data.partitions} monthly partitions and ${data.changeRequests.toLocaleString('en')} change requests in ${((performance.now() - tl) / 1000).toFixed(1)} s`,
    );
    say('');

    const reports: JobReport[] = [];
    const notConfigured: string[] = [];
    for (const job of jobs) {
      const missing = job.requires?.(env) ?? [];
      if (missing.length > 0) {
        notConfigured.push(`  ${job.name.padEnd(22)} not configured: needs ${missing.join(', ')}`);
        continue;
      }
      const report = await runJob(job, {}, deps, { trigger: 'demo', triggeredBy: 'demo', dryRun: job.destructive ?? false });
      reports.push(report);
      say(formatReport(report));
      say('');
    }
    if (notConfigured.length > 0) {
      say('Jobs that need Azure (run them in the Function App or set their settings):');
      for (const line of notConfigured) say(line);
      say('');
    }
    const overall = worstStatus(reports.map((r) => r.status));
    say(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${reports.length} jobs run, overall ${overall}.`);
    if (options.keep) {
      const { startConsoleServer } = await import('./console/server.js');
      const consoleServer = await startConsoleServer({ target: deps.target, jobs: jobs.map((j) => ({ name: j.name, title: j.title })), environment: 'demo', log });
      say(`The server keeps running while this command does: DATABASE_URL=${url}`);
      say(`Status page: ${consoleServer.url}`);
      say(`Press Ctrl-C to stop it; its data stays in ${server.dataDir}.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await consoleServer.close();
      await server.stop();
    }
    // The demo's data is synthetic: findings are expected, so only a failure fails the demo.
    return overall === 'failed' ? exitCodeFor('failed') : 0;
  } finally {
    await stop();
  }
}
