import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type Certificate } from 'node:tls';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import { parseServerUrl } from '../../platform/db/server-url.js';

/** PostgreSQL's SSLRequest: length 8, then the code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export interface ServerCertificate {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  /** Whether the chain verified against this process's trusted CAs. */
  trusted: boolean;
  protocol: string | null;
}

export type CertificateProbe = { ssl: true; certificate: ServerCertificate } | { ssl: false };

export function hostAndPort(target: ConnectionTarget): { host: string; port: number } | undefined {
  if (target.kind === 'entra') return { host: target.host, port: target.port };
  const u = parseServerUrl(target.url);
  const host = u?.hostname.replace(/^\[|\]$/g, '');
  return u && host ? { host, port: u.port ?? 5432 } : undefined;
}

/** "CN=…, O=…"; a field given more than once (an array at run time) is joined with '+'. */
const name = (o: Certificate | undefined) =>
  o ? Object.entries(o).map(([k, v]: [string, unknown]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`).join(', ') : '';

/**
 * Reads the server's certificate the way a client sees it: a TCP connection, PostgreSQL's
 * SSLRequest, then a TLS handshake on the same socket. The chain is not required to verify:
 * the point is to read the dates, whatever signs it.
 */
export function readServerCertificate(host: string, port: number, timeoutMs = 10_000): Promise<CertificateProbe> {
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket?.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no TLS answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const raw = netConnect({ host, port }, () => raw.write(SSL_REQUEST));
    socket = raw;
    raw.once('error', fail);
    raw.once('data', (answer) => {
      if (answer[0] !== 0x53 /* S */) {
        clearTimeout(timer);
        raw.destroy();
        resolve({ ssl: false });
        return;
      }
      const tls = tlsConnect({ socket: raw, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) }, () => {
        const cert = tls.getPeerCertificate();
        clearTimeout(timer);
        const certificate: ServerCertificate = {
          subject: name(cert.subject),
          issuer: name(cert.issuer),
          validFrom: new Date(cert.valid_from),
          validTo: new Date(cert.valid_to),
          trusted: tls.authorized,
          protocol: tls.getProtocol(),
        };
        tls.end();
        tls.destroy();
        resolve({ ssl: true, certificate });
      });
      socket = tls;
      tls.once('error', fail);
    });
  });
}
