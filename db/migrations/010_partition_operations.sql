-- Up Migration
-- partition-maintenance's record of what it did and what it still has to finish: a partition
-- detached but not yet dropped (a crash between the two) is found here by the next run.
CREATE TABLE ops.partition_operation (
  id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id            bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  parent_schema     text        NOT NULL,
  parent_table      text        NOT NULL,
  partition_schema  text        NOT NULL,
  partition_name    text        NOT NULL,
  operation         text        NOT NULL CHECK (operation IN ('create', 'retire')),
  -- create: creating → attached. retire: detaching → detached → archived → dropped.
  state             text        NOT NULL CHECK (state IN ('creating', 'attached', 'detaching', 'detached', 'archived', 'dropped', 'gone')),
  range_from        timestamptz,
  range_to          timestamptz,
  estimated_rows    bigint,
  bytes             bigint,
  archive_url       text,
  archived_rows     bigint,
  error             text,
  started_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);
-- At most one unfinished operation per partition.
CREATE UNIQUE INDEX partition_operation_open_idx
  ON ops.partition_operation (partition_schema, partition_name) WHERE finished_at IS NULL;
CREATE INDEX partition_operation_parent_idx
  ON ops.partition_operation (parent_schema, parent_table, started_at DESC);

-- Down Migration
DROP TABLE ops.partition_operation;
