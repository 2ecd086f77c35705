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
           md5(CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) ELSE p.prosrc END)
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

    /// `count(*)` and an md5 over the rows' text form, sorted so physical order is
    /// irrelevant; `table` is already quoted (and qualified where needed).
    pub fn checksum(table: &str, select_list: &str, filter: &str) -> String {
        format!(
            "SELECT count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE \"C\")), '')
               FROM (SELECT {select_list} FROM {table} {filter}) r"
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
    pub fn set_search_path(schema: &str) -> String {
        format!("SET search_path TO {}", crate::pg::quote_ident(schema))
    }
}
