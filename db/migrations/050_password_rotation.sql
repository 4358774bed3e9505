-- Up Migration
-- password-rotation's write-ahead record: one row per rotation, advanced before each step's
-- effect is relied on, so a run that stops between two steps leaves a row saying how far it got.
-- It never holds a password: only Key Vault version ids and a salted one-way fingerprint used
-- to refuse reusing one of the last N passwords after their Key Vault versions are disabled.
CREATE TABLE ops.password_rotation (
  id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  secret_name      text        NOT NULL,
  role_name        text        NOT NULL,
  login_name       text        NOT NULL,
  mode             text        NOT NULL CHECK (mode IN ('single', 'dual')),
  step             text        NOT NULL CHECK (step IN ('generated', 'staged', 'set', 'tested', 'finished', 'rolled-back', 'discarded')),
  previous_version text,
  new_version      text,
  fingerprint      text        NOT NULL,
  expires_at       timestamptz,
  event_id         text,
  run_id           bigint      REFERENCES ops.job_run (id) ON DELETE SET NULL,
  note             text,
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz
);
-- At most one rotation in flight per secret.
CREATE UNIQUE INDEX password_rotation_open_idx ON ops.password_rotation (lower(secret_name))
  WHERE step NOT IN ('finished', 'rolled-back', 'discarded');
CREATE INDEX password_rotation_secret_idx ON ops.password_rotation (lower(secret_name), started_at DESC);
REVOKE ALL ON ops.password_rotation FROM PUBLIC;

-- Down Migration
DROP TABLE ops.password_rotation;
