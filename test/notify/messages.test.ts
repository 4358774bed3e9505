import { describe, expect, it } from 'vitest';
import { firstStepFor, priorityOf, renderAlert, type AlertEvent } from '../../src/notify/messages.js';
import { registerSecret } from '../../src/platform/redact.js';

const event = (over: Partial<AlertEvent> = {}): AlertEvent => ({
  kind: 'alert',
  job: 'health-check',
  check: 'replica.lag',
  target: 'phonebill-postgresql-replica',
  severity: 'critical',
  finding: { check: 'replica.lag', severity: 'critical', message: 'replica is 420 s behind', value: 420, threshold: 300, unit: 's' },
  firstSeenAt: new Date('2025-09-08T05:00:00Z'),
  environment: 'prod',
  server: 'phonebill-postgresql-prod.postgres.database.azure.com',
  database: 'product_change_db',
  runId: 42,
  ...over,
});
const now = new Date('2025-09-08T06:30:00Z');

describe('alert messages', () => {
  it('say what, where, value against threshold, since when and the first step, in Korean', () => {
    const a = renderAlert(event(), 'ko', now);
    expect(a.title).toBe('[P2 심각] replica.lag · phonebill-postgresql-replica — prod');
    expect(a.plainText).toContain('서버: phonebill-postgresql-prod.postgres.database.azure.com');
    expect(a.plainText).toContain('데이터베이스: product_change_db');
    expect(a.plainText).toContain('측정값: 420 s (임계값 300 s)');
    expect(a.plainText).toContain('발생 시각: 2025-09-08 14:00 KST (1시간 30분째)');
    expect(a.plainText).toContain('우선 조치: 복제본의 physical_replication_delay_in_seconds');
  });

  it('in English too, and a recovery says when it cleared', () => {
    const a = renderAlert(event({ kind: 'recovery', resolvedAt: now }), 'en', now);
    expect(a.title).toBe('[RESOLVED] replica.lag · phonebill-postgresql-replica — prod');
    expect(a.headline).toBe('Cleared: replica is 420 s behind');
    expect(a.plainText).toContain('Resolved: 2025-09-08 15:30 KST');
    expect(a.plainText).not.toContain('Value:');
  });

  it('map to the plan\'s P1–P4 (8.2.1)', () => {
    expect(priorityOf('failover.detected', 'warning')).toBe('P1');
    expect(priorityOf('connection.failed', 'critical')).toBe('P1');
    expect(priorityOf('connections.total', 'critical')).toBe('P2');
    expect(priorityOf('cpu.percent', 'warning')).toBe('P3');
  });

  it('have a first step for every check family, and a fallback naming the job', () => {
    expect(firstStepFor('partition.next-month', 'partition-maintenance', 'en')).toContain('partition-maintenance --dry-run');
    expect(firstStepFor('index-bloat', 'health-check', 'en')).toContain('REINDEX INDEX CONCURRENTLY');
    expect(firstStepFor('transactions', 'health-check', 'en')).toContain('pg_stat_activity');
    expect(firstStepFor('xmin-horizon', 'health-check', 'en')).toContain('pg_replication_slots');
    expect(firstStepFor('prepared-transactions', 'health-check', 'en')).toContain('ROLLBACK PREPARED');
    expect(firstStepFor('temp-files', 'health-check', 'en')).toContain('temp_blks_written');
    expect(firstStepFor('checkpoints', 'health-check', 'en')).toContain('max_wal_size');
    expect(firstStepFor('capacity.projection', 'health-check', 'ko')).toContain('8.1.2');
    expect(firstStepFor('something.new', 'my-job', 'en')).toBe('Read the full report with `dbops run my-job --verbose`.');
    expect(firstStepFor('something.new', 'my-job', 'ko')).toContain('dbops run my-job --verbose');
  });

  it('never carry a secret', () => {
    registerSecret('kv-secret-value-123');
    const a = renderAlert(event({ finding: { check: 'x', severity: 'critical', message: 'saw kv-secret-value-123 and password=hunter22', remedy: "ALTER ROLE a PASSWORD 'p4ss'" } }), 'ko', now);
    const all = JSON.stringify(a.facts) + a.plainText + a.shortText + a.title + (a.remedy ?? '');
    expect(all).not.toMatch(/kv-secret-value-123|hunter22|p4ss/);
  });
});
