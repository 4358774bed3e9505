import { describe, expect, it } from 'vitest';
import { securityAudit } from '../../src/jobs/security-audit/index.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { useAzureTestbed } from '../support/testbed.js';

const job = registerJob(securityAudit);

describe('security-audit reading the server log from Log Analytics (emulator)', () => {
  const bed = useAzureTestbed();

  it('reports a connection from outside the allowed subnets as critical', async () => {
    const at = new Date(Date.now() - 10 * 60_000);
    const stamp = at.toISOString().replace('T', ' ').replace('Z', ' UTC');
    const line = (client: string, msg: string) => `${stamp} [4242]: user=product_change_app,db=product_change_db,app=psql,client=${client} LOG:  ${msg}`;
    bed.emu.logs.respond('PostgreSQLLogs', {
      columns: [
        { name: 'TimeGenerated', type: 'datetime' },
        { name: 'Message', type: 'string' },
        { name: 'ErrorLevel', type: 'string' },
        { name: 'SqlState', type: 'string' },
        { name: 'Server', type: 'string' },
      ],
      rows: [
        [at.toISOString(), line('203.0.113.7', 'connection authorized: user=product_change_app database=product_change_db'), 'LOG', '00000', 'phonebill-postgresql-prod'],
        [at.toISOString(), line('10.0.1.15', 'connection authorized: user=product_change_app database=product_change_db'), 'LOG', '00000', 'phonebill-postgresql-prod'],
      ],
    });
    const report = await runJob(job, { mode: 'daily' }, bed.deps(), { trigger: 'test' });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'access.outside-subnets', severity: 'critical', message: expect.stringMatching(/203\.0\.113\.7/) }));
    expect(report.findings.filter((f) => f.check === 'access.outside-subnets')).toHaveLength(1);
    expect(bed.emu.logs.queries.at(-1)?.query).toMatch(/PostgreSQLLogs/);
  });
});
