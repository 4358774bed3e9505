/**
 * The local Azure stand-in as the demo uses it (`dbops demo --all`): the emulator the tests use,
 * seeded with a plausible deployment so the four Azure jobs run for real against it:
 * - point-in-time restores are real copies of the demo database (realDatabaseRestores);
 * - Cost Management answers the plan's daily costs (about $1,400 a month, under the $1,600 budget);
 * - Key Vault holds the managed roles' passwords, due for rotation;
 * - Azure Monitor reports a quiet server, Resource Health "Available", backups are recent and
 *   reach back the 35 days the plan keeps.
 * Nothing here is Azure: every report the demo prints with it says so.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { scramVerifier } from '../jobs/password-rotation/scram.js';
import { ident, literal } from '../platform/db/sql.js';
import { readManagedRoles } from '../shared/rotation/managed-roles.js';
import type { Env } from '../platform/settings.js';
import type { AzureClientOptions } from '../shared/runner/runtime.js';
import type { TokenCredential } from '@azure/core-auth';
import { forecastResponder, planLines, queryResponder, resourceIds, spread, PLAN_PER_DAY, type LedgerEntry } from './cost-ledger.js';
import { startAzureEmulator, type AzureEmulator } from './index.js';
import type { EmulatedBackup } from './postgres.js';
import { realDatabaseRestores, snapshotDatabase } from './restore.js';

export interface LocalAzure {
  /** https://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Settings pointing dbops at the stand-in (merged over the demo's own). */
  readonly env: Record<string, string>;
  /** The runtime's credential: the stand-in's token. */
  readonly credential: TokenCredential;
  /** Client options for the runtime: trust the stand-in's certificate in its own clients only. */
  readonly azureClient: AzureClientOptions;
  readonly serverName: string;
  /**
   * Takes the backup the restore test copies from: a snapshot of the demo database as it is now.
   * It ends the database's other sessions, so call it between jobs.
   */
  snapshotForRestores(): Promise<void>;
  close(): Promise<void>;
}

