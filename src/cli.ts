import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { settingsCatalog } from './catalog.js';
import { runDemo } from './demo.js';
import { startConsoleServer } from './console/server.js';
import { findJob, jobNames, jobs } from './jobs/index.js';
import { readCoreSettings } from './shared/config.js';
import { checkConnection, ConfigurationError, describeTarget, resolveTarget } from './platform/db/connection.js';
import { migrate } from './platform/db/migrate.js';
import { exitCodeFor, type JobReport } from './shared/job.js';
import { createLogger } from './platform/log.js';
import { errorMessage } from './platform/redact.js';
import { formatReport } from './shared/report-format.js';
import { ParamsError, runJob } from './shared/runner/run-job.js';
import { buildRuntime, providers } from './runtime.js';
import { resolveSchedule } from './shared/schedule.js';
import { SettingsError } from './platform/settings.js';
import { routingConfigFromEnv } from './events/config.js';
import { normalizeSignals } from './events/normalize.js';
import { routeSignal } from './events/route.js';

const EXIT_UNKNOWN = 3;

function collectParam(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error(`--param takes key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

const databaseUrlOption = () => new Option('--database-url <url>', 'PostgreSQL URL (default: DATABASE_URL)');

export function buildCli(): Command {
  const program = new Command('dbops')
    .description('Operations automation for the Product-Change PostgreSQL database')
    .showHelpAfterError('(run dbops --help for usage)')
    .exitOverride();

  program
    .command('migrate')
    .description('apply the database migrations (schema product_change, its roles and grants, schema ops)')
    .addOption(databaseUrlOption())
    .option('--dry-run', 'show which migrations would run, change nothing')
    .action(async (opts: { databaseUrl?: string; dryRun?: boolean }) => {
      const log = createLogger();
      const settings = readCoreSettings();
      const target = resolveTarget(settings, opts.databaseUrl);
      await checkConnection(target, settings.connectTimeoutSeconds);
      const { applied } = await migrate(target, log, { dryRun: opts.dryRun ?? false });
      process.stdout.write(
        applied.length === 0
          ? `${describeTarget(target)} is up to date.\n`
          : `${opts.dryRun ? 'Would apply' : 'Applied'} ${applied.length} migration(s) to ${describeTarget(target)}:\n${applied.map((a) => `  ${a}`).join('\n')}\n`,
      );
    });

  program
    .command('jobs')
    .description('list the jobs, their schedules and what they do')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const list = jobs.map((j) => ({
        name: j.name,
        title: j.title,
        description: j.description,
        schedules: j.schedules.map((s) => ({ setting: s.setting, schedule: resolveSchedule(s, process.env), description: s.description })),
        requires: j.requires?.(process.env) ?? [],
      }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      for (const j of list) {
        process.stdout.write(`${j.name}\n  ${j.description}\n`);
        for (const s of j.schedules) process.stdout.write(`  schedule ${s.schedule.padEnd(18)} ${s.description} (${s.setting})\n`);
        if (j.schedules.length === 0) process.stdout.write('  on demand only\n');
        if (j.requires.length) process.stdout.write(`  not configured here: needs ${j.requires.join(', ')}\n`);
      }
    });

  program
    .command('run')
    .description('run one job once')
    .argument('<job>', `one of: ${jobNames().join(', ')}`)
    .option('--dry-run', 'compute and report the plan without changing anything')
    .option('--json', 'print exactly one JSON object (the report) on stdout')
    .option('--verbose', 'show informational findings and every statement')
    .option('--param <key=value>', 'a job parameter (repeatable)', collectParam, {})
    .addOption(databaseUrlOption())
    .action(async (name: string, opts: { dryRun?: boolean; json?: boolean; verbose?: boolean; param: Record<string, string>; databaseUrl?: string }) => {
      const job = findJob(name);
      if (!job) throw new UsageError(`Unknown job "${name}". Jobs: ${jobNames().join(', ')}.`);
      let report: JobReport;
      try {
        const deps = buildRuntime(providers, { ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) });
        report = await runJob(job, opts.param, deps, { trigger: 'cli', triggeredBy: process.env.USER ?? 'cli', dryRun: opts.dryRun ?? false });
      } catch (err) {
        if (err instanceof ParamsError || err instanceof ConfigurationError || err instanceof SettingsError) {
          if (opts.json) process.stdout.write(`${JSON.stringify({ job: name, status: 'failed', summary: err.message })}\n`);
          else process.stderr.write(`${err.message}\n`);
          process.exitCode = EXIT_UNKNOWN;
          return;
        }
        throw err;
      }
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report, { verbose: opts.verbose ?? false })}\n`);
      process.exitCode = exitCodeFor(report.status);
    });

  program
    .command('demo')
    .description('start an embedded PostgreSQL 14, load sample data, run every job that needs no Azure (with --all, every job, against a local Azure stand-in), print the report')
    .option('--keep', 'leave the server running and print its URL')
    .option('--small', 'load a small data set (seconds, for a quick look)')
    .option('--all', 'run all nine jobs: the Azure ones against a local Azure stand-in (not Azure), for real')
    .option('--azure-local', 'the same as --all')
    .action(async (opts: { keep?: boolean; small?: boolean; all?: boolean; azureLocal?: boolean }) => {
      process.exitCode = await runDemo({ keep: opts.keep ?? false, small: opts.small ?? false, azureLocal: Boolean(opts.all || opts.azureLocal) });
    });

  program
    .command('console')
    .description('serve the status page on 127.0.0.1 and print its URL (Ctrl-C stops it)')
    .option('--port <n>', 'port to listen on (default: a free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port takes a number from 0 to 65535, got "${v}"`);
      return n;
    })
    .addOption(databaseUrlOption())
    .action(async (opts: { port?: number; databaseUrl?: string }) => {
      const settings = readCoreSettings();
      const target = resolveTarget(settings, opts.databaseUrl);
      await checkConnection(target, settings.connectTimeoutSeconds);
      const server = await startConsoleServer({
        target,
        jobs: jobs.map((j) => ({ name: j.name, title: j.title })),
        environment: settings.environment,
        log: createLogger({ json: settings.logJson }),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
      });
      process.stdout.write(`dbops console: ${server.url}\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await server.close();
    });

  program
    .command('settings')
    .description('list every setting dbops reads, its default and what it is for')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const entries = settingsCatalog().map(({ group, spec }) => ({
        group,
        name: spec.env,
        default: spec.default ?? null,
        secret: spec.secret ?? false,
        description: spec.doc,
      }));
      if (opts.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      else for (const e of entries) process.stdout.write(`${e.name.padEnd(40)} ${(e.default ?? '(unset)').padEnd(18)} ${e.description}\n`);
    });

  const events = program.command('events').description('work with Event Grid events and Azure Monitor alerts');
  events
    .command('inspect')
    .description('print, one JSON object per event, what dbops understands of a payload and what it would do (changes nothing)')
    .argument('<file>', 'a JSON file: an Event Grid event, an array of them, a CloudEvents event, or a common-alert-schema payload ("-" reads stdin)')
    .action(async (file: string) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`Cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch (err) {
        throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
      }
      const config = routingConfigFromEnv(process.env);
      for (const signal of normalizeSignals(payload)) {
        const route = routeSignal(signal, config);
        process.stdout.write(
          `${JSON.stringify({ ...signal, wouldRun: route.action === 'run' ? route.job : null, ...(route.action === 'ignore' ? { ignoredBecause: route.reason } : { because: route.reason }) })}\n`,
        );
      }
    });

  return program;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT_UNKNOWN;
    process.stderr.write(`dbops: ${errorMessage(err)}\n`);
    return EXIT_UNKNOWN;
  }
}
