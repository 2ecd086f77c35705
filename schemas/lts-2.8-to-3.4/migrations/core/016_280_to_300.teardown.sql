-- Kong source: kong/db/migrations/core/016_280_to_300.lua @ 3.4.2 (postgres.teardown), which runs
--   connector:query(<query 1>) and then p_update_cache_key(connector) = connector:query(<query 2>).
-- Both strings are copied verbatim (each trimmed). They are TWO separate connector:query() calls,
-- each a single simple-Query message with no wrapping BEGIN/COMMIT, so each is its own implicit
-- transaction: query 1 (drop vaults_beta and the EE-only vaults table, with all their rows) is
-- committed even if query 2 fails (e.g. two targets rows of one (upstream_id, target) tie on the
-- newest created_at, so the UPDATE violates targets_cache_key_key and query 2 rolls back).
-- Query 2 keeps, per (upstream_id, target), only the row(s) with the greatest created_at (rows
-- with a NULL created_at are never deleted), then sets cache_key on every targets row.
-- The line "-- kong-rehearse: query boundary" separates the two queries; send each part as one query.
DROP TABLE IF EXISTS vaults_beta;
        DROP TABLE IF EXISTS vaults;
-- kong-rehearse: query boundary
DELETE FROM targets t1
          USING targets t2
          WHERE t1.created_at < t2.created_at
            AND t1.upstream_id = t2.upstream_id
            AND t1.target = t2.target;
    UPDATE targets SET cache_key = CONCAT('targets:', upstream_id, ':', target, '::::', ws_id);
