import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files', '-z', 'src', 'test', 'bench', 'scripts', 'bin', '.ci'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '' && !file.startsWith('test/fixtures/'));

/**
 * Paths to that folder written relative to the file: as one string of "../" steps, or as path
 * segments (join with '..' arguments and then the folder's name). Each is resolved from the
 * file's folder; only those that land outside the repository count (the project has its own
 * src folder of that name).
 */
// The folder's name is assembled, so that this file, which must name it, does not itself read
// like a file reaching for it.
const FOLDER = ['sha', 'red'].join('');
const stringForm = new RegExp(String.raw`((?:\.\.\/)+)${FOLDER}\b`, 'g');
const segmentForm = new RegExp(String.raw`((?:['"]\.\.['"]\s*,\s*)+)['"]${FOLDER}['"]`, 'g');

function pathsOutside(file: string, text: string, repoRoot = root): string[] {
  const from = dirname(join(repoRoot, file));
  const outside = (ups: number) => relative(repoRoot, resolve(from, ...Array<string>(ups).fill('..'), FOLDER)).startsWith('..');
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
    const up = (n: number) => Array<string>(n).fill("'..'").join(', ');
    const climbsOut = [
      ['test/events.test.ts', `const examples = join(import.meta.dirname, ${up(2)}, '${FOLDER}', 'azure-examples');`],
      ['test/jobs/x.test.ts', `readFileSync("${'../'.repeat(3)}${FOLDER}/FACTS.md")`],
      ['scripts/x.ts', `join(here, ${up(2)}, '${FOLDER}')`],
    ] as const;
    for (const [file, line] of climbsOut) expect(pathsOutside(file, line)).toHaveLength(1);
    const staysIn = [
      ['src/jobs/x/index.ts', `import { x } from '${'../'.repeat(2)}${FOLDER}/job.js';`],
      ['src/notify/notifier.ts', `declare module '../${FOLDER}/job.js' {`],
      ['test/x.test.ts', `import { y } from '../src/${FOLDER}/job.js';`],
    ] as const;
    for (const [file, line] of staysIn) expect(pathsOutside(file, line)).toEqual([]);
  });
});
