import type { AzureServices } from '../../platform/azure/index.js';
import type { Finding } from '../../shared/job.js';
import type { BackupVerificationSettings } from './settings.js';

export interface DailyCheck {
  findings: Finding[];
  data: Record<string, unknown>;
  summary: string;
}

const HOUR = 3_600_000;
const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Plan 5.1 and the daily checklist (8.1.1): the newest automatic backup is recent, the
 * restore window reaches back the retention, and retention and geo-redundancy are as planned.
 */
export async function checkBackups(azure: AzureServices, s: BackupVerificationSettings, now: Date): Promise<DailyCheck> {
  const server = await azure.postgres.getServer();
  const name = server.name ?? azure.postgres.coordinates.serverName;
  const backups = await azure.postgres.listBackups();
  const findings: Finding[] = [];
  const automatic = backups
    .filter((b) => (b.source ?? 'Automatic').toLowerCase() === 'automatic' && b.completedTime)
    .map((b) => new Date(b.completedTime!))
    .sort((a, b) => b.getTime() - a.getTime());
  const latest = automatic[0] ?? null;
  const ageHours = latest ? round1((now.getTime() - latest.getTime()) / HOUR) : null;
  if (!latest) {
    findings.push({ check: 'backup.none', severity: 'critical', target: name, message: `${name} lists no completed automatic backup`, threshold: s.maxAgeHours, unit: 'h' });
  } else if (ageHours! > s.maxAgeHours) {
    findings.push({
      check: 'backup.latest-age',
      severity: 'critical',
      target: name,
      message: `the newest automatic backup of ${name} completed ${ageHours} h ago (${latest.toISOString()}), more than ${s.maxAgeHours} h`,
      value: ageHours,
      threshold: s.maxAgeHours,
      unit: 'h',
      remedy: 'Check the server\'s Activity log and Resource Health; open a support request if backups stopped.',
    });
  }

  const backup = server.backup ?? {};
  if (backup.backupRetentionDays !== undefined && backup.backupRetentionDays < s.retentionDays) {
    findings.push({
      check: 'backup.retention',
      severity: 'critical',
      target: name,
      message: `${name} keeps backups ${backup.backupRetentionDays} days; the plan keeps ${s.retentionDays}`,
      value: backup.backupRetentionDays,
      threshold: s.retentionDays,
      unit: 'days',
      remedy: `az postgres flexible-server update --resource-group ${azure.postgres.coordinates.resourceGroup} --name ${name} --backup-retention ${s.retentionDays}`,
    });
  }
  const geo = backup.geoRedundantBackup ?? 'Disabled';
  if (s.geoRedundant && geo !== 'Enabled') {
    findings.push({
      check: 'backup.geo-redundant',
      severity: 'critical',
      target: name,
      message: `${name} has geo-redundant backup ${geo}; the plan keeps a copy in Korea South (it can only be chosen when the server is created)`,
      value: geo,
      threshold: 'Enabled',
    });
  }

  // The restore window reaches back the retention, unless the server is younger than that.
  const earliest = backup.earliestRestoreDate ? new Date(backup.earliestRestoreDate) : null;
  const windowDays = earliest ? round1((now.getTime() - earliest.getTime()) / (24 * HOUR)) : null;
  const created = server.systemData?.createdAt ? new Date(server.systemData.createdAt) : null;
  const ageDays = created ? (now.getTime() - created.getTime()) / (24 * HOUR) : Infinity;
  const wanted = Math.min(s.retentionDays, ageDays) * 24 - s.retentionToleranceHours;
  if (!earliest) {
    findings.push({ check: 'backup.restore-window', severity: 'warning', target: name, message: `${name} reports no earliest restore point` });
  } else if ((now.getTime() - earliest.getTime()) / HOUR < wanted) {
    findings.push({
      check: 'backup.restore-window',
      severity: 'warning',
      target: name,
      message: `the earliest restore point of ${name} is ${earliest.toISOString()}, ${windowDays} days back; the plan keeps ${s.retentionDays} days`,
      value: windowDays,
      threshold: s.retentionDays,
      unit: 'days',
    });
  }

  return {
    findings,
    summary:
      findings.length === 0
        ? `Backups as planned: newest ${ageHours} h old, restore window ${windowDays} days, retention ${backup.backupRetentionDays} days, geo-redundant.`
        : `${findings.length} backup problem${findings.length > 1 ? 's' : ''}: ${findings.map((f) => f.message).join('; ')}`,
    data: {
      latestBackup: latest?.toISOString() ?? null,
      latestBackupAgeHours: ageHours,
      automaticBackups: automatic.length,
      earliestRestorePoint: earliest?.toISOString() ?? null,
      restoreWindowDays: windowDays,
      backupRetentionDays: backup.backupRetentionDays ?? null,
      geoRedundantBackup: geo,
      backupsCheckedAt: now.toISOString(),
    },
  };
}
