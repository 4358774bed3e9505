import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsoleData } from '../src/console/data.js';
import { renderConsole } from '../src/console/render.js';
import { startConsoleServer } from '../src/console/server.js';
import { memoryLogger } from '../src/platform/log.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const jobs = [
  { name: 'install-verification', title: 'Install verification' },
  { name: 'health-check', title: 'Health check' },
];
const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>';

async function seed(db: TestDatabase) {
  const now = Date.now();
  await db.pool.query(
    `INSERT INTO ops.job_run (job, trigger, status, summary, report, started_at, finished_at, duration_ms)
     VALUES ('install-verification', 'cli', 'failed', $1, $2, now() - interval '2 hours', now() - interval '2 hours', 120)`,
    [`install-verification failed: ${hostile}`, { job: 'install-verification', status: 'failed', summary: hostile, findings: [], actions: [], data: {}, timings: { finishedAt: new Date().toISOString() } }],
  );
  for (let i = 48; i >= 0; i--) {
    const at = new Date(now - i * 30 * 60_000);
    const report = {
      job: 'health-check',
      status: i === 0 ? 'warning' : 'ok',
      summary: i === 0 ? 'cache hit below threshold' : 'all checks ok',
      findings: i === 0 ? [{ check: 'cache.hit-ratio', severity: 'warning', message: 'buffer cache hit 88 %', value: 88, threshold: 90, unit: '%', target: 'product_change_db' }] : [],
      actions: [],
      data: {},
      timings: { finishedAt: at.toISOString() },
    };
    await db.pool.query(
      `INSERT INTO ops.job_run (job, trigger, status, summary, report, started_at, finished_at, duration_ms) VALUES ('health-check', 'timer', $1, $2, $3, $4, $4, 80)`,
      [report.status, report.summary, report, at],
    );
    const metrics = { 'connections.total': 20 + (i % 7), 'cache-hit.percent': i === 0 ? 88 : 97 + (i % 3) * 0.5, 'tps.value': 120 + i, 'business.pc-success.percent': 95 };
    await db.pool.query(`INSERT INTO ops.health_snapshot (taken_at, mode, status, metrics) VALUES ($1, 'probe', $2, $3)`, [at, report.status, metrics]);
  }
  await db.pool.query(
    `INSERT INTO ops.alert_state (job, check_name, target, severity, finding, first_seen_at, last_seen_at)
     VALUES ('health-check', 'cache.hit-ratio', 'product_change_db', 'warning', $1, now() - interval '1 hour', now())`,
    [{ check: 'cache.hit-ratio', severity: 'warning', message: `buffer cache hit 88 % ${hostile}` }],
  );
  await db.pool.query(`INSERT INTO product_change.pc_product_change_history (line_number, customer_id, current_product_code, target_product_code, process_status)
    SELECT '010-0000-' || g, 'C' || g, 'A', 'B', CASE WHEN g % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END FROM generate_series(1, 50) g`);
}

describe('status console', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await seed(db);
  });
  afterAll(() => db.drop());

  it('shows markup from a job error as text', async () => {
    const page = renderConsole(await loadConsoleData(db.pool, { jobs, environment: 'test' }));
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(page).toContain('90.0 %'); // product-change success: 45 of 50
    expect(page).toMatch(/health-check · cache\.hit-ratio<\/code> product_change_db — buffer cache hit 88 % &lt;img/);
  });

  it('renders in a real Chromium without console errors, with statuses and charts', async () => {
    const server = await startConsoleServer({ target: db.target, jobs, environment: 'test', log: memoryLogger() });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (d) => {
        errors.push(`dialog opened: ${d.message()}`);
        void d.dismiss();
      });
      const response = await page.goto(server.url);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toMatch(/dbops — failed — test/);
      const jobsText = await page.locator('#jobs + .table-wrap').innerText();
      expect(jobsText).toMatch(/Install verification\s+failed/);
      expect(jobsText).toMatch(/Health check\s+warning/);
      expect(await page.locator('svg.chart path.series').count()).toBeGreaterThanOrEqual(4);
      expect(await page.locator('svg.chart').first().getAttribute('aria-label')).toMatch(/Connections, last day: latest/);
      expect(await page.locator('#checks ~ .table-wrap, section:has(#checks) table').first().innerText()).toMatch(/cache\.hit-ratio/);
      const dir = join(import.meta.dirname, '..', 'test-artifacts');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'console.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
      await server.close();
    }
  });
});

