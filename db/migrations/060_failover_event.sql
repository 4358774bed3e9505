-- Up Migration
-- One row per failover or outage dbops measured (HA failover, restart, drill, replica promote):
-- when it was signalled, when the primary accepted writes again, and what moved. The measured
-- downtime is compared with the plan's targets (5.2.2: RTO 2 min for a zone failover; 5.2.1:
-- 30 min for a region failover).
CREATE TABLE ops.failover_event (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  server_name           text        NOT NULL,
  -- what started it: alert, event, timer (state change seen by the safety-net poll), drill, manual
  detected_by           text        NOT NULL CHECK (detected_by IN ('alert', 'event', 'timer', 'drill', 'manual', 'promote', 'switchover')),
  signal_id             text,
  signal_kind           text,
  cause                 text,
  signal_at             timestamptz NOT NULL,
  detected_at           timestamptz NOT NULL,
  first_probe_at        timestamptz,
  writable_at           timestamptz,
  probe_attempts        integer     NOT NULL DEFAULT 0,
  -- writable_at - signal_at; exact only when a probe saw the server unavailable first
  downtime_ms           bigint,
  downtime_exact        boolean,
  target_rto_seconds    integer     NOT NULL,
  within_target         boolean,
  zone_before           text,
  standby_zone_before   text,
  zone_after            text,
  standby_zone_after    text,
  state_before          jsonb,
  state_after           jsonb,
  -- newest commit known before the outage, and the newest found on the primary afterwards
  last_commit_before_at timestamptz,
  last_commit_after_at  timestamptz,
  ha_state_after        text,
  replica_state_after   text,
  replica_lag_seconds   numeric,
  platform_resolved_at  timestamptz,
  status                text        NOT NULL DEFAULT 'measuring' CHECK (status IN ('measuring', 'resolved', 'not-writable')),
  resolution            text,
  run_id                bigint,
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failover_event_server_idx ON ops.failover_event (server_name, signal_at DESC);
CREATE UNIQUE INDEX failover_event_signal_idx ON ops.failover_event (signal_id) WHERE signal_id IS NOT NULL;

-- What the safety-net poll saw last, per server, so the next poll can tell what changed; and
-- a heartbeat: the poll's own committed write, the newest commit dbops knows of before an outage.
CREATE TABLE ops.failover_watch (
  server_name     text PRIMARY KEY,
  state           jsonb       NOT NULL,
  seen_at         timestamptz NOT NULL,
  last_commit_at  timestamptz
);

-- A long Azure operation (promote, switchover, drill restart) that outlived the run that started
-- it: the serialized poller, resumed by the next run instead of waiting forever.
CREATE TABLE ops.failover_operation (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  plan         text        NOT NULL,
  server_name  text        NOT NULL,
  serialized   text        NOT NULL,
  event_id     bigint      REFERENCES ops.failover_event (id) ON DELETE SET NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  outcome      text
);
CREATE UNIQUE INDEX failover_operation_open_idx ON ops.failover_operation (plan, server_name) WHERE finished_at IS NULL;

-- Down Migration
DROP TABLE IF EXISTS ops.failover_operation;
DROP TABLE IF EXISTS ops.failover_watch;
DROP TABLE IF EXISTS ops.failover_event;
