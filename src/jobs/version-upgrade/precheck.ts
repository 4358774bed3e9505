import type { AzureServices } from '../../platform/azure/index.js';
import { ident, type Queryable } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import type { Finding } from '../../shared/job.js';
import type { VersionUpgradeSettings } from './settings.js';

/**
 * Extensions Azure's in-place upgrade refuses (Azure's major-version-upgrade page; the list
 * grows with the target, so a target may add its own). Drop them before, recreate after.
 */
export const UNSUPPORTED_EXTENSIONS: Readonly<Record<number, readonly string[]>> = {
  15: ['timescaledb', 'dblink', 'postgres_fdw', 'orafce'],
  16: ['timescaledb', 'dblink', 'postgres_fdw', 'orafce'],
  17: ['timescaledb', 'dblink', 'postgres_fdw', 'orafce'],
  18: ['timescaledb', 'dblink', 'postgres_fdw', 'orafce'],
};

/** System views whose definition changes across majors: a view built on them blocks pg_upgrade or breaks after it. */
const DEPENDENT_SYSTEM_VIEWS: ReadonlyArray<{ view: string; blocks: boolean; from?: number; why: string }> = [
  { view: 'pg_stat_activity', blocks: true, why: "Azure's upgrade refuses views that depend on pg_stat_activity" },
  { view: 'pg_stat_bgwriter', blocks: false, from: 17, why: 'its checkpoint columns move to pg_stat_checkpointer in 17' },
];

export interface PrecheckInput {
  currentMajor: number;
  target: number;
  azure: AzureServices | undefined;
  s: VersionUpgradeSettings;
}

