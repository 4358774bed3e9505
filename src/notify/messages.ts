import type { Finding } from '../shared/job.js';
import { redact } from '../platform/redact.js';
import type { AlertSeverity } from './routing.js';

export type Language = 'ko' | 'en';
export type AlertKind = 'alert' | 'renotify' | 'escalation' | 'recovery';
/** Plan section 8.2.1: P1 service down … P4 minor degradation. */
export type Priority = 'P1' | 'P2' | 'P3' | 'P4';

/** One notification about one finding, as the notifier decided to send it. */
export interface AlertEvent {
  kind: AlertKind;
  job: string;
  check: string;
  /** '' when the finding names no object. */
  target: string;
  severity: AlertSeverity;
  finding: Finding;
  firstSeenAt: Date;
  resolvedAt?: Date;
  environment: string;
  server: string;
  database: string;
  runId: number | null;
}

export interface RenderedAlert {
  event: AlertEvent;
  priority: Priority;
  /** One line: priority, severity, what, environment. */
  title: string;
  /** What is wrong, in the finding's own words. */
  headline: string;
  facts: Array<{ label: string; value: string }>;
  /** What to do first (plan 8.2), or for a recovery what to confirm. */
  firstStep: string;
  /** The finding's concrete fix (a statement, a command), when it has one. */
  remedy?: string;
  /** Headings in the alert's language. */
  labels: { firstStep: string; remedy: string };
  /** SMS: short, one or two segments. */
  shortText: string;
  /** E-mail body and log line. */
  plainText: string;
}

const P1_CHECKS = [/^failover\./, /^connection\.failed$/, /^database\.unavailable$/];

export function priorityOf(check: string, severity: AlertSeverity): Priority {
  if (P1_CHECKS.some((re) => re.test(check))) return 'P1';
  return severity === 'critical' ? 'P2' : 'P3';
}

type Text = Record<Language, string>;

