import type { Finding, JobContext } from '../../shared/job.js';
import { PLAN_SERVER_SETTINGS } from '../../shared/plan.js';
import { errorMessage } from '../../platform/redact.js';
import { isPlatformRole } from './baseline.js';
import { hostAndPort, readServerCertificate, type ServerCertificate } from './certificate.js';
import type { ManagedSecretInventory } from '../../shared/security-services.js';

const DAY = 86_400_000;
const TLS_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const PLAN_MIN_TLS = PLAN_SERVER_SETTINGS.find((s) => s.name === 'ssl_min_protocol_version')?.expected ?? 'TLSv1.3';

export interface HygieneOptions {
  passwordExpiryDays: number;
  expiryWarningDays: number;
  ignoredRoles: readonly string[];
  secretInventory?: ManagedSecretInventory;
}

export interface LoginRole {
  name: string;
  superuser: boolean;
  entra: boolean;
  me: boolean;
  validUntil: string | null;
  connectionLimit: number;
}

export async function checkServerTls(ctx: JobContext, o: HygieneOptions): Promise<{ findings: Finding[]; certificate: ServerCertificate | null }> {
  const findings: Finding[] = [];
  const { rows } = await ctx.db.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('ssl', 'ssl_min_protocol_version', 'password_encryption')`,
  );
  const get = (n: string) => rows.find((r) => r.name === n)?.setting;
  const encryption = get('password_encryption');
  if (encryption !== undefined && encryption !== 'scram-sha-256') {
    findings.push({
      check: 'auth.password-encryption',
      severity: 'warning',
      target: 'password_encryption',
      message: `password_encryption is ${encryption}: new passwords are stored as MD5 hashes`,
      value: encryption,
      threshold: 'scram-sha-256',
      remedy: "ALTER SYSTEM SET password_encryption = 'scram-sha-256' (Azure: server parameter password_encryption)",
    });
  }
  const ssl = get('ssl');
  if (ssl !== 'on') {
    findings.push({ check: 'tls.off', severity: 'critical', target: 'ssl', message: 'the server does not offer TLS (ssl is off)', value: ssl ?? null, threshold: 'on' });
  }
  const min = get('ssl_min_protocol_version');
  if (min !== undefined && TLS_ORDER.indexOf(min) < TLS_ORDER.indexOf(PLAN_MIN_TLS)) {
    findings.push({
      check: 'tls.min-protocol',
      severity: 'warning',
      target: 'ssl_min_protocol_version',
      message: `the server accepts ${min}; the plan requires ${PLAN_MIN_TLS} at least (sections 2.3.1, 4.2.2)`,
      value: min,
      threshold: PLAN_MIN_TLS,
      remedy: `ALTER SYSTEM SET ssl_min_protocol_version = '${PLAN_MIN_TLS}' (Azure: server parameter ssl_min_protocol_version)`,
    });
  }

  let certificate: ServerCertificate | null = null;
  const endpoint = hostAndPort(ctx.db.target);
  if (!endpoint) {
    findings.push({ check: 'tls.certificate-unreadable', severity: 'warning', message: 'cannot tell the server host and port from the connection settings, so its certificate was not read' });
  } else if (ssl === 'on') {
    try {
      const probe = await readServerCertificate(endpoint.host, endpoint.port);
      if (probe.ssl) certificate = probe.certificate;
      else findings.push({ check: 'tls.off', severity: 'critical', target: `${endpoint.host}:${endpoint.port}`, message: 'the server refused a TLS connection' });
    } catch (err) {
      findings.push({ check: 'tls.certificate-unreadable', severity: 'warning', target: `${endpoint.host}:${endpoint.port}`, message: `could not read the server certificate: ${errorMessage(err)}` });
    }
  }
  if (certificate) {
    const days = Math.floor((certificate.validTo.getTime() - ctx.now().getTime()) / DAY);
    const base = { target: certificate.subject || `${endpoint?.host}:${endpoint?.port}`, value: days, threshold: o.expiryWarningDays, unit: 'days', details: { validTo: certificate.validTo.toISOString(), issuer: certificate.issuer, trusted: certificate.trusted } };
    if (days < 0) findings.push({ check: 'tls.certificate-expiry', severity: 'critical', message: `the server certificate expired on ${certificate.validTo.toISOString()}`, ...base });
    else if (days <= o.expiryWarningDays) findings.push({ check: 'tls.certificate-expiry', severity: 'warning', message: `the server certificate expires in ${days} days (${certificate.validTo.toISOString()})`, ...base });
  }
  return { findings, certificate };
}

export async function listLoginRoles(ctx: JobContext, ignoredRoles: readonly string[]): Promise<LoginRole[]> {
  const { rows } = await ctx.db.query<{ rolname: string; rolsuper: boolean; entra: boolean; me: boolean; valid_until: string | null; rolconnlimit: number }>(
    `SELECT r.rolname, r.rolsuper, r.rolname = current_user AS me, r.rolvaliduntil::text AS valid_until, r.rolconnlimit,
            EXISTS (SELECT 1 FROM pg_shseclabel l WHERE l.objoid = r.oid AND l.provider = 'pgaadauth') AS entra
       FROM pg_roles r WHERE r.rolcanlogin ORDER BY r.rolname`,
  );
  const ignored = new Set(ignoredRoles);
  return rows
    .filter((r) => !ignored.has(r.rolname) && !isPlatformRole(r.rolname))
    .map((r) => ({ name: r.rolname, superuser: r.rolsuper, entra: r.entra, me: r.me, validUntil: r.valid_until, connectionLimit: r.rolconnlimit }));
}

/** Key Vault hygiene: every password login has a managed secret, rotated and not expiring unseen. */
export async function checkManagedSecrets(ctx: JobContext, loginRoles: readonly LoginRole[], o: HygieneOptions): Promise<Finding[]> {
  if (!o.secretInventory) {
    return [
      {
        check: 'secrets.not-configured',
        severity: 'info',
        message: 'no Key Vault secret inventory is configured here, so managed passwords were not reviewed',
      },
    ];
  }
  const now = ctx.now().getTime();
  const secrets = (await o.secretInventory.list()).filter((s) => s.enabled);
  const findings: Finding[] = [];
  const roleNames = new Set(loginRoles.map((r) => r.name));
  // Signed in with Entra tokens or as dbops/superuser: no password of theirs lives in Key Vault.
  const needSecret = loginRoles.filter((r) => !r.entra && !r.superuser && !r.me);
  for (const role of needSecret) {
    if (!secrets.some((s) => s.role === role.name)) {
      findings.push({
        check: 'secrets.missing',
        severity: 'warning',
        target: role.name,
        message: `login role ${role.name} has no enabled password secret in Key Vault: its password is unmanaged and never rotated`,
        remedy: `manage its password with password-rotation (Key Vault), or make ${role.name} NOLOGIN if nobody signs in with it`,
      });
    }
  }
  for (const s of secrets) {
    const target = `${s.name} (${s.role})`;
    if (!roleNames.has(s.role)) {
      findings.push({ check: 'secrets.orphan', severity: 'info', target, message: `secret ${s.name} is for ${s.role}, which is not a login role on this server` });
    }
    if (s.createdOn) {
      const age = Math.floor((now - s.createdOn.getTime()) / DAY);
      if (age > o.passwordExpiryDays) {
        findings.push({
          check: 'secrets.too-old',
          severity: 'warning',
          target,
          message: `the password in ${s.name} is ${age} days old; the plan rotates every ${o.passwordExpiryDays}`,
          value: age,
          threshold: o.passwordExpiryDays,
          unit: 'days',
          remedy: `rotate the password of ${s.role} (dbops run password-rotation)`,
        });
      }
    }
    if (!s.expiresOn) {
      findings.push({ check: 'secrets.no-expiry', severity: 'warning', target, message: `secret ${s.name} has no expiry date, so Key Vault never warns before it is due` });
      continue;
    }
    const left = Math.floor((s.expiresOn.getTime() - now) / DAY);
    if (left < 0) {
      findings.push({ check: 'secrets.expired', severity: 'critical', target, message: `secret ${s.name} expired on ${s.expiresOn.toISOString()}`, value: left, unit: 'days', remedy: `rotate the password of ${s.role} (dbops run password-rotation)` });
    } else if (left <= o.expiryWarningDays) {
      findings.push({
        check: 'secrets.expiring',
        severity: 'warning',
        target,
        message: `secret ${s.name} expires in ${left} days (${s.expiresOn.toISOString()})`,
        value: left,
        threshold: o.expiryWarningDays,
        unit: 'days',
        remedy: `rotate the password of ${s.role} (dbops run password-rotation)`,
      });
    }
  }
  return findings;
}
