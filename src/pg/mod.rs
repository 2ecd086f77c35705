//! Everything that talks to PostgreSQL and knows nothing about Kong: where a database is and
//! how to reach it (`conn`), PostgreSQL's own client programs (`programs`: the only place
//! that spawns pg_dump, pg_restore and psql), one-snapshot catalog introspection and diff
//! (`catalog`), the roles a dump's grants name (`acl`), table fingerprints (`fingerprint`), plain-SQL dumps restored as SQL only
//! (`plain_sql`, never through psql) and the tool's own SQL (`sql`).

pub mod acl;
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

/// The schema named, else the one unqualified names resolve to (`current_schema()`, or
/// `public` when the search_path names none): how Kong's connector finds its schema.
pub async fn schema_or_current(
    c: &impl tokio_postgres::GenericClient,
    named: Option<&str>,
) -> crate::error::Result<String> {
    match named {
        Some(s) => Ok(s.to_string()),
        None => Ok(c
            .query_one(sql::session::CURRENT_SCHEMA, &[])
            .await
            .map_err(|e| crate::error::Error::db("cannot read the current schema", e))?
            .get(0)),
    }
}
