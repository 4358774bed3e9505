-- Up Migration
-- dbops's own records: every job run and every event received.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE ops.job_run (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job           text        NOT NULL,
  trigger       text        NOT NULL CHECK (trigger IN ('timer', 'http', 'eventgrid', 'alert', 'cli', 'test', 'demo')),
  triggered_by  text,
  params        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  dry_run       boolean     NOT NULL DEFAULT false,
  status        text        NOT NULL CHECK (status IN ('running', 'ok', 'warning', 'critical', 'failed', 'skipped', 'abandoned')),
  summary       text,
  report        jsonb,
  host          text,
  pid           integer,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  duration_ms   integer
);
CREATE INDEX job_run_job_started_idx ON ops.job_run (job, started_at DESC);
CREATE INDEX job_run_running_idx ON ops.job_run (job) WHERE status = 'running';

-- Events arrive at least once and out of order: recorded by id before they are acted on.
CREATE TABLE ops.event_inbox (
  event_id      text        PRIMARY KEY,
  source        text        NOT NULL,
  event_type    text        NOT NULL,
  subject       text,
  event_time    timestamptz,
  received_at   timestamptz NOT NULL DEFAULT now(),
  status        text        NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
  reason        text,
  job_run_id    bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  payload       jsonb       NOT NULL,
  processed_at  timestamptz
);
CREATE INDEX event_inbox_received_idx ON ops.event_inbox (received_at DESC);

-- Down Migration
DROP SCHEMA ops CASCADE;
