//! Facts about a database's contents that do not depend on Kong: whether every foreign key
//! holds, and a content checksum per table.

use tokio_postgres::{Client, GenericClient};

use crate::error::{Error, Result};

/// Each foreign key with the child columns, parent table and parent columns, quoted.
const FOREIGN_KEYS: &str = "
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
        .query(FOREIGN_KEYS, &[])
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
        let sql = format!(
            "SELECT count(*) FROM {child} c WHERE {not_null} AND NOT EXISTS \
             (SELECT 1 FROM {parent} p WHERE ({pcols}) = ({ccols}))"
        );
        let n: i64 = client
            .query_one(&sql, &[])
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
        .query(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
              ORDER BY 1",
            &[],
        )
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
    let q = format!(
        "SELECT count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE \"C\")), '')
           FROM (SELECT {select_list} FROM {} {filter}) r",
        crate::pg::quote_ident(table)
    );
    let row = c
        .query_one(&q, &[])
        .await
        .map_err(|e| Error::db(format!("cannot checksum table {table}"), e))?;
    Ok((row.get(0), row.get(1)))
}

/// Constraints of the current schema left NOT VALID (a restore that skipped validation,
/// or an `ADD CONSTRAINT ... NOT VALID` never validated).
pub async fn not_valid_constraints(client: &impl GenericClient) -> Result<Vec<(String, String)>> {
    Ok(client
        .query(
            "SELECT c.relname::text, k.conname::text FROM pg_constraint k
               JOIN pg_class c ON c.oid = k.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND NOT k.convalidated
              ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot list constraints", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
