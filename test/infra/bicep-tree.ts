// Parses Bicep and .bicepparam text with tree-sitter-bicep and turns the parts the policy
// tests need (declarations, objects, literals) into plain values. Syntax only: no type checks.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

const require = createRequire(import.meta.url);
const webTreeSitterWasm = require.resolve('web-tree-sitter/web-tree-sitter.wasm');
const bicepWasm = path.join(path.dirname(require.resolve('tree-sitter-bicep/package.json')), 'tree-sitter-bicep.wasm');

let parserPromise: Promise<Parser> | undefined;

export function bicepParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init({ locateFile: () => webTreeSitterWasm });
    const language = await Language.load(bicepWasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

// tree-sitter-bicep 1.1.0 only knows `param <name> <type> [= value]`; a .bicepparam file
// assigns `param <name> = value` without a type. Before parsing, a placeholder type is put
// into exactly those assignments; nothing else in the file changes.
export const BICEPPARAM_PLACEHOLDER_TYPE = '__bicepparam_value__';
const assignment = /^(\s*param\s+[A-Za-z_][A-Za-z0-9_]*)(\s*=)/gm;

export function normalizeBicepParam(text: string): string {
  return text.replace(assignment, `$1 ${BICEPPARAM_PLACEHOLDER_TYPE}$2`);
}

export function syntaxProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
      problems.push(`${node.isMissing ? 'MISSING' : 'ERROR'} ${node.type} at ${where}: ${node.text.slice(0, 60)}`);
    }
    if (node.hasError || node.isMissing) for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  return problems;
}

const treeCache = new Map<string, Tree>();

export async function parseText(text: string, isParamFile: boolean): Promise<Tree> {
  const source = isParamFile ? normalizeBicepParam(text) : text;
  const key = `${isParamFile ? 'p' : 'b'}:${source}`;
  const cached = treeCache.get(key);
  if (cached) return cached;
  const parser = await bicepParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  treeCache.set(key, tree);
  return tree;
}

// ----------------------------------------------------------------- declarations

export interface Declaration {
  kind: 'param' | 'var' | 'resource' | 'module' | 'output' | 'using' | 'other';
  name: string;
  node: Node;
  decorators: Node[];
  /** param: the type node; resource/module: the type or path string; output: type */
  typeNode?: Node;
  /** param default / param-file value / var value / output value / resource or module body */
  value?: Node;
  /** resource or module: the `if (...)` condition */
  condition?: Node;
}

export function named(node: Node): Node[] {
  return node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment' && c.type !== 'diagnostic_comment');
}

function afterEquals(node: Node): Node | undefined {
  let seen = false;
  for (const child of node.children) {
    if (!child) continue;
    if (seen && child.isNamed && child.type !== 'comment') return child;
    if (child.type === '=') seen = true;
  }
  return undefined;
}

export function declarations(tree: Tree): Declaration[] {
  const out: Declaration[] = [];
  let pending: Node[] = [];
  for (const node of named(tree.rootNode)) {
    if (node.type === 'decorators') {
      pending = named(node);
      continue;
    }
    const parts = named(node);
    const name = parts[0]?.type === 'identifier' ? parts[0].text : '';
    const decorators = pending;
    pending = [];
    switch (node.type) {
      case 'parameter_declaration':
        out.push({ kind: 'param', name, node, decorators, typeNode: parts[1], value: afterEquals(node) });
        break;
      case 'variable_declaration':
        out.push({ kind: 'var', name, node, decorators, value: afterEquals(node) });
        break;
      case 'output_declaration':
        out.push({ kind: 'output', name, node, decorators, typeNode: parts[1], value: afterEquals(node) });
        break;
      case 'resource_declaration':
      case 'module_declaration': {
        let body = afterEquals(node);
        let condition: Node | undefined;
        if (body?.type === 'if_statement') {
          condition = named(body)[0];
          body = named(body)[1];
        } else if (body?.type === 'for_statement') {
          const loopBody = body.childForFieldName('body');
          if (loopBody?.type === 'if_statement') {
            condition = named(loopBody)[0];
            body = named(loopBody)[1];
          } else body = loopBody ?? undefined;
        }
        out.push({
          kind: node.type === 'resource_declaration' ? 'resource' : 'module',
          name,
          node,
          decorators,
          typeNode: parts[1],
          value: body,
          condition,
        });
        break;
      }
      case 'using_statement':
        out.push({ kind: 'using', name: stringValue(parts[0]) ?? '', node, decorators });
        break;
      default:
        out.push({ kind: 'other', name, node, decorators });
    }
  }
  return out;
}

