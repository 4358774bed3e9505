/**
 * `npm run bench -- coldstart [--runs=N] [--no-build]`: what a Function App cold start pays
 * before its first invocation. A fresh Node process imports the built entry
 * (dist/functions/index.js), which registers every function; the baseline does the same after
 * importing every Azure SDK the app uses, as an app that imports them up front would. Goal: the
 * lazy start takes at most half the eager one. The first invocation then loads its handler, the
 * job registry and the runtime; `firstInvocationMs` reports that separately.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/shared/paths.js';
import { median, note, type BenchResult } from './support.js';

/** Every Azure SDK src/platform/azure loads (on demand), plus the identity library. */
export const AZURE_SDKS = [
  '@azure/identity',
  '@azure/arm-postgresql-flexible',
  '@azure/arm-costmanagement',
  '@azure/keyvault-secrets',
  '@azure/monitor-query-metrics',
  '@azure/monitor-query-logs',
  '@azure/core-rest-pipeline',
];

function childScript(eager: boolean): string {
  const dist = join(packageRoot, 'dist');
  const url = (p: string) => JSON.stringify(pathToFileURL(join(dist, p)).href);
  return [
    eager ? `await Promise.all(${JSON.stringify(AZURE_SDKS)}.map((m) => import(m)));` : '',
    `const { registerFunctions } = await import(${url('functions/index.js')});`,
    `const ms = performance.now();`,
    // What the first invocation adds: the job registry and the runtime with its providers.
    `await import(${url('jobs/index.js')});`,
    `const { buildRuntime, providers } = await import(${url('runtime.js')});`,
    `const deps = buildRuntime(providers, { env: { ...process.env, DATABASE_URL: 'postgres://u@127.0.0.1:1/x' } });`,
    `if (!deps.services.azure) throw new Error('azure service missing');`,
    `process.stdout.write(JSON.stringify({ ms, first: performance.now() - ms, registered: typeof registerFunctions === 'function' }));`,
  ].join('\n');
}

function runOnce(eager: boolean): { ms: number; first: number } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', childScript(eager)], {
    cwd: packageRoot,
    encoding: 'utf8',
    // @azure/functions warns on stderr that it runs outside the host; keep it off the output.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DBOPS_LOG_LEVEL: 'error', DBOPS_AZURE_SUBSCRIPTION_ID: '00000000-0000-4000-8000-000000000001', DBOPS_AZURE_RESOURCE_GROUP: 'rg', DBOPS_AZURE_SERVER_NAME: 'pg' },
  });
  return JSON.parse(out) as { ms: number; first: number };
}

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? '7');
  if (!args.includes('--no-build') || !existsSync(join(packageRoot, 'dist', 'functions', 'index.js'))) {
    note('building dist/ (npm run build)…');
    execFileSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: packageRoot, stdio: 'inherit' });
  }
  // One warm-up of each fills the OS file cache, so both sides read from memory.
  runOnce(false);
  runOnce(true);
  const lazy: number[] = [];
  const eager: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < runs; i++) {
    note(`run ${i + 1}/${runs}`);
    const run = runOnce(false);
    lazy.push(run.ms);
    first.push(run.first);
    eager.push(runOnce(true).ms);
  }
  const l = median(lazy);
  const e = median(eager);
  const ratio = e / l;
  return {
    name: 'coldstart',
    title: `Cold start: fresh node process to every function registered (median of ${runs})`,
    table: [
      ['lazy (dbops: handlers, jobs and SDKs load on first use)', `${l.toFixed(0)} ms`],
      [`eager baseline (${AZURE_SDKS.length} Azure SDKs imported up front)`, `${e.toFixed(0)} ms`],
      ['lazy / eager', `${((l / e) * 100).toFixed(0)} %`],
      ['then, on the first invocation: job registry + runtime', `${median(first).toFixed(0)} ms`],
    ],
    ratio,
    goal: 'lazy start at most half the eager one (ratio ≥ 2)',
    goalMet: l <= e / 2,
    firstInvocationMs: median(first),
    lazyMs: lazy,
    eagerMs: eager,
  };
}
