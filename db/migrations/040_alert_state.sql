-- Up Migration
-- Alert de-duplication state: one open row per finding (job + check + target) while it persists,
-- so several instances and restarts agree on what was already sent. A resolved row is kept as
-- history; the finding's next occurrence opens a new row.
CREATE TABLE ops.alert_state (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job            text        NOT NULL,
  check_name     text        NOT NULL,
  target         text        NOT NULL DEFAULT '',
  severity       text        NOT NULL CHECK (severity IN ('warning', 'critical')),
  finding        jsonb       NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  last_run_id    bigint,
  -- The last time an alert went out on at least one channel, and at which severity:
  -- NULL until one did, so a finding whose every send failed is tried again on the next run.
  last_sent_at   timestamptz,
  sent_severity  text        CHECK (sent_severity IN ('warning', 'critical')),
  notify_count   integer     NOT NULL DEFAULT 0,
  resolved_at    timestamptz
);
CREATE UNIQUE INDEX alert_state_open_key ON ops.alert_state (job, check_name, target) WHERE resolved_at IS NULL;
CREATE INDEX alert_state_first_seen_idx ON ops.alert_state (first_seen_at DESC);

-- Every send attempt's outcome, per channel: what went out, what failed and why.
CREATE TABLE ops.alert_delivery (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id     bigint      REFERENCES ops.alert_state (id) ON DELETE CASCADE,
  job          text        NOT NULL,
  check_name   text        NOT NULL,
  target       text        NOT NULL DEFAULT '',
  kind         text        NOT NULL CHECK (kind IN ('alert', 'renotify', 'escalation', 'recovery')),
  channel      text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('sent', 'failed')),
  attempts     integer     NOT NULL,
  error        text,
  duration_ms  integer     NOT NULL,
  run_id       bigint,
  sent_at      timestamptz NOT NULL
);
CREATE INDEX alert_delivery_alert_idx ON ops.alert_delivery (alert_id);
CREATE INDEX alert_delivery_sent_idx ON ops.alert_delivery (sent_at DESC);

-- Down Migration
DROP TABLE ops.alert_delivery;
DROP TABLE ops.alert_state;
