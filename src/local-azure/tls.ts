import { existsSync, readFileSync } from 'node:fs';
import { generate } from 'selfsigned';

export interface EmulatorTls {
  /** PEM certificate; clients trust it (NODE_EXTRA_CA_CERTS or the `tlsCa` client option). */
  cert: string;
  key: string;
}

/** Set by the global setup so every test worker serves the certificate Node already trusts. */
export const TLS_CERT_ENV = 'DBOPS_TEST_AZURE_TLS_CERT_FILE';
export const TLS_KEY_ENV = 'DBOPS_TEST_AZURE_TLS_KEY_FILE';

/** A self-signed certificate for localhost and 127.0.0.1. */
export async function generateEmulatorTls(): Promise<EmulatorTls> {
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'dbops-azure-emulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

let cached: Promise<EmulatorTls> | undefined;

/** The run's certificate (made by the global setup) if there is one, else a fresh one per process. */
export function emulatorTls(): Promise<EmulatorTls> {
  const certFile = process.env[TLS_CERT_ENV];
  const keyFile = process.env[TLS_KEY_ENV];
  if (certFile && keyFile && existsSync(certFile) && existsSync(keyFile)) {
    return Promise.resolve({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') });
  }
  cached ??= generateEmulatorTls();
  return cached;
}
