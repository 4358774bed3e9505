/**
 * Each benchmark's setup and report, on a tiny data set: they start their servers, load, measure
 * and return a result the runner can print (a table and one JSON object). The benchmarks
 * themselves (full size) never run here: `npm run bench -- <name>`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partmanInstalled } from '../bench/lib/debian-postgres.js';
import type { BenchModule, BenchResult } from '../bench/support.js';
import { packageRoot } from '../src/shared/paths.js';

const LIMIT_MS = 20_000;

async function smoke(name: string, args: string[]): Promise<BenchResult> {
  const mod = (await import(`../bench/${name}.ts`)) as BenchModule;
  const t = performance.now();
  const result = await mod.run({ json: true, args });
  const ms = performance.now() - t;
  expect(ms, `${name} took ${Math.round(ms)} ms on a tiny data set`).toBeLessThan(LIMIT_MS);
  expect(result.name).toBe(name);
  expect(result.title.length).toBeGreaterThan(0);
  expect(result.table.length).toBeGreaterThan(0);
  for (const row of result.table) for (const cell of row) expect(typeof cell).toBe('string');
  // What --json prints: one object that survives a round trip.
  expect(JSON.parse(JSON.stringify(result))).toMatchObject({ name, title: result.title });
  return result;
}

describe('benchmarks on a tiny data set', { timeout: LIMIT_MS + 10_000 }, () => {
  it('partitions: the job and the DELETE path, with inserts sampled', async () => {
    const r = await smoke('partitions', ['--tiny']);
    expect(r['removed']).toMatchObject({ delete: expect.any(Number) });
    expect((r['insertMs'] as { job: { n: number } }).job.n).toBeGreaterThan(16);
    expect(r['ddlRatio']).toEqual(expect.any(Number));
  });

  it('stats: both scenarios, with parentRatio', async () => {
    const r = await smoke('stats', ['--tiny']);
    expect(r['parentRatio']).toEqual(expect.any(Number));
  });

  it('health: the check, the runner and the business queries', async () => {
    const r = await smoke('health', ['--tiny']);
    expect(r['queries']).toEqual(expect.any(Number));
  });

  it('load: baseline and every database job under the service load', async () => {
    const r = await smoke('load', ['--tiny']);
    const during = r['during'] as Array<{ label: string; statuses: string }>;
    expect(during.map((d) => d.label)).toEqual([
      'install-verification',
      'health-check (full)',
      'health-check (probe)',
      'security-audit',
      'stats-refresh',
      'partition-maintenance',
    ]);
    expect(r['failed']).toBe(0);
  });

  it('partman: pg_partman and dbops in three situations', async (ctx) => {
    if (!partmanInstalled()) {
      // npm test installs nothing: `npm run bench -- partman` installs it through apt-get.
      console.warn('partman smoke test skipped: Debian postgresql-15 and postgresql-15-partman are not installed');
      ctx.skip();
    }
    const r = await smoke('partman', ['--tiny', '--no-install']);
    expect(r['skipped']).toBeUndefined();
    const passes = r['passes'] as Record<string, Record<string, { retentionCompleted: boolean }>>;
    for (const tool of ['pg_partman', 'dbops']) {
      for (const situation of ['idle', 'load', 'longTransaction']) expect(passes[tool]?.[situation]?.retentionCompleted, `${tool} ${situation}`).toBe(true);
    }
    expect(r.ratio).toEqual(expect.any(Number));
    expect(typeof r.goalMet).toBe('boolean');
  });

  it('coldstart: lazy and eager starts of the built app', async (ctx) => {
    if (!existsSync(join(packageRoot, 'dist', 'functions', 'index.js'))) {
      console.warn('coldstart smoke test skipped: no dist/ (npm run build); the benchmark builds it itself');
      ctx.skip();
    }
    const r = await smoke('coldstart', ['--runs=1', '--no-build']);
    expect(r['firstInvocationMs']).toEqual(expect.any(Number));
  });
});
