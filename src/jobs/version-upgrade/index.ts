import { z } from 'zod';
import { getAzure } from '../../platform/azure/index.js';
import { readSettings } from '../../platform/settings.js';
import { defineJob, type JobOutcome } from '../../shared/job.js';
import { PLAN_SCHEMA } from '../../shared/plan.js';
import { DEFAULT_UPGRADE_TARGET, readServerVersion, UPGRADE_TARGETS } from '../../shared/postgres-lifecycle.js';
import { protectedServerNames, restoreServerJob } from '../../shared/restore-servers-azure.js';
import { manifest } from './manifest.js';
import { precheck } from './precheck.js';
import { activeRecord } from './records.js';
import { rehearse } from './rehearse.js';
import { versionUpgradeSettings } from './settings.js';
import { upgradeProduction } from './upgrade.js';

export { versionUpgradeSettings } from './settings.js';
export { UNSUPPORTED_EXTENSIONS } from './precheck.js';

const params = z
  .object({
    plan: z
      .enum(['precheck', 'rehearse', 'upgrade'], { message: 'expected precheck, rehearse or upgrade' })
      .default('rehearse')
      .describe('precheck: blockers and remedies; rehearse: upgrade a restored copy and measure it; upgrade: production (needs confirm)'),
    target: z.coerce
      .number({ message: `expected a PostgreSQL major: ${UPGRADE_TARGETS.join(', ')}` })
      .int()
      .refine((n) => (UPGRADE_TARGETS as readonly number[]).includes(n), { message: `expected a PostgreSQL major Azure offers as an upgrade target: ${UPGRADE_TARGETS.join(', ')}` })
      .default(DEFAULT_UPGRADE_TARGET)
      .describe('the PostgreSQL major to upgrade to'),
    confirm: z.string().min(1).max(63).optional().describe('plan=upgrade only: the production server name, to confirm; without it the plan is printed'),
    schema: z.string().min(1).max(63).default(PLAN_SCHEMA).describe('schema holding the Product-Change tables'),
  })
  .strict();

export type VersionUpgradeParams = z.infer<typeof params>;

/** PostgreSQL major-version upgrade, rehearsed on a copy of production before it is done (issue 21). */
export const versionUpgrade = defineJob({
  ...manifest,
  params,
  settings: versionUpgradeSettings,
  // Not destructive either: plan=upgrade acts on production only with confirm=<server name>
  // after a rehearsal; the rehearsal creates and deletes only its own tagged copy.
  ...restoreServerJob,
  async run(ctx, p): Promise<JobOutcome> {
    const s = readSettings(versionUpgradeSettings, ctx.env);
    const { azure, missing } = getAzure(ctx.services, 'server');
    const current = await readServerVersion(ctx.db);
    const checked = await precheck(ctx.db, { currentMajor: current.major, target: p.target, azure, s });
    const blockers = checked.findings.filter((f) => f.severity === 'critical');
    if (p.plan === 'precheck') {
      return {
        summary: blockers.length
          ? `${blockers.length} blocker${blockers.length > 1 ? 's' : ''} to the upgrade from PostgreSQL ${current.major} to ${p.target}: ${blockers.slice(0, 3).map((f) => f.message).join('; ')}${blockers.length > 3 ? '; …' : ''}`
          : `No blocker dbops can see to the upgrade from PostgreSQL ${current.version} to ${p.target}${azure ? '' : ' (Azure not configured: storage and replicas not checked)'}.`,
        findings: checked.findings,
        data: checked.data,
      };
    }
    if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}.`, findings: checked.findings };
    // An upgrade in flight is advanced whatever the pre-check says now (the server may already run the target).
    const inFlight = p.plan === 'upgrade' ? await activeRecord(ctx.db, 'upgrade') : null;
    if (blockers.length && p.plan === 'upgrade' && !inFlight) {
      return { status: 'critical', summary: `Upgrade not started: ${blockers.length} blocker(s) — run plan=precheck for each remedy.`, findings: checked.findings };
    }
    const protectedNames = protectedServerNames(azure);
    const common = { ctx, azure, s, schema: p.schema, target: p.target, now: ctx.now(), findings: checked.findings.filter((f) => f.severity !== 'info'), actions: [] };
    if (p.plan === 'rehearse') {
      // Blockers are rehearsed too: the copy's upgrade shows what Azure makes of them.
      return rehearse({ ...common, protectedNames }, String(current.major));
    }
    return upgradeProduction({ ...common, findings: inFlight ? [] : common.findings, confirm: p.confirm }, inFlight?.fromVersion ?? String(current.major));
  },
});
