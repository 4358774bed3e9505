-- Up Migration
-- One row per health-check run: the measured values (not just statuses), so trends can be
-- drawn and the next run can compute rates from cumulative counters. The typed columns hold
-- the values a console charts most; `metrics` holds every value keyed by check name.
CREATE TABLE ops.health_snapshot (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_run_id              bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  taken_at                timestamptz NOT NULL,
  mode                    text        NOT NULL CHECK (mode IN ('daily', 'probe')),
  status                  text        NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'failed')),
  connections             integer,
  database_bytes          bigint,
  transactions_per_second numeric,
  cache_hit_percent       numeric,
  avg_query_ms            numeric,
  deadlocks               bigint,
  replica_lag_seconds     numeric,
  pc_success_percent      numeric,
  kos_success_percent     numeric,
  avg_processing_seconds  numeric,
  cpu_percent             numeric,
  storage_percent         numeric,
  -- {"<check>.<measure>": number | null}: everything measured in this run.
  metrics                 jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- Cumulative server counters (pg_stat_database, pg_stat_statements) for the next run's deltas.
  counters                jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- The warning and critical findings of this run, [{check, target, severity, message}], so a
  -- probe can report only what changed.
  problems                jsonb       NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX health_snapshot_taken_idx ON ops.health_snapshot (taken_at DESC);

COMMENT ON TABLE ops.health_snapshot IS 'One row per health-check run; written by the health-check job, read by consoles for trends.';
COMMENT ON COLUMN ops.health_snapshot.deadlocks IS 'Deadlocks since the previous snapshot (null on the first run or after a statistics reset).';
COMMENT ON COLUMN ops.health_snapshot.transactions_per_second IS 'Commits + rollbacks per second since the previous snapshot at least a minute older.';

-- Down Migration
DROP TABLE ops.health_snapshot;
