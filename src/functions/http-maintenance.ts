import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { findJob, jobNames } from '../jobs/index.js';
import { errorMessage } from '../shared/redact.js';
import { ParamsError, runJob } from '../shared/runner/run-job.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

const bodySchema = z
  .object({
    params: z.record(z.string(), z.unknown()).default({}),
    dryRun: z.boolean().default(false),
    triggeredBy: z.string().max(200).optional(),
  })
  .strict();

const json = (status: number, body: unknown): HttpResponseInit => ({ status, jsonBody: body });

/** POST /api/maintenance/{job}: runs a job on demand; body {"params": {...}, "dryRun": true}. */
export function maintenanceHandler(runtime: RuntimeSource) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const name = request.params.job ?? '';
    const job = findJob(name);
    if (!job) return json(404, { error: `Unknown job "${name}".`, jobs: jobNames() });
    const text = await request.text();
    let raw: unknown = {};
    if (text.trim() !== '') {
      try {
        raw = JSON.parse(text);
      } catch {
        return json(400, { error: 'The body is not JSON. Send {"params": {...}, "dryRun": true|false}.' });
      }
    }
    const body = bodySchema.safeParse(raw);
    if (!body.success) {
      return json(400, {
        error: 'Invalid request body.',
        problems: body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
        expected: '{"params": {...}, "dryRun": true|false}',
      });
    }
    try {
      const report = await runJob(job, body.data.params, forInvocation(runtime(), context), {
        trigger: 'http',
        triggeredBy: body.data.triggeredBy ?? 'http',
        dryRun: body.data.dryRun,
      });
      return json(200, report);
    } catch (err) {
      if (err instanceof ParamsError) return json(400, { error: err.message, problems: err.problems });
      context.error(`maintenance ${name} failed to start: ${errorMessage(err)}`);
      return json(500, { error: `Could not run ${name}: ${errorMessage(err)}` });
    }
  };
}
