// Reads the ARM JSON the Bicep compiler emits and evaluates the part of the template language the
// tests need: parameters() and variables() of a scope, if/equals/not/and/or/empty/null/coalesce,
// createObject/createArray/concat, and property access. What depends on the deployment's run time
// (reference(), resourceId(), …) evaluates to UNKNOWN, so a test sees which branch of a `? :` is
// taken for given parameters and which value a module receives.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const UNKNOWN = Symbol('unknown at deployment time');
export type ArmValue = string | number | boolean | null | typeof UNKNOWN | ArmValue[] | { [key: string]: ArmValue };

export interface ArmScope {
  parameters: Record<string, ArmValue>;
  variables: Record<string, unknown>;
}

type Token = { kind: 'str' | 'num' | 'id' | 'punct'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src.charAt(i) === "'") {
          if (src.charAt(i + 1) === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src.charAt(i++);
      }
      out.push({ kind: 'str', text: s });
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
      if (!m) throw new Error(`bad number in ${src}`);
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      out.push({ kind: 'id', text: m?.[0] ?? c });
      i += m?.[0].length ?? 1;
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

type Expr =
  | { kind: 'lit'; value: ArmValue }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'prop'; target: Expr; key: Expr };

function parse(src: string): Expr {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (text?: string): Token => {
    const t = tokens[pos++];
    if (!t || (text !== undefined && t.text !== text)) throw new Error(`expected ${text ?? 'a token'} at ${pos} in ${src}`);
    return t;
  };
  const primary = (): Expr => {
    const t = take();
    let e: Expr;
    if (t.kind === 'str') e = { kind: 'lit', value: t.text };
    else if (t.kind === 'num') e = { kind: 'lit', value: Number(t.text) };
    else if (t.kind === 'id') {
      take('(');
      const args: Expr[] = [];
      while (peek()?.text !== ')') {
        args.push(primary());
        if (peek()?.text === ',') take(',');
      }
      take(')');
      e = { kind: 'call', name: t.text.toLowerCase(), args };
    } else throw new Error(`unexpected ${t.text} in ${src}`);
    for (;;) {
      if (peek()?.text === '.') {
        take('.');
        e = { kind: 'prop', target: e, key: { kind: 'lit', value: take().text } };
      } else if (peek()?.text === '[') {
        take('[');
        const key = primary();
        take(']');
        e = { kind: 'prop', target: e, key };
      } else return e;
    }
  };
  const e = primary();
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return e;
}

const isObject = (v: ArmValue): v is { [key: string]: ArmValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

function call(name: string, args: ArmValue[], scope: ArmScope): ArmValue {
  const [a, b] = args;
  switch (name) {
    case 'parameters':
      return typeof a === 'string' && a in scope.parameters ? (scope.parameters[a] ?? null) : UNKNOWN;
    case 'variables':
      return typeof a === 'string' && a in scope.variables ? evaluate(scope.variables[a], scope) : UNKNOWN;
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'if':
      return a === UNKNOWN ? UNKNOWN : a ? (b ?? null) : (args[2] ?? null);
    case 'equals':
      return args.includes(UNKNOWN) ? UNKNOWN : JSON.stringify(a) === JSON.stringify(b);
    case 'not':
      return a === UNKNOWN ? UNKNOWN : !a;
    case 'and':
      return args.includes(UNKNOWN) ? UNKNOWN : args.every(Boolean);
    case 'or':
      return args.includes(UNKNOWN) ? UNKNOWN : args.some(Boolean);
    case 'empty':
      if (a === UNKNOWN) return UNKNOWN;
      return a === null || a === '' || (Array.isArray(a) && a.length === 0) || (a !== undefined && isObject(a) && Object.keys(a).length === 0);
    case 'coalesce':
      return args.find((v) => v !== null) ?? null;
    case 'createarray':
      return args;
    case 'createobject': {
      const o: Record<string, ArmValue> = {};
      for (let i = 0; i + 1 < args.length; i += 2) o[String(args[i])] = args[i + 1] ?? null;
      return o;
    }
    case 'concat':
      if (args.includes(UNKNOWN)) return UNKNOWN;
      if (args.every(Array.isArray)) return args.flat();
      return args.map((v) => String(v)).join('');
    case 'format':
      if (typeof a !== 'string' || args.includes(UNKNOWN)) return UNKNOWN;
      return a.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i) + 1]));
    case 'string':
      return a === UNKNOWN ? UNKNOWN : typeof a === 'string' ? a : JSON.stringify(a);
    default:
      return UNKNOWN;
  }
}

function evalExpr(e: Expr, scope: ArmScope): ArmValue {
  if (e.kind === 'lit') return e.value;
  if (e.kind === 'call') {
    // if() evaluates only the branch it takes.
    if (e.name === 'if' && e.args.length === 3) {
      const [c, t, f] = e.args;
      const cond = c ? evalExpr(c, scope) : UNKNOWN;
      if (cond === UNKNOWN) return UNKNOWN;
      const branch = cond ? t : f;
      return branch ? evalExpr(branch, scope) : null;
    }
    return call(e.name, e.args.map((x) => evalExpr(x, scope)), scope);
  }
  const target = evalExpr(e.target, scope);
  const key = evalExpr(e.key, scope);
  if (target === UNKNOWN || key === UNKNOWN) return UNKNOWN;
  if (Array.isArray(target) && typeof key === 'number') return target[key] ?? null;
  if (isObject(target) && typeof key === 'string') return key in target ? (target[key] ?? null) : null;
  return UNKNOWN;
}

