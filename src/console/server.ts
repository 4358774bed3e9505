import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool, type ConnectionTarget } from '../platform/db/connection.js';
import type { Logger } from '../platform/log.js';
import { errorMessage } from '../platform/redact.js';
import { loadConsoleData } from './data.js';
import { escapeHtml } from './html.js';
import { renderConsole } from './render.js';

export interface ConsoleServerOptions {
  target: ConnectionTarget;
  jobs: Array<{ name: string; title: string }>;
  environment: string;
  log: Logger;
  port?: number;
  retentionMonths?: number;
}

export const CONSOLE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The page has no script: forbid any, and any framing.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
} as const;

/** Serves the status page on 127.0.0.1 only: it shows operational detail and has no login. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const pool = createPool(options.target, { applicationName: 'dbops:console', lockTimeoutMs: 1000, statementTimeoutMs: 10_000, max: 2, connectTimeoutSeconds: 10 }, options.log);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/' && !req.url?.startsWith('/?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    loadConsoleData(pool, { jobs: options.jobs, environment: options.environment, ...(options.retentionMonths ? { retentionMonths: options.retentionMonths } : {}) })
      .then((data) => res.writeHead(200, CONSOLE_HEADERS).end(renderConsole(data)))
      .catch((err: unknown) => {
        options.log.warn('console render failed', { error: errorMessage(err) });
        res.writeHead(500, CONSOLE_HEADERS).end(`<!doctype html><title>dbops</title><p>The status page could not be built: ${escapeHtml(errorMessage(err))}</p>`);
      });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end().catch(() => undefined);
    },
  };
}