/** First steps by check family, after plan section 8.2 (P1 response) and 8.1 (daily checks). */
const RUNBOOK: Array<[RegExp, Text]> = [
  [/^failover\./, {
    ko: '새 Primary가 쓰기 가능한지(pg_is_in_recovery() = false) 확인하고, 자동 장애조치 실패 시 수동 장애조치를 결정하세요 (8.2.2 4–5단계). 관리팀을 즉시 호출하세요.',
    en: 'Confirm the new primary is writable (pg_is_in_recovery() = false); if automatic failover failed, decide on a manual failover (plan 8.2.2 steps 4–5). Call the management team now.',
  }],
  [/^(connection\.failed|database\.unavailable|job\.failed)$/, {
    ko: 'Azure Portal에서 서버 리소스 상태와 HA 상태를 확인하고, 서비스 중단이면 P1 절차(8.2.2)로 관리팀과 개발팀을 호출하세요.',
    en: 'Check the server\'s resource health and HA state in the Azure portal; if the service is down, follow the P1 procedure (plan 8.2.2) and call the management and development teams.',
  }],
  [/^replica|^replication/, {
    ko: '복제본의 physical_replication_delay_in_seconds와 주 서버의 장기 트랜잭션·WAL 생성량을 확인하세요 (목표 1분 미만).',
    en: 'Check physical_replication_delay_in_seconds on the replica and long transactions / WAL volume on the primary (target under 1 minute).',
  }],
  [/^storage/, {
    ko: '스토리지 증가 추세와 자동 증가 설정을 확인하고, 12개월 지난 파티션 정리 또는 스토리지 확장을 계획하세요.',
    en: 'Check the storage growth trend and auto-grow; plan removing partitions older than 12 months or growing the storage.',
  }],
  [/^connections?\b/, {
    ko: 'pg_stat_activity에서 애플리케이션별 세션 수와 idle 세션을 확인하고 연결 풀 설정을 점검하세요.',
    en: 'Count sessions per application and idle sessions in pg_stat_activity, and check the connection pools.',
  }],
  [/^(cpu|iops|memory)/, {
    ko: 'pg_stat_statements에서 자원을 많이 쓰는 쿼리 상위 목록과 실행 계획을 확인하세요.',
    en: 'Look at the top resource-consuming statements in pg_stat_statements and their plans.',
  }],
  [/^(transactions|prepared-transactions|xmin-horizon)\b/, {
    ko: 'pg_stat_activity의 backend_xmin, pg_prepared_xacts, pg_replication_slots의 xmin/catalog_xmin에서 보고서가 지목한 보유자를 확인하고, 담당자와 종료(COMMIT/ROLLBACK PREPARED, 슬롯 삭제) 여부를 정하세요.',
    en: 'Find the holder the report names in pg_stat_activity (backend_xmin), pg_prepared_xacts or pg_replication_slots (xmin / catalog_xmin) and decide with its owner whether to end it (COMMIT/ROLLBACK PREPARED, drop the slot).',
  }],
  [/^(query|slow|statement|tps|rollback-ratio)/, {
    ko: '슬로우 쿼리 로그와 pg_stat_statements의 상위 쿼리, 실행 계획 변경 여부를 검토하세요.',
    en: 'Review the slow-query log, the top statements in pg_stat_statements and any plan changes.',
  }],
  [/^cache/, {
    ko: '대량 스캔 쿼리와 누락 인덱스를 확인하세요 (캐시 적중률 목표 95% 이상).',
    en: 'Look for large scans and missing indexes (cache hit target above 95 %).',
  }],
  [/^temp-files/, {
    ko: 'pg_stat_statements에서 temp_blks_written이 큰 쿼리를 찾아 인덱스나 work_mem을 검토하세요.',
    en: 'Find the statements with the most temp_blks_written in pg_stat_statements and review their indexes or work_mem.',
  }],
  [/^checkpoints/, {
    ko: '요청된 체크포인트가 많으면 max_wal_size를 늘리는 것을 검토하세요 (서버 매개변수).',
    en: 'Many requested checkpoints: consider a larger max_wal_size (server parameter).',
  }],
  [/^index-bloat/, {
    ko: '보고서가 지목한 인덱스를 업무 시간 외에 `REINDEX INDEX CONCURRENTLY`로 다시 만드세요.',
    en: 'Rebuild the index the report names with `REINDEX INDEX CONCURRENTLY`, outside business hours.',
  }],
  [/^capacity/, {
    ko: '주간 용량 검토(8.1.2)에서 6개월 예측과 가장 빨리 커지는 테이블을 확인하고, 스토리지 확장이나 보존 기간을 계획하세요.',
    en: 'In the weekly capacity review (plan 8.1.2), check the 6-month projection and the fastest-growing tables; plan storage growth or retention.',
  }],
  [/^(deadlock|lock|blocking)/, {
    ko: 'pg_locks와 pg_blocking_pids()로 잠금 대기 세션을 확인하고, 필요하면 차단 세션을 종료하세요.',
    en: 'Find waiting and blocking sessions with pg_locks and pg_blocking_pids(); terminate the blocker if needed.',
  }],
  [/^(idle|long|session|transaction)/, {
    ko: 'pg_stat_activity에서 오래 열린 트랜잭션의 세션을 확인하고 애플리케이션 담당자와 종료 여부를 정하세요.',
    en: 'Find the long-open transaction in pg_stat_activity and decide with its application owner whether to end it.',
  }],
  [/^(vacuum|wraparound|xid|sequence)/, {
    ko: '해당 테이블의 autovacuum 진행 상태와 이를 막는 장기 트랜잭션을 확인하세요.',
    en: 'Check autovacuum progress on the table and any long transaction holding it back.',
  }],
  [/^(backup|restore|pitr)/, {
    ko: 'Azure Portal에서 최근 자동 백업 상태를 확인하고 복구 테스트를 다시 실행하세요.',
    en: 'Check the latest automatic backup in the Azure portal and run the restore test again.',
  }],
  [/^partition/, {
    ko: '`dbops run partition-maintenance --dry-run`으로 계획을 확인한 뒤 실행하세요.',
    en: 'Review `dbops run partition-maintenance --dry-run`, then run it.',
  }],
  [/^(index|table|schema|grant|role|setting|circuit-breaker|extension)/, {
    ko: '`dbops run install-verification --verbose`의 fix 항목을 검토하고 적용하세요.',
    en: 'Review the fixes listed by `dbops run install-verification --verbose` and apply them.',
  }],
  [/^(password|security|login|account|certificate|access|privilege)/, {
    ko: '보안 감사 보고서에서 해당 계정과 접속 출처를 확인하고, 의심스러우면 계정을 잠그세요.',
    en: 'Check the account and the source addresses in the security audit report; lock the account if in doubt.',
  }],
  [/^(cost|budget)/, {
    ko: 'Cost Management에서 비용이 늘어난 리소스를 확인하세요 (예산 월 $1,600).',
    en: 'Find the resources whose cost grew in Cost Management (budget $1,600 a month).',
  }],
  [/^(kos|business|product-change|pc\.|success|processing)/, {
    ko: 'pc_kos_integration_log의 최근 실패 유형과 서킷 브레이커 상태(pc_circuit_breaker_state)를 확인하세요.',
    en: 'Check recent failure types in pc_kos_integration_log and the circuit breaker state (pc_circuit_breaker_state).',
  }],
];

const FALLBACK: Text = {
  ko: '`dbops run {job} --verbose`로 보고서 전체를 확인하세요.',
  en: 'Read the full report with `dbops run {job} --verbose`.',
};

export function firstStepFor(check: string, job: string, language: Language): string {
  const hit = RUNBOOK.find(([re]) => re.test(check));
  return (hit ? hit[1] : FALLBACK)[language].replace('{job}', job);
}

