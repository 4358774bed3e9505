import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEmulatorTls, TLS_CERT_ENV, TLS_KEY_ENV } from '../../src/local-azure/tls.js';

let dir: string | undefined;

/**
 * Runs before the test workers start: one certificate for every emulator of the run, trusted
 * process-wide through NODE_EXTRA_CA_CERTS (read by Node only at start, hence here; the forked
 * workers inherit the environment). Clients built by the emulator's helpers also get it as an
 * explicit CA, so nothing depends on this variable alone.
 */
export async function setup(): Promise<void> {
  const tls = await generateEmulatorTls();
  dir = mkdtempSync(join(tmpdir(), 'dbops-azure-tls-'));
  const cert = join(dir, 'emulator.crt');
  const key = join(dir, 'emulator.key');
  writeFileSync(cert, tls.cert);
  writeFileSync(key, tls.key, { mode: 0o600 });
  process.env[TLS_CERT_ENV] = cert;
  process.env[TLS_KEY_ENV] = key;
  process.env.NODE_EXTRA_CA_CERTS = cert;
}

export async function teardown(): Promise<void> {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
