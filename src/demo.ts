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
import type { LocalAzure } from './local-azure/demo.js';

/** Says so in every report of a demo run against src/local-azure (kept here: the module loads only with --all). */
const LOCAL_AZURE_LABEL = 'local Azure stand-in (not Azure)';

export interface DemoOptions {
  keep: boolean;
  small: boolean;
  /** Run all nine jobs, the Azure ones against the local Azure stand-in (src/local-azure). */
  azureLocal?: boolean;
  out?: NodeJS.WritableStream;
}

/** How the demo runs a job with the local Azure stand-in: for real (the demo's data is thrown away). */
interface LocalAzureRun {
  params: (azure: LocalAzure) => Record<string, unknown>;
  dryRun: boolean;
  /** What the report's label adds. */
  note?: string;
  /** Re-run with no parameters until `data.state` is done (a job the Function App's timer advances). */
  untilDone?: boolean;
}

/**
 * Jobs the demo leaves to the user: they exist to act on a production server when someone asks
 * (a rehearsal restores and upgrades a copy; the stand-in cannot make that copy a newer major).
 */
const ON_DEMAND_ONLY: Record<string, string> = {
  'version-upgrade': 'npx dbops run version-upgrade --param plan=precheck (then plan=rehearse, then plan=upgrade confirm=<server>)',
};

const LOCAL_AZURE_RUNS: Record<string, LocalAzureRun> = {
  // Creates, detaches and drops partitions for real: nothing here is kept.
  'partition-maintenance': { params: () => ({}), dryRun: false },
  // The failover drill: a restart with planned failover, measured until the database takes writes again.
  'failover-check': {
    params: (azure) => ({ plan: 'drill', confirm: azure.serverName }),
    dryRun: false,
    note: "the stand-in's restart moves the zones without stopping PostgreSQL, so this RTO is the restart operation and the writable probe",
  },
  // The weekly restore test, started now; the timer would advance it every few minutes, the demo at once.
  'backup-verification': { params: () => ({ mode: 'reconcile', start: true }), dryRun: false, note: 'restore test on a real copy of the demo database', untilDone: true },
};

/**
 * What `npm start` runs: a real PostgreSQL 14 in a temporary folder, the migrations, about 15
 * months of realistic data, and every job that needs no Azure, with a readable report. With
 * `azureLocal` (`npm start -- --all`), the four Azure jobs too, against the local stand-in.
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
  let localAzure: LocalAzure | undefined;
  const onInterrupt = () => void stop().finally(() => process.exit(130));
  if (!options.keep) process.once('SIGINT', onInterrupt);
  try {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE product_change_db');
    await admin.end();
    const url = server.url('product_change_db');
    const baseEnv = { ...process.env, DATABASE_URL: url, DBOPS_PG_AUTH: 'url', DBOPS_ENVIRONMENT: options.azureLocal ? 'demo (local Azure stand-in)' : 'demo' };
    const { applied } = await migrate(buildRuntime(providers, { env: baseEnv, log }).target, log);
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

    if (options.azureLocal) {
      const { startLocalAzure } = await import('./local-azure/demo.js');
      localAzure = await startLocalAzure({ adminUrl: server.url(), database: 'product_change_db', env: baseEnv });
      say(`Azure: the ${LOCAL_AZURE_LABEL} at ${localAzure.endpoint}, seeded with a plausible deployment (${localAzure.serverName}); every report below comes from it, not from Azure.`);
      say('');
    }
    const env = localAzure ? { ...baseEnv, ...localAzure.env } : baseEnv;
    const deps = buildRuntime(providers, {
      env,
      log,
      ...(localAzure ? { credential: localAzure.credential, azureClient: localAzure.azureClient } : {}),
    });
    const reports: JobReport[] = [];
    const notConfigured: string[] = [];
    const triggeredBy = localAzure ? `demo, ${LOCAL_AZURE_LABEL}` : 'demo';
    const show = (report: JobReport, note?: string) => {
      reports.push(report);
      say(formatReport(report));
      if (localAzure) say(`   Azure: ${LOCAL_AZURE_LABEL} at ${localAzure.endpoint}${note ? `; ${note}` : ''}`);
      say('');
    };

    const onDemand: string[] = [];
    for (const job of jobs) {
      const howTo = ON_DEMAND_ONLY[job.name];
      if (howTo) {
        onDemand.push(`  ${job.name.padEnd(22)} ${howTo}`);
        continue;
      }
      const missing = job.requires?.(env) ?? [];
      if (missing.length > 0) {
        notConfigured.push(`  ${job.name.padEnd(22)} not configured: needs ${missing.join(', ')}`);
        continue;
      }
      const planned = localAzure ? LOCAL_AZURE_RUNS[job.name] : undefined;
      if (!localAzure || !planned) {
        show(await runJob(job, {}, deps, { trigger: 'demo', triggeredBy, dryRun: job.destructive ?? false }));
        continue;
      }
      // The backup a restore copies: the demo database as the jobs before left it.
      if (job.name === 'backup-verification') await localAzure.snapshotForRestores();
      const run = (params: Record<string, unknown>) => runJob(job, params, deps, { trigger: 'demo', triggeredBy, dryRun: planned.dryRun });
      let report = await run(planned.params(localAzure));
      let runs = 1;
      while (planned.untilDone && report.data.state !== 'done' && report.status !== 'failed' && runs < 20) {
        report = await run({});
        runs += 1;
      }
      show(report, [planned.note, runs > 1 ? `${runs} runs` : undefined].filter(Boolean).join(', '));
    }
    if (localAzure) {
      // A second health snapshot after the other jobs, so the status page has trends to draw.
      const health = jobs.find((j) => j.name === 'health-check');
      if (health) show(await runJob(health, {}, deps, { trigger: 'demo', triggeredBy, dryRun: false }), 'second health snapshot, for the trends');
    }
    if (onDemand.length > 0) {
      say('On demand only (they act on a production server when asked; the demo does not run them):');
      for (const line of onDemand) say(line);
      say('');
    }
    if (notConfigured.length > 0) {
      say('Jobs that need Azure (run them in the Function App or set their settings; `npm start -- --all` runs them against a local stand-in):');
      for (const line of notConfigured) say(line);
      say('');
    }
    const overall = worstStatus(reports.map((r) => r.status));
    const jobsRun = new Set(reports.map((r) => r.job)).size;
    say(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${jobsRun} jobs run${reports.length > jobsRun ? ` (${reports.length} runs)` : ''}, overall ${overall}${localAzure ? `; Azure was the ${LOCAL_AZURE_LABEL}` : ''}.`);
    await localAzure?.close();
    localAzure = undefined;
    if (options.keep) {
      const { startConsoleServer } = await import('./console/server.js');
      const consoleServer = await startConsoleServer({ target: deps.target, jobs: jobs.map((j) => ({ name: j.name, title: j.title })), environment: env.DBOPS_ENVIRONMENT, log });
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
    await localAzure?.close().catch(() => undefined);
    await stop();
  }
}
