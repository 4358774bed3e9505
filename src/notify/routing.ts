import { z } from 'zod';

export const EXTERNAL_CHANNELS = ['teams', 'email', 'sms'] as const;
export type ExternalChannel = (typeof EXTERNAL_CHANNELS)[number];
export type ChannelName = ExternalChannel | 'log';
export type AlertSeverity = 'warning' | 'critical';

export interface Route {
  /** Job name; `*` matches any run of characters. Omitted: any job. */
  job?: string;
  /** Check name, e.g. `failover.*`. Omitted: any check. */
  check?: string;
  /** Omitted: both severities. */
  severity?: AlertSeverity;
  channels: ExternalChannel[];
  /** Shown in the routing table of docs/alerts.md. */
  note?: string;
}

const routeSchema = z
  .object({
    job: z.string().min(1).optional(),
    check: z.string().min(1).optional(),
    severity: z.enum(['warning', 'critical'], { message: 'severity must be "warning" or "critical"' }).optional(),
    channels: z.array(z.enum(EXTERNAL_CHANNELS, { message: 'channels are "teams", "email" or "sms"' })),
  })
  .strict();

/** DBOPS_ALERT_ROUTES: a JSON array of rules; unset or empty means the plan's table alone. */
export const routesSchema = z
  .string()
  .optional()
  .transform((raw, ctx): Route[] => {
    if (!raw || raw.trim() === '') return [];
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array such as [{"check":"failover.*","channels":["teams","sms","email"]}]' });
      return z.NEVER;
    }
    const parsed = z.array(routeSchema).safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: `rule ${issue.path.length ? issue.path.join('.') : '(list)'}: ${issue.message}` });
      }
      return z.NEVER;
    }
    return parsed.data.map((r) => ({ ...r, channels: [...new Set(r.channels)] }));
  });

/**
 * The plan's alert rules (section 6.2.2), most specific first. Failover events go everywhere at
 * once; replica lag pages by e-mail rather than SMS; storage warnings also reach the DBAs by
 * e-mail; every other critical finding pages (Teams + SMS) and every warning goes to Teams.
 */
export const PLAN_ROUTES: readonly Route[] = [
  { check: 'failover.*', channels: ['teams', 'sms', 'email'], note: 'automatic failover occurred (immediately)' },
  { check: 'replica*', severity: 'critical', channels: ['teams', 'email'], note: 'replica lag above 300 s' },
  { check: 'replication*', severity: 'critical', channels: ['teams', 'email'], note: 'replica lag above 300 s' },
  { check: 'storage*', severity: 'critical', channels: ['teams', 'sms', 'email'], note: 'storage nearly full: not in the plan\'s table; a full disk stops the server, so it pages too' },
  { check: 'storage*', severity: 'warning', channels: ['teams', 'email'], note: 'storage above 75 %' },
  { severity: 'critical', channels: ['teams', 'sms'], note: 'any other critical finding (e.g. connection failure)' },
  { severity: 'warning', channels: ['teams'], note: 'any other warning (CPU, slow queries, …)' },
];

function globMatches(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

export interface RoutedFinding {
  job: string;
  check: string;
  severity: AlertSeverity;
}

/** The external channels for a finding: the first matching rule of `overrides`, then of the plan. */
export function channelsFor(finding: RoutedFinding, overrides: readonly Route[] = []): ExternalChannel[] {
  for (const route of [...overrides, ...PLAN_ROUTES]) {
    if (route.severity !== undefined && route.severity !== finding.severity) continue;
    if (!globMatches(route.job, finding.job) || !globMatches(route.check, finding.check)) continue;
    return [...route.channels];
  }
  return [];
}

/** The default routing table as Markdown, for docs/alerts.md. */
export function routingMarkdown(): string {
  const rows = PLAN_ROUTES.map(
    (r) => `| ${r.check ? `\`${r.check}\`` : 'any'} | ${r.severity ?? 'any'} | ${['log', ...r.channels].join(', ')} | ${r.note ?? ''} |`,
  );
  return ['| check | severity | channels | why (plan 6.2.2) |', '|---|---|---|---|', ...rows].join('\n');
}
