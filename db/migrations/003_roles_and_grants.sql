-- Up Migration
-- Roles and grants of the plan's section 4.1. Roles are cluster-wide, so they may exist
-- already (another database on the server, an earlier install): create only what is missing.
-- No password is set here; password-rotation sets and rotates them through Key Vault.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('product_change_app', 150, ''),
      ('product_change_readonly', 20, ''),
      ('product_change_admin', 10, ' CREATEDB CREATEROLE')) AS t(name, conn_limit, extra)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN CONNECTION LIMIT %s VALID UNTIL %L%s', r.name, r.conn_limit, 'infinity', r.extra);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created concurrently by another installer
      END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name AND rolconnlimit = r.conn_limit) THEN
      EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', r.name, r.conn_limit);
    END IF;
  END LOOP;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO product_change_app, product_change_readonly', current_database());
  EXECUTE format('GRANT ALL PRIVILEGES ON DATABASE %I TO product_change_admin', current_database());
END $$;

-- Application: least privilege, no DELETE anywhere (4.1.2).
GRANT USAGE ON SCHEMA product_change TO product_change_app;
GRANT SELECT, INSERT, UPDATE ON TABLE product_change.pc_product_change_history TO product_change_app;
GRANT SELECT, INSERT ON TABLE product_change.pc_kos_integration_log TO product_change_app;
GRANT SELECT, UPDATE ON TABLE product_change.pc_circuit_breaker_state TO product_change_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA product_change TO product_change_app;

-- Read-only: monitoring and analysis.
GRANT USAGE ON SCHEMA product_change TO product_change_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA product_change TO product_change_readonly;

-- Admin (DBA).
GRANT ALL PRIVILEGES ON SCHEMA product_change TO product_change_admin;
GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA product_change TO product_change_admin;

-- Tables created later by the owner (new partitions, new tables) get the same baseline:
-- read-only and admin as above; the application only reads until someone grants more,
-- because its write grants differ per table in the plan.
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change GRANT SELECT ON TABLES TO product_change_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change GRANT ALL PRIVILEGES ON TABLES TO product_change_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change GRANT SELECT ON TABLES TO product_change_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change GRANT USAGE, SELECT ON SEQUENCES TO product_change_app;

-- Down Migration
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change REVOKE ALL ON TABLES FROM product_change_app, product_change_readonly, product_change_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA product_change REVOKE ALL ON SEQUENCES FROM product_change_app;
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM product_change_app, product_change_readonly, product_change_admin', current_database());
END $$;
