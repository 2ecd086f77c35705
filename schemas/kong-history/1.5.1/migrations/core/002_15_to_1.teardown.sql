-- Kong source: kong/db/migrations/core/002_15_to_1.lua @ 1.5.1 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- Deletes the plugin rows of the removed "galileo" plugin (none on an empty database).
-- At this tag the DELETE is wrapped in a DO block that ignores UNDEFINED_COLUMN/UNDEFINED_TABLE.
DO $$
BEGIN
  DELETE FROM plugins WHERE name = 'galileo';
EXCEPTION WHEN UNDEFINED_COLUMN OR UNDEFINED_TABLE THEN
  -- Do nothing, accept existing state
END$$;
