/**
 * `npm run bench -- <name> [--json]`: runs bench/<name>.ts. Each benchmark measures dbops
 * against a naive baseline in the same run and prints a table, or with --json exactly one
 * JSON object on stdout (`ratio` = baseline time / dbops time where it compares).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchModule } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'support.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));

const args = process.argv.slice(2);
const json = args.includes('--json');
const name = args.find((a) => !a.startsWith('--'));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [--json]\nbenchmarks: ${available.join(', ') || '(none yet)'}\n`);
  process.exit(name ? 3 : 0);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as BenchModule;
const result = await mod.run({ json, args: args.filter((a) => a !== name && a !== '--json') });
if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`\n${result.title}\n`);
  for (const row of result.table) process.stdout.write(`  ${row[0]!.padEnd(44)} ${row.slice(1).join('  ')}\n`);
  if (result.ratio !== undefined) process.stdout.write(`  ratio (${result.ratioLabel ?? 'baseline / dbops'}): ${result.ratio.toFixed(2)}×\n`);
  if (result.goal) process.stdout.write(`  goal: ${result.goal} — ${result.goalMet ? 'met' : 'NOT met'}\n`);
}
