import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleSettings, settingsCatalog } from '../src/catalog.js';
import { withSettingsTable } from '../scripts/update-docs.js';

const root = join(import.meta.dirname, '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

describe('documentation matches the code (run `npm run docs` to regenerate)', () => {
  it('README lists every setting with its current default', () => {
    const readme = read('README.md');
    expect(withSettingsTable(readme)).toBe(readme);
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
