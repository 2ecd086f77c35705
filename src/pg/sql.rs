//! The tool's own SQL: every statement kong-rehearse sends that is not Kong's (Kong's
//! migration SQL is data under `schemas/`, its bookkeeping in `kong::schema_meta`). One
//! section per concern; a query that depends on a name takes it already quoted.

/// Catalog introspection (`pg::catalog`): one query per object kind, for the schema in `$1`.
pub mod catalog {
    // Objects that belong to an extension are left out everywhere: they are the extension's
    // schema, not the application's.
    pub const NOT_EXTENSION_OWNED: &str = "NOT EXISTS (SELECT 1 FROM pg_depend d
            WHERE d.objid = c.oid AND d.deptype = 'e')";

    pub fn q_tables() -> String {
        format!(
            "SELECT c.relname::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND {NOT_EXTENSION_OWNED}"
        )
    }

    pub const Q_COLUMNS: &str =
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
           pg_get_expr(ad.adbin, ad.adrelid), a.attnotnull
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum";

    pub const Q_CONSTRAINTS: &str =
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1";

    pub const Q_INDEXES: &str = "SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid)
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1";

    pub const Q_TRIGGERS: &str = "SELECT c.relname::text, g.tgname::text, pg_get_triggerdef(g.oid)
      FROM pg_trigger g
      JOIN pg_class c ON c.oid = g.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND NOT g.tgisinternal";

    pub const Q_FUNCTIONS: &str =
        "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           md5(CASE WHEN p.prokind IN ('f', 'p', 'w')
                    -- the header names the schema: spelled as public, so one function
                    -- compares equal wherever it lives (a Kong pg_schema other than public)
                    THEN replace(replace(pg_get_functiondef(p.oid),
                           'FUNCTION ' || quote_ident(n.nspname) || '.', 'FUNCTION public.'),
                           'PROCEDURE ' || quote_ident(n.nspname) || '.', 'PROCEDURE public.')
                    ELSE p.prosrc END)
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = $1 AND p.prokind <> 'a'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')";

    pub fn q_relkind(kind: char) -> String {
        format!(
            "SELECT c.relname::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind = '{kind}' AND {NOT_EXTENSION_OWNED}"
        )
    }

    pub const Q_EXTENSIONS: &str =
        "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'";

    /// Grants that differ from PostgreSQL's defaults, for the schema itself, its tables,
    /// views, sequences, columns and functions, and the default privileges set in it: one row
    /// per (object, grantee) with `+PRIV` for a grant beyond the default, `-PRIV` for a
    /// default revoked, `*` for WITH GRANT OPTION. The grantor is left out, and the owner is
    /// spelled `(owner)`, because a restore with `--no-owner` changes both; the schema is left
    /// out of every name, as elsewhere in the catalog.
    pub const Q_GRANTS: &str = "
    WITH obj AS (
      SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' WHEN c.relkind IN ('v', 'm') THEN 'VIEW '
                  ELSE 'TABLE ' END || c.relname AS object,
             c.relname::text AS rel, c.relacl AS acl,
             acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner) AS dflt,
             c.relowner AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relacl IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e')
      UNION ALL
      SELECT 'COLUMN ' || c.relname || '.' || a.attname, c.relname::text, a.attacl,
             '{}'::aclitem[], c.relowner
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND a.attacl IS NOT NULL AND NOT a.attisdropped AND a.attnum > 0
      UNION ALL
      SELECT 'FUNCTION ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
             NULL, p.proacl, acldefault('f'::\"char\", p.proowner), p.proowner
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proacl IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                            AND d.objid = p.oid AND d.deptype = 'e')
      UNION ALL
      SELECT 'SCHEMA', NULL, n.nspacl, acldefault('n'::\"char\", n.nspowner), n.nspowner
        FROM pg_namespace n WHERE n.nspname = $1 AND n.nspacl IS NOT NULL
      UNION ALL
      SELECT 'DEFAULT PRIVILEGES FOR ROLE ' || quote_ident(pg_get_userbyid(d.defaclrole)) || ' ON '
               || CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                  WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END,
             NULL, d.defaclacl, '{}'::aclitem[], 0::oid
        FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
       WHERE n.nspname = $1
    ), items AS (
      SELECT o.object, o.rel, o.owner, x.grantee,
             '+' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS p
        FROM obj o, LATERAL (
             SELECT e.grantee, e.privilege_type, e.is_grantable FROM aclexplode(o.acl) e
             EXCEPT
             SELECT e.grantee, e.privilege_type, e.is_grantable
               FROM aclexplode(nullif(o.dflt, '{}')) e) x
      UNION ALL
      SELECT o.object, o.rel, o.owner, x.grantee,
             '-' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END
        FROM obj o, LATERAL (
             SELECT e.grantee, e.privilege_type, e.is_grantable
               FROM aclexplode(nullif(o.dflt, '{}')) e
             EXCEPT
             SELECT e.grantee, e.privilege_type, e.is_grantable FROM aclexplode(o.acl) e) x
    )
    SELECT object || ' to ' || CASE WHEN grantee = 0 THEN 'PUBLIC'
                                    WHEN grantee = owner THEN '(owner)'
                                    ELSE quote_ident(pg_get_userbyid(grantee)) END,
           rel, string_agg(p, ' ' ORDER BY p)
      FROM items GROUP BY object, rel, grantee, owner";

    /// Table → owner, for the tables of the schema in `$1`.
    pub const Q_TABLE_OWNERS: &str = "SELECT c.relname::text, pg_get_userbyid(c.relowner)::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')";

    /// Every role name of the cluster, to tell which grantees a restore must create first.
    pub const Q_ROLES: &str = "SELECT rolname::text FROM pg_roles";

    /// A role for a grantee of the source, in a throwaway server the tool started: it only
    /// has to exist for the restored grants to name it.
    pub fn create_role(quoted: &str) -> String {
        format!("CREATE ROLE {quoted} NOLOGIN")
    }
}

