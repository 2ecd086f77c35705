-- Kong source: kong/db/strategies/postgres/connector.lua @ 2.8.5, _mt:schema_bootstrap and
-- _mt:setup_locks. `kong migrations bootstrap` runs these before the first migration.
-- Before them Kong also sends (schema name = pg_schema, or CURRENT_SCHEMA, or 'public'):
--   BEGIN;
--     DO $$ BEGIN
--       CREATE SCHEMA IF NOT EXISTS "<schema>" AUTHORIZATION CURRENT_USER;
--       GRANT ALL ON SCHEMA "<schema>" TO CURRENT_USER;
--     EXCEPTION WHEN insufficient_privilege THEN END; $$;
--     SET SCHEMA '<schema>';
--   COMMIT;
-- That part depends on the target schema and is left to the caller. The two queries below are
-- verbatim (the second one carries its own BEGIN/COMMIT).
CREATE TABLE IF NOT EXISTS schema_meta (
  key            TEXT,
  subsystem      TEXT,
  last_executed  TEXT,
  executed       TEXT[],
  pending        TEXT[],

  PRIMARY KEY (key, subsystem)
);

BEGIN;
  CREATE TABLE IF NOT EXISTS locks (
    key    TEXT PRIMARY KEY,
    owner  TEXT,
    ttl    TIMESTAMP WITH TIME ZONE
  );
  CREATE INDEX IF NOT EXISTS locks_ttl_idx ON locks (ttl);
COMMIT;
