-- Kong source: kong/plugins/acl/migrations/003_200_to_210.lua (postgres.teardown), using
--   ws_adjust_data and fixup_plugin_config from kong/db/migrations/operations/200_to_210.lua.
-- What the Lua does, in order (each step its own connector:query(), autocommitted):
--   1. ws_update_composite_cache_key("acls") (acls has the composite cache_key consumer+group):
--      append ':<default workspace id>' to every acls.cache_key ending in ':'. Verbatim.
--   2. ws_update_keys("acls"): DDL `ALTER "ws_id" SET DEFAULT NULL` (removes the default the
--      up step used to backfill ws_id). Verbatim.
--   3. fixup_plugin_config(connector, "acl", fn) (operations/200_to_210.lua): iterates
--      `SELECT id, name, config FROM plugins` (all workspaces); for every row with name = 'acl' it
--      decodes config (JSON) and runs
--          config.allow = config.whitelist; config.whitelist = nil
--          config.deny  = config.blacklist; config.blacklist = nil
--          return true
--      and, because the function always returns true, rewrites EVERY such row with
--      `UPDATE plugins SET config = '<re-encoded json>'::jsonb WHERE id = '<id>'`.
--      In Lua, assigning nil removes a key. So:
--        * key whitelist present (even JSON null) -> allow := that value, whitelist removed;
--        * key whitelist absent                     -> allow is REMOVED;
--      and the same for blacklist -> deny.
-- Set-based translation: the single UPDATE below does exactly that for every 'acl' row.
-- WARNING: Kong 2.1+ stores these plugins' lists under allow/deny (whitelist/blacklist are
--    only input shorthands, never persisted), so on a database populated by Kong >= 2.1 this
--    teardown -- in Kong and here alike -- DELETES config.allow and config.deny of every
--    'acl' plugin. Kong only ever runs it once, while upgrading from 2.0 or at bootstrap
--    (when the plugins table is empty). Never re-run it on real 2.8 data.
-- Not reproduced: Kong's Lua round trip (pgmoon -> cjson.decode -> cjson.encode) also
--    re-encodes the whole config, which turns every empty JSON array [] into {} and prints
--    numbers with 14 significant digits. jsonb key order is irrelevant.

-- Each statement below is sent by Kong as a separate connector:query() call,
-- i.e. each one commits on its own (no wrapping transaction).

UPDATE "acls"
SET cache_key = CONCAT(cache_key, ':',
                       (SELECT id FROM workspaces WHERE name = 'default'))
WHERE cache_key LIKE '%:';

ALTER TABLE IF EXISTS ONLY "acls" ALTER "ws_id" SET DEFAULT NULL;

UPDATE plugins
   SET config = (config - 'whitelist'::text - 'blacklist'::text - 'allow'::text - 'deny'::text)
             || CASE WHEN config ? 'whitelist' THEN jsonb_build_object('allow', config -> 'whitelist') ELSE '{}'::jsonb END
             || CASE WHEN config ? 'blacklist' THEN jsonb_build_object('deny',  config -> 'blacklist') ELSE '{}'::jsonb END
 WHERE name = 'acl';
