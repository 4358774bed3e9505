import { getAzure, SERVER_METRICS } from '../../platform/azure/index.js';
import type { Finding, JobServices } from '../../shared/job.js';
import { azurePlatformMetrics } from './azure-platform.js';
import { round, whenAbove, type CheckResult, type HealthCheck } from './check.js';
import type { HealthCheckSettings } from './settings.js';

/**
 * What the health check needs from Azure Monitor: the latest value of each named metric of the
 * database server (null when Azure has no recent data point). The Azure layer provides it as
 * `services.platformMetrics`; without it the platform checks say "not configured".
 */
export interface PlatformMetricsSource {
  latest(metricNames: readonly string[]): Promise<Record<string, number | null>>;
}

declare module '../../shared/job.js' {
  interface JobServices {
    /** Azure Monitor's latest values for the health check; tests inject one, otherwise read through `azure`. */
    platformMetrics?: PlatformMetricsSource;
  }
}

/** The flexible-server metrics the plan sets thresholds for (§6.1.1): the Azure layer's list. */
export const PLATFORM_METRICS = SERVER_METRICS;
export type PlatformMetric = (typeof PLATFORM_METRICS)[number];

export function platformMetricsFrom(services: JobServices): PlatformMetricsSource | undefined {
  if (services.platformMetrics) return services.platformMetrics;
  const { azure } = getAzure(services, 'metrics');
  return azure ? azurePlatformMetrics(azure) : undefined;
}

interface Rule {
  label: string;
  unit: string;
  warning?: (s: HealthCheckSettings) => number;
  critical?: (s: HealthCheckSettings) => number;
}

const rules: Record<Exclude<PlatformMetric, 'is_db_alive'>, Rule> = {
  cpu_percent: { label: 'CPU', unit: '%', warning: (s) => s.cpuPercentWarning },
  memory_percent: { label: 'memory', unit: '%', warning: (s) => s.memoryPercentWarning },
  storage_percent: { label: 'storage', unit: '%', warning: (s) => s.storagePercentWarning },
  disk_iops_consumed_percentage: { label: 'IOPS consumed', unit: '%', warning: (s) => s.iopsPercentWarning },
  active_connections: { label: 'active connections', unit: '', critical: (s) => s.connectionsCritical },
  physical_replication_delay_in_seconds: {
    label: 'replica delay',
    unit: 's',
    warning: (s) => s.replicaLagWarningSeconds,
    critical: (s) => s.replicaLagCriticalSeconds,
  },
};

const remedies: Partial<Record<PlatformMetric, string>> = {
  storage_percent: 'storage auto-grow is on (plan 2.2.1) but grows in steps: check for inactive replication slots and retained WAL, and partitions past retention',
  cpu_percent: 'look at the top statements by total time in pg_stat_statements',
  disk_iops_consumed_percentage: 'look at the statements with the most shared_blks_read in pg_stat_statements; consider more provisioned IOPS',
};

/** Findings for Azure Monitor's latest values against the plan's thresholds (section 6.1.1). */
export function platformFindings(values: Record<string, number | null>, s: HealthCheckSettings): Finding[] {
  const out: Finding[] = [];
  const alive = values['is_db_alive'];
  if (alive !== undefined) {
    out.push(
      alive === null
        ? { check: 'platform.is_db_alive', severity: 'info', message: 'is_db_alive: Azure Monitor has no recent data point' }
        : alive < 1
          ? { check: 'platform.is_db_alive', severity: 'critical', message: 'Azure Monitor reports the database server as not alive', value: alive, threshold: 1 }
          : { check: 'platform.is_db_alive', severity: 'info', message: 'Azure Monitor reports the server alive', value: alive },
    );
  }
  for (const [metric, rule] of Object.entries(rules) as Array<[keyof typeof rules, Rule]>) {
    const v = values[metric];
    if (v === undefined) continue;
    const check = `platform.${metric}`;
    if (v === null) {
      out.push({ check, severity: 'info', message: `${metric}: Azure Monitor has no recent data point` });
      continue;
    }
    const warning = rule.warning?.(s) ?? null;
    const critical = rule.critical?.(s) ?? null;
    const sev = whenAbove(v, warning, critical);
    const unit = rule.unit ? ` ${rule.unit}` : '';
    out.push({
      check,
      severity: sev,
      message: `${rule.label} ${round(v, 1)}${unit} (Azure Monitor ${metric})${sev === 'info' ? '' : `: above ${sev === 'critical' ? critical : warning}${unit}`}`,
      value: round(v, 2),
      threshold: sev === 'critical' ? critical : (warning ?? critical),
      ...(rule.unit ? { unit: rule.unit } : {}),
      ...(sev !== 'info' && remedies[metric] ? { remedy: remedies[metric] } : {}),
    });
  }
  return out;
}

export const platformCheck: HealthCheck = {
  name: 'platform',
  async run(c): Promise<CheckResult> {
    const source = platformMetricsFrom(c.services);
    if (!source) {
      return { findings: [{ check: 'platform', severity: 'info', message: 'platform metrics (Azure Monitor): not configured; CPU, memory, storage and IOPS are not checked' }] };
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Azure Monitor did not answer within ${c.settings.checkTimeoutMs} ms`)), c.settings.checkTimeoutMs);
    });
    const values = await Promise.race([source.latest(PLATFORM_METRICS), timeout]).finally(() => clearTimeout(timer));
    return {
      findings: platformFindings(values, c.settings),
      metrics: Object.fromEntries(PLATFORM_METRICS.map((m) => [`platform.${m}`, values[m] ?? null])),
    };
  },
};
