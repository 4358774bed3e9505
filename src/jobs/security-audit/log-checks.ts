import { BlockList, isIP } from 'node:net';
import type { Finding } from '../../shared/job.js';
import { classifyEntry, type ClassifiedEntry } from './log-entries.js';
import type { Cidr } from './settings.js';
import type { LogWindow, ServerLogSource } from '../../shared/security-services.js';

export interface LogCheckOptions {
  /** The window being audited; failed logins are also read this far before it, for context. */
  window: LogWindow;
  failedLoginThreshold: number;
  failedLoginWindowMinutes: number;
  allowedSubnets: readonly Cidr[];
  allowLoopback: boolean;
  connectionRatePerMinute: number;
  signal?: AbortSignal;
}

export interface FailedLoginBurst {
  role: string;
  /** Most failures within one sliding window. */
  failures: number;
  clients: string[];
  first: Date;
  last: Date;
  /** Failures in the audited window in all. */
  totalInWindow: number;
}

export interface PermissionChange {
  time: Date;
  user: string | null;
  database: string | null;
  clientAddress: string | null;
  application: string | null;
  statement: string;
}

export interface LogAudit {
  entriesRead: number;
  bursts: FailedLoginBurst[];
  failedLoginsByRole: Record<string, number>;
  permissionChanges: PermissionChange[];
  /** Connections per client address in the window. */
  connectionsByAddress: Record<string, number>;
  peakMinute: { minute: string; connections: number } | null;
  findings: Finding[];
}

const MAX_PERMISSION_CHANGES = 200;
const LOOPBACK: Cidr[] = [
  { address: '127.0.0.0', prefix: 8, family: 'ipv4', text: '127.0.0.0/8' },
  { address: '::1', prefix: 128, family: 'ipv6', text: '::1/128' },
];

export function addressMatcher(subnets: readonly Cidr[], allowLoopback: boolean): (address: string) => boolean | 'not-an-address' {
  const list = new BlockList();
  for (const c of [...subnets, ...(allowLoopback ? LOOPBACK : [])]) list.addSubnet(c.address, c.prefix, c.family);
  return (address) => {
    const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const version = isIP(plain);
    if (version === 0) return 'not-an-address';
    return list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The largest number of times (sorted) that fit in one `spanMs` window ending at or after
 * `minEnd`: bursts that ended before the audited window were reported by the previous run.
 */
export function densest(times: readonly number[], spanMs: number, minEnd: number): { count: number; from: number; to: number } {
  let best = { count: 0, from: 0, to: 0 };
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! > spanMs) lo++;
    if (times[hi]! >= minEnd && hi - lo + 1 > best.count) best = { count: hi - lo + 1, from: times[lo]!, to: times[hi]! };
  }
  return best;
}

/**
 * One pass over the server log: failed logins per role, connections per client address and per
 * minute, and the statements that changed roles or privileges. Every message is redacted as it
 * is read (classifyEntry), before anything is kept.
 */