export function decoratorName(decorator: Node): string {
  const call = named(decorator)[0];
  const fn = call?.childForFieldName('function');
  return fn?.text.replace(/^sys\./, '') ?? '';
}

export function decoratorArgs(decorator: Node): Node[] {
  const call = named(decorator)[0];
  const args = call?.childForFieldName('arguments');
  return args ? named(args) : [];
}

// ----------------------------------------------------------------- values

/** A literal string without interpolation, else undefined. */
export function stringValue(node: Node | undefined | null): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  if (node.text.startsWith("'''")) return node.text.slice(3, -3);
  let out = '';
  for (const child of named(node)) {
    if (child.type === 'interpolation') return undefined;
    if (child.type === 'escape_sequence') out += unescape(child.text);
    else out += child.text;
  }
  return out;
}

function unescape(seq: string): string {
  const map: Record<string, string> = { "\\'": "'", '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t', '\\$': '$' };
  return map[seq] ?? seq;
}

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value } | Unresolved;
export class Unresolved {
  constructor(readonly node: Node) {}
  get text(): string {
    return this.node.text;
  }
}

export function literal(node: Node | undefined | null): Value {
  if (!node) return null;
  switch (node.type) {
    case 'string': {
      const s = stringValue(node);
      return s === undefined ? new Unresolved(node) : s;
    }
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'unary_expression': {
      const arg = node.childForFieldName('argument');
      const op = node.childForFieldName('operator')?.text;
      const v = literal(arg);
      if (op === '-' && typeof v === 'number') return -v;
      if (op === '!' && typeof v === 'boolean') return !v;
      return new Unresolved(node);
    }
    case 'array':
      return named(node).filter((c) => c.type !== 'decorators').map((c) => literal(c));
    case 'object': {
      const obj: { [key: string]: Value } = {};
      for (const prop of objectProperties(node)) obj[prop.key] = literal(prop.value);
      return obj;
    }
    case 'parenthesized_expression': {
      const inner = named(node);
      return inner.length === 1 ? literal(inner[0]) : new Unresolved(node);
    }
    default:
      return new Unresolved(node);
  }
}

export interface Property {
  key: string;
  keyNode: Node;
  value: Node | undefined;
}

export function objectProperties(object: Node | undefined | null): Property[] {
  if (!object || object.type !== 'object') return [];
  const props: Property[] = [];
  for (const prop of named(object)) {
    if (prop.type !== 'object_property') continue;
    const parts = named(prop);
    const keyNode = parts[0];
    if (!keyNode) continue;
    const key = keyNode.type === 'string' ? (stringValue(keyNode) ?? keyNode.text) : keyNode.text;
    props.push({ key, keyNode, value: parts[parts.length - 1] });
  }
  return props;
}

export function property(object: Node | undefined | null, key: string): Node | undefined {
  return objectProperties(object).find((p) => p.key === key)?.value;
}

/** Follows a dotted path through nested object literals. */
export function propertyPath(object: Node | undefined | null, dotted: string): Node | undefined {
  let current: Node | undefined | null = object;
  for (const key of dotted.split('.')) {
    current = property(current, key);
    if (!current) return undefined;
  }
  return current ?? undefined;
}

export function* walk(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children) if (child) yield* walk(child);
}

export function identifiersIn(node: Node | undefined): Set<string> {
  const ids = new Set<string>();
  if (!node) return ids;
  for (const n of walk(node)) {
    if (n.type !== 'identifier') continue;
    // the name after a dot is a property_identifier alias, not an identifier
    ids.add(n.text);
  }
  return ids;
}
