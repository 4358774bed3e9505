/**
 * The service's load in its own process (see spawnLoad): its latencies are the server's and the
 * network's, not the time the benchmark's own event loop spends running a dbops job. One such
 * process serves a whole benchmark: start, stop (returns the samples), start again, close.
 */
import { startInserts, startServiceLoad, type InsertLoad, type InsertLoadOptions, type ServiceLoad } from './workload.js';

export interface LoadSpec {
  kind: 'inserts' | 'service';
  url: string;
  options: InsertLoadOptions;
}

export type LoadCommand = { type: 'start'; spec: LoadSpec } | { type: 'stop' } | { type: 'close' };

if (!process.send) throw new Error('load-process.ts runs as a child of spawnLoad()');
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
let load: InsertLoad | ServiceLoad | null = null;
// Its bound if the benchmark dies without a word.
process.on('disconnect', () => void (load?.stop() ?? Promise.resolve()).finally(() => process.exit(0)));
process.on('message', (m: LoadCommand) => {
  if (m.type === 'start') {
    load = m.spec.kind === 'service' ? startServiceLoad(m.spec.url, m.spec.options) : startInserts(m.spec.url, m.spec.options);
    void send({ type: 'started' });
  } else if (m.type === 'stop') {
    const current = load;
    load = null;
    void (current?.stop() ?? Promise.resolve()).then(() =>
      // Absolute times, comparable with the parent's clock().
      send({ type: 'samples', samples: (current?.samples ?? []).map((s) => ({ ...s, start: performance.timeOrigin + s.start })), errors: current?.errors ?? [] }),
    );
  } else if (m.type === 'close') {
    void (load?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
void send({ type: 'ready' });
