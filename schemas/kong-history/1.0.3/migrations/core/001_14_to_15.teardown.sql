-- Kong source: kong/db/migrations/core/001_14_to_15.lua @ 1.0.3 (postgres.teardown)
-- Lua, in order:
--   1. row loop: iterates `SELECT * FROM "plugins";` and for every row runs
--        UPDATE "plugins" SET "cache_key" = '<key>' WHERE "id" = '<id>';
--      with <key> = "plugins:<name>:<route_id>:<service_id>:<consumer_id>:<api_id>" (NULL ids
--      as ''), one autocommitted query per row. On an EMPTY database (bootstrap) the loop
--      does nothing, so it has no SQL here.
--   2. one connector:query() with the DDL below, verbatim: drops the pre-1.0 (0.14)
--      migrations table if it is still there (it never exists after a fresh bootstrap).
DROP TABLE IF EXISTS "schema_migrations" CASCADE;
