import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { channelsFor, routesSchema, routingMarkdown } from '../../src/notify/routing.js';
import { notifySettings } from '../../src/notify/settings.js';
import { readSettings, SettingsError } from '../../src/platform/settings.js';

const job = 'health-check';

describe('alert routing (plan 6.2.2)', () => {
  it.each([
    ['connections.total', 'critical', ['teams', 'sms']],
    ['failover.detected', 'critical', ['teams', 'sms', 'email']],
    ['failover.completed', 'warning', ['teams', 'sms', 'email']],
    ['replica.lag', 'critical', ['teams', 'email']],
    ['replication.lag-seconds', 'critical', ['teams', 'email']],
    ['replica.lag', 'warning', ['teams']],
    ['storage.percent', 'warning', ['teams', 'email']],
    ['cpu.percent', 'warning', ['teams']],
    ['slow-query.share', 'warning', ['teams']],
  ] as const)('%s (%s) → %j', (check, severity, channels) => {
    expect(channelsFor({ job, check, severity })).toEqual(channels);
  });

  it('tries DBOPS_ALERT_ROUTES first, then the plan', () => {
    const overrides = readSettings(notifySettings, {
      DBOPS_ALERT_ROUTES: '[{"job":"cost-*","channels":["email"]},{"check":"cpu.*","severity":"warning","channels":["teams","email","teams"]},{"check":"index.*","channels":[]}]',
    }).routes;
    expect(channelsFor({ job: 'cost-check', check: 'budget.forecast', severity: 'critical' }, overrides)).toEqual(['email']);
    expect(channelsFor({ job, check: 'cpu.percent', severity: 'warning' }, overrides)).toEqual(['teams', 'email']);
    expect(channelsFor({ job, check: 'cpu.percent', severity: 'critical' }, overrides)).toEqual(['teams', 'sms']);
    expect(channelsFor({ job, check: 'index.missing', severity: 'critical' }, overrides)).toEqual([]);
    // A dot in a pattern is literal, not "any character".
    expect(channelsFor({ job, check: 'cpuXpercent', severity: 'warning' }, overrides)).toEqual(['teams']);
  });

  it('says what is wrong with a bad DBOPS_ALERT_ROUTES', () => {
    const problems = (raw: string) => {
      try {
        readSettings(notifySettings, { DBOPS_ALERT_ROUTES: raw });
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(SettingsError);
        return (err as Error).message;
      }
    };
    expect(problems('teams')).toMatch(/DBOPS_ALERT_ROUTES=.*expected a JSON array/);
    expect(problems('[{"check":"x","channels":["pager"]}]')).toMatch(/rule 0\.channels\.0: channels are "teams", "email" or "sms"/);
    expect(problems('[{"check":"x","channels":["sms"],"severity":"info"}]')).toMatch(/rule 0\.severity/);
    expect(problems('[{"chek":"x","channels":["sms"]}]')).toMatch(/rule 0: .*chek/);
    expect(routesSchema.parse(undefined)).toEqual([]);
  });

  it("docs/alerts.md shows the default routing table as the code has it", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'alerts.md'), 'utf8');
    expect(readme).toContain(routingMarkdown());
  });
});
