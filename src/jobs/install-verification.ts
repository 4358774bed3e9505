import { z } from 'zod';
import { defineJob, type Finding } from '../shared/job.js';
import { PLAN_SCHEMA } from '../shared/plan.js';
import { readSettings, setting } from '../platform/settings.js';
import {
  checkCircuitBreaker,
  checkExtensions,
  checkIndexes,
  checkPartitions,
  checkRoles,
  checkServerSettings,
  checkTables,
} from '../shared/verify/installation.js';
import { checkVersionSupport, versionSupportSettings } from '../shared/postgres-lifecycle.js';
import { manifest } from './install-verification.manifest.js';

export { toBase } from '../shared/verify/installation.js';

export const installVerificationSettings = {
  settingsSeverity: setting({
    env: 'DBOPS_VERIFY_SETTINGS_SEVERITY',
    doc: 'Severity of a server setting that differs from the plan: "info" where the server is not the production one (a laptop, CI), "warning" in production.',
    default: 'info',
    schema: z.enum(['info', 'warning'], { message: 'expected "info" or "warning"' }),
  }),
  ...versionSupportSettings,
};

const params = z
  .object({
    schema: z.string().min(1).max(63).default(PLAN_SCHEMA).describe('schema holding the Product-Change tables'),
  })
  .strict();

/** Plan section 10.1: the schema, tables, indexes, roles, grants, extensions and settings match the plan. */
export const installVerification = defineJob({
  ...manifest,
  params,
  settings: installVerificationSettings,
  async run(ctx, p) {
    const { settingsSeverity, versionSupportSeverity } = readSettings(installVerificationSettings, ctx.env);
    const findings: Finding[] = [];
    const steps: Record<string, number> = {};
    const timed = async (name: string, fn: () => Promise<Finding[]>) => {
      const t = performance.now();
      try {
        findings.push(...(await fn()));
      } catch (err) {
        findings.push({ check: `${name}.error`, severity: 'critical', message: `${name} check could not run: ${(err as Error).message}` });
      }
      steps[name] = Math.round(performance.now() - t);
    };

    const schemaExists = await ctx.db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [p.schema]);
    if (schemaExists.rowCount === 0) {
      return {
        summary: `Schema ${p.schema} does not exist: run \`dbops migrate\`.`,
        findings: [{ check: 'schema.missing', severity: 'critical', target: p.schema, message: `schema ${p.schema} is missing`, remedy: 'dbops migrate' }],
      };
    }
    await timed('tables', () => checkTables(ctx.db, p.schema));
    await timed('indexes', () => checkIndexes(ctx.db, p.schema));
    await timed('partitions', () => checkPartitions(ctx.db, p.schema, ctx.now()));
    await timed('circuitBreaker', () => checkCircuitBreaker(ctx.db, p.schema));
    await timed('roles', () => checkRoles(ctx.db, p.schema));
    await timed('extensions', () => checkExtensions(ctx.db));
    await timed('serverSettings', () => checkServerSettings(ctx.db, settingsSeverity));
    await timed('versionSupport', () => checkVersionSupport(ctx.db, ctx.now(), versionSupportSeverity));

    const problems = findings.filter((f) => f.severity !== 'info');
    const notes = findings.length - problems.length;
    return {
      summary:
        problems.length === 0
          ? `Installation matches the plan${notes ? ` (${notes} note${notes > 1 ? 's' : ''} on server settings)` : ''}.`
          : `${problems.length} difference${problems.length > 1 ? 's' : ''} from the plan: ${problems
              .slice(0, 3)
              .map((f) => f.message)
              .join('; ')}${problems.length > 3 ? '; …' : ''}`,
      findings,
      steps,
    };
  },
});
