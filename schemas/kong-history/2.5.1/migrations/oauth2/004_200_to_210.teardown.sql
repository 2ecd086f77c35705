-- Kong source: kong/plugins/oauth2/migrations/004_200_to_210.lua (postgres.teardown), using
--   ws_adjust_data from kong/db/migrations/operations/200_to_210.lua.
-- Lua: for the entities oauth2_credentials, oauth2_authorization_codes, oauth2_tokens (none has
-- a composite cache_key, so no cache_key update) -> ws_update_keys: one connector:query() each
-- with the DDL below, verbatim. It removes the DEFAULT <default workspace id> that the up step put
-- on ws_id to backfill existing rows.
-- Each statement below is sent by Kong as a separate connector:query() call,
-- i.e. each one commits on its own (no wrapping transaction).

ALTER TABLE IF EXISTS ONLY "oauth2_credentials" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "oauth2_tokens" ALTER "ws_id" SET DEFAULT NULL;
