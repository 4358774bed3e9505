-- Up Migration
-- Autovacuum never analyzes partitioned parents, and on PostgreSQL 14 the partitions' own
-- change counters reset whenever a partition is analyzed. To know how much a parent's data
-- changed since its last ANALYZE, stats-refresh records the partitions' cumulative
-- insert+update+delete counters at that moment and compares them on later runs.
CREATE TABLE ops.stats_refresh_parent_baseline (
  schema_name    text        NOT NULL,
  table_name     text        NOT NULL,
  relid          oid         NOT NULL,
  -- The parent's last analyze the baseline belongs to (a later one, by anyone, voids it).
  analyzed_at    timestamptz NOT NULL,
  -- Sum over leaf partitions of n_tup_ins + n_tup_upd + n_tup_del at analyzed_at.
  leaf_changes   bigint      NOT NULL,
  leaf_relids    oid[]       NOT NULL,
  -- pg_stat_database.stats_reset when recorded: a reset restarts the counters.
  stats_reset    timestamptz,
  -- 'analyzed' when stats-refresh analyzed the parent; 'estimated' when it adopted a parent
  -- analyzed by someone else and estimated the changes since from the partitions' counters.
  source         text        NOT NULL CHECK (source IN ('analyzed', 'estimated')),
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schema_name, table_name)
);

-- Down Migration
DROP TABLE ops.stats_refresh_parent_baseline;
