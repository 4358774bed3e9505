import { PLAN_SCHEMA, PLAN_TABLES } from '../../shared/plan.js';
import { monthStart, monthlyPartitionName } from './partitions.js';
import { qualified, type Queryable } from './sql.js';

export interface SampleDataOptions {
  /** Months of integration logs, ending with the current one. */
  months?: number;
  logsPerMonth?: number;
  changeRequests?: number;
  /** Months of empty partitions ahead of the current one. */
  monthsAhead?: number;
  now?: Date;
  schema?: string;
  onProgress?: (done: number, total: number, step: string) => void;
}

export interface SampleDataResult {
  logRows: number;
  changeRequests: number;
  partitions: number;
}

/**
 * Realistic data for the demo, benchmarks and tests, generated server-side in one statement a
 * month so it loads in seconds: KOS calls spread over `months` monthly partitions (about 98.5 %
 * successful, response times skewed), and change requests with the service's status mix
 * (mostly COMPLETED, a few FAILED, a tail still in flight), denser in recent days.
 */
export async function loadSampleData(db: Queryable, options: SampleDataOptions = {}): Promise<SampleDataResult> {
  const months = options.months ?? 15;
  const perMonth = options.logsPerMonth ?? 40_000;
  const requests = options.changeRequests ?? 300_000;
  const ahead = options.monthsAhead ?? 3;
  const now = options.now ?? new Date();
  const schema = options.schema ?? PLAN_SCHEMA;
  const logTable = qualified(schema, PLAN_TABLES.kosLog);
  const historyTable = qualified(schema, PLAN_TABLES.history);
  const requestChunks = 10;
  const total = months + ahead + months + requestChunks;
  let done = 0;
  const tick = (step: string) => options.onProgress?.(++done, total, step);

  for (let i = -(months - 1); i <= ahead; i++) {
    const from = monthStart(now, i);
    const to = monthStart(now, i + 1);
    const name = monthlyPartitionName(PLAN_TABLES.kosLog, from);
    const exists = await db.query(
      `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, name],
    );
    if (exists.rowCount === 0) {
      await db.query(
        `CREATE TABLE ${qualified(schema, name)} PARTITION OF ${logTable} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
      );
    }
    tick(`partition ${name}`);
  }

  let logRows = 0;
  for (let i = -(months - 1); i <= 0; i++) {
    const from = monthStart(now, i);
    const to = i === 0 ? now : monthStart(now, i + 1);
    const spanSeconds = Math.max(1, Math.floor((to.getTime() - from.getTime()) / 1000));
    // The current month holds only the days so far, in proportion.
    const rows = i === 0 ? Math.max(1, Math.round((perMonth * spanSeconds) / (30 * 86_400))) : perMonth;
    const inserted = await db.query(
      `INSERT INTO ${logTable} (request_id, integration_type, is_success, response_time_ms, request_data, response_data, error_message, created_at)
       SELECT 'REQ-' || to_char($1::timestamptz, 'YYYYMM') || '-' || g,
              (ARRAY['CUSTOMER_INFO','PRODUCT_INFO','PRODUCT_CHANGE'])[1 + (g % 3)],
              s.ok,
              CASE WHEN g % 97 = 0 THEN NULL ELSE (40 + (random() ^ 3) * 2500)::int END,
              jsonb_build_object('lineNumber', '010-' || lpad((g % 10000)::text, 4, '0') || '-' || lpad((g % 7919)::text, 4, '0')),
              CASE WHEN s.ok THEN jsonb_build_object('resultCode', '0000') ELSE jsonb_build_object('resultCode', 'E500') END,
              CASE WHEN s.ok THEN NULL ELSE 'KOS timeout' END,
              -- Row g lies in the g-th equal slice of the span, and one row in 67 fails, so every
              -- window (the health check's last 24 h) holds the same share of failures on any day.
              $1::timestamptz + ((g - random()) / $3::int * $2) * interval '1 second'
         FROM generate_series(1, $3::int) AS g
         CROSS JOIN LATERAL (SELECT g % 67 <> 33 AS ok) s`,
      [from.toISOString(), spanSeconds, rows],
    );
    logRows += inserted.rowCount ?? 0;
    tick(`integration logs ${from.toISOString().slice(0, 7)}`);
  }

  const spanDays = months * 30;
  let first = 0;
  for (let c = 0; c < requestChunks; c++) {
    const n = Math.floor(requests / requestChunks) + (c < requests % requestChunks ? 1 : 0);
    // Request k (of all) is the k-th youngest: ages follow u^2 for evenly spaced u, skewed toward
    // recent days so the last 24 h always have traffic; statuses repeat every 200 requests, so any
    // stretch of time holds the service's status mix, whatever the date.
    await db.query(
      `INSERT INTO ${historyTable} (line_number, customer_id, current_product_code, target_product_code, process_status,
                                    requested_at, processed_at, kos_request_data, kos_response_data, error_code, error_message, created_at, updated_at)
       SELECT line, 'CUST' || lpad((g % 120000)::text, 6, '0'), cur, tgt, st, req,
              CASE WHEN st IN ('COMPLETED','FAILED') THEN req + ((0.5 + random() * 6) * interval '1 second') END,
              jsonb_build_object('lineNumber', line, 'targetProduct', tgt),
              CASE WHEN st = 'COMPLETED' THEN jsonb_build_object('resultCode', '0000')
                   WHEN st = 'FAILED' THEN jsonb_build_object('resultCode', 'E409') END,
              CASE WHEN st = 'FAILED' THEN 'KOS_REJECTED' END,
              CASE WHEN st = 'FAILED' THEN 'target product not allowed for this line' END,
              req, req
         FROM (
           SELECT g,
                  '010-' || lpad(((g * 7) % 10000)::text, 4, '0') || '-' || lpad((g % 10000)::text, 4, '0') AS line,
                  'PLAN_' || chr(65 + (g % 5)) AS cur,
                  'PLAN_' || chr(65 + ((g + 1 + g % 3) % 5)) AS tgt,
                  CASE WHEN r < 191 THEN 'COMPLETED' WHEN r < 197 THEN 'FAILED' WHEN r < 198 THEN 'PROCESSING'
                       WHEN r < 199 THEN 'VALIDATED' ELSE 'REQUESTED' END AS st,
                  $1::timestamptz - ((((g + $4::int - random()) / $5::int) ^ 2) * $2) * interval '1 day' AS req
             FROM generate_series(1, $3::int) AS g
             CROSS JOIN LATERAL (SELECT (g + $4::int) % 200 AS r) x
         ) s`,
      [now.toISOString(), spanDays, n, first, requests],
    );
    first += n;
    tick('change requests');
  }
  await db.query(`ANALYZE ${logTable}`);
  await db.query(`ANALYZE ${historyTable}`);
  return { logRows, changeRequests: requests, partitions: months + ahead };
}