const DAY = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** Seven automatic backups, one per daily window (17:05 UTC), the newest the last window before `now`. */
function recentBackups(now: Date): EmulatedBackup[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 17, 5, 23);
  const newest = today <= now.getTime() ? today : today - DAY;
  return Array.from({ length: 7 }, (_, i) => newest - (6 - i) * DAY).map((t) => ({
    name: `daily_${new Date(t).toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
    backupType: 'Full',
    source: 'Automatic',
    completedTime: new Date(t).toISOString(),
  }));
}

/** The plan's deployment's costs (plan 9.1.1): all of last month, this month up to the day before yesterday, half of yesterday. */
function costLedger(emu: AzureEmulator, now: Date): LedgerEntry[] {
  const lines = planLines(resourceIds(emu.subscriptionId, emu.resourceGroup, emu.serverName));
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const lastMonthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  const yesterday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - DAY;
  const entries = spread(lines, isoDay(lastMonthStart), isoDay(monthStart - DAY));
  if (yesterday - DAY >= monthStart) entries.push(...spread(lines, isoDay(monthStart), isoDay(yesterday - DAY)));
  // Cost data arrives a day late: yesterday's is still coming in.
  if (yesterday >= monthStart) entries.push(...spread(lines, isoDay(yesterday), isoDay(yesterday), () => 0.5));
  return entries;
}

/** Five-minute metric points over the last half hour: a quiet, healthy server. */
function seedMetrics(emu: AzureEmulator): void {
  const primary = emu.postgres.serverId(emu.serverName);
  const replica = emu.postgres.serverId(emu.replicaName);
  emu.metrics.setValues(primary, 'cpu_percent', [21, 24, 19, 27, 23, 22, 25]);
  emu.metrics.setValues(primary, 'memory_percent', [41, 42, 42, 43, 42, 42, 43]);
  emu.metrics.setValues(primary, 'storage_percent', [37.8, 37.8, 37.9, 37.9, 37.9, 38, 38]);
  emu.metrics.setValues(primary, 'disk_iops_consumed_percentage', [9, 11, 8, 12, 10, 9, 11]);
  emu.metrics.setValues(primary, 'active_connections', [34, 36, 35, 38, 37, 36, 35]);
  emu.metrics.setValues(primary, 'is_db_alive', [1, 1, 1, 1, 1, 1, 1], 'maximum');
  emu.metrics.setValues(replica, 'physical_replication_delay_in_seconds', [0.4, 0.6, 0.3, 0.5, 0.4, 0.7, 0.5], 'maximum');
}

/**
 * Gives the managed roles (DBOPS_ROTATION_ROLES) a password in the database and the same one in
 * the stand-in's Key Vault, 80 days old with 10 left of its 90: inside the rotation window, so
 * the demo's password rotation rotates them for real.
 */
async function seedManagedPasswords(emu: AzureEmulator, url: string, env: Env, now: Date): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const { role, secret } of readManagedRoles(env)) {
      const password = `Demo-${randomBytes(18).toString('base64url')}-7q`;
      await client.query(`ALTER ROLE ${ident(role)} PASSWORD ${literal(scramVerifier(password))}`);
      const created = Math.floor((now.getTime() - 80 * DAY) / 1000);
      emu.keyVault.seed(secret, password, { contentType: 'text/plain', created, updated: created, nbf: created, exp: created + 90 * 86_400 });
    }
  } finally {
    await client.end();
  }
}

/**
 * Starts the stand-in for the demo database `database` on the embedded server whose admin URL
 * is `adminUrl`, seeded as described above.
 */
export async function startLocalAzure(options: { adminUrl: string; database: string; env: Env; now?: () => Date }): Promise<LocalAzure> {
  const clock = options.now ?? (() => new Date());
  const now = clock();
  const emu = await startAzureEmulator({ subscriptionId: '00000000-0000-4000-8000-00000000d3e0', resourceGroup: 'rg-dbops-demo', serverName: 'pg-dbops-demo' });
  try {
    emu.postgres.backups.set(emu.serverName.toLowerCase(), recentBackups(now));
    // Point-in-time restore reaches back the plan's 35 days of retention, as on Azure.
    emu.postgres.server(emu.serverName).earliestRestoreDate = new Date(now.getTime() - 35 * DAY).toISOString();
    const ledger = costLedger(emu, now);
    emu.cost.query = queryResponder(() => ledger, clock);
    emu.cost.forecast = forecastResponder(PLAN_PER_DAY);
    seedMetrics(emu);
    const dbUrl = new URL(options.adminUrl);
    dbUrl.pathname = `/${options.database}`;
    await seedManagedPasswords(emu, dbUrl.toString(), options.env, now);
  } catch (err) {
    await emu.close();
    throw err;
  }
  let snapshot: string | undefined;
  const dropSnapshot = async () => {
    if (!snapshot) return;
    const client = new pg.Client({ connectionString: options.adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${ident(snapshot)}`);
    } finally {
      await client.end();
    }
  };
  return {
    endpoint: emu.endpoint,
    env: { ...emu.env, DBOPS_BACKUP_TEST_EMULATOR_TAGS: 'true' },
    credential: emu.credential,
    // Its certificate, for this runtime's clients only; status polls as the stand-in needs them.
    azureClient: { tlsCa: emu.ca, pollIntervalMs: 100 },
    serverName: emu.serverName,
    async snapshotForRestores() {
      await dropSnapshot();
      snapshot = await snapshotDatabase(options.adminUrl, options.database);
      emu.postgres.hooks = realDatabaseRestores({ adminUrl: options.adminUrl, snapshot });
    },
    async close() {
      await emu.close();
      await dropSnapshot().catch(() => undefined);
    },
  };
}
