-- Kong source: kong/db/migrations/core/002_15_to_1.lua @ 1.0.3 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- Deletes the plugin rows of the removed "galileo" plugin (none on an empty database).
DELETE FROM plugins WHERE name = 'galileo';
