import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installVerification } from '../../src/jobs/install-verification.js';
import { securityAudit } from '../../src/jobs/security-audit/index.js';
import { registerJob } from '../../src/shared/job.js';
import { POSTGRES_SUPPORT, readServerVersion, supportOf, supportStatus, versionSupportFinding } from '../../src/shared/postgres-lifecycle.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const at = (iso: string) => new Date(iso);

describe('PostgreSQL support dates (fixed instants)', () => {
  it("has 14's dates as Azure and the community publish them", () => {
    expect(supportOf(14)).toEqual({
      major: 14,
      azureStandardStart: '2022-06-29',
      azureStandardEnd: '2026-12-11',
      communityEol: '2026-11-12',
      extendedSupportStart: '2026-12-12',
      extendedSupportEnd: '2029-11-11',
    });
    // Every major Azure offers for new servers is in the table, in order, with sane dates.
    expect(POSTGRES_SUPPORT.map((v) => v.major)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    for (const v of POSTGRES_SUPPORT) {
      expect(v.azureStandardEnd >= v.azureStandardStart).toBe(true);
      if (v.extendedSupportStart) expect(v.extendedSupportStart > v.azureStandardEnd).toBe(true);
    }
  });

  it('is info until 180 days before the end of standard support, a warning then, critical from the day after it ends', () => {
    expect(supportStatus(14, at('2026-06-14T23:59:59Z'))).toMatchObject({ phase: 'standard', severity: 'info', daysLeft: 181 });
    expect(supportStatus(14, at('2026-06-15T00:00:00Z'))).toMatchObject({ phase: 'ending', severity: 'warning', daysLeft: 180 });
    expect(supportStatus(14, at('2026-12-11T23:59:59Z'))).toMatchObject({ phase: 'ending', severity: 'warning', daysLeft: 1 });
    expect(supportStatus(14, at('2026-12-12T00:00:00Z'))).toMatchObject({ phase: 'extended', severity: 'critical' });
    expect(supportStatus(17, at('2026-12-12T00:00:00Z'))).toMatchObject({ phase: 'standard', severity: 'info' });
    expect(supportStatus(19, at('2026-12-12T00:00:00Z'))).toMatchObject({ phase: 'unknown', severity: 'warning' });
  });

  it('says both dates, extended support and what to do', () => {
    const server = { major: 14, version: '14.19', azure: true };
    const ending = versionSupportFinding(server, at('2026-12-01T00:00:00Z'), 'auto');
    expect(ending).toMatchObject({ check: 'version.support', severity: 'warning', target: 'PostgreSQL 14', value: 14, threshold: '2026-12-11' });
    expect(ending.message).toContain('Azure standard support ends 11 December 2026, community end of life 12 November 2026 (11 days left)');
    expect(ending.message).toContain('paid extended support from 12 December 2026 to 11 November 2029');
    expect(ending.remedy).toBe('dbops run version-upgrade --param plan=rehearse --param target=17');
    const after = versionSupportFinding(server, at('2027-03-01T00:00:00Z'), 'auto');
    expect(after).toMatchObject({ severity: 'critical' });
    expect(after.message).toMatch(/standard support ended 11 December 2026; the server is in paid extended support until 11 November 2029, which only a major-version upgrade ends/);
    // A server Azure's policy does not govern (a laptop, CI): reported, not judged, unless told.
    expect(versionSupportFinding({ ...server, azure: false }, at('2027-03-01T00:00:00Z'), 'auto')).toMatchObject({ severity: 'info' });
    expect(versionSupportFinding({ ...server, azure: false }, at('2027-03-01T00:00:00Z'), 'dated')).toMatchObject({ severity: 'critical' });
    expect(versionSupportFinding(server, at('2027-03-01T00:00:00Z'), 'info')).toMatchObject({ severity: 'info' });
  });
});

describe('install-verification and the weekly security review report the server major', () => {
  let db: TestDatabase;
  let major: number;
  let end: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    major = (await readServerVersion(db.pool)).major;
    end = supportOf(major)!.azureStandardEnd;
  });
  afterAll(() => db.drop());

  const dayAfterEnd = () => new Date(Date.parse(`${end}T00:00:00Z`) + 86_400_000);
  const run = (job: 'install' | 'security', now: Date, severity: string) =>
    runJob(
      job === 'install' ? registerJob(installVerification) : registerJob(securityAudit),
      job === 'install' ? {} : { mode: 'weekly' },
      testDeps(db, { env: { DBOPS_VERSION_SUPPORT_SEVERITY: severity }, now: () => now }),
      { trigger: 'test' },
    );

  it('install-verification: critical the day after standard support ends, a warning 10 days before, info on the embedded server by default', async () => {
    const after = await run('install', dayAfterEnd(), 'dated');
    expect(after.findings).toContainEqual(expect.objectContaining({ check: 'version.support', severity: 'critical', target: `PostgreSQL ${major}`, threshold: end }));
    const before = await run('install', new Date(dayAfterEnd().getTime() - 10 * 86_400_000), 'dated');
    expect(before.findings).toContainEqual(expect.objectContaining({ check: 'version.support', severity: 'warning', message: expect.stringContaining('(10 days left)') }));
    const local = await run('install', dayAfterEnd(), 'auto');
    expect(local.findings).toContainEqual(expect.objectContaining({ check: 'version.support', severity: 'info', message: expect.stringContaining('not an Azure server') }));
  });

  it('security-audit weekly: the same finding, its dates in the report data', async () => {
    const report = await run('security', dayAfterEnd(), 'dated');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'version.support', severity: 'critical' }));
    expect(report.data.versionSupport).toMatchObject({ azureStandardEnd: end, phase: 'extended', judged: true });
  });
});
