-- Kong source: kong/db/migrations/core/005_120_to_130.lua (postgres.teardown)
-- Lua: iterates `SELECT id, algorithm, hash_on FROM upstreams`; skips rows whose algorithm is a
-- non-empty string; for every other row (algorithm NULL or '') it runs
--   UPDATE "upstreams" SET "algorithm" = '<alg>' WHERE "id" = '<id>';
-- with <alg> = 'round-robin' when hash_on = 'none', else 'consistent-hashing' (also when
-- hash_on is NULL). One autocommitted UPDATE per row.
-- Set-based translation (same result on empty and populated tables). On any database written
-- by Kong >= 1.3 every upstream already has an algorithm, so this is a no-op there.
UPDATE "upstreams"
   SET "algorithm" = CASE WHEN "hash_on" = 'none' THEN 'round-robin'
                          ELSE 'consistent-hashing' END
 WHERE "algorithm" IS NULL OR "algorithm" = '';