describe('status console: the health check’s vacuum, xmin-horizon and replication findings', () => {
  let db: TestDatabase;
  const findings = [
    { check: 'connections.total', severity: 'info', message: '12 client connections of 197 usable', value: 12 },
    { check: 'vacuum.dead-tuples', severity: 'warning', target: 'public.churn', message: 'public.churn is 81.0 % dead tuples (45,000 dead, 5,000 live) (autovacuum is off for it)', value: 81, threshold: 20, unit: '%' },
    { check: 'xmin-horizon', severity: 'warning', target: 'replication slot old_slot (inactive) xmin', message: 'replication slot old_slot (inactive) xmin holds the xmin horizon 12,000,000 transactions back', value: 12_000_000, threshold: 10_000_000, unit: 'xids' },
    { check: 'replication.slot-wal', severity: 'critical', target: 'old_slot', message: 'replication slot old_slot has lost WAL its consumer still needs (wal_status lost)', value: 2_147_483_648, unit: 'bytes' },
    { check: 'replica.lag', severity: 'critical', target: 'replica.example', message: 'replica.example: streaming has stopped (no WAL receiver is running) while the primary keeps writing' },
  ];

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_console_health' });
    const at = new Date(Date.now() - 10 * 60_000);
    const report = { job: 'health-check', status: 'critical', summary: '2 critical, 2 warnings: replication slot old_slot has lost WAL; replica.example: streaming has stopped; also vacuum.dead-tuples, xmin-horizon', findings, actions: [], data: {}, timings: { finishedAt: at.toISOString() } };
    await db.pool.query(
      `INSERT INTO ops.job_run (job, trigger, status, summary, report, started_at, finished_at, duration_ms) VALUES ('health-check', 'timer', 'critical', $1, $2, $3, $3, 90)`,
      [report.summary, report, at],
    );
    for (const [minutes, age, tables] of [[70, 9_000_000, 0], [40, 11_000_000, 1], [10, 12_000_000, 1]] as const) {
      await db.pool.query(`INSERT INTO ops.health_snapshot (taken_at, mode, status, metrics) VALUES ($1, 'probe', 'critical', $2)`, [
        new Date(Date.now() - minutes * 60_000),
        { 'connections.total': 12, 'xmin-horizon.oldest-age': age, 'vacuum.dead-tuple-tables': tables },
      ]);
    }
  });
  afterAll(() => db.drop());

  it('lists every problem of the latest check before its notes, and charts the oldest xmin and dead-tuple tables', async () => {
    const data = await loadConsoleData(db.pool, { jobs, environment: 'test' });
    expect(data.health.checks.map((f) => f.check)).toEqual(findings.map((f) => f.check));
    expect(data.series.map((s) => s.key)).toEqual(['connections.total', 'xmin-horizon.oldest-age', 'vacuum.dead-tuple-tables']);
    const page = renderConsole(data);
    const checks = page.slice(page.indexOf('id="checks"'), page.indexOf('id="trends"'));
    for (const f of findings) expect(checks).toContain(`<code>${f.check}</code>`);
    expect(checks).toContain('public.churn is 81.0 % dead tuples');
    expect(checks).toContain('replication slot old_slot (inactive) xmin');
    expect(checks).toContain('(wal_status lost)');
    // Problems first (critical, then warning), the info note last.
    const order = ['replication.slot-wal', 'replica.lag', 'vacuum.dead-tuples', 'xmin-horizon', 'connections.total'].map((c) => checks.indexOf(`<code>${c}</code>`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(page).toMatch(/aria-label="Oldest xmin held back, last day: latest 12000000 xids, min 9000000, max 12000000, threshold 10000000 xids"/);
    expect(page).toContain('also vacuum.dead-tuples, xmin-horizon');
  });
});
