import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files', '-z', 'src', 'test', 'bench', 'scripts', 'bin', '.ci'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  // This file's own samples of what is refused are the point of its last test.
  .filter((file) => file !== '' && !file.startsWith('test/fixtures/') && file !== 'test/stands-alone.test.ts');

/**
 * Paths to a `shared` folder written relative to the file: the string form ('../../shared/…')
 * and the path-segment form (join(…, '..', '..', 'shared', …)). Each is resolved from the file's
 * folder; only those that land outside the repository count (src/shared is the project's own).
 */
const stringForm = /((?:\.\.\/)+)shared\b/g;
const segmentForm = /((?:['"]\.\.['"]\s*,\s*)+)['"]shared['"]/g;

function pathsOutside(file: string, text: string, repoRoot = root): string[] {
  const from = dirname(join(repoRoot, file));
  const outside = (ups: number) => relative(repoRoot, resolve(from, ...Array<string>(ups).fill('..'), 'shared')).startsWith('..');
  return text.split('\n').flatMap((line, i) => {
    const ups = [...line.matchAll(stringForm)].map((m) => m[1]!.length / 3).concat([...line.matchAll(segmentForm)].map((m) => (m[1]!.match(/\.\./g) ?? []).length));
    return ups.some(outside) ? [`${file}:${i + 1}: ${line.trim()}`] : [];
  });
}

describe('the repository stands alone', () => {
  it('has files to check (git ls-files works here)', () => {
    expect(tracked.length).toBeGreaterThan(50);
  });

  it('no tracked source, test, benchmark or script reaches for the shared/ folder beside the repository', () => {
    expect(tracked.flatMap((file) => pathsOutside(file, readFileSync(join(root, file), 'utf8')))).toEqual([]);
  });

  it('tells a path that climbs out of the repository from the project’s own src/shared (so the check above can fail)', () => {
    const climbsOut = [
      ['test/events.test.ts', "const examples = join(import.meta.dirname, '..', '..', 'shared', 'azure-examples');"],
      ['test/jobs/x.test.ts', 'readFileSync("../../../shared/FACTS.md")'],
      ['scripts/x.ts', "join(here, '..', '..', 'shared')"],
    ] as const;
    for (const [file, line] of climbsOut) expect(pathsOutside(file, line)).toHaveLength(1);
    const staysIn = [
      ['src/jobs/x/index.ts', "import { x } from '../../shared/job.js';"],
      ['src/notify/notifier.ts', "declare module '../shared/job.js' {"],
      ['test/x.test.ts', "import { y } from '../src/shared/job.js';"],
    ] as const;
    for (const [file, line] of staysIn) expect(pathsOutside(file, line)).toEqual([]);
  });
});
