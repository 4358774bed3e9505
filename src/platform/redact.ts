/**
 * Secrets never reach logs, reports or errors. Known secret values are registered as they are
 * read (passwords, tokens, webhook URLs) and removed wherever text leaves the process; common
 * secret-bearing patterns are masked even when the value was never registered.
 */
const knownSecrets = new Set<string>();
const MASK = '[redacted]';

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

const patterns: ReadonlyArray<[RegExp, string]> = [
  // postgres://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)[^@\s/]+@/gi, `$1${MASK}@`],
  // PASSWORD 'x' in SQL (ALTER/CREATE ROLE), including SCRAM verifiers
  [/(\bPASSWORD\s+)'(?:[^']|'')*'/gi, `$1'${MASK}'`],
  [/(\bPASSWORD\s+)"(?:[^"]|"")*"/gi, `$1"${MASK}"`],
  [/SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+/g, MASK],
  // key=value style
  [/(\b(?:password|passwd|pwd|secret|token|access_token|client_secret|sig|AccountKey|SharedAccessKey)\s*[=:]\s*)("?)[^\s"&;,]+\2/gi, `$1$2${MASK}$2`],
  // Authorization headers and bare bearer tokens
  [/(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*/g, `$1${MASK}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, MASK],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  for (const [re, replacement] of patterns) out = out.replace(re, replacement);
  return out;
}

/** Deep-redacts any JSON-like value (strings anywhere in it). */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value ?? null))) as T;
}

/** A message for an unknown thrown value, redacted. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const base = err.message || err.name;
    return redact(typeof code === 'string' && !base.includes(code) ? `${base} (${code})` : base);
  }
  return redact(String(err));
}
