-- Kong source: kong/db/migrations/core/012_213_to_220.lua (postgres.teardown)
-- Lua: one connector:query() with the SQL below, copied verbatim: removes repeated targets,
-- keeping per (upstream_id, target) only the row(s) with the greatest created_at. Rows with a
-- NULL created_at are never deleted. Already set-based.
DELETE FROM targets t1
      USING targets t2
      WHERE t1.created_at < t2.created_at
        AND t1.upstream_id = t2.upstream_id
        AND t1.target = t2.target;