/** Evaluates a template value: strings "[...]" are expressions, objects and arrays element-wise. */
export function evaluate(value: unknown, scope: ArmScope): ArmValue {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return evalExpr(parse(value.slice(1, -1)), scope);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, scope));
  if (typeof value === 'object' && value !== null) {
    const o: Record<string, ArmValue> = {};
    for (const [k, v] of Object.entries(value)) o[k] = evaluate(v, scope);
    return o;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return UNKNOWN;
}

export interface ArmTemplate {
  parameters?: Record<string, { defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, { value: unknown }>;
}

export interface ArmResource {
  type: string;
  name: string;
  condition?: unknown;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The scope of a template given the values its caller passes; defaults fill the rest. */
export function scopeOf(template: ArmTemplate, given: Record<string, ArmValue>): ArmScope {
  const scope: ArmScope = { parameters: { ...given }, variables: template.variables ?? {} };
  for (const [name, p] of Object.entries(template.parameters ?? {})) {
    if (!(name in scope.parameters) && p.defaultValue !== undefined) scope.parameters[name] = evaluate(p.defaultValue, scope);
  }
  return scope;
}

/** A module (nested deployment) of a template: its template and the scope its parameters make. */
export function moduleScope(template: ArmTemplate, parent: ArmScope, deploymentName: string): { template: ArmTemplate; scope: ArmScope } {
  const deployment = template.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && evaluate(r.name, parent) === deploymentName);
  if (!deployment) throw new Error(`no module deployment ${deploymentName}`);
  const props = deployment.properties as { template: ArmTemplate; parameters?: Record<string, { value?: unknown }> };
  const given: Record<string, ArmValue> = {};
  for (const [name, p] of Object.entries(props.parameters ?? {})) given[name] = evaluate(p.value, parent);
  return { template: props.template, scope: scopeOf(props.template, given) };
}

// ----------------------------------------------------------------- the CLI

export type BicepCli = { kind: 'native'; path: string } | { kind: 'az' };

const works = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore', timeout: 120_000 }).status === 0;

/** BICEP_CLI, then `bicep` on PATH, then `az bicep`; the reason when none is there. */
export function findBicepCli(env: NodeJS.ProcessEnv = process.env): BicepCli | { missing: string } {
  const fromEnv = env.BICEP_CLI;
  if (fromEnv) {
    if (existsSync(fromEnv)) return { kind: 'native', path: fromEnv };
    return { missing: `BICEP_CLI=${fromEnv} does not exist (run scripts/install-bicep.sh)` };
  }
  if (works('bicep', ['--version'])) return { kind: 'native', path: 'bicep' };
  if (works('az', ['bicep', 'version'])) return { kind: 'az' };
  return { missing: 'no Bicep CLI: BICEP_CLI is unset, `bicep` is not on PATH and `az bicep` is unavailable (export BICEP_CLI="$(scripts/install-bicep.sh)")' };
}

export interface BicepRun {
  status: number | null;
  stdout: string;
  /** the compiler's and linter's diagnostics, one a line */
  diagnostics: string[];
}

/** Runs `bicep <verb> <file> [options]`; with az, `az bicep <verb> --file <file> [options]`. */
export function runBicep(cli: BicepCli, verb: 'build' | 'build-params' | 'lint', file: string, options: string[] = [], env: NodeJS.ProcessEnv = {}): BicepRun {
  const [cmd, args] = cli.kind === 'native' ? [cli.path, [verb, file, ...options]] : ['az', ['bicep', verb, '--file', file, ...options]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000, env: { ...process.env, ...env } });
  const diagnostics = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').filter((l) => /: (Warning|Error) [A-Za-z0-9-]+:/.test(l));
  return { status: r.status, stdout: r.stdout ?? '', diagnostics };
}

export function bicepVersion(cli: BicepCli): string {
  return cli.kind === 'native' ? execFileSync(cli.path, ['--version'], { encoding: 'utf8' }).trim() : execFileSync('az', ['bicep', 'version'], { encoding: 'utf8' }).trim();
}

/**
 * The date the API versions in infra/bicep were last reviewed against the compiler's types. The
 * linter's use-recent-api-versions rule judges a version's age against today, so the tests lint a
 * copy whose bicepconfig.json sets the rule's `test-today` to this date: a build does not start
 * failing on the day a version turns 731 days old. Move it when the versions are reviewed again.
 */
export const API_VERSIONS_REVIEWED = '2026-12-01';

/**
 * Copies `dir` (a folder that references nothing outside itself) to `<tmp>/<dir>` with the linter's
 * clock pinned to API_VERSIONS_REVIEWED; returns `<tmp>`, the folder to run relative globs from.
 */
export function copyWithPinnedLintDate(dir: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'dbops-bicep-src-'));
  cpSync(dir, path.join(root, dir), { recursive: true });
  const file = path.join(root, dir, 'bicepconfig.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { analyzers: { core: { rules: Record<string, Record<string, unknown>> } } };
  config.analyzers.core.rules['use-recent-api-versions'] = { ...config.analyzers.core.rules['use-recent-api-versions'], 'test-today': API_VERSIONS_REVIEWED };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return root;
}

/** Lints every file: one run per glob with the native CLI (globs relative to `cwd`), one per file with az (no --pattern). */
export function lintAll(cli: BicepCli, files: string[], globs: string[], cwd = process.cwd()): string[] {
  if (cli.kind === 'az') return files.flatMap((f) => runBicep(cli, 'lint', f).diagnostics);
  return globs.flatMap((g) => {
    const r = spawnSync(cli.path, ['lint', '--pattern', g], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').filter((l) => /: (Warning|Error) [A-Za-z0-9-]+:/.test(l));
    return r.status === 0 || lines.length > 0 ? lines : [`bicep lint --pattern ${g} exited ${String(r.status)}: ${r.stderr}`];
  });
}
