-- Kong source: kong/plugins/acl/migrations/004_212_to_213.lua (postgres.teardown), using
--   ws_adjust_data from kong/db/migrations/operations/212_to_213.lua, which re-runs
--   ws_update_composite_cache_key of operations/200_to_210.lua ("these migrations were fixed
--   since they were originally released, thus those that have updated already, need to re-run it").
-- Lua: one connector:query() with the SQL below, verbatim: append ':<default workspace id>' to
-- every acls.cache_key that ends in ':'. Already set-based; rows written by Kong >= 2.1 end with
-- the workspace id, so nothing matches on 2.8-era data.
UPDATE "acls"
SET cache_key = CONCAT(cache_key, ':',
                       (SELECT id FROM workspaces WHERE name = 'default'))
WHERE cache_key LIKE '%:';
