/**
 * JSON shapes, for proving the emulator answers like the official examples: same keys, same
 * JSON types, recursively. Several examples of one answer are merged (a key missing from one
 * of them is optional); array items are merged the same way.
 */
export type Shape =
  | { kind: 'any' }
  | { kind: 'null' }
  | { kind: 'string' | 'number' | 'boolean'; nullable?: boolean }
  | { kind: 'array'; item?: Shape; nullable?: boolean }
  | { kind: 'object'; keys: Record<string, { shape: Shape; optional: boolean }>; nullable?: boolean };

export function shapeOf(value: unknown): Shape {
  if (value === null || value === undefined) return { kind: 'null' };
  if (Array.isArray(value)) return { kind: 'array', ...(value.length ? { item: value.map(shapeOf).reduce(merge) } : {}) };
  if (typeof value === 'object') {
    return { kind: 'object', keys: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, { shape: shapeOf(v), optional: false }])) };
  }
  return { kind: typeof value as 'string' | 'number' | 'boolean' };
}

export function merge(a: Shape, b: Shape): Shape {
  if (a.kind === 'any' || b.kind === 'any') return { kind: 'any' };
  if (a.kind === 'null') return b.kind === 'null' ? a : { ...b, nullable: true };
  if (b.kind === 'null') return { ...a, nullable: true };
  if (a.kind !== b.kind) return { kind: 'any' };
  const nullable = Boolean(('nullable' in a && a.nullable) || ('nullable' in b && b.nullable));
  if (a.kind === 'array' && b.kind === 'array') {
    const item = a.item && b.item ? merge(a.item, b.item) : (a.item ?? b.item);
    return { kind: 'array', ...(item ? { item } : {}), ...(nullable ? { nullable } : {}) };
  }
  if (a.kind === 'object' && b.kind === 'object') {
    const keys: Record<string, { shape: Shape; optional: boolean }> = {};
    for (const k of new Set([...Object.keys(a.keys), ...Object.keys(b.keys)])) {
      const x = a.keys[k];
      const y = b.keys[k];
      keys[k] = x && y ? { shape: merge(x.shape, y.shape), optional: x.optional || y.optional } : { shape: (x ?? y)!.shape, optional: true };
    }
    return { kind: 'object', keys, ...(nullable ? { nullable } : {}) };
  }
  return { ...a, ...(nullable ? { nullable } : {}) };
}

export interface ShapeRules {
  /** Paths (dot-joined, `[]` for items) the emulator may add: documented fields the examples do not show. */
  extra?: string[];
  /** Paths the emulator may answer with null where the example has a value. */
  nullable?: string[];
  /** Paths whose values may have any JSON type (table cells typed by their column descriptor). */
  free?: string[];
}

/** Differences of `actual` from `expected`, as readable lines (empty when it matches). */
export function shapeDifferences(actual: unknown, expected: Shape, rules: ShapeRules = {}, path = '$'): string[] {
  const kind = actual === null || actual === undefined ? 'null' : Array.isArray(actual) ? 'array' : typeof actual;
  if (expected.kind === 'any' || rules.free?.includes(path)) return [];
  if (kind === 'null') {
    return expected.kind === 'null' || ('nullable' in expected && expected.nullable) || rules.nullable?.includes(path) ? [] : [`${path}: null where the example has ${expected.kind}`];
  }
  if (expected.kind === 'null') return [];
  if (kind !== expected.kind) return [`${path}: ${kind} where the example has ${expected.kind}`];
  if (expected.kind === 'array') {
    if (!expected.item) return [];
    return (actual as unknown[]).flatMap((v) => shapeDifferences(v, expected.item!, rules, `${path}[]`)).filter((d, i, all) => all.indexOf(d) === i);
  }
  if (expected.kind === 'object') {
    const obj = actual as Record<string, unknown>;
    const out: string[] = [];
    for (const [k, { shape, optional }] of Object.entries(expected.keys)) {
      if (!(k in obj)) {
        if (!optional) out.push(`${path}.${k}: missing`);
        continue;
      }
      out.push(...shapeDifferences(obj[k], shape, rules, `${path}.${k}`));
    }
    for (const k of Object.keys(obj)) if (!(k in expected.keys) && !rules.extra?.includes(`${path}.${k}`)) out.push(`${path}.${k}: not in the example`);
    return out;
  }
  return [];
}

/** The merged shape of several example bodies. */
export const shapeOfExamples = (...bodies: unknown[]): Shape => bodies.map(shapeOf).reduce(merge);
