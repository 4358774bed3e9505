import type { InvocationContext } from '@azure/functions';
import { createLogger, type Logger } from '../platform/log.js';
import type { RunnerDeps } from '../shared/runner/run-job.js';

let cached: Promise<RunnerDeps> | undefined;

/**
 * One runtime per Function App process, built on the first invocation from the app settings
 * with the composition root's providers (loaded then, not at cold start).
 */
export function processRuntime(): Promise<RunnerDeps> {
  cached ??= import('../runtime.js').then(({ buildRuntime, providers }) => buildRuntime(providers, { env: process.env }));
  cached.catch(() => (cached = undefined));
  return cached;
}

export type RuntimeSource = () => RunnerDeps | Promise<RunnerDeps>;

/** The runtime with its log lines going to the invocation's log (Application Insights). */
export function forInvocation(deps: RunnerDeps, context: InvocationContext): RunnerDeps {
  return { ...deps, log: invocationLogger(context) };
}

export function invocationLogger(context: InvocationContext): Logger {
  return createLogger({
    json: true,
    sink: (level, line) => {
      if (level === 'error') context.error(line);
      else if (level === 'warn') context.warn(line);
      else if (level === 'debug') context.debug(line);
      else context.info(line);
    },
    fields: { invocationId: context.invocationId },
  });
}
