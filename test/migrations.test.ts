import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/platform/db/migrate.js';
import { migrationsDir } from '../src/shared/paths.js';
import { memoryLogger } from '../src/platform/log.js';
import { createTestDatabase, withClusterLock, type TestDatabase } from './support/db.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  it('apply from empty, then re-apply nothing', async () => {
    const first = await withClusterLock(() => migrate(db.target, memoryLogger()));
    // Every file in db/migrations, in name order (other branches add their own numbers).
    const files = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
    expect(first.applied).toEqual(files);
    expect(files.slice(0, 4)).toEqual(['001_ops_schema', '002_product_change_schema', '003_roles_and_grants', '004_extensions']);
    const second = await withClusterLock(() => migrate(db.target, memoryLogger()));
    expect(second.applied).toEqual([]);
  });

  it("accepts the plan's sample INSERT (section 10.1.2) as written", async () => {
    await db.pool.query(`INSERT INTO product_change.pc_product_change_history
(line_number, customer_id, current_product_code, target_product_code, process_status)
VALUES
('010-1234-5678', 'CUST001', 'PLAN_A', 'PLAN_B', 'REQUESTED'),
('010-2345-6789', 'CUST002', 'PLAN_B', 'PLAN_C', 'COMPLETED'),
('010-3456-7890', 'CUST003', 'PLAN_C', 'PLAN_A', 'FAILED')`);
    const { rows } = await db.pool.query('SELECT process_status FROM product_change.pc_product_change_history ORDER BY id');
    expect(rows.map((r) => r.process_status)).toEqual(['REQUESTED', 'COMPLETED', 'FAILED']);
    await expect(
      db.pool.query(`INSERT INTO product_change.pc_product_change_history (line_number, customer_id, current_product_code, target_product_code, process_status)
                     VALUES ('010-0000-0000', 'C', 'A', 'B', 'DONE')`),
    ).rejects.toThrow(/check constraint/);
  });

  it('creates the roles with the planned connection limits and no password', async () => {
    const { rows } = await db.pool.query(
      `SELECT rolname, rolconnlimit, rolcreatedb, rolcreaterole, rolpassword IS NULL AS no_password
         FROM pg_authid WHERE rolname LIKE 'product_change_%' ORDER BY rolname`,
    );
    expect(rows).toEqual([
      { rolname: 'product_change_admin', rolconnlimit: 10, rolcreatedb: true, rolcreaterole: true, no_password: expect.any(Boolean) },
      { rolname: 'product_change_app', rolconnlimit: 150, rolcreatedb: false, rolcreaterole: false, no_password: expect.any(Boolean) },
      { rolname: 'product_change_readonly', rolconnlimit: 20, rolcreatedb: false, rolcreaterole: false, no_password: expect.any(Boolean) },
    ]);
  });

  it('partitions the integration log by month with no default partition, seeded circuit breaker', async () => {
    const { rows } = await db.pool.query(
      `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'product_change.pc_kos_integration_log'::regclass ORDER BY 1`,
    );
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.bound !== 'DEFAULT')).toBe(true);
    const now = new Date();
    const name = `pc_kos_integration_log_p${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(rows[0].relname).toBe(name);
    const cb = await db.pool.query('SELECT service_name, state FROM product_change.pc_circuit_breaker_state');
    expect(cb.rows).toEqual([{ service_name: 'KOS_SERVICE', state: 'CLOSED' }]);
    // A row for now routes to a partition (the service's insert works right after migrate).
    await db.pool.query(`INSERT INTO product_change.pc_kos_integration_log (request_id, integration_type, is_success) VALUES ('r1', 'CUSTOMER_INFO', true)`);
  });

  it('grants the application no DELETE and the read-only role only SELECT', async () => {
    const { rows } = await db.pool.query(
      `SELECT has_table_privilege('product_change_app', 'product_change.pc_product_change_history', 'DELETE') AS app_delete,
              has_table_privilege('product_change_app', 'product_change.pc_kos_integration_log', 'UPDATE') AS app_log_update,
              has_table_privilege('product_change_app', 'product_change.pc_circuit_breaker_state', 'UPDATE') AS app_cb_update,
              has_table_privilege('product_change_readonly', 'product_change.pc_product_change_history', 'INSERT') AS ro_insert,
              has_table_privilege('product_change_readonly', 'product_change.pc_product_change_history', 'SELECT') AS ro_select`,
    );
    expect(rows[0]).toEqual({ app_delete: false, app_log_update: false, app_cb_update: true, ro_insert: false, ro_select: true });
  });
});
