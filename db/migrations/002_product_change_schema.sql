-- Up Migration
-- The Product-Change service's schema, as the installation plan describes it (sections 3.2, 4.1, 10.1).
CREATE SCHEMA IF NOT EXISTS product_change;

CREATE TABLE product_change.pc_product_change_history (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  line_number           varchar(20)  NOT NULL,
  customer_id           varchar(50)  NOT NULL,
  current_product_code  varchar(50)  NOT NULL,
  target_product_code   varchar(50)  NOT NULL,
  process_status        varchar(20)  NOT NULL DEFAULT 'REQUESTED'
    CHECK (process_status IN ('REQUESTED', 'VALIDATED', 'PROCESSING', 'COMPLETED', 'FAILED')),
  requested_at          timestamptz  NOT NULL DEFAULT now(),
  processed_at          timestamptz,
  kos_request_data      jsonb,
  kos_response_data     jsonb,
  error_code            varchar(50),
  error_message         text,
  created_at            timestamptz  NOT NULL DEFAULT now(),
  updated_at            timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idx_pc_history_line_status_date
  ON product_change.pc_product_change_history (line_number, process_status, requested_at DESC);
CREATE INDEX idx_pc_history_customer_date
  ON product_change.pc_product_change_history (customer_id, requested_at DESC);
CREATE INDEX idx_pc_history_status_date
  ON product_change.pc_product_change_history (process_status, requested_at DESC);
CREATE INDEX idx_pc_history_kos_request_gin
  ON product_change.pc_product_change_history USING gin (kos_request_data);
CREATE INDEX idx_pc_history_kos_response_gin
  ON product_change.pc_product_change_history USING gin (kos_response_data);

-- Monthly range partitions on created_at; no default partition, so a missing partition is
-- an error the service sees at once instead of rows piling up where maintenance cannot reach.
CREATE TABLE product_change.pc_kos_integration_log (
  id                bigint GENERATED ALWAYS AS IDENTITY,
  request_id        varchar(100) NOT NULL,
  integration_type  varchar(50)  NOT NULL,
  is_success        boolean      NOT NULL,
  response_time_ms  integer,
  request_data      jsonb,
  response_data     jsonb,
  error_message     text,
  created_at        timestamptz  NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX idx_kos_log_request_type_date
  ON product_change.pc_kos_integration_log (request_id, integration_type, created_at DESC);
CREATE INDEX idx_kos_log_type_success_date
  ON product_change.pc_kos_integration_log (integration_type, is_success, created_at DESC);
CREATE INDEX idx_kos_log_response_time
  ON product_change.pc_kos_integration_log (integration_type, response_time_ms DESC, created_at DESC)
  WHERE response_time_ms IS NOT NULL;

-- The current month and three ahead, named <table>_pYYYY_MM; partition-maintenance keeps it so.
DO $$
DECLARE
  m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
  FOR i IN 0..3 LOOP
    EXECUTE format(
      'CREATE TABLE product_change.%I PARTITION OF product_change.pc_kos_integration_log FOR VALUES FROM (%L) TO (%L)',
      'pc_kos_integration_log_p' || to_char(m + make_interval(months => i), 'YYYY_MM'),
      (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
      (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$;

CREATE TABLE product_change.pc_circuit_breaker_state (
  service_name       varchar(50) PRIMARY KEY,
  state              varchar(20) NOT NULL DEFAULT 'CLOSED' CHECK (state IN ('CLOSED', 'OPEN', 'HALF_OPEN')),
  failure_count      integer     NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
  success_count      integer     NOT NULL DEFAULT 0 CHECK (success_count >= 0),
  last_failure_time  timestamptz,
  last_success_time  timestamptz,
  state_changed_at   timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

INSERT INTO product_change.pc_circuit_breaker_state (service_name, state)
VALUES ('KOS_SERVICE', 'CLOSED')
ON CONFLICT (service_name) DO NOTHING;

-- Down Migration
DROP SCHEMA product_change CASCADE;
