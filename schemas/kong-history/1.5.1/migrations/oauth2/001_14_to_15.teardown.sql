-- Kong source: kong/plugins/oauth2/migrations/001_14_to_15.lua @ 1.5.1 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- DDL: drops oauth2_credentials.redirect_uri (replaced by redirect_uris TEXT[] in the up step).
DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "oauth2_credentials" DROP "redirect_uri";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;
