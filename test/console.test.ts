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
