import { isIP } from 'node:net';
import { z } from 'zod';
import { bool, int, list, optionalString, setting } from '../../platform/settings.js';
import { versionSupportSettings } from '../../shared/postgres-lifecycle.js';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  text: string;
}

/** "10.0.1.0/24" → Cidr; a bare address is a /32 (/128). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText] = text.split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6', text };
}

const cidrList = () =>
  list().transform((items, ctx) => {
    const out: Cidr[] = [];
    for (const item of items) {
      const cidr = parseCidr(item);
      if (cidr) out.push(cidr);
      else ctx.addIssue({ code: 'custom', message: `"${item}" is not an address range: write it as 10.0.1.0/24 (comma-separated)` });
    }
    return out;
  });

const roleList = () =>
  list().refine((names) => names.every((n) => n.length <= 63), { message: 'role names are at most 63 characters' });

export const securityAuditSettings = {
  failedLoginThreshold: setting({
    env: 'DBOPS_FAILED_LOGIN_THRESHOLD',
    doc: 'Failed logins of one role within DBOPS_FAILED_LOGIN_WINDOW_MINUTES that make a finding (and, for personal roles listed in DBOPS_SECURITY_PERSONAL_ROLES, a lockout).',
    default: '5',
    plan: '4.3.2',
    schema: int(1, 10_000),
  }),
  failedLoginWindowMinutes: setting({
    env: 'DBOPS_FAILED_LOGIN_WINDOW_MINUTES',
    doc: 'Sliding window in which failed logins are counted. The plan names no window; its 30-minute lockout period is used.',
    default: '30',
    schema: int(1, 24 * 60),
  }),
  lockoutMinutes: setting({
    env: 'DBOPS_LOCKOUT_MINUTES',
    doc: 'How long a personal role stays NOLOGIN after a lockout; the first run after that lifts it.',
    default: '30',
    plan: '4.3.2',
    schema: int(1, 7 * 24 * 60),
  }),
  personalRoles: setting({
    env: 'DBOPS_SECURITY_PERSONAL_ROLES',
    doc: "Comma-separated personal (human) login roles that may be locked out (NOLOGIN) after too many failed logins. Empty: no lockout at all. Application roles (the plan's roles) are never locked, even when listed.",
    default: '',
    schema: roleList(),
  }),
  ignoredRoles: setting({
    env: 'DBOPS_SECURITY_IGNORED_ROLES',
    doc: "Comma-separated roles the privilege and account checks leave alone besides the built-in ones (superusers, object owners, dbops's own login, pg_*/azure* platform roles), e.g. a break-glass role.",
    default: '',
    schema: roleList(),
  }),
  allowedSubnets: setting({
    env: 'DBOPS_ALLOWED_SUBNETS',
    doc: 'Address ranges clients may connect from; a connection from anywhere else is critical.',
    default: '10.0.1.0/24,10.0.4.0/24',
    plan: '4.3.2',
    schema: cidrList(),
  }),
  allowLoopback: setting({
    env: 'DBOPS_SECURITY_ALLOW_LOOPBACK',
    doc: 'Treat 127.0.0.0/8 and ::1 (the server itself, local tools) as allowed client addresses.',
    default: 'true',
    schema: bool(),
  }),
  connectionRatePerMinute: setting({
    env: 'DBOPS_CONNECTION_RATE_PER_MINUTE',
    doc: 'New connections a minute above which the busiest minute is reported.',
    default: '100',
    plan: '4.3.2',
    schema: int(1, 1_000_000),
  }),
  passwordExpiryDays: setting({
    env: 'DBOPS_PASSWORD_EXPIRY_DAYS',
    doc: 'Age in days after which a password must have been rotated.',
    default: '90',
    plan: '4.3.2',
    schema: int(1, 3650),
  }),
  expiryWarningDays: setting({
    env: 'DBOPS_SECURITY_EXPIRY_WARNING_DAYS',
    doc: "Days before a managed secret's or the server certificate's expiry from which the weekly review warns.",
    default: '30',
    schema: int(1, 365),
  }),
  auditWindowHours: setting({
    env: 'DBOPS_SECURITY_AUDIT_WINDOW_HOURS',
    doc: 'How far back the first run reads the server log, and the most any run reads; later runs continue where the previous one stopped.',
    default: '24',
    schema: int(1, 24 * 35),
  }),
  serverLogPath: setting({
    env: 'DBOPS_SERVER_LOG_PATH',
    doc: "Folder (or one file) of the server's csvlog files, for self-hosted servers and tests. In Azure leave it unset: the log is read from Log Analytics.",
    example: '/var/lib/postgresql/14/main/log',
    schema: optionalString(),
  }),
  serverLogFiles: setting({
    env: 'DBOPS_SERVER_LOG_FILES',
    doc: 'File-name pattern (* and ?) of the csvlog files in DBOPS_SERVER_LOG_PATH; rotated files are all read when they overlap the window.',
    default: '*.csv',
    schema: z.string().min(1),
  }),
  ...versionSupportSettings,
};
