import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsCatalog } from '../src/catalog.js';

const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'operations-plan.md'), 'utf8');
const ticks = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** Rows of the plan table that name settings, with the defaults the table states for them. */
const rows = doc
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| plan') && !l.startsWith('|---'))
  .map((l) => l.split('|').map((c) => c.trim()))
  .map((cells) => ({ section: cells[1]!, what: cells[2]!, settings: ticks(cells[4] ?? '').filter((s) => s.startsWith('DBOPS_')), defaults: ticks(cells[5] ?? '') }))
  .filter((r) => r.settings.length > 0);

describe("docs/operations-plan.md matches the code's settings", () => {
  const catalog = new Map(settingsCatalog().map(({ spec }) => [spec.env, spec]));

  it('names settings at all', () => {
    expect(rows.length).toBeGreaterThan(30);
  });

  it.each(rows.map((r) => [`§${r.section} ${r.what}`, r] as const))('%s', (_label, row) => {
    row.settings.forEach((name, i) => {
      const spec = catalog.get(name);
      expect(spec, `${name} is named in docs/operations-plan.md but no module declares it`).toBeDefined();
      const stated = row.defaults[i];
      if (stated !== undefined) expect(spec?.default, `${name}'s default`).toBe(stated);
    });
  });
});