/// Table fingerprints and integrity (`pg::fingerprint`).
pub mod fingerprint {
    /// Each foreign key with the child columns, parent table and parent columns, quoted.
    pub const FOREIGN_KEYS: &str = "
    SELECT c.conname,
           format('%I.%I', cn.nspname, cl.relname) AS child,
           (SELECT string_agg(format('c.%I', a.attname), ', ' ORDER BY k.ord)
              FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS child_cols,
           format('%I.%I', pn.nspname, pl.relname) AS parent,
           (SELECT string_agg(format('p.%I', a.attname), ', ' ORDER BY k.ord)
              FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS parent_cols,
           c.convalidated
      FROM pg_constraint c
      JOIN pg_class cl ON cl.oid = c.conrelid
      JOIN pg_namespace cn ON cn.oid = cl.relnamespace
      JOIN pg_class pl ON pl.oid = c.confrelid
      JOIN pg_namespace pn ON pn.oid = pl.relnamespace
     WHERE c.contype = 'f' AND cn.nspname = current_schema()
     ORDER BY 1";

    /// Base tables of the current schema, by name.
    pub const TABLES: &str = "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
          ORDER BY 1";

    /// Constraints of the current schema left NOT VALID.
    pub const NOT_VALID_CONSTRAINTS: &str =
        "SELECT c.relname::text, k.conname::text FROM pg_constraint k
           JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND NOT k.convalidated
          ORDER BY 1, 2";

    /// Output settings pinned on every connection that fingerprints: a row's text form must
    /// not depend on the server's, the database's or the role's defaults.
    pub const PIN_OUTPUT: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; \
         SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'";

    /// A fingerprint worker's transaction: one snapshot, nothing written. The snapshot to
    /// share follows with [`set_snapshot`], as the transaction's first statement.
    pub const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

    /// Adopts a snapshot exported by another session (`pg_export_snapshot()`).
    pub fn set_snapshot(id: &str) -> String {
        format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', "''"))
    }

    /// A snapshot of the current transaction that other sessions can adopt.
    pub const EXPORT_SNAPSHOT: &str = "SELECT pg_export_snapshot()";

    /// The current database's default collation, as a JSON object (its columns differ
    /// between PostgreSQL versions: `datlocprovider` exists from 15 on).
    pub const DEFAULT_COLLATION: &str = "SELECT (to_jsonb(d) - 'datacl')::text \
         FROM pg_database d WHERE d.datname = current_database()";

    /// Per base table of schema `$1`: its size in pages (big tables are scheduled first),
    /// and its primary key's columns in key order, each with its collation's name ('' when
    /// the type is not collatable).
    pub const TABLE_KEYS: &str = "
    SELECT c.relname::text, c.relpages::bigint,
           coalesce(array_agg(a.attname::text ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL), '{}'),
           coalesce(array_agg(coalesce(co.collname::text, '') ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL), '{}')
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      LEFT JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) ON true
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
     GROUP BY c.relname, c.relpages";

    /// The rows of one table streamed in a total order, as COPY text: `select` and `order`
    /// are built from quoted names, `from` is the quoted, qualified table with alias `t`
    /// and its optional WHERE clause.
    pub fn copy_ordered(select: &str, from: &str, order: &str) -> String {
        format!("COPY (SELECT {select} FROM {from} ORDER BY {order}) TO STDOUT")
    }

    /// A row written since the horizon `$1` (a 32-bit transaction id): its `xmin` does not
    /// precede it, in transaction-id arithmetic (modulo 2^32). `age()` does that arithmetic
    /// against one reference per transaction, and gives the special frozen/bootstrap ids
    /// (older than any) its maximum; it is about twice as fast per row as casting `xmin`
    /// through text.
    const WRITTEN: &str = "age(t.xmin) <= (SELECT age($1::bigint::text::xid))";

    /// Base tables of schema `$1` with a column whose type is not built in (an enum, a
    /// domain, a composite): its text can change without any row being written.
    pub const OPAQUE_TYPED_TABLES: &str = "
    SELECT DISTINCT c.relname::text
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type ty ON ty.oid = a.atttypid
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND ty.typnamespace <> 'pg_catalog'::regnamespace";

    /// The current snapshot's `xmin` horizon as rows carry it (32 bits).
    pub const XID_HORIZON: &str = "SELECT txid_snapshot_xmin(txid_current_snapshot()) % 4294967296";

    /// Row count; `from` as in [`copy_ordered`].
    pub fn count(from: &str) -> String {
        format!("SELECT count(*) FROM {from}")
    }

    /// Lifts the server's idle-in-transaction timeout for this session, on servers that
    /// have one (9.6 on).
    pub const NO_IDLE_TIMEOUT: &str =
        "SELECT set_config('idle_in_transaction_session_timeout', '0', false) \
         FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'";

    /// Row count, and rows written since the horizon `$1`; `from` as in [`copy_ordered`].
    pub fn written_since(from: &str) -> String {
        format!("SELECT count(*), count(*) FILTER (WHERE {WRITTEN}) FROM {from}")
    }

    /// Keys (`key`: a text expression) of the first `$2` rows written since `$1`; `table`
    /// is quoted and qualified, `and` empty or ` AND (condition)` over `t`.
    pub fn written_keys(key: &str, table: &str, and: &str, order: &str) -> String {
        format!("SELECT {key} FROM {table} t WHERE {WRITTEN}{and} ORDER BY {order} LIMIT $2")
    }

    /// The same rows as [`copy_ordered`] from row `offset` on, at most `limit` of them: the
    /// window in which two fingerprints first differ, read again row by row.
    pub fn copy_window(select: &str, from: &str, order: &str, offset: u64, limit: u64) -> String {
        format!(
            "COPY (SELECT {select} FROM {from} ORDER BY {order} OFFSET {offset} LIMIT {limit}) TO STDOUT"
        )
    }

    /// Rows of `child` whose foreign key names no row of `parent`.
    pub fn orphans(child: &str, not_null: &str, parent: &str, pcols: &str, ccols: &str) -> String {
        format!(
            "SELECT count(*) FROM {child} c WHERE {not_null} AND NOT EXISTS \
             (SELECT 1 FROM {parent} p WHERE ({pcols}) = ({ccols}))"
        )
    }
}

/// Sessions, snapshots and databases.
pub mod session {
    /// The schema unqualified names resolve to, as Kong's connector finds it.
    pub const CURRENT_SCHEMA: &str = "SELECT coalesce(current_schema(), 'public')::text";
    pub const SERVER_VERSION: &str = "SELECT current_setting('server_version')";
    pub const SERVER_VERSION_NUM: &str = "SELECT current_setting('server_version_num')::int";
    /// A snapshot pg_dump can share, and the server's version in the same round trip.
    pub const EXPORT_SNAPSHOT: &str = "SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num')::int";
    pub const TERMINATE_OTHERS: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()";
    /// Sent on every connection the tool opens: the settings that change how values print as
    /// text, so checksums and manifests mean the same whatever the server, database or role
    /// defaults are (`ALTER DATABASE … SET timezone` included).
    pub const PIN_OUTPUT_SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; \
         SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'";
    /// `target_session_attrs`: is the session read-only, is the server a standby.
    pub const TRANSACTION_READ_ONLY: &str =
        "SELECT current_setting('transaction_read_only') = 'on'";
    pub const IN_RECOVERY: &str = "SELECT pg_is_in_recovery()";

