-- Kong source: kong/plugins/rate-limiting/migrations/002_15_to_10.lua @ 1.0.3 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- DDL: replaces the primary key of ratelimiting_metrics (which included api_id) by
-- (identifier, period, period_date, service_id, route_id) and drops the api_id column.
ALTER TABLE IF EXISTS ONLY "ratelimiting_metrics"
 DROP CONSTRAINT IF EXISTS "ratelimiting_metrics_pkey" CASCADE,
           ADD PRIMARY KEY ("identifier", "period", "period_date", "service_id", "route_id");


DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "ratelimiting_metrics" DROP "api_id";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;
