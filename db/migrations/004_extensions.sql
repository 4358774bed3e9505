-- Up Migration
-- pg_stat_statements feeds the slow-query report and the health check's statement times.
-- On Azure it must be allow-listed (azure.extensions) and preloaded; where it is not
-- available the migration goes on and install-verification reports it.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
  ELSE
    RAISE NOTICE 'pg_stat_statements is not available on this server';
  END IF;
EXCEPTION WHEN insufficient_privilege OR feature_not_supported THEN
  RAISE NOTICE 'pg_stat_statements could not be created: %', SQLERRM;
END $$;

-- Down Migration
DROP EXTENSION IF EXISTS pg_stat_statements;
