-- Kong source: kong/db/migrations/core/005_120_to_130.lua (postgres.teardown) at this tag.
-- Lua: `assert(connector:connect_migrations())`, then iterates `SELECT * FROM "upstreams";`;
-- skips rows whose algorithm is a non-empty string; for every other row (algorithm NULL or '')
-- it runs
--   UPDATE "upstreams" SET "algorithm" = '<alg>' WHERE "id" = '<id>';
-- with <alg> = 'round-robin' when hash_on = 'none', else 'consistent-hashing' (also when
-- hash_on is NULL). One autocommitted UPDATE per row. (2.8.5's version of this teardown only
-- selects id, algorithm, hash_on; the effect is the same.)
-- Set-based translation, identical to schemas/kong-2.8.5/migrations/core/005_120_to_130.teardown.sql
-- (same result on empty and populated tables). At bootstrap the table is empty: no-op.
UPDATE "upstreams"
   SET "algorithm" = CASE WHEN "hash_on" = 'none' THEN 'round-robin'
                          ELSE 'consistent-hashing' END
 WHERE "algorithm" IS NULL OR "algorithm" = '';
