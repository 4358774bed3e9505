import { z } from 'zod';

/**
 * Every setting dbops reads is declared once, here or beside the job that owns it, with its
 * environment name, default and purpose. The same declarations feed docs/settings.md,
 * local.settings.sample.json and `dbops settings`, so documentation cannot drift from code.
 */
export interface SettingSpec<T = unknown> {
  /** Environment variable / Function App setting name. */
  readonly env: string;
  readonly doc: string;
  /** Default as the string a user would type; omitted when the setting is optional. */
  readonly default?: string;
  /** Example for local.settings.sample.json when there is no default. */
  readonly example?: string;
  readonly secret?: boolean;
  readonly schema: z.ZodType<T>;
  /** The plan section the default comes from, when it does. */
  readonly plan?: string;
}

export type SettingSpecs = Record<string, SettingSpec>;
export type SettingsOf<S extends SettingSpecs> = { [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };
export type Env = Readonly<Record<string, string | undefined>>;

export function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Parses the named settings from the environment; reports every bad one at once. */
export function readSettings<S extends SettingSpecs>(specs: S, env: Env = process.env): SettingsOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const raw = env[spec.env];
    const value = raw === undefined || raw.trim() === '' ? spec.default : raw.trim();
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) {
      out[key] = parsed.data;
      continue;
    }
    const shown = spec.secret ? '(secret, not shown)' : JSON.stringify(raw ?? null);
    const reason = parsed.error.issues.map((i) => i.message).join('; ');
    problems.push(`${spec.env}=${shown} is invalid: ${reason}. ${spec.doc}${spec.default ? ` Default: ${spec.default}.` : ''}`);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return out as SettingsOf<S>;
}

// Reusable schemas with messages that say how to fix the value.
export const int = (min: number, max: number) =>
  z.coerce
    .number({ message: `expected a whole number from ${min} to ${max}` })
    .int({ message: `expected a whole number from ${min} to ${max}` })
    .min(min, { message: `expected a whole number from ${min} to ${max}` })
    .max(max, { message: `expected a whole number from ${min} to ${max}` });

export const num = (min: number, max: number) =>
  z.coerce
    .number({ message: `expected a number from ${min} to ${max}` })
    .min(min, { message: `expected a number from ${min} to ${max}` })
    .max(max, { message: `expected a number from ${min} to ${max}` });

export const bool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' })
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

export const optionalString = () => z.string().min(1).optional();
export const optionalUrl = () => z.url({ message: 'expected an absolute URL, e.g. https://host/path' }).optional();
/** A Microsoft Entra or Azure identifier (subscription, tenant, object id). */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const list = () =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
