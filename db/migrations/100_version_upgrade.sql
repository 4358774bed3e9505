-- Up Migration
-- version-upgrade is a reconciler like backup-verification: one row per rehearsal (a restored
-- copy upgraded and verified, then deleted) or production upgrade, advanced one step per
-- invocation, so an upgrade that outlives an invocation resumes from here, and a crash at any
-- step still knows which copy to delete and which replica to recreate.
CREATE TABLE ops.version_upgrade (
  id                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind                  text        NOT NULL CHECK (kind IN ('rehearsal', 'upgrade')),
  state                 text        NOT NULL,
  result                text        CHECK (result IN ('passed', 'failed')),
  failure               text,
  source_server         text        NOT NULL,
  -- The rehearsal's temporary copy, or the production server itself.
  server_name           text        NOT NULL,
  from_version          text        NOT NULL,
  target_version        text        NOT NULL,
  -- Rehearsal: the copy's restore point. Upgrade: the point to restore to if it must be undone.
  restore_point         timestamptz NOT NULL,
  -- LongOperation.serialize() of the operation in flight; null between operations.
  operation             text,
  started_at            timestamptz NOT NULL,
  deadline_at           timestamptz NOT NULL CHECK (deadline_at > started_at),
  upgrade_requested_at  timestamptz,
  upgrade_completed_at  timestamptz,
  finished_at           timestamptz,
  ticks                 integer     NOT NULL DEFAULT 0,
  findings              jsonb       NOT NULL DEFAULT '[]',
  measurements          jsonb       NOT NULL DEFAULT '{}',
  -- Upgrade: the replica as it was (name, location, SKU), to recreate it with the same settings.
  details               jsonb       NOT NULL DEFAULT '{}',
  started_by_run        bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  last_run              bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CHECK ((state = 'done') = (finished_at IS NOT NULL))
);
-- One rehearsal and one upgrade in flight at a time.
CREATE UNIQUE INDEX version_upgrade_active_idx ON ops.version_upgrade (kind) WHERE state <> 'done';
CREATE INDEX version_upgrade_started_idx ON ops.version_upgrade (kind, started_at DESC);

-- Down Migration
DROP TABLE ops.version_upgrade;
