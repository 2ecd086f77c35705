//! Facts about a database's contents that do not depend on Kong: whether every foreign key
//! holds, and a content checksum per table.

use tokio_postgres::{Client, GenericClient};

use super::sql::fingerprint as sql;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkViolation {
    pub constraint: String,
    pub child: String,
    pub orphan_rows: i64,
    pub not_valid: bool,
}

/// Checks every foreign key of the current schema row by row (a constraint can be present
/// but NOT VALID, or data can have been loaded with triggers disabled).
pub async fn foreign_key_violations(client: &Client) -> Result<Vec<FkViolation>> {
    let fks = client
        .query(sql::FOREIGN_KEYS, &[])
        .await
        .map_err(|e| Error::db("cannot list foreign keys", e))?;
    let mut out = Vec::new();
    for fk in fks {
        let (name, child, ccols, parent, pcols, valid): (
            String,
            String,
            String,
            String,
            String,
            bool,
        ) = (
            fk.get(0),
            fk.get(1),
            fk.get(2),
            fk.get(3),
            fk.get(4),
            fk.get(5),
        );
        let not_null = ccols
            .split(", ")
            .map(|c| format!("{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let q = sql::orphans(&child, &not_null, &parent, &pcols, &ccols);
        let n: i64 = client
            .query_one(&q, &[])
            .await
            .map_err(|e| Error::db(format!("cannot check foreign key {name}"), e))?
            .get(0);
        if n > 0 || !valid {
            out.push(FkViolation {
                constraint: name,
                child,
                orphan_rows: n,
                not_valid: !valid,
            });
        }
    }
    Ok(out)
}

/// Base tables of the current schema, by name.
pub async fn tables(client: &impl GenericClient) -> Result<Vec<String>> {
    Ok(client
        .query(sql::TABLES, &[])
        .await
        .map_err(|e| Error::db("cannot list tables", e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFingerprint {
    pub table: String,
    pub rows: i64,
    /// md5 over the rows' text form, sorted, so physical order does not matter.
    pub checksum: String,
}

pub async fn fingerprint(client: &impl GenericClient, table: &str) -> Result<TableFingerprint> {
    let (rows, checksum) = checksum(client, table, "t.*", "t").await?;
    Ok(TableFingerprint {
        table: table.to_string(),
        rows,
        checksum,
    })
}

pub async fn fingerprints(client: &impl GenericClient) -> Result<Vec<TableFingerprint>> {
    let mut out = Vec::new();
    for t in tables(client).await? {
        out.push(fingerprint(client, &t).await?);
    }
    Ok(out)
}

/// `count(*)` and an md5 over the rows' text form (sorted, so physical order is irrelevant),
/// for `select_list` over `table` with an optional WHERE (or alias + WHERE) clause.
pub async fn checksum(
    c: &impl GenericClient,
    table: &str,
    select_list: &str,
    filter: &str,
) -> Result<(i64, String)> {
    let q = sql::checksum(&crate::pg::quote_ident(table), select_list, filter);
    let row = c
        .query_one(&q, &[])
        .await
        .map_err(|e| Error::db(format!("cannot checksum table {table}"), e))?;
    Ok((row.get(0), row.get(1)))
}

/// [`checksum`] of `schema.table`, whatever the search_path.
pub async fn checksum_in(
    c: &impl GenericClient,
    schema: &str,
    table: &str,
    select_list: &str,
    filter: &str,
) -> Result<(i64, String)> {
    let q = sql::checksum(
        &format!(
            "{}.{}",
            crate::pg::quote_ident(schema),
            crate::pg::quote_ident(table)
        ),
        select_list,
        filter,
    );
    let row = c
        .query_one(&q, &[])
        .await
        .map_err(|e| Error::db(format!("cannot checksum table {schema}.{table}"), e))?;
    Ok((row.get(0), row.get(1)))
}

/// Constraints of the current schema left NOT VALID (a restore that skipped validation,
/// or an `ADD CONSTRAINT ... NOT VALID` never validated).
pub async fn not_valid_constraints(client: &impl GenericClient) -> Result<Vec<(String, String)>> {
    Ok(client
        .query(sql::NOT_VALID_CONSTRAINTS, &[])
        .await
        .map_err(|e| Error::db("cannot list constraints", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
