-- Up Migration
-- backup-verification's weekly restore test is a reconciler: one row per attempt, advanced one
-- step per timer tick, so a restore that takes hours survives any number of invocations and a
-- crash at any step resumes from here. The temporary server is named before it is asked for,
-- so a crash right after the request still knows what to delete.
CREATE TABLE ops.backup_verification (
  id                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  state                 text        NOT NULL DEFAULT 'starting'
    CHECK (state IN ('starting', 'restoring', 'verifying', 'deleting', 'done')),
  -- Known once verification ran or the attempt failed; 'passed' only when every check did.
  result                text        CHECK (result IN ('passed', 'failed')),
  failure               text,
  source_server         text        NOT NULL,
  server_name           text        NOT NULL,
  restore_point         timestamptz NOT NULL,
  -- LongOperation.serialize() of the restore or delete in flight; null between operations.
  operation             text,
  operation_kind        text        CHECK (operation_kind IN ('restore', 'delete')),
  started_at            timestamptz NOT NULL,
  deadline_at           timestamptz NOT NULL CHECK (deadline_at > started_at),
  restore_requested_at  timestamptz,
  restore_completed_at  timestamptz,
  verified_at           timestamptz,
  delete_requested_at   timestamptz,
  deleted_at            timestamptz,
  finished_at           timestamptz,
  ticks                 integer     NOT NULL DEFAULT 0,
  findings              jsonb       NOT NULL DEFAULT '[]',
  measurements          jsonb       NOT NULL DEFAULT '{}',
  started_by_run        bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  last_run              bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CHECK ((state = 'done') = (finished_at IS NOT NULL))
);
-- One attempt in flight at a time; server names are never reused.
CREATE UNIQUE INDEX backup_verification_active_idx ON ops.backup_verification ((true)) WHERE state <> 'done';
CREATE UNIQUE INDEX backup_verification_server_idx ON ops.backup_verification (server_name);
CREATE INDEX backup_verification_started_idx ON ops.backup_verification (started_at DESC);

-- Down Migration
DROP TABLE ops.backup_verification;