/** Every label in both languages side by side, so neither can lack one. */
const LABELS = {
  critical: { ko: '심각', en: 'CRITICAL' },
  warning: { ko: '경고', en: 'WARNING' },
  server: { ko: '서버', en: 'Server' },
  database: { ko: '데이터베이스', en: 'Database' },
  object: { ko: '대상', en: 'Object' },
  value: { ko: '측정값', en: 'Value' },
  threshold: { ko: '임계값', en: 'threshold' },
  since: { ko: '발생 시각', en: 'Since' },
  resolved: { ko: '복구 시각', en: 'Resolved' },
  job: { ko: '작업', en: 'Job' },
  check: { ko: '점검 항목', en: 'Check' },
  environment: { ko: '환경', en: 'Environment' },
  firstStep: { ko: '우선 조치', en: 'First step' },
  remedy: { ko: '수정', en: 'Fix' },
  cleared: { ko: '해소됨', en: 'Cleared' },
  recoveryStep: { ko: '정상 상태가 유지되는지 다음 점검 결과를 확인하세요.', en: 'Confirm on the next check that it stays normal.' },
} satisfies Record<string, Text>;

const KINDS: Record<AlertKind, Text> = {
  alert: { ko: '', en: '' },
  renotify: { ko: '지속 중', en: 'still open' },
  escalation: { ko: '악화', en: 'worse' },
  recovery: { ko: '복구됨', en: 'RESOLVED' },
};

function ongoing(m: number, language: Language): string {
  if (language === 'ko') return m < 60 ? `${m}분째` : `${Math.floor(m / 60)}시간 ${m % 60}분째`;
  return m < 60 ? `for ${m} min` : `for ${Math.floor(m / 60)} h ${m % 60} min`;
}

const kst = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
/** The team works in Korea: times are shown in KST whatever the language. */
export const formatKst = (d: Date) => `${kst.format(d)} KST`;

function measured(f: Finding, language: Language): string | undefined {
  if (f.value === undefined && (f.threshold === undefined || f.threshold === null)) return undefined;
  const unit = f.unit ? ` ${f.unit}` : '';
  const value = f.value === undefined || f.value === null ? '—' : `${String(f.value)}${unit}`;
  return f.threshold === undefined || f.threshold === null ? value : `${value} (${LABELS.threshold[language]} ${String(f.threshold)}${unit})`;
}

/** Renders an alert in the chosen language. Every text passes through redaction. */
export function renderAlert(event: AlertEvent, language: Language, now: Date): RenderedAlert {
  const t = (label: keyof typeof LABELS) => LABELS[label][language];
  const priority = priorityOf(event.check, event.severity);
  const recovered = event.kind === 'recovery';
  const kindLabel = KINDS[event.kind][language];
  const what = recovered ? `${t('cleared')}: ${event.finding.message}` : event.finding.message;
  const title = `[${recovered ? KINDS.recovery[language] : `${priority} ${t(event.severity)}`}]${!recovered && kindLabel ? ` (${kindLabel})` : ''} ${event.check}${event.target ? ` · ${event.target}` : ''} — ${event.environment}`;
  const minutes = Math.max(0, Math.round(((event.resolvedAt ?? now).getTime() - event.firstSeenAt.getTime()) / 60_000));
  const facts: Array<{ label: string; value: string }> = [
    { label: t('server'), value: event.server },
    { label: t('database'), value: event.database },
  ];
  if (event.target) facts.push({ label: t('object'), value: event.target });
  const value = measured(event.finding, language);
  if (value && !recovered) facts.push({ label: t('value'), value });
  facts.push({ label: t('since'), value: `${formatKst(event.firstSeenAt)}${recovered ? '' : ` (${ongoing(minutes, language)})`}` });
  if (event.resolvedAt) facts.push({ label: t('resolved'), value: formatKst(event.resolvedAt) });
  facts.push({ label: t('job'), value: `${event.job}${event.runId ? ` #${event.runId}` : ''}` });
  facts.push({ label: t('check'), value: event.check });
  facts.push({ label: t('environment'), value: event.environment });

  const firstStep = recovered ? t('recoveryStep') : firstStepFor(event.check, event.job, language);
  const remedy = !recovered && event.finding.remedy ? event.finding.remedy : undefined;
  const shortText = `${title}: ${what}${value && !recovered ? ` — ${value}` : ''}`.slice(0, 300);
  const plainText = [
    title,
    '',
    what,
    '',
    ...facts.map((f) => `${f.label}: ${f.value}`),
    '',
    `${t('firstStep')}: ${firstStep}`,
    ...(remedy ? [`${t('remedy')}: ${remedy}`] : []),
  ].join('\n');

  return {
    event,
    priority,
    title: redact(title),
    headline: redact(what),
    facts: facts.map((f) => ({ label: f.label, value: redact(f.value) })),
    firstStep: redact(firstStep),
    labels: { firstStep: t('firstStep'), remedy: t('remedy') },
    ...(remedy ? { remedy: redact(remedy) } : {}),
    shortText: redact(shortText),
    plainText: redact(plainText),
  };
}
