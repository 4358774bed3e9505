/**
 * Stands in for a Teams Workflows webhook ("When a Teams webhook request is received"): keeps
 * every JSON body it is sent and answers 202 as Workflows does, or a scripted failure.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TeamsReceiver {
  /** The webhook URL, with a secret-looking signature as real ones carry. */
  url: string;
  signature: string;
  received: unknown[];
  /** Scripted answers for the next requests: a status code, or 'hang' to never answer. */
  faults: Array<number | 'hang'>;
  attempts: number;
  close(): Promise<void>;
}

export async function startTeamsReceiver(): Promise<TeamsReceiver> {
  const hanging = new Set<ServerResponse>();
  const state = { received: [] as unknown[], faults: [] as Array<number | 'hang'>, attempts: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.attempts += 1;
      const fault = state.faults.shift();
      if (fault === 'hang') {
        hanging.add(res);
        return;
      }
      if (typeof fault === 'number') {
        res.writeHead(fault, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'Scripted', message: `scripted ${fault}` } }));
        return;
      }
      if (req.headers['content-type'] !== 'application/json') {
        res.writeHead(415).end();
        return;
      }
      state.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const signature = `sig${Math.random().toString(36).slice(2)}Xy9`;
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${signature}`,
    signature,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
