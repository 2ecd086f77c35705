-- Kong source: kong/plugins/response-ratelimiting/migrations/002_15_to_10.lua @ 1.5.1 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- DDL: replaces the primary key of response_ratelimiting_metrics (which included api_id) by
-- (identifier, period, period_date, service_id, route_id) and drops the api_id column.
-- At this tag each step is wrapped in its own DO block that ignores UNDEFINED_COLUMN.
DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "response_ratelimiting_metrics"
   DROP CONSTRAINT IF EXISTS "response_ratelimiting_metrics_pkey" CASCADE;
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;

DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "response_ratelimiting_metrics"
             ADD PRIMARY KEY ("identifier", "period", "period_date", "service_id", "route_id");
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;

DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "response_ratelimiting_metrics" DROP "api_id";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;