    /// `name` unquoted; these quote it.
    pub fn create_database(name: &str) -> String {
        format!("CREATE DATABASE {}", crate::pg::quote_ident(name))
    }
    pub fn drop_database(name: &str, force: bool) -> String {
        format!(
            "DROP DATABASE IF EXISTS {}{}",
            crate::pg::quote_ident(name),
            if force { " WITH (FORCE)" } else { "" }
        )
    }
    /// Transaction-local, so a pooled or shared connection is left as it was.
    pub fn set_local_search_path(schema: &str) -> String {
        format!(
            "SET LOCAL search_path TO {}",
            crate::pg::quote_ident(schema)
        )
    }
    /// The rollback's `recreate`: the Kong schema dropped with everything in it, then empty.
    pub fn recreate_schema(schema: &str) -> String {
        format!(
            "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s};",
            s = crate::pg::quote_ident(schema)
        )
    }
    /// What PUBLIC had on the schema before it was dropped: `CREATE SCHEMA` starts from the
    /// owner-only default, and pg_dump does not write PUBLIC's built-in `USAGE` on `public`
    /// (PostgreSQL 15 on) because a fresh database already has it.
    pub fn grant_schema_to_public(schema: &str, privileges: &[&str]) -> String {
        format!(
            "GRANT {} ON SCHEMA {} TO PUBLIC;",
            privileges.join(", "),
            crate::pg::quote_ident(schema)
        )
    }
    pub fn set_search_path(schema: &str) -> String {
        format!("SET search_path TO {}", crate::pg::quote_ident(schema))
    }
}

/// The forecast (`rehearsal::forecast`): watching the migration's locks from a second
/// connection, the traffic 2.8 nodes send meanwhile, and the interrupted-copy comparison.
pub mod forecast {
    /// The migration connection's backend and the schema it migrates.
    pub const BACKEND: &str = "SELECT pg_backend_pid(), coalesce(current_schema(), 'public')::text";

