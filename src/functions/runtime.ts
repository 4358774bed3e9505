import type { InvocationContext } from '@azure/functions';
import { createLogger, type Logger } from '../shared/log.js';
import type { RunnerDeps } from '../shared/runner/run-job.js';
import { createRuntime } from '../shared/runner/runtime.js';

let cached: RunnerDeps | undefined;

/** One runtime per Function App process, built on first use from the app settings. */
export function processRuntime(): RunnerDeps {
  cached ??= createRuntime({ env: process.env });
  return cached;
}

export type RuntimeSource = () => RunnerDeps;

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
