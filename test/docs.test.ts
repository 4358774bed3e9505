import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleSettings, settingsCatalog } from '../src/catalog.js';
import { SETTINGS_DOC, withSettingsTable } from '../scripts/update-docs.js';

const root = join(import.meta.dirname, '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

describe('documentation matches the code (run `npm run docs` to regenerate)', () => {
  it('docs/settings.md lists every setting with its current default', () => {
    const doc = read(SETTINGS_DOC);
    expect(withSettingsTable(doc)).toBe(doc);
  });

  it('the README links every job to its page in docs/jobs, and every page exists', async () => {
    const { existsSync } = await import('node:fs');
    const { jobNames } = await import('../src/jobs/index.js');
    const readme = read('README.md');
    for (const name of jobNames()) {
      expect(readme).toContain(`[\`${name}\`](docs/jobs/${name}.md)`);
      expect(existsSync(join(root, 'docs', 'jobs', `${name}.md`))).toBe(true);
    }
  });

  it('every relative link in README.md and docs/ points at a file that exists', async () => {
    const { existsSync, readdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const pages = ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target] of read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(root, dirname(page), target))) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('local.settings.sample.json has every setting and no real secret', () => {
    const sample = JSON.parse(read('local.settings.sample.json'));
    expect(sample).toEqual(sampleSettings());
    for (const { spec } of settingsCatalog()) {
      if (spec.secret) expect(String(sample.Values[spec.env] ?? '')).not.toMatch(/:[^@/]+@/);
    }
  });

  it('README starts with the two commands a newcomer types', () => {
    const head = read('README.md').split('\n').slice(0, 20).join('\n');
    expect(head).toMatch(/npm install && npm start/);
    expect(head).toMatch(/npm test/);
  });

  it("the plan's literal passwords appear nowhere in the project", async () => {
    const { execFileSync } = await import('node:child_process');
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    // Spelled in pieces so this file does not match itself.
    const forbidden = ['PCApp', 'PCRead', 'PCAdmin', 'ProductChange'].map((p) => `${p}2025Prod`);
    const hits = files.filter((f) => {
      try {
        const text = read(f);
        return forbidden.some((w) => text.includes(w));
      } catch {
        return false;
      }
    });
    expect(hits).toEqual([]);
  });
});
