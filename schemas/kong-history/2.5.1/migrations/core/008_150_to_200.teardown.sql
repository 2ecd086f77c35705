-- Kong source: kong/db/migrations/core/008_150_to_200.lua (postgres.teardown)
-- Lua: one connector:query() with the SQL below, copied verbatim. Kong sends it as a single
-- simple-Query message, so PostgreSQL runs both DO blocks in one implicit transaction.
-- This teardown does DDL: it drops the column plugins.run_on (and with it the index
-- plugins_run_on_idx created by core/000_base) and drops the table cluster_ca.
DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "plugins" DROP COLUMN "run_on";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END;
$$;


DO $$
BEGIN
  DROP TABLE IF EXISTS "cluster_ca";
END;
$$;
