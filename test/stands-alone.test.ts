import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files', '-z', 'src', 'test', 'bench', 'scripts', 'bin', '.ci'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '' && !file.startsWith('test/fixtures/'));

/**
 * A `shared` folder reached by climbing out of the repository: the string form
 * ('../../shared/…') and the path-segment form (join(…, '..', '..', 'shared', …)). The project's
 * own src/shared is named without a `..` in front of it, so it never matches.
 */
const outside = [/\.\.\/(?:\.\.\/)*shared\b/, /'\.\.'\s*,\s*(?:'\.\.'\s*,\s*)*['"]shared['"]/, /"\.\."\s*,\s*(?:"\.\."\s*,\s*)*"shared"/];

function reachesOutside(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => outside.some((pattern) => pattern.test(line)))
    .filter(({ line }) => !/from '(?:\.\.\/)+shared\//.test(line) && !/import\('(?:\.\.\/)+shared\//.test(line))
    .map(({ line, n }) => `${file}:${n}: ${line.trim()}`);
}

describe('the repository stands alone', () => {
  it('has files to check (git ls-files works here)', () => {
    expect(tracked.length).toBeGreaterThan(50);
  });

  it('no tracked source, test, benchmark or script reaches for the shared/ folder beside the repository', () => {
    expect(tracked.flatMap(reachesOutside)).toEqual([]);
  });

  it('recognises the ways a path can climb out (so the check above can fail)', () => {
    const samples = [
      "const examples = join(import.meta.dirname, '..', '..', 'shared', 'azure-examples');",
      'readFileSync("../../shared/FACTS.md")',
      "join(here, '..', 'shared')",
    ];
    for (const sample of samples) expect(outside.some((pattern) => pattern.test(sample))).toBe(true);
  });
});
