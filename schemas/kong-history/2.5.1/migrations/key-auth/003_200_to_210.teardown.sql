-- Kong source: kong/plugins/key-auth/migrations/003_200_to_210.lua (postgres.teardown), built by
--   operations.ws_migrate_plugin() of kong/db/migrations/operations/200_to_210.lua.
-- Lua: ws_adjust_data for the single entity "keyauth_credentials" (no composite cache_key, so no cache_key
-- update) -> ws_update_keys: one connector:query() with the DDL below, verbatim. It removes the
-- DEFAULT <default workspace id> that the up step put on ws_id to backfill existing rows.
ALTER TABLE IF EXISTS ONLY "keyauth_credentials" ALTER "ws_id" SET DEFAULT NULL;
