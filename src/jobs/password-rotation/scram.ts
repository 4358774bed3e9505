import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/** The exact form PostgreSQL stores for a 16-byte salt and 4096 iterations: 133 characters. */
const VERIFIER = /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/;

/**
 * PostgreSQL's SCRAM-SHA-256 verifier (src/common/scram-common.c), so `ALTER ROLE ... PASSWORD`
 * carries a salted hash and the plaintext never reaches the server or its statement log.
 * PostgreSQL SASLprep-normalises passwords first; for printable ASCII that changes nothing, so
 * only such passwords are accepted here rather than reimplementing SASLprep.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(SALT_BYTES), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x20-\x7e]*$/.test(password)) throw new Error('SCRAM verifiers are computed for printable ASCII passwords only');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * A string the server would store as a verifier. Anything else it would treat as a plaintext
 * password and hash, so a malformed verifier must never be sent: the role would then have a
 * password nobody knows.
 */
export function isScramVerifier(text: string): boolean {
  return text.length === 133 && VERIFIER.test(text);
}
