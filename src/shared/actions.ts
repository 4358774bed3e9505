import type { Action } from './job.js';
import { errorMessage } from '../platform/redact.js';

/**
 * One way to act: `ctx.act(step, statement, run)` records the step in the run's report with its
 * statement, as `planned` in a dry run (without running it), else `done` or `failed` with how
 * long it took. A failure is rethrown after it is recorded. Resolves to what `run` returned, or
 * undefined in a dry run.
 */
export type Act = <T>(step: string, statement: string | undefined, run: () => Promise<T>) => Promise<T | undefined>;

/** The context's `act`, recording into `actions` (the runner puts them first in the report's actions). */
export function actionRecorder(actions: Action[], dryRun: boolean): Act {
  return async (description, statement, run) => {
    const recorded = { description, ...(statement ? { statement } : {}) };
    if (dryRun) {
      actions.push({ ...recorded, status: 'planned' });
      return undefined;
    }
    const t = performance.now();
    try {
      const out = await run();
      actions.push({ ...recorded, status: 'done', durationMs: Math.round(performance.now() - t) });
      return out;
    } catch (err) {
      actions.push({ ...recorded, status: 'failed', durationMs: Math.round(performance.now() - t), error: errorMessage(err) });
      throw err;
    }
  };
}

/**
 * The `run` of a step a dry-run branch only describes (the real run takes another path, with
 * its own steps): `if (ctx.dryRun) await ctx.act('rotate x', statement, onlyPlanned)`.
 */
export async function onlyPlanned(): Promise<never> {
  throw new Error('a step described for a dry run was run');
}
