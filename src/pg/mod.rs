//! Everything that talks to PostgreSQL and knows nothing about Kong: where a database is and
//! how to reach it (`conn`), PostgreSQL's own client programs (`programs`: the only place
//! that spawns pg_dump, pg_restore and psql), one-snapshot catalog introspection and diff
//! (`catalog`), table fingerprints (`fingerprint`), plain-SQL dumps restored as SQL only
//! (`plain_sql`, never through psql) and the tool's own SQL (`sql`).

pub mod catalog;
pub mod conn;
pub mod fingerprint;
pub mod plain_sql;
pub mod programs;
pub mod sql;
pub mod version;

/// A PostgreSQL identifier, double-quoted so any schema or table name is taken literally.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
