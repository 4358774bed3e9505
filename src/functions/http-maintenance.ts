import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { manifestNames } from '../jobs/manifests.js';
import { loadJob } from './jobs.js';
import type { JobReport, RegisteredJob } from '../shared/job.js';
import { errorMessage } from '../platform/redact.js';
import { isAlreadyRunning, ParamsError, runJob, type RunnerDeps } from '../shared/runner/run-job.js';
import { forInvocation, type RuntimeSource } from './runtime.js';
import { approveProductionAction, productionAction } from './production-approval.js';

/** Larger bodies are refused before they are read into memory as JSON. */
export const MAX_BODY_BYTES = 16 * 1024;

const bodySchema = z
  .object({
    params: z.record(z.string().max(64), z.unknown()).default({}),
    dryRun: z.boolean().default(false),
    triggeredBy: z.string().min(1).max(200).optional(),
  })
  .strict();

const json = (status: number, body: unknown, headers?: Record<string, string>): HttpResponseInit => ({ status, jsonBody: body, ...(headers ? { headers } : {}) });

/**
 * Who asked: the App Service authentication principal when Easy Auth is on, else the name the
 * caller gave, else "http". Function keys identify an app, not a person.
 */
export function callerIdentity(request: HttpRequest, given?: string): string {
  const principal = request.headers.get('x-ms-client-principal-name');
  if (principal) return `aad:${principal.slice(0, 200)}`;
  const encoded = request.headers.get('x-ms-client-principal');
  if (encoded) {
    try {
      const decoded = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { userDetails?: unknown };
      if (typeof decoded.userDetails === 'string') return `aad:${decoded.userDetails.slice(0, 200)}`;
    } catch {
      // Not a principal header dbops can read; fall through.
    }
  }
  return given ? `given:${given}` : 'http';
}

async function readBody(request: HttpRequest): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) return { ok: false, response: json(413, { error: `The body is larger than ${MAX_BODY_BYTES} bytes.` }) };
  const buffer = Buffer.from(await request.arrayBuffer());
  if (buffer.length > MAX_BODY_BYTES) return { ok: false, response: json(413, { error: `The body is larger than ${MAX_BODY_BYTES} bytes.` }) };
  const text = buffer.toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, response: json(400, { error: 'The body is not JSON. Send {"params": {...}, "dryRun": true|false}.' }) };
  }
}

/**
 * Starts a run and answers as soon as it is recorded (202 with the run id) for long jobs, or
 * when it finishes for short ones. A run refused because the job is running elsewhere is 409.
 */
async function start(job: RegisteredJob, params: Record<string, unknown>, deps: RunnerDeps, dryRun: boolean, triggeredBy: string): Promise<HttpResponseInit> {
  let announce: (id: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (announce = resolve));
  const finished = runJob(job, params, deps, { trigger: 'http', triggeredBy, dryRun, onStarted: (id) => announce(id) });
  const conflict = (report: JobReport) =>
    json(409, { error: `${job.name} is already running; try again when it has finished.`, runId: report.runId, summary: report.summary });
  if (job.long) {
    const first = await Promise.race([started.then((runId) => ({ runId })), finished.then((report) => ({ report }))]);
    if ('report' in first) return isAlreadyRunning(first.report) ? conflict(first.report) : json(200, first.report);
    // The run goes on after the response; its outcome is in ops.job_run.
    finished.catch((err: unknown) => deps.log.error('background run failed', { job: job.name, error: errorMessage(err) }));
    return json(202, { runId: first.runId, status: 'running', location: `/api/maintenance/runs/${first.runId}` }, { Location: `/api/maintenance/runs/${first.runId}` });
  }
  const report = await finished;
  if (isAlreadyRunning(report)) return conflict(report);
  return json(200, report);
}

/** POST /api/maintenance/{job}: runs a job on demand; body {"params": {...}, "dryRun": true}. */
export interface JobLookup {
  find(name: string): Promise<RegisteredJob | undefined> | RegisteredJob | undefined;
  names(): string[];
}

export function maintenanceHandler(runtime: RuntimeSource, registry: JobLookup = { find: loadJob, names: manifestNames }) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const name = request.params.job ?? '';
    const job = await registry.find(name);
    if (!job) return json(404, { error: `Unknown job "${name.slice(0, 100)}".`, jobs: registry.names() });
    const body = await readBody(request);
    if (!body.ok) return body.response;
    const parsed = bodySchema.safeParse(body.value);
    if (!parsed.success) {
      return json(400, {
        error: 'Invalid request body.',
        problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
        expected: '{"params": {...}, "dryRun": true|false, "triggeredBy": "name"}',
      });
    }
    try {
      const deps = forInvocation(await runtime(), context);
      let triggeredBy = callerIdentity(request, parsed.data.triggeredBy);
      const action = productionAction(job.name, parsed.data.params, parsed.data.dryRun);
      if (action) {
        const approval = approveProductionAction(request, deps.env, action);
        if (!approval.allowed) {
          context.warn(`refused ${action}: ${approval.reason}`);
          return json(403, { error: approval.reason });
        }
        triggeredBy = `aad:${approval.approver}`;
      }
      return await start(job, parsed.data.params, deps, parsed.data.dryRun, triggeredBy);
    } catch (err) {
      if (err instanceof ParamsError) return json(400, { error: err.message, problems: err.problems });
      context.error(`maintenance ${name} failed to start: ${errorMessage(err)}`);
      return json(500, { error: `Could not run ${name}: ${errorMessage(err)}` });
    }
  };
}
