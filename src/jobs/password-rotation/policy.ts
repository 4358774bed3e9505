import { pbkdf2Sync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export interface PasswordPolicy {
  minLength: number;
}

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGIT = '23456789';
// Characters that need no escaping in a URL's user-info, a libpq key=value string or JSON.
const SPECIAL = '-._~!*+=';
const ALPHABET = UPPER + LOWER + DIGIT + SPECIAL;

const CLASSES: ReadonlyArray<[string, string]> = [
  ['an upper-case letter', '[A-Z]'],
  ['a lower-case letter', '[a-z]'],
  ['a digit', '[0-9]'],
  ['a special character', '[^A-Za-z0-9]'],
];

/** The plan's policy (4.3.2): length, and upper, lower, digit and special characters. Returns what is wrong. */
export function policyProblems(password: string, policy: PasswordPolicy): string[] {
  const problems: string[] = [];
  if (password.length < policy.minLength) problems.push(`shorter than ${policy.minLength} characters`);
  for (const [name, cls] of CLASSES) if (!new RegExp(cls).test(password)) problems.push(`has no ${name}`);
  if (!/^[\x21-\x7e]*$/.test(password)) problems.push('has characters other than printable ASCII');
  return problems;
}

/** Uniformly random characters from ALPHABET (crypto.randomInt rejects modulo bias), redrawn until every class appears. */
export function generatePassword(policy: PasswordPolicy): string {
  for (;;) {
    let out = '';
    for (let i = 0; i < policy.minLength; i++) out += ALPHABET[randomInt(ALPHABET.length)];
    if (policyProblems(out, policy).length === 0) return out;
  }
}

const FINGERPRINT_ITERATIONS = 4096;

/**
 * A salted, slow one-way fingerprint, kept so "not one of the last N" can be checked after old
 * versions are disabled in Key Vault (a disabled version cannot be read back).
 */
export function passwordFingerprint(password: string, salt: Buffer = randomBytes(16)): string {
  const hash = pbkdf2Sync(password, salt, FINGERPRINT_ITERATIONS, 32, 'sha256');
  return `pbkdf2-sha256$${FINGERPRINT_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function matchesFingerprint(password: string, fingerprint: string): boolean {
  const m = /^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(fingerprint);
  if (!m) return false;
  const expected = Buffer.from(m[3]!, 'base64');
  const actual = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), expected.length, 'sha256');
  return timingSafeEqual(actual, expected);
}

/** A policy-compliant password equal to none of the earlier ones (plain values and fingerprints). */
export function newPassword(
  policy: PasswordPolicy,
  earlier: { values: readonly string[]; fingerprints: readonly string[] },
  generate: (policy: PasswordPolicy) => string = generatePassword,
): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    const candidate = generate(policy);
    if (earlier.values.includes(candidate)) continue;
    if (earlier.fingerprints.some((f) => matchesFingerprint(candidate, f))) continue;
    return candidate;
  }
  throw new Error('could not generate a password different from the recent ones: the random source is broken');
}
