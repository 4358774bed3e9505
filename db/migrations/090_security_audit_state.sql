-- Up Migration
-- security-audit's state between runs: the lockouts it applied (so a later run lifts exactly
-- those, and never grants LOGIN to a role someone else disabled) and how far each server log
-- source has been read (so daily runs read each log line once).
CREATE TABLE ops.security_lockout (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  role_name        text        NOT NULL,
  failures         integer     NOT NULL CHECK (failures > 0),
  client_addresses text[]      NOT NULL DEFAULT '{}',
  reason           text        NOT NULL,
  locked_at        timestamptz NOT NULL,
  lock_until       timestamptz NOT NULL CHECK (lock_until > locked_at),
  locked_by_run    bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  lifted_at        timestamptz,
  lifted_by_run    bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  lift_note        text
);
-- At most one lock in force per role.
CREATE UNIQUE INDEX security_lockout_active_idx ON ops.security_lockout (role_name) WHERE lifted_at IS NULL;

CREATE TABLE ops.security_log_watermark (
  source      text        PRIMARY KEY,
  read_until  timestamptz NOT NULL,
  run_id      bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE ops.security_log_watermark;
DROP TABLE ops.security_lockout;