    /// Ends the calling session as a lost socket would: an open transaction rolls back.
    pub const TERMINATE_SELF: &str = "SELECT pg_terminate_backend(pg_backend_pid())";

    /// Tables of schema `$1` (those a step can lock; a table created by an uncommitted
    /// transaction is invisible here, as it is to every other session).
    pub const TABLES: &str = "SELECT c.relname::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')";

    /// Granted table locks of backend `$1` on tables of schema `$2`.
    pub const LOCKS_OF_BACKEND: &str = "SELECT c.relname::text, l.mode
      FROM pg_locks l
      JOIN pg_class c ON c.oid = l.relation
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
       AND c.relkind IN ('r', 'p') AND n.nspname = $2";

    /// A string literal for the simple-query protocol (standard_conforming_strings is on
    /// since PostgreSQL 9.1, so only quotes need doubling).
    pub fn literal(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    /// One page of an entity table as a 2.8 node's DAO reads it when it rebuilds the
    /// router, the plugins iterator or the balancer (`table` unquoted).
    pub fn page(table: &str) -> String {
        format!(
            "SELECT * FROM {} ORDER BY \"id\" LIMIT 1000",
            crate::pg::quote_ident(table)
        )
    }

    /// 2.8's cluster_events poll (kong/cluster_events/strategies/postgres.lua), every
    /// `db_update_frequency` seconds on every node.
    pub const CLUSTER_EVENTS_POLL: &str = "SELECT \"id\", \"node_id\", \"channel\", \"data\",
           EXTRACT(EPOCH FROM \"at\"  AT TIME ZONE 'UTC') AS \"at\",
           EXTRACT(EPOCH FROM \"nbf\" AT TIME ZONE 'UTC') AS \"nbf\",
           EXTRACT(EPOCH FROM CURRENT_TIMESTAMP(3) AT TIME ZONE 'UTC') AS \"now\"
      FROM \"cluster_events\"
     WHERE \"channel\" IN ('invalidations')
       AND \"at\" > CURRENT_TIMESTAMP(3) AT TIME ZONE 'UTC' - INTERVAL '5 seconds'
       AND \"at\" <= CURRENT_TIMESTAMP(3) AT TIME ZONE 'UTC'
  ORDER BY \"at\"
     LIMIT 1000";

    /// A key the key-auth lookup can ask for.
    pub const SOME_KEYAUTH_KEY: &str =
        "SELECT key FROM keyauth_credentials WHERE key IS NOT NULL LIMIT 1";

    /// key-auth's credential lookup on a cache miss (`key` already a literal).
    pub fn keyauth_lookup(key: &str) -> String {
        format!("SELECT * FROM \"keyauth_credentials\" WHERE \"key\" = {key} LIMIT 1")
    }

    /// rate-limiting's `policy = cluster` increment as 2.8 sends it, rolled back: it waits
    /// for the same locks as the real upsert but leaves the rehearsal's data untouched.
    pub const RATELIMITING_INCREMENT: &str = "BEGIN;
      INSERT INTO \"ratelimiting_metrics\" (\"identifier\", \"period\", \"period_date\", \"service_id\", \"route_id\", \"value\", \"ttl\")
           VALUES ('kong-rehearse-workload', 'second', date_trunc('second', CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
                   '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', 1,
                   CURRENT_TIMESTAMP AT TIME ZONE 'UTC' + INTERVAL '1 second')
      ON CONFLICT (\"identifier\", \"period\", \"period_date\", \"service_id\", \"route_id\") DO UPDATE
              SET \"value\" = \"ratelimiting_metrics\".\"value\" + EXCLUDED.\"value\";
      ROLLBACK;";

    /// What Kong's cluster_mutex does when the migration callback failed: it removes the
    /// `migrations` lock (on a new connection) before the command exits.
    pub const RELEASE_KONG_LOCK: &str = "DELETE FROM locks WHERE key = 'migrations'";

    /// Rows of `table` (quoted) as JSON over `select_list`, keyed by the text of `key`.
    pub fn rows_as_json(table: &str, select_list: &str, key: &str) -> String {
        format!(
            "SELECT ({key})::text, to_jsonb(r)::text FROM (SELECT {select_list} FROM {table}) r"
        )
    }

    /// Routes with a path prefixed twice (`~~`).
    pub const DOUBLE_TILDE_ROUTES: &str =
        "SELECT count(*) FROM routes WHERE EXISTS (SELECT 1 FROM unnest(paths) p WHERE p LIKE '~~%')";

    /// The recovery for route paths prefixed twice by a rerun of 016's up_f: one `~` off
    /// every path that starts with `~~` (2.8 paths all start with `/`, so no legitimate
    /// path does), keeping the order of the array.
    pub const FIX_DOUBLE_TILDE: &str = "UPDATE routes SET paths = ARRAY(
        SELECT CASE WHEN p LIKE '~~%' THEN substr(p, 2) ELSE p END
          FROM unnest(paths) WITH ORDINALITY AS u(p, n) ORDER BY n)
     WHERE EXISTS (SELECT 1 FROM unnest(paths) p WHERE p LIKE '~~%')";
}

/// The built-in runner's data steps (`kong::runner::builtin`) and the pre-flight reads of
/// routes and plugins (`preflight::data_hazards`): read in pages of primary-key order
/// (keyset: the next page starts after the last id seen), written back in batches of
/// `unnest`ed id/value arrays. Table names are unqualified (the connection's search_path)
/// unless a function takes the schema.
pub mod data_steps {
    /// How many rows of `routes` a data step goes through (its `row` units).
    pub const ROUTE_PATHS_COUNT: &str = "SELECT count(*) FROM routes WHERE paths IS NOT NULL";
    /// The first page of routes with paths; `$1` the page size.
    pub const ROUTE_PATHS_FIRST: &str =
        "SELECT id, paths FROM routes WHERE paths IS NOT NULL ORDER BY id LIMIT $1";
    /// The page after id `$1`; `$2` the page size.
    pub const ROUTE_PATHS_NEXT: &str =
        "SELECT id, paths FROM routes WHERE paths IS NOT NULL AND id > $1 ORDER BY id LIMIT $2";
    /// One route's paths, as Kong writes them (`$1` paths, `$2` id).
    pub const ROUTE_PATHS_ROW: &str = "UPDATE routes SET paths = $1 WHERE id = $2";
    /// A batch of routes' paths: `$1` ids, `$2` each route's paths as a JSON array of
    /// strings (a `text[][]` cannot hold arrays of different lengths), order kept.
    pub const ROUTE_PATHS_BATCH: &str = "UPDATE routes r SET paths = ARRAY(
        SELECT e FROM jsonb_array_elements_text(v.paths) WITH ORDINALITY AS t(e, n) ORDER BY n)
      FROM unnest($1::uuid[], $2::jsonb[]) AS v(id, paths)
     WHERE r.id = v.id";

    /// How many plugins named `$1` a data step goes through.
    pub const PLUGIN_CONFIGS_COUNT: &str = "SELECT count(*) FROM plugins WHERE name = $1";
    /// The first page of plugins named `$1`; `$2` the page size.
    pub const PLUGIN_CONFIGS_FIRST: &str =
        "SELECT id, config FROM plugins WHERE name = $1 ORDER BY id LIMIT $2";
    /// The page after id `$2`; `$3` the page size.
    pub const PLUGIN_CONFIGS_NEXT: &str =
        "SELECT id, config FROM plugins WHERE name = $1 AND id > $2 ORDER BY id LIMIT $3";
    /// One plugin's config, as Kong writes it (`$1` config, `$2` id).
    pub const PLUGIN_CONFIG_ROW: &str = "UPDATE plugins SET config = $1 WHERE id = $2";
    /// A batch of plugins' configs: `$1` ids, `$2` configs.
    pub const PLUGIN_CONFIGS_BATCH: &str = "UPDATE plugins p SET config = v.config
      FROM unnest($1::uuid[], $2::jsonb[]) AS v(id, config)
     WHERE p.id = v.id";

    /// Pages of `schema.routes` as the runtime-hazard check reads them.
    pub fn runtime_routes(schema: &str, first: bool) -> String {
        format!(
            "SELECT id, name, service_id::text, paths, path_handling, regex_priority,
                    hosts, methods, headers::text, snis FROM {}.routes{} ORDER BY id LIMIT {}",
            crate::pg::quote_ident(schema),
            if first { "" } else { " WHERE id > $1" },
            if first { "$1" } else { "$2" }
        )
    }

    /// Pages of `schema.plugins` as the runtime-hazard check reads them.
    pub fn runtime_plugins(schema: &str, first: bool) -> String {
        format!(
            "SELECT id, name, config, route_id::text, service_id::text, consumer_id::text
               FROM {}.plugins{} ORDER BY id LIMIT {}",
            crate::pg::quote_ident(schema),
            if first { "" } else { " WHERE id > $1" },
            if first { "$1" } else { "$2" }
        )
    }
}
