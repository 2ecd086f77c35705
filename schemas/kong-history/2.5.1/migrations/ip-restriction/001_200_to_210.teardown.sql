-- Kong source: kong/plugins/ip-restriction/migrations/001_200_to_210.lua (postgres.teardown), using
--   fixup_plugin_config from kong/db/migrations/operations/200_to_210.lua. The up step is empty.
-- Lua:
--   fixup_plugin_config(connector, "ip-restriction", fn) (operations/200_to_210.lua): iterates
--   `SELECT id, name, config FROM plugins` (all workspaces); for every row with name = 'ip-restriction' it
--   decodes config (JSON) and runs
--       config.allow = config.whitelist; config.whitelist = nil
--       config.deny  = config.blacklist; config.blacklist = nil
--       return true
--   and, because the function always returns true, rewrites EVERY such row with
--   `UPDATE plugins SET config = '<re-encoded json>'::jsonb WHERE id = '<id>'`.
--   In Lua, assigning nil removes a key. So:
--     * key whitelist present (even JSON null) -> allow := that value, whitelist removed;
--     * key whitelist absent                     -> allow is REMOVED;
--   and the same for blacklist -> deny.
-- Set-based translation: the single UPDATE below does exactly that for every 'ip-restriction' row.
-- WARNING: Kong 2.1+ stores these plugins' lists under allow/deny (whitelist/blacklist are
-- only input shorthands, never persisted), so on a database populated by Kong >= 2.1 this
-- teardown -- in Kong and here alike -- DELETES config.allow and config.deny of every
-- 'ip-restriction' plugin. Kong only ever runs it once, while upgrading from 2.0 or at bootstrap
-- (when the plugins table is empty). Never re-run it on real 2.8 data.
-- Not reproduced: Kong's Lua round trip (pgmoon -> cjson.decode -> cjson.encode) also
-- re-encodes the whole config, which turns every empty JSON array [] into {} and prints
-- numbers with 14 significant digits. jsonb key order is irrelevant.

UPDATE plugins
   SET config = (config - 'whitelist'::text - 'blacklist'::text - 'allow'::text - 'deny'::text)
             || CASE WHEN config ? 'whitelist' THEN jsonb_build_object('allow', config -> 'whitelist') ELSE '{}'::jsonb END
             || CASE WHEN config ? 'blacklist' THEN jsonb_build_object('deny',  config -> 'blacklist') ELSE '{}'::jsonb END
 WHERE name = 'ip-restriction';