export async function auditServerLog(source: ServerLogSource, o: LogCheckOptions): Promise<LogAudit> {
  const spanMs = o.failedLoginWindowMinutes * 60_000;
  const start = o.window.start.getTime();
  const readWindow = { start: new Date(start - spanMs), end: o.window.end };
  const failures = new Map<string, Array<{ t: number; client: string | null }>>();
  const received = new Map<string, number>();
  const authorized = new Map<string, number>();
  const usersByAddress = new Map<string, Set<string>>();
  const firstLast = new Map<string, { first: number; last: number }>();
  const perMinute = new Map<string, number>();
  const permissionChanges: PermissionChange[] = [];
  let permissionChangesSeen = 0;
  let entriesRead = 0;

  const note = (e: ClassifiedEntry, counts: Map<string, number>) => {
    const address = e.clientAddress;
    if (!address) return;
    counts.set(address, (counts.get(address) ?? 0) + 1);
    const t = e.time.getTime();
    const fl = firstLast.get(address);
    firstLast.set(address, { first: Math.min(fl?.first ?? t, t), last: Math.max(fl?.last ?? t, t) });
    if (e.user) {
      const users = usersByAddress.get(address) ?? new Set<string>();
      users.add(e.user);
      usersByAddress.set(address, users);
    }
  };

  for await (const raw of source.entries(readWindow, o.signal)) {
    entriesRead++;
    const e = classifyEntry(raw);
    const t = e.time.getTime();
    if (e.kind === 'failed-login') {
      const role = e.user ?? '(unknown role)';
      const list = failures.get(role) ?? [];
      list.push({ t, client: e.clientAddress });
      failures.set(role, list);
    }
    if (t < start) continue; // before the audited window: context for failed logins only
    if (e.kind === 'connection-received') {
      note(e, received);
      const minute = e.time.toISOString().slice(0, 16);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    } else if (e.kind === 'connection-authorized' || e.kind === 'failed-login') {
      note(e, authorized);
    } else if (e.kind === 'privilege-statement' && e.statement) {
      permissionChangesSeen++;
      if (permissionChanges.length < MAX_PERMISSION_CHANGES) {
        permissionChanges.push({ time: e.time, user: e.user, database: e.database, clientAddress: e.clientAddress, application: e.application, statement: e.statement });
      }
    }
  }

  const findings: Finding[] = [];
  const bursts: FailedLoginBurst[] = [];
  const failedLoginsByRole: Record<string, number> = {};
  for (const [role, list] of failures) {
    list.sort((a, b) => a.t - b.t);
    const inWindow = list.filter((f) => f.t >= start);
    if (inWindow.length === 0) continue;
    failedLoginsByRole[role] = inWindow.length;
    const best = densest(
      list.map((f) => f.t),
      spanMs,
      start,
    );
    if (best.count < o.failedLoginThreshold) continue;
    const inBurst = list.filter((f) => f.t >= best.from && f.t <= best.to);
    const clients = [...new Set(inBurst.map((f) => f.client ?? '(local)'))].sort();
    const burst: FailedLoginBurst = { role, failures: best.count, clients, first: new Date(best.from), last: new Date(best.to), totalInWindow: inWindow.length };
    bursts.push(burst);
    findings.push({
      check: 'login.failed',
      severity: 'warning',
      target: role,
      message: `${best.count} failed logins for ${role} within ${o.failedLoginWindowMinutes} min from ${clients.join(', ')} (${burst.first.toISOString()} – ${burst.last.toISOString()})`,
      value: best.count,
      threshold: o.failedLoginThreshold,
      details: { clients, first: burst.first.toISOString(), last: burst.last.toISOString(), totalInWindow: inWindow.length },
    });
  }

  const allowed = addressMatcher(o.allowedSubnets, o.allowLoopback);
  const connectionsByAddress: Record<string, number> = {};
  const addresses = new Set([...received.keys(), ...authorized.keys()]);
  for (const address of [...addresses].sort()) {
    const count = received.get(address) ?? authorized.get(address) ?? 0;
    connectionsByAddress[address] = count;
    const verdict = allowed(address);
    if (verdict === true) continue;
    const fl = firstLast.get(address);
    const users = [...(usersByAddress.get(address) ?? [])].sort();
    const details = { users, first: fl ? new Date(fl.first).toISOString() : null, last: fl ? new Date(fl.last).toISOString() : null };
    if (verdict === 'not-an-address') {
      findings.push({
        check: 'access.unverifiable-client',
        severity: 'warning',
        target: address,
        message: `${count} connection(s) from host name ${address}, which cannot be checked against the allowed subnets; with log_hostname = on the log names hosts instead of addresses`,
        value: count,
        details,
      });
      continue;
    }
    findings.push({
      check: 'access.outside-subnets',
      severity: 'critical',
      target: address,
      message: `${count} connection(s) from ${address}, outside the allowed subnets (${o.allowedSubnets.map((s) => s.text).join(', ')})${users.length ? ` as ${users.join(', ')}` : ''}`,
      value: count,
      threshold: o.allowedSubnets.map((s) => s.text).join(','),
      remedy: 'Check the server firewall / private-endpoint rules and who holds credentials used from this address.',
      details,
    });
  }

  let peakMinute: LogAudit['peakMinute'] = null;
  for (const [minute, connections] of perMinute) if (!peakMinute || connections > peakMinute.connections) peakMinute = { minute, connections };
  if (peakMinute && peakMinute.connections > o.connectionRatePerMinute) {
    findings.push({
      check: 'connections.rate',
      severity: 'warning',
      target: 'server',
      message: `${peakMinute.connections} new connections in the minute from ${peakMinute.minute}Z, above the plan's ${o.connectionRatePerMinute} a minute`,
      value: peakMinute.connections,
      threshold: o.connectionRatePerMinute,
      unit: 'connections/min',
      details: { minute: `${peakMinute.minute}Z`, minutesOverLimit: [...perMinute.values()].filter((c) => c > o.connectionRatePerMinute).length },
    });
  }

  for (const change of permissionChanges) {
    const short = change.statement.replace(/\s+/g, ' ');
    findings.push({
      check: 'permissions.changed',
      severity: 'info',
      target: change.user ?? '(unknown role)',
      message: `${change.user ?? 'an unknown role'} ran ${short.length > 160 ? `${short.slice(0, 160)}…` : short} at ${change.time.toISOString()}${change.clientAddress ? ` from ${change.clientAddress}` : ''}`,
      details: { ...change, time: change.time.toISOString() },
    });
  }
  if (permissionChangesSeen > permissionChanges.length) {
    findings.push({
      check: 'permissions.changed-truncated',
      severity: 'warning',
      message: `${permissionChangesSeen} permission-changing statements in the window; only the first ${permissionChanges.length} are listed`,
      value: permissionChangesSeen,
    });
  }

  return { entriesRead, bursts, failedLoginsByRole, permissionChanges, connectionsByAddress, peakMinute, findings };
}