/** Blockers dbops can see itself, each with its remedy; critical ones stop a rehearsal and an upgrade. */
export async function precheck(db: Queryable, input: PrecheckInput): Promise<{ findings: Finding[]; data: Record<string, unknown> }> {
  const { currentMajor, target, s } = input;
  const findings: Finding[] = [];
  const data: Record<string, unknown> = { currentMajor, target };

  if (target <= currentMajor) {
    findings.push({ check: 'upgrade.target', severity: 'critical', target: `PostgreSQL ${target}`, message: `the server already runs PostgreSQL ${currentMajor}; the target must be a later major`, value: currentMajor, threshold: target });
    return { findings, data };
  }

  const slots = await db.query<{ slot_name: string; plugin: string | null; active: boolean }>(`SELECT slot_name, plugin, active FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY slot_name`);
  for (const slot of slots.rows) {
    findings.push({
      check: 'upgrade.blocker.logical-slot',
      severity: 'critical',
      target: slot.slot_name,
      message: `logical replication slot ${slot.slot_name} (${slot.plugin ?? '?'}, ${slot.active ? 'active' : 'inactive'}) blocks the upgrade`,
      remedy: `SELECT pg_drop_replication_slot('${slot.slot_name.replace(/'/g, "''")}'); -- recreate it after the upgrade and resynchronise its subscriber`,
    });
  }

  const triggers = await db.query<{ evtname: string; evtevent: string }>('SELECT evtname, evtevent FROM pg_event_trigger ORDER BY evtname');
  for (const t of triggers.rows) {
    findings.push({
      check: 'upgrade.blocker.event-trigger',
      severity: 'critical',
      target: t.evtname,
      message: `event trigger ${t.evtname} (on ${t.evtevent}) blocks the upgrade`,
      remedy: `DROP EVENT TRIGGER ${ident(t.evtname)}; -- keep its definition (pg_dump --schema-only) and recreate it after`,
    });
  }

  for (const dep of DEPENDENT_SYSTEM_VIEWS) {
    if (dep.from !== undefined && target < dep.from) continue;
    const views = await db.query<{ view: string }>(
      `SELECT DISTINCT v.oid::regclass::text AS view
         FROM pg_depend d
         JOIN pg_rewrite r ON r.oid = d.objid
         JOIN pg_class v ON v.oid = r.ev_class
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::regclass
          AND v.oid <> $1::regclass AND v.relnamespace <> 'pg_catalog'::regnamespace
        ORDER BY 1`,
      [`pg_catalog.${dep.view}`],
    );
    for (const v of views.rows) {
      findings.push({
        check: dep.blocks ? 'upgrade.blocker.dependent-view' : 'upgrade.dependent-view',
        severity: dep.blocks ? 'critical' : 'warning',
        target: v.view,
        message: `view ${v.view} depends on ${dep.view}: ${dep.why}`,
        remedy: dep.blocks ? `keep its definition (SELECT pg_get_viewdef('${v.view.replace(/'/g, "''")}'::regclass)), DROP VIEW ${v.view}, recreate it after the upgrade` : `review ${v.view} against PostgreSQL ${target}'s ${dep.view}`,
      });
    }
  }

  const extensions = await db.query<{ extname: string; extversion: string }>('SELECT extname, extversion FROM pg_extension ORDER BY extname');
  data.extensions = Object.fromEntries(extensions.rows.map((e) => [e.extname, e.extversion]));
  const refused = new Set(UNSUPPORTED_EXTENSIONS[target] ?? []);
  for (const e of extensions.rows.filter((x) => refused.has(x.extname))) {
    findings.push({
      check: 'upgrade.blocker.extension',
      severity: 'critical',
      target: e.extname,
      message: `extension ${e.extname} ${e.extversion} is not supported by the in-place upgrade to PostgreSQL ${target}`,
      remedy: `DROP EXTENSION ${ident(e.extname)}; -- before the upgrade; CREATE EXTENSION ${ident(e.extname)} after it, where PostgreSQL ${target} offers it`,
    });
  }

  const prepared = await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts ORDER BY prepared');
  for (const p of prepared.rows) {
    findings.push({ check: 'upgrade.blocker.prepared-transaction', severity: 'critical', target: p.gid, message: `prepared transaction ${p.gid} blocks the upgrade`, remedy: `COMMIT PREPARED '${p.gid.replace(/'/g, "''")}' (or ROLLBACK PREPARED)` });
  }
  const long = await db.query<{ pid: number; usename: string | null; seconds: number; application_name: string }>(
    `SELECT pid, usename, application_name, extract(epoch FROM now() - xact_start)::int AS seconds
       FROM pg_stat_activity
      WHERE xact_start < now() - make_interval(secs => $1) AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      ORDER BY xact_start`,
    [s.longTransactionSeconds],
  );
  for (const t of long.rows) {
    findings.push({
      check: 'upgrade.long-transaction',
      severity: 'warning',
      target: `pid ${t.pid}`,
      message: `transaction of ${t.usename ?? '?'} (${t.application_name || 'no application name'}) open for ${t.seconds} s: the upgrade waits for it and its downtime grows`,
      value: t.seconds,
      threshold: s.longTransactionSeconds,
      unit: 's',
      remedy: `end it before the upgrade window: SELECT pg_terminate_backend(${t.pid})`,
    });
  }

  const azure = input.azure;
  if (!azure) {
    findings.push({ check: 'upgrade.azure', severity: 'info', message: 'Azure not configured: free storage, read replicas and high availability were not checked' });
    return { findings, data };
  }
  try {
    const server = await azure.postgres.getServer();
    const sizeGb = server.storage?.storageSizeGB ?? null;
    const used = await db.query<{ bytes: string }>('SELECT sum(pg_database_size(datname))::bigint AS bytes FROM pg_database');
    const usedGb = Number(used.rows[0]?.bytes ?? 0) / 1024 ** 3;
    if (sizeGb) {
      const freePercent = Math.round((1 - usedGb / sizeGb) * 1000) / 10;
      data.storage = { sizeGb, usedGb: Math.round(usedGb * 100) / 100, freePercent };
      if (freePercent < s.minFreeStoragePercent) {
        findings.push({
          check: 'upgrade.blocker.storage',
          severity: 'critical',
          target: server.name ?? 'server',
          message: `${freePercent} % of ${sizeGb} GB storage is free; the upgrade needs at least ${s.minFreeStoragePercent} %`,
          value: freePercent,
          threshold: s.minFreeStoragePercent,
          unit: '%',
          remedy: `az postgres flexible-server update --resource-group ${azure.postgres.coordinates.resourceGroup} --name ${server.name ?? ''} --storage-size <larger GiB>`,
        });
      }
    }
    if (server.highAvailability?.mode && server.highAvailability.mode !== 'Disabled') {
      findings.push({ check: 'upgrade.high-availability', severity: 'info', target: server.name ?? 'server', message: `high availability (${server.highAvailability.mode}) is switched off by Azure during the upgrade and back on after it; dbops verifies it is back` });
    }
    const replicas = await azure.postgres.listReplicas();
    data.replicas = replicas.map((r) => ({ name: r.name, location: r.location, sku: r.sku?.name }));
    for (const r of replicas) {
      findings.push({
        check: 'upgrade.replica',
        severity: 'warning',
        target: r.name ?? 'replica',
        message: `read replica ${r.name ?? '?'} (${r.location ?? '?'}) must be deleted before the upgrade and recreated after it: disaster recovery has a gap until it is rebuilt; plan=upgrade does both`,
      });
    }
  } catch (err) {
    findings.push({ check: 'upgrade.azure', severity: 'warning', message: `could not read the server from Azure: ${errorMessage(err)}` });
  }
  findings.push({
    check: 'upgrade.azure-validation',
    severity: 'info',
    message: "Azure's own upgrade validation checks (preview) run only from the portal (Upgrade → Validate only) and have no REST API in 2025-08-01; Azure runs its pre-check again when the upgrade starts and refuses it then",
  });
  return { findings, data };
}
