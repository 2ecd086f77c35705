//! Reads what the state judge needs from a live database, in one read-only,
//! repeatable-read transaction: nothing is written, and everything comes from one snapshot.

use super::schema_meta::{self, Row};
use crate::error::{Error, Result};
use crate::pg::catalog::{self, Catalog};
use crate::pg::conn::ConnSpec;

pub struct Inspection {
    pub schema: String,
    /// None: no `schema_meta` table in that schema.
    pub rows: Option<Vec<Row>>,
    pub catalog: Catalog,
    pub server_version: String,
    /// `plugins` rows per plugin name (None: no `plugins` table in the schema).
    pub plugins_in_use: Option<Vec<(String, i64)>>,
}

pub async fn inspect(db: &ConnSpec, schema: Option<&str>) -> Result<Inspection> {
    let mut client = db.connect().await?;
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let inspection = inspect_in(&tx, schema).await?;
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only transaction", e))?;
    Ok(inspection)
}

/// [`inspect`] inside the caller's read-only snapshot, so that the caller's further reads (the
/// runtime hazards of `status`) see the same state.
pub async fn inspect_in(
    tx: &tokio_postgres::Transaction<'_>,
    schema: Option<&str>,
) -> Result<Inspection> {
    // Kong uses pg_schema, else CURRENT_SCHEMA, else public.
    let schema = crate::pg::schema_or_current(tx, schema).await?;
    let server_version: String = tx
        .query_one(crate::pg::sql::session::SERVER_VERSION, &[])
        .await
        .map_err(|e| Error::db("cannot read the server version", e))?
        .get(0);
    let has_meta: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = 'schema_meta' AND c.relkind IN ('r', 'p'))",
            &[&schema],
        )
        .await
        .map_err(|e| Error::db("cannot look for schema_meta", e))?
        .get(0);
    let rows = if has_meta {
        Some(schema_meta::read_in(tx, &schema).await?)
    } else {
        None
    };
    let catalog = catalog::read(tx, &schema).await?;
    let plugins_in_use = if catalog.has_table("plugins") {
        let q = format!(
            "SELECT name, count(*) FROM {}.plugins GROUP BY name ORDER BY name",
            crate::pg::quote_ident(&schema)
        );
        Some(
            tx.query(&q, &[])
                .await
                .map_err(|e| Error::db("cannot count the plugins in use", e))?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    } else {
        None
    };
    Ok(Inspection {
        schema,
        rows,
        catalog,
        server_version,
        plugins_in_use,
    })
}
