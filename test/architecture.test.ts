import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const jobsDir = join(root, 'src', 'jobs');

/** What a file under src/jobs belongs to: its job's folder, a single-file job, or the registry (index.ts, manifests.ts). */
function ownerOf(pathInJobs: string): string {
  const [first, ...rest] = pathInJobs.split(sep);
  if (rest.length > 0) return first!;
  const name = first!.replace(/\.(manifest\.)?[jt]s$/, '');
  return name === 'index' || name === 'manifests' ? 'the registry' : name;
}

const specifiers = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/**
 * Imports in a job's file (`file` relative to src/jobs) that reach another job's code or the
 * registry, which loads every job. A job shares through src/shared and reaches another job
 * through ctx.services.jobs.
 */
function crossJobImports(file: string, text: string): string[] {
  const own = ownerOf(file);
  if (own === 'the registry') return [];
  const from = dirname(join(jobsDir, file));
  return text.split('\n').flatMap((line, i) =>
    [...line.matchAll(specifiers)].flatMap((m) => {
      const spec = m[1]!;
      if (!spec.startsWith('.')) return [];
      const inJobs = relative(jobsDir, resolve(from, spec));
      if (inJobs.startsWith('..')) return [];
      const other = ownerOf(inJobs);
      return other === own ? [] : [`src/jobs/${file.split(sep).join('/')}:${i + 1} imports ${other}: ${line.trim()}`];
    }),
  );
}

const jobFiles = readdirSync(jobsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

describe('architecture', () => {
  it('has job files to check', () => {
    expect(jobFiles.filter((f) => f.includes(sep)).length).toBeGreaterThan(20);
  });

  it('no job imports another job (or the registry): shared contracts live in src/shared', () => {
    expect(jobFiles.flatMap((file) => crossJobImports(file, readFileSync(join(jobsDir, file), 'utf8')))).toEqual([]);
  });

  it('tells an import of another job from one of its own or of shared code (so the check above can fail)', () => {
    const j = (...parts: string[]) => parts.join(sep);
    const crossing = [
      [j('version-upgrade', 'rehearse.ts'), `import { settle } from '../backup-verification/reconcile.js';`],
      [j('version-upgrade', 'verify-upgraded.ts'), `import { installVerification } from '../install-verification.js';`],
      [j('version-upgrade', 'x.ts'), `const { healthCheck } = await import('../health-check/index.js');`],
      [j('cost-check', 'x.ts'), `export { jobs } from '../index.js';`],
      ['install-verification.ts', `import { manifest } from './health-check/manifest.js';`],
    ] as const;
    for (const [file, line] of crossing) expect(crossJobImports(file, line), line).toHaveLength(1);
    const fine = [
      [j('version-upgrade', 'rehearse.ts'), `import { getAzure } from '../../platform/azure/index.js';`],
      [j('version-upgrade', 'index.ts'), `import { manifest } from './manifest.js';`],
      [j('health-check', 'checks', 'x.ts'), `import { y } from '../activity.js';`],
      ['install-verification.ts', `import { manifest } from './install-verification.manifest.js';`],
      ['index.ts', `import { healthCheck } from './health-check/index.js';`],
      [j('cost-check', 'x.ts'), `import { z } from 'zod';`],
    ] as const;
    for (const [file, line] of fine) expect(crossJobImports(file, line), line).toEqual([]);
  });
});
