-- Kong source: kong/plugins/oauth2/migrations/002_15_to_10.lua @ 1.0.3 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- DDL: drops the api_id indexes and the api_id columns of oauth2_authorization_codes and
-- oauth2_tokens.
DROP INDEX IF EXISTS "oauth2_authorization_api_id_idx";
DROP INDEX IF EXISTS "oauth2_tokens_api_id_idx";


DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" DROP "api_id";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;


DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "oauth2_tokens" DROP "api_id";
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END$$;
