//! Facts about a database's contents that do not depend on Kong: whether every foreign key
//! holds, and a content fingerprint per table. It never builds one value per table in SQL
//! and never holds a table in memory: rows stream out of `COPY … TO STDOUT` in primary-key
//! order and are hashed here, tables in parallel over several connections sharing one
//! snapshot. Nothing here knows Kong's tables.
//!
//! A fingerprint is the row count, a checksum, and a list of at most [`MAX_CHUNKS`] chunk
//! hashes with the keys of each chunk's first and last row, so that two fingerprints that
//! differ say where: the first differing chunk names the rows, not just the table.
//!
//! What makes two databases hash the same: rows in primary-key order, text keys compared
//! bytewise (`COLLATE "C"`) whatever the database's collation (a table without a primary
//! key is ordered by its rows' text); each row in COPY's text form under pinned output
//! settings ([`PIN_OUTPUT`](super::sql::fingerprint::PIN_OUTPUT): TimeZone, DateStyle,
//! IntervalStyle, extra_float_digits, bytea_output), so neither the session's settings nor
//! the physical order matter. Floating-point columns print differently before PostgreSQL 12;
//! Kong has none.
//!
//! The chunks form a binary hash tree over leaves of [`LEAF_ROWS`] rows: a chunk is a tree
//! node, its hash the leaf's xxh3-128, or `combine(left, right)` of its two halves (a lone
//! left half is its parent). Big tables get bigger chunks (a higher level of the same tree),
//! so memory stays flat at any size, and two fingerprints of different levels are compared
//! by folding the finer one up ([`first_difference`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::{pin_mut, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, GenericClient};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use super::conn::ConnSpec;
use super::quote_ident;
use super::sql::fingerprint as sql;
use crate::error::{Error, Result};

/// Rows per leaf of the chunk tree.
pub const LEAF_ROWS: u64 = 1024;
/// At most this many chunks per table; past it, neighbouring chunks are merged.
pub const MAX_CHUNKS: usize = 1024;
/// Checksums name their hash, so one taken by an older version (an md5 over another text
/// form) never compares equal, or unequal, by accident.
pub const CHECKSUM_PREFIX: &str = "xxh3-128:";
/// Longest key text kept for naming a row; longer keys are cut (they only name rows).
const MAX_KEY_TEXT: usize = 200;
/// Parallel fingerprint connections when the caller has no better number.
pub const DEFAULT_WORKERS: usize = 2;

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

// ---------------------------------------------------------------------------------------
// Fingerprints

/// A run of consecutive rows (in key order) and their hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub rows: u64,
    /// Key of the chunk's first and last row, as text.
    pub first: String,
    pub last: String,
    #[serde(with = "hex128")]
    pub hash: u128,
}

/// A table's rows, chunked in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunks {
    /// The key the rows are ordered by (primary-key columns; empty: the row text).
    pub key: Vec<String>,
    /// Rows of every chunk but the last.
    pub rows_per_chunk: u64,
    pub list: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFingerprint {
    pub table: String,
    pub rows: i64,
    /// `xxh3-128:` and the root of the chunk tree: equal exactly when the rows are.
    pub checksum: String,
    pub chunks: Chunks,
}

/// The primary key of a table, as the fingerprint orders by it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableKey {
    pub columns: Vec<String>,
    /// Per key column: compare with `COLLATE "C"` (a collatable column whose collation
    /// does not already sort bytewise).
    pub collate_c: Vec<bool>,
    /// Per key column: its type is collatable (text), so its order is bytewise.
    pub textual: Vec<bool>,
    /// Size in pages, to schedule big tables first.
    pub pages: i64,
}

/// What one fingerprint covers: `columns` of `schema.table` (hashed in this order), rows
/// restricted by `filter` (SQL after `FROM table t`, e.g. `WHERE t.x IS NOT NULL`).
#[derive(Debug, Clone)]
pub struct Scope {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub filter: String,
    pub key: TableKey,
}

/// A second fingerprint taken in the same pass over a table: `columns` of the rows where
/// `only_if` (an SQL condition over `t`) holds. It equals the fingerprint of a [`Scope`] of
/// the same table over `columns` with `WHERE only_if`, so one side can be read fused and
/// the other plainly.
#[derive(Debug, Clone)]
pub struct Also {
    pub columns: Vec<String>,
    pub only_if: Option<String>,
}

/// One pass over a table: its scope's fingerprint and the [`Also`]s taken with it.
#[derive(Debug, Clone)]
pub struct Scan {
    pub scope: Scope,
    pub also: Vec<Also>,
}

/// How a scan reads and splits its rows.
struct Plan {
    select: String,
    /// The select list's expressions, one per field.
    fields: Vec<String>,
    order: String,
    /// Leading fields the scope's own fingerprint hashes.
    hashed: usize,
    key_at: Vec<usize>,
    /// Per `Also`: the fields it hashes, and the field holding its condition.
    also: Vec<(Vec<usize>, Option<usize>)>,
    /// Fields to split each row into.
    need: usize,
}

impl Plan {
    fn select_field(&self, i: usize) -> &str {
        &self.fields[i]
    }
}

impl Scope {
    fn table_and_filter(&self) -> String {
        format!(
            "{}.{} t {}",
            quote_ident(&self.schema),
            quote_ident(&self.table),
            self.filter
        )
    }

    fn plan(&self) -> Plan {
        Scan {
            scope: self.clone(),
            also: vec![],
        }
        .plan()
    }
}

impl Scan {
    /// The select list (hashed columns, then key columns and `Also` columns that are not
    /// among them, then the `Also` conditions) and the ORDER BY.
    fn plan(&self) -> Plan {
        let s = &self.scope;
        let col = |c: &str| format!("t.{}", quote_ident(c));
        let mut fields: Vec<String> = s.columns.iter().map(|c| col(c)).collect();
        let hashed = fields.len();
        let at = |name: &str, fields: &mut Vec<String>| -> usize {
            let f = col(name);
            match fields.iter().position(|x| *x == f) {
                Some(i) => i,
                None => {
                    fields.push(f);
                    fields.len() - 1
                }
            }
        };
        let key_at: Vec<usize> = s.key.columns.iter().map(|k| at(k, &mut fields)).collect();
        let mut also = vec![];
        for a in &self.also {
            let idx: Vec<usize> = a.columns.iter().map(|c| at(c, &mut fields)).collect();
            let flag = a.only_if.as_ref().map(|cond| {
                fields.push(format!("({cond})"));
                fields.len() - 1
            });
            also.push((idx, flag));
        }
        let order = if s.key.columns.is_empty() {
            // No key: the projected rows' own text is a total order; equal text, equal rows.
            format!("ROW({})::text COLLATE \"C\"", fields[..hashed].join(", "))
        } else {
            s.key
                .columns
                .iter()
                .zip(&s.key.collate_c)
                .map(|(k, c)| format!("{}{}", col(k), if *c { " COLLATE \"C\"" } else { "" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let need = fields.len();
        let select = if fields.is_empty() {
            // A table without columns still has rows.
            "''".to_string()
        } else {
            fields.join(", ")
        };
        Plan {
            select,
            fields,
            order,
            hashed,
            key_at,
            also,
            need,
        }
    }
}

/// Primary keys (and sizes) of every base table of `schema`.
pub async fn table_keys(
    client: &impl GenericClient,
    schema: &str,
) -> Result<BTreeMap<String, TableKey>> {
    let default_is_c = default_collation_is_c(client).await?;
    let rows = client
        .query(sql::TABLE_KEYS, &[&schema])
        .await
        .map_err(|e| Error::db("cannot read the tables' primary keys", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let collations: Vec<String> = r.get(3);
            (
                r.get::<_, String>(0),
                TableKey {
                    columns: r.get(2),
                    collate_c: collations
                        .iter()
                        .map(|c| match c.as_str() {
                            "" | "C" | "POSIX" => false,
                            "default" => !default_is_c,
                            _ => true,
                        })
                        .collect(),
                    textual: collations.iter().map(|c| !c.is_empty()).collect(),
                    pages: r.get(1),
                },
            )
        })
        .collect())
}

/// Whether the database's default collation already sorts bytewise (libc C or POSIX), so
/// an index on a text key can give the order without a sort.
async fn default_collation_is_c(client: &impl GenericClient) -> Result<bool> {
    let text: String = client
        .query_one(sql::DEFAULT_COLLATION, &[])
        .await
        .map_err(|e| Error::db("cannot read the database's collation", e))?
        .get(0);
    let d: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Internal(format!("pg_database does not read as JSON: {e}")))?;
    let provider = d["datlocprovider"].as_str().unwrap_or("c");
    Ok(provider == "c" && matches!(d["datcollate"].as_str(), Some("C" | "POSIX")))
}

/// Streams `scope` through COPY on `client` and hashes it.
pub async fn fingerprint_scope(client: &Client, scope: &Scope) -> Result<TableFingerprint> {
    let scan = Scan {
        scope: scope.clone(),
        also: vec![],
    };
    Ok(fingerprint_scan(client, &scan).await?.0)
}

/// Streams `scan` through COPY on `client`: the scope's fingerprint and one per `Also`.
pub async fn fingerprint_scan(
    client: &Client,
    scan: &Scan,
) -> Result<(TableFingerprint, Vec<TableFingerprint>)> {
    let t0 = std::time::Instant::now();
    let scope = &scan.scope;
    let plan = scan.plan();
    let q = sql::copy_ordered(&plan.select, &scope.table_and_filter(), &plan.order);
    let fail = |e| Error::db(format!("cannot fingerprint table {}", scope.table), e);
    let stream = client.copy_out(q.as_str()).await.map_err(fail)?;
    pin_mut!(stream);
    let mut r = Reader::new(plan);
    while let Some(msg) = stream.next().await {
        r.feed(&msg.map_err(fail)?);
    }
    let (main, also) = r.finish(scope);
    tracing::debug!(
        table = %scope.table,
        rows = main.rows,
        ms = t0.elapsed().as_millis() as u64,
        "fingerprinted"
    );
    Ok((main, also))
}

/// Fingerprints of every base table of the current schema over all its columns, one after
/// the other on `client` (whose output settings this pins for the session).
pub async fn fingerprints(client: &impl GenericClient) -> Result<Vec<TableFingerprint>> {
    let schema = current_schema(client).await?;
    let scopes = whole_tables(client, &schema).await?;
    pin_output(client.client()).await?;
    let mut out = Vec::new();
    for t in tables(client).await? {
        let scope = scopes.get(&t).ok_or_else(|| Error::Database {
            context: format!("cannot fingerprint table {schema}.{t}"),
            detail: "the table is not in the catalog".into(),
        })?;
        out.push(fingerprint_scope(client.client(), scope).await?);
    }
    Ok(out)
}

/// One table of the current schema, as [`fingerprints`] has it.
pub async fn fingerprint(client: &impl GenericClient, table: &str) -> Result<TableFingerprint> {
    let schema = current_schema(client).await?;
    let scopes = whole_tables(client, &schema).await?;
    let scope = scopes.get(table).ok_or_else(|| Error::Database {
        context: format!("cannot fingerprint table {schema}.{table}"),
        detail: "no such table".into(),
    })?;
    pin_output(client.client()).await?;
    fingerprint_scope(client.client(), scope).await
}

/// Every base table of `schema` over all its columns, in column order, with its key: the
/// scope a snapshot manifest records.
pub async fn whole_tables(
    client: &impl GenericClient,
    schema: &str,
) -> Result<BTreeMap<String, Scope>> {
    let cat = super::catalog::read(client, schema).await?;
    let keys = table_keys(client, schema).await?;
    Ok(whole_table_scopes(&cat, &keys))
}

/// [`whole_tables`] from a catalog already read (in the same snapshot as `keys`).
pub fn whole_table_scopes(
    cat: &super::catalog::Catalog,
    keys: &BTreeMap<String, TableKey>,
) -> BTreeMap<String, Scope> {
    cat.tables
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                Scope {
                    schema: cat.schema.clone(),
                    table: name.clone(),
                    columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                    filter: String::new(),
                    key: keys.get(name).cloned().unwrap_or_default(),
                },
            )
        })
        .collect()
}

async fn current_schema(client: &impl GenericClient) -> Result<String> {
    Ok(client
        .query_one(super::sql::session::CURRENT_SCHEMA, &[])
        .await
        .map_err(|e| Error::db("cannot read the current schema", e))?
        .get(0))
}

/// Pins the output settings a row's text form depends on, for this session.
pub async fn pin_output(client: &Client) -> Result<()> {
    client
        .batch_execute(sql::PIN_OUTPUT)
        .await
        .map_err(|e| Error::db("cannot pin the session's output settings", e))
}

/// A snapshot of `tx` other connections can adopt (`tx` must stay open while they do).
pub async fn export_snapshot(tx: &impl GenericClient) -> Result<String> {
    Ok(tx
        .query_one(sql::EXPORT_SNAPSHOT, &[])
        .await
        .map_err(|e| {
            Error::db(
                "cannot export a snapshot for the fingerprint connections",
                e,
            )
        })?
        .get(0))
}

/// A snapshot kept open while the database changes: fingerprint connections adopt it by
/// `id` ([`run`]) for as long as this value lives, and read the rows as they were then.
///
/// Why it is safe to keep through an upgrade: the holding session reads nothing, so it holds
/// no lock on any table and no migration waits on it. Reading under it stays exact for a
/// table nothing truncated or rewrote since (both are not MVCC-safe: such a table reads
/// empty under an older snapshot), which is why a reader compares the row count it gets
/// with the count taken at the time.
pub struct HeldSnapshot {
    _client: Client,
    pub id: String,
}

/// Keeps `snapshot` (exported by a transaction still open) readable after that transaction
/// ends.
pub async fn hold_snapshot(spec: &ConnSpec, snapshot: &str) -> Result<HeldSnapshot> {
    let client = spec.connect().await?;
    // A server that ends idle transactions would end the hold mid-upgrade.
    client
        .batch_execute(sql::NO_IDLE_TIMEOUT)
        .await
        .map_err(|e| Error::db("cannot hold the \"before\" snapshot open", e))?;
    adopt(&client, Some(snapshot)).await?;
    let id = export_snapshot(&client).await?;
    Ok(HeldSnapshot {
        _client: client,
        id,
    })
}

/// Opens a read-only snapshot transaction on `client`, adopting `snapshot` when given.
async fn adopt(client: &Client, snapshot: Option<&str>) -> Result<()> {
    client
        .batch_execute(sql::BEGIN_SNAPSHOT)
        .await
        .map_err(|e| Error::db("cannot open a fingerprint transaction", e))?;
    if let Some(id) = snapshot {
        client
            .batch_execute(&sql::set_snapshot(id))
            .await
            .map_err(|e| Error::db("cannot adopt the shared snapshot", e))?;
    }
    Ok(())
}

/// One piece of work for the fingerprint connections.
#[derive(Debug, Clone)]
pub enum Job {
    Scan(Scan),
    /// The row count of `scope`'s table, and how many of its rows were written since
    /// `horizon` (see [`Written`]).
    Written {
        scope: Scope,
        horizon: i64,
    },
    /// The row count of `scope`'s table, nothing hashed: its fingerprint, if ever needed, is
    /// taken later under a [`HeldSnapshot`] of the same moment.
    Count(Scope),
}

impl Job {
    fn pages(&self) -> i64 {
        match self {
            Job::Scan(s) => s.scope.key.pages,
            Job::Written { scope, .. } | Job::Count(scope) => scope.key.pages,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Done {
    Scan(TableFingerprint, Vec<TableFingerprint>),
    Written(Written),
    Count(i64),
}

/// A table's rows and how many of them were written (inserted, or updated into a new row
/// version) by a transaction that had not ended when an earlier snapshot was taken.
///
/// Why this proves a table untouched: PostgreSQL never changes a user table's row in place;
/// every insert and update writes a new row version stamped with its transaction's id
/// (`xmin`). If every row visible now was written by a transaction that ended before the
/// earlier snapshot (`xmin` precedes that snapshot's `xmin` horizon), each of them was
/// visible then too, so the rows now are a subset of the rows then; with the same count,
/// they are the same rows. Valid for columns of built-in types only (an enum's labels can
/// be renamed without touching rows), and over fewer than 2^31 transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub rows: i64,
    pub written: i64,
}

/// The `xmin` horizon of `tx`'s snapshot (transaction ids below it had all ended), as the
/// 32-bit value rows carry.
pub async fn xid_horizon(tx: &impl GenericClient) -> Result<i64> {
    Ok(tx
        .query_one(sql::XID_HORIZON, &[])
        .await
        .map_err(|e| Error::db("cannot read the snapshot's transaction horizon", e))?
        .get(0))
}

/// Tables of `schema` whose rows' text can change without a row being written (a column
/// of a type that is not built in): [`Written`] proves nothing for them.
pub async fn tables_with_opaque_types(
    client: &impl GenericClient,
    schema: &str,
) -> Result<std::collections::BTreeSet<String>> {
    Ok(client
        .query(sql::OPAQUE_TYPED_TABLES, &[&schema])
        .await
        .map_err(|e| Error::db("cannot read the tables' column types", e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Keys of up to `limit` rows of `scope` written since `horizon`, in key order.
pub async fn written_keys(
    client: &impl GenericClient,
    scope: &Scope,
    horizon: i64,
    limit: i64,
) -> Result<Vec<String>> {
    if scope.key.columns.is_empty() {
        return Ok(vec![]);
    }
    let plan = scope.plan();
    let key = plan
        .key_at
        .iter()
        .map(|&i| format!("coalesce(({})::text, 'NULL')", plan.select_field(i)))
        .collect::<Vec<_>>()
        .join(" || ', ' || ");
    let and = match scope.filter.trim() {
        "" => String::new(),
        f => match f.strip_prefix("WHERE") {
            Some(cond) => format!(" AND ({cond})"),
            // Only WHERE filters narrow a scope here; anything else is not named.
            None => return Ok(vec![]),
        },
    };
    let table = format!(
        "{}.{}",
        quote_ident(&scope.schema),
        quote_ident(&scope.table)
    );
    let q = sql::written_keys(&key, &table, &and, &plan.order);
    Ok(client
        .query(&q, &[&horizon, &limit])
        .await
        .map_err(|e| {
            Error::db(
                format!("cannot read the rows written to {}", scope.table),
                e,
            )
        })?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Fingerprints every scope over `workers` connections to `spec`, each in a read-only
/// transaction on `snapshot` (exported by a transaction that stays open meanwhile) when
/// given. Big tables go first; results come back in the order of `scopes`.
pub async fn fingerprint_all(
    spec: &ConnSpec,
    snapshot: Option<&str>,
    scopes: Vec<Scope>,
    workers: usize,
) -> Result<Vec<TableFingerprint>> {
    let jobs = scopes
        .into_iter()
        .map(|scope| {
            Job::Scan(Scan {
                scope,
                also: vec![],
            })
        })
        .collect();
    run(spec, snapshot, jobs, workers)
        .await?
        .into_iter()
        .map(|d| match d {
            Done::Scan(fp, _) => Ok(fp),
            Done::Written(_) | Done::Count(_) => {
                Err(Error::Internal("a scan came back as a count".into()))
            }
        })
        .collect()
}

/// [`fingerprint_all`] for any jobs.
pub async fn run(
    spec: &ConnSpec,
    snapshot: Option<&str>,
    jobs: Vec<Job>,
    workers: usize,
) -> Result<Vec<Done>> {
    let n = jobs.len();
    if n == 0 {
        return Ok(vec![]);
    }
    let mut order: Vec<(usize, Job)> = jobs.into_iter().enumerate().collect();
    order.sort_by_key(|(_, j)| std::cmp::Reverse(j.pages()));
    let queue = Arc::new(Mutex::new(order.into_iter().collect::<VecDeque<_>>()));
    let mut handles = vec![];
    for _ in 0..workers.clamp(1, n) {
        let (queue, spec, snapshot) = (queue.clone(), spec.clone(), snapshot.map(String::from));
        handles.push(tokio::spawn(async move {
            let client = spec.connect().await?;
            pin_output(&client).await?;
            adopt(&client, snapshot.as_deref()).await?;
            let mut done = vec![];
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                let Some((i, job)) = next else { break };
                let d = match job {
                    Job::Scan(scan) => {
                        let (fp, also) = fingerprint_scan(&client, &scan).await?;
                        Done::Scan(fp, also)
                    }
                    Job::Written { scope, horizon } => {
                        let q = sql::written_since(&scope.table_and_filter());
                        let r = client.query_one(&q, &[&horizon]).await.map_err(|e| {
                            Error::db(format!("cannot count the rows of {}", scope.table), e)
                        })?;
                        Done::Written(Written {
                            rows: r.get(0),
                            written: r.get(1),
                        })
                    }
                    Job::Count(scope) => {
                        let q = sql::count(&scope.table_and_filter());
                        let r = client.query_one(&q, &[]).await.map_err(|e| {
                            Error::db(format!("cannot count the rows of {}", scope.table), e)
                        })?;
                        Done::Count(r.get(0))
                    }
                };
                done.push((i, d));
            }
            // Read-only: nothing to commit; the connection closes with the client.
            Ok::<_, Error>(done)
        }));
    }
    let mut out: Vec<Option<Done>> = vec![None; n];
    let mut first_err = None;
    for h in handles {
        match h.await {
            Ok(Ok(done)) => {
                for (i, d) in done {
                    out[i] = Some(d);
                }
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(Error::Internal(format!(
                    "a fingerprint worker panicked: {e}"
                )));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    out.into_iter()
        .map(|f| f.ok_or_else(|| Error::Internal("a fingerprint job was never run".into())))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Comparing

/// Where two fingerprints of the same scope first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Index of the first differing chunk, at the common chunk size.
    pub index: usize,
    pub rows_per_chunk: u64,
    /// That chunk on each side (None: that side has no rows there).
    pub want: Option<Chunk>,
    pub got: Option<Chunk>,
    pub key: Vec<String>,
}

impl Difference {
    /// The first row number (0-based, in key order) of the differing chunk.
    pub fn first_row(&self) -> u64 {
        self.index as u64 * self.rows_per_chunk
    }

    /// "rows with id from A to B" for people.
    pub fn describe(&self) -> String {
        let key = if self.key.is_empty() {
            "row text".to_string()
        } else {
            self.key.join(", ")
        };
        let range = |c: &Chunk| {
            if c.first == c.last {
                c.first.clone()
            } else {
                format!("{} … {}", c.first, c.last)
            }
        };
        match (&self.want, &self.got) {
            (Some(w), Some(g)) if w.first == g.first && w.last == g.last => format!(
                "the first difference is among the {} rows with {key} {}",
                w.rows,
                range(w)
            ),
            (Some(w), Some(g)) => format!(
                "the first difference is among the rows with {key} {} (expected) / {} (found)",
                range(w),
                range(g)
            ),
            (Some(w), None) => format!("rows with {key} {} are missing", range(w)),
            (None, Some(g)) => format!("rows with {key} {} are extra", range(g)),
            (None, None) => "the checksums differ".to_string(),
        }
    }
}

/// The first chunk where `want` and `got` differ, after folding the finer list up to the
/// coarser chunk size; None when the lists agree (or have no common chunk size).
pub fn first_difference(want: &Chunks, got: &Chunks) -> Option<Difference> {
    if want.rows_per_chunk == 0 && got.rows_per_chunk == 0 {
        return None;
    }
    let size = want.rows_per_chunk.max(got.rows_per_chunk);
    let w = fold_to(want, size)?;
    let g = fold_to(got, size)?;
    let n = w.len().max(g.len());
    (0..n).find(|&i| w.get(i) != g.get(i)).map(|i| Difference {
        index: i,
        rows_per_chunk: size,
        want: w.get(i).cloned(),
        got: g.get(i).cloned(),
        key: if want.key.is_empty() {
            got.key.clone()
        } else {
            want.key.clone()
        },
    })
}

/// The chunks of `c` at chunk size `size` (a power-of-two multiple of its own).
fn fold_to(c: &Chunks, size: u64) -> Option<Vec<Chunk>> {
    let mut list = c.list.clone();
    let mut at = c.rows_per_chunk.max(LEAF_ROWS);
    if list.is_empty() {
        return Some(list);
    }
    while at < size {
        list = fold_once(list);
        at *= 2;
    }
    (at == size).then_some(list)
}

fn fold_once(list: Vec<Chunk>) -> Vec<Chunk> {
    let mut out = Vec::with_capacity(list.len().div_ceil(2));
    let mut it = list.into_iter();
    while let Some(a) = it.next() {
        out.push(match it.next() {
            Some(b) => combine(a, b),
            None => a,
        });
    }
    out
}

fn combine(a: Chunk, b: Chunk) -> Chunk {
    let mut buf = [0u8; 32];
    buf[..16].copy_from_slice(&a.hash.to_le_bytes());
    buf[16..].copy_from_slice(&b.hash.to_le_bytes());
    Chunk {
        rows: a.rows + b.rows,
        first: a.first,
        last: b.last,
        hash: xxh3_128(&buf),
    }
}

/// One row that differs between two sides, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDifference {
    pub key: String,
    /// `changed`, `missing` (only on the expected side) or `extra` (only on the other).
    pub what: &'static str,
}

/// Reads the first differing chunk of `scope` again on both sides, row by row, and names up
/// to `limit` rows that differ. Both sides must hold the data the fingerprints were taken
/// of (two live databases); the window read is two chunks long, so memory stays flat.
pub async fn locate(
    want: &Client,
    want_scope: &Scope,
    got: &Client,
    got_scope: &Scope,
    diff: &Difference,
    limit: usize,
) -> Result<Vec<RowDifference>> {
    let window = diff.rows_per_chunk * 2;
    let (a, b) = tokio::join!(
        window_rows(want, want_scope, diff.first_row(), window),
        window_rows(got, got_scope, diff.first_row(), window)
    );
    let (a, b) = (a?, b?);
    let textual = &want_scope.key.textual;
    let name = |k: &[Vec<u8>]| key_text(&k.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let mut out = vec![];
    let (mut i, mut j) = (0, 0);
    while out.len() < limit && (i < a.len() || j < b.len()) {
        let (key, what) = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => match key_cmp(&x.0, &y.0, textual) {
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    if x.1 == y.1 {
                        continue;
                    }
                    (&x.0, "changed")
                }
                std::cmp::Ordering::Less => {
                    i += 1;
                    (&x.0, "missing")
                }
                std::cmp::Ordering::Greater => {
                    j += 1;
                    (&y.0, "extra")
                }
            },
            (Some(x), None) => {
                i += 1;
                (&x.0, "missing")
            }
            (None, Some(y)) => {
                j += 1;
                (&y.0, "extra")
            }
            (None, None) => break,
        };
        out.push(RowDifference {
            key: name(key),
            what,
        });
    }
    Ok(out)
}

/// Key order as the fingerprint's ORDER BY has it: text columns bytewise (`COLLATE "C"`),
/// other types by value where their text is a number, else bytewise (uuids; timestamps,
/// printed in UTC).
fn key_cmp(a: &[Vec<u8>], b: &[Vec<u8>], textual: &[bool]) -> std::cmp::Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let by_value = || {
            let num = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<f64>().ok();
            match (num(x), num(y)) {
                (Some(p), Some(q)) => p.partial_cmp(&q),
                _ => None,
            }
        };
        let o = if textual.get(i).copied().unwrap_or(true) {
            x.cmp(y)
        } else {
            by_value().unwrap_or_else(|| x.cmp(y))
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// (key, row hash) of `limit` rows from row `offset` on, in key order.
async fn window_rows(
    client: &Client,
    scope: &Scope,
    offset: u64,
    limit: u64,
) -> Result<Vec<(Vec<Vec<u8>>, u128)>> {
    let plan = scope.plan();
    let q = sql::copy_window(
        &plan.select,
        &scope.table_and_filter(),
        &plan.order,
        offset,
        limit,
    );
    let fail = |e| Error::db(format!("cannot read table {} again", scope.table), e);
    pin_output(client).await?;
    let stream = client.copy_out(q.as_str()).await.map_err(fail)?;
    pin_mut!(stream);
    let mut out = vec![];
    let mut lines = Lines::default();
    let mut bounds = vec![];
    while let Some(msg) = stream.next().await {
        lines.feed(&msg.map_err(fail)?, |line| {
            split(line, plan.need, &mut bounds);
            let key = plan
                .key_at
                .iter()
                .map(|&i| field(line, &bounds, i).to_vec())
                .collect();
            out.push((
                key,
                xxh3_128(&line[..hashed_end(line, &bounds, plan.hashed)]),
            ));
        });
    }
    lines.finish(|line| {
        split(line, plan.need, &mut bounds);
        let key = plan
            .key_at
            .iter()
            .map(|&i| field(line, &bounds, i).to_vec())
            .collect();
        out.push((
            key,
            xxh3_128(&line[..hashed_end(line, &bounds, plan.hashed)]),
        ));
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Reading COPY text, and the hash tree built while rows stream

/// Splits a COPY stream into rows, whether each message is one row (as PostgreSQL sends
/// them) or any other cut of the stream.
#[derive(Default)]
struct Lines {
    carry: Vec<u8>,
}

impl Lines {
    fn feed(&mut self, msg: &[u8], mut row: impl FnMut(&[u8])) {
        let mut rest = msg;
        if !self.carry.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    self.carry.extend_from_slice(&rest[..nl]);
                    let line = std::mem::take(&mut self.carry);
                    row(&line);
                    rest = &rest[nl + 1..];
                }
                None => {
                    self.carry.extend_from_slice(rest);
                    return;
                }
            }
        }
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            row(&rest[..nl]);
            rest = &rest[nl + 1..];
        }
        self.carry.extend_from_slice(rest);
    }

    /// COPY text ends every row with a newline; a tail without one is still a row.
    fn finish(&mut self, mut row: impl FnMut(&[u8])) {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            row(&line);
        }
    }
}

/// Start offsets of the first `need` fields of a COPY text row (tabs inside values are
/// escaped, so a tab always separates fields).
fn split(line: &[u8], need: usize, bounds: &mut Vec<usize>) {
    bounds.clear();
    bounds.push(0);
    for tab in memchr::memchr_iter(b'\t', line) {
        if bounds.len() >= need {
            break;
        }
        bounds.push(tab + 1);
    }
}

fn field<'a>(line: &'a [u8], bounds: &[usize], i: usize) -> &'a [u8] {
    let start = bounds.get(i).copied().unwrap_or(line.len());
    let end = bounds.get(i + 1).map_or(line.len(), |b| b - 1);
    &line[start.min(end)..end]
}

/// Where the first `hashed` fields end.
fn hashed_end(line: &[u8], bounds: &[usize], hashed: usize) -> usize {
    if hashed == 0 {
        0
    } else {
        bounds.get(hashed).map_or(line.len(), |b| b - 1)
    }
}

/// A scan's rows, fed to the scope's tree and to each `Also`'s.
struct Reader {
    plan: Plan,
    lines: Lines,
    bounds: Vec<usize>,
    main: Builder,
    also: Vec<Builder>,
}

impl Reader {
    fn new(plan: Plan) -> Self {
        let also = plan.also.iter().map(|_| Builder::new()).collect();
        Reader {
            plan,
            lines: Lines::default(),
            bounds: vec![],
            main: Builder::new(),
            also,
        }
    }

    fn feed(&mut self, msg: &[u8]) {
        let Reader {
            plan,
            lines,
            bounds,
            main,
            also,
        } = self;
        lines.feed(msg, |line| row(plan, bounds, main, also, line));
    }

    fn finish(mut self, scope: &Scope) -> (TableFingerprint, Vec<TableFingerprint>) {
        {
            let Reader {
                plan,
                lines,
                bounds,
                main,
                also,
            } = &mut self;
            lines.finish(|line| row(plan, bounds, main, also, line));
        }
        let key = scope.key.columns.clone();
        let also = self
            .also
            .into_iter()
            .map(|b| b.finish(&scope.table, key.clone()))
            .collect();
        (self.main.finish(&scope.table, key), also)
    }
}

fn row(
    plan: &Plan,
    bounds: &mut Vec<usize>,
    main: &mut Builder,
    also: &mut [Builder],
    line: &[u8],
) {
    split(line, plan.need, bounds);
    let mut key = [&b""[..]; 8];
    let key: &[&[u8]] = if plan.key_at.len() <= key.len() {
        for (k, &i) in key.iter_mut().zip(&plan.key_at) {
            *k = field(line, bounds, i);
        }
        &key[..plan.key_at.len()]
    } else {
        // More than eight key columns: rare enough to allocate for.
        return row_wide_key(plan, bounds, main, also, line);
    };
    main.add(&[&line[..hashed_end(line, bounds, plan.hashed)]], key);
    for ((fields, flag), b) in plan.also.iter().zip(also.iter_mut()) {
        if flag.is_some_and(|f| field(line, bounds, f) != b"t") {
            continue;
        }
        let mut parts = [&b""[..]; 16];
        if fields.len() <= parts.len() {
            for (p, &i) in parts.iter_mut().zip(fields) {
                *p = field(line, bounds, i);
            }
            b.add(&parts[..fields.len()], key);
        } else {
            let parts: Vec<&[u8]> = fields.iter().map(|&i| field(line, bounds, i)).collect();
            b.add(&parts, key);
        }
    }
}

fn row_wide_key(
    plan: &Plan,
    bounds: &[usize],
    main: &mut Builder,
    also: &mut [Builder],
    line: &[u8],
) {
    let key: Vec<&[u8]> = plan
        .key_at
        .iter()
        .map(|&i| field(line, bounds, i))
        .collect();
    main.add(&[&line[..hashed_end(line, bounds, plan.hashed)]], &key);
    for ((fields, flag), b) in plan.also.iter().zip(also.iter_mut()) {
        if flag.is_some_and(|f| field(line, bounds, f) != b"t") {
            continue;
        }
        let parts: Vec<&[u8]> = fields.iter().map(|&i| field(line, bounds, i)).collect();
        b.add(&parts, &key);
    }
}

#[derive(Debug)]
struct Node {
    level: u32,
    chunk: Chunk,
}

struct Builder {
    leaf: Xxh3,
    leaf_rows: u64,
    leaf_first: String,
    last_key: Vec<u8>,
    /// Partial nodes below `level`, levels strictly decreasing from the bottom.
    stack: Vec<Node>,
    /// Complete nodes of `level`, in order.
    done: Vec<Chunk>,
    level: u32,
    rows: u64,
}

impl Builder {
    fn new() -> Self {
        Builder {
            leaf: Xxh3::new(),
            leaf_rows: 0,
            leaf_first: String::new(),
            last_key: vec![],
            stack: vec![],
            done: vec![],
            level: 0,
            rows: 0,
        }
    }

    /// One row: its hashed fields (joined by tabs, as COPY prints them) and its key.
    fn add(&mut self, parts: &[&[u8]], key: &[&[u8]]) {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                self.leaf.update(b"\t");
            }
            self.leaf.update(p);
        }
        self.leaf.update(b"\n");
        if self.leaf_rows == 0 {
            self.leaf_first = key_text(key);
        }
        self.last_key.clear();
        for (i, k) in key.iter().enumerate() {
            if i > 0 {
                self.last_key.extend_from_slice(b", ");
            }
            self.last_key.extend_from_slice(k);
        }
        self.leaf_rows += 1;
        self.rows += 1;
        if self.leaf_rows == LEAF_ROWS {
            self.close_leaf();
        }
    }

    fn close_leaf(&mut self) {
        let chunk = Chunk {
            rows: self.leaf_rows,
            first: std::mem::take(&mut self.leaf_first),
            last: cut(String::from_utf8_lossy(&self.last_key).into_owned()),
            hash: self.leaf.digest128(),
        };
        self.leaf.reset();
        self.leaf_rows = 0;
        self.push(Node { level: 0, chunk });
    }

    fn push(&mut self, mut n: Node) {
        loop {
            if n.level == self.level {
                self.done.push(n.chunk);
                if self.done.len() > MAX_CHUNKS {
                    self.raise();
                }
                return;
            }
            match self.stack.last() {
                Some(top) if top.level == n.level => {
                    let top = self.stack.pop().expect("just seen");
                    n = Node {
                        level: n.level + 1,
                        chunk: combine(top.chunk, n.chunk),
                    };
                }
                _ => {
                    self.stack.push(n);
                    return;
                }
            }
        }
    }

    /// One level up: neighbours merge; an odd last node waits for its right half.
    fn raise(&mut self) {
        let old = std::mem::take(&mut self.done);
        let odd = old.len() % 2 == 1;
        let mut folded = fold_once(old);
        if odd {
            let last = folded.pop().expect("odd, so not empty");
            self.stack.insert(
                0,
                Node {
                    level: self.level,
                    chunk: last,
                },
            );
        }
        self.done = folded;
        self.level += 1;
    }

    fn finish(mut self, table: &str, key: Vec<String>) -> TableFingerprint {
        if self.leaf_rows > 0 {
            self.close_leaf();
        }
        loop {
            if let Some(mut acc) = self.stack.pop() {
                while let Some(below) = self.stack.pop() {
                    acc.chunk = combine(below.chunk, acc.chunk);
                }
                self.done.push(acc.chunk);
            }
            if self.done.len() <= MAX_CHUNKS {
                break;
            }
            self.raise();
        }
        let root = if self.done.is_empty() {
            xxh3_128(b"")
        } else {
            let mut l = self.done.clone();
            while l.len() > 1 {
                l = fold_once(l);
            }
            l[0].hash
        };
        TableFingerprint {
            table: table.to_string(),
            rows: self.rows as i64,
            checksum: format!("{CHECKSUM_PREFIX}{root:032x}"),
            chunks: Chunks {
                key,
                rows_per_chunk: LEAF_ROWS << self.level,
                list: self.done,
            },
        }
    }
}

fn key_text(fields: &[&[u8]]) -> String {
    let mut s = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&String::from_utf8_lossy(f));
    }
    cut(s)
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_KEY_TEXT {
        let mut at = MAX_KEY_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
    s
}

mod hex128 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:032x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        u128::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(hashed: usize) -> Plan {
        Plan {
            select: String::new(),
            fields: vec![],
            order: String::new(),
            hashed,
            key_at: vec![0],
            also: vec![],
            need: hashed,
        }
    }

    fn build_with(rows: u64, value: impl Fn(u64) -> String) -> TableFingerprint {
        let mut r = Reader::new(plan(2));
        for i in 0..rows {
            r.feed(format!("{i}\t{}\n", value(i)).as_bytes());
        }
        r.finish(&scope()).0
    }

    fn build(rows: u64) -> TableFingerprint {
        build_with(rows, |i| format!("v{i}"))
    }

    fn scope() -> Scope {
        Scope {
            schema: "public".into(),
            table: "t".into(),
            columns: vec!["id".into(), "v".into()],
            filter: String::new(),
            key: TableKey {
                columns: vec!["id".into()],
                collate_c: vec![false],
                textual: vec![false],
                pages: 0,
            },
        }
    }

    #[test]
    fn big_tables_get_bigger_chunks_and_the_same_root_as_folding() {
        let small = build(5000);
        assert_eq!(small.chunks.rows_per_chunk, LEAF_ROWS);
        assert_eq!(small.chunks.list.len(), 5);
        assert_eq!(small.chunks.list[4].rows, 5000 - 4 * 1024);
        let rows = LEAF_ROWS * MAX_CHUNKS as u64 * 2 + 77;
        let big = build(rows);
        assert!(big.chunks.list.len() <= MAX_CHUNKS);
        assert_eq!(big.chunks.rows_per_chunk, LEAF_ROWS * 4);
        assert_eq!(
            big.chunks.list.iter().map(|c| c.rows).sum::<u64>(),
            rows,
            "every row is in one chunk"
        );
        assert_eq!(big.chunks.list[0].first, "0");
        assert_eq!(big.chunks.list.last().unwrap().last, (rows - 1).to_string());
        // The root is the tree's, whatever the chunk size: folded by hand, the same.
        let mut l = big.chunks.list.clone();
        while l.len() > 1 {
            l = fold_once(l);
        }
        assert_eq!(big.checksum, format!("{CHECKSUM_PREFIX}{:032x}", l[0].hash));
    }

    #[test]
    fn the_first_difference_is_named_across_chunk_sizes() {
        let a = build(LEAF_ROWS * MAX_CHUNKS as u64 + 5);
        let b = build_with(LEAF_ROWS * MAX_CHUNKS as u64 - 3, |i| {
            if i == 5000 {
                "changed".into()
            } else {
                format!("v{i}")
            }
        });
        assert_ne!(a.chunks.rows_per_chunk, b.chunks.rows_per_chunk);
        let d = first_difference(&a.chunks, &b.chunks).unwrap();
        let w = d.want.clone().unwrap();
        assert!(w.first.parse::<u64>().unwrap() <= 5000);
        assert!(w.last.parse::<u64>().unwrap() >= 5000);
        assert!(first_difference(&a.chunks, &a.chunks).is_none());
    }

    #[test]
    fn rows_split_across_messages_hash_the_same() {
        let whole = build(3000);
        let mut r = Reader::new(plan(2));
        let text: String = (0..3000).map(|i| format!("{i}\tv{i}\n")).collect();
        for part in text.as_bytes().chunks(7) {
            r.feed(part);
        }
        assert_eq!(r.finish(&scope()).0, whole);
    }

    #[test]
    fn an_also_equals_the_scope_it_stands_for() {
        // Rows `id, v, flag`: the also hashes `v` of the flagged rows.
        let mut p = plan(2);
        p.also = vec![(vec![0], Some(2))];
        p.need = 3;
        let mut fused = Reader::new(p);
        let mut plain = Reader::new(plan(1));
        for i in 0..2500u64 {
            let keep = i % 3 != 0;
            fused.feed(format!("{i}\tv{i}\t{}\n", if keep { 't' } else { 'f' }).as_bytes());
            if keep {
                plain.feed(format!("{i}\n").as_bytes());
            }
        }
        let (main, also) = fused.finish(&scope());
        assert_eq!(main.rows, 2500);
        assert_eq!(also[0], plain.finish(&scope()).0);
    }

    #[test]
    fn keys_compare_as_the_order_by_sorts_them() {
        use std::cmp::Ordering::*;
        let k = |v: &[&str]| v.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            key_cmp(&k(&["a", "z"]), &k(&["a b", "c"]), &[true, true]),
            Less
        );
        assert_eq!(key_cmp(&k(&["10"]), &k(&["9"]), &[false]), Greater);
        assert_eq!(key_cmp(&k(&["10"]), &k(&["9"]), &[true]), Less);
        assert_eq!(key_cmp(&k(&["B"]), &k(&["a"]), &[true]), Less);
    }

    #[test]
    fn fields_are_cut_at_tabs() {
        let mut b = vec![];
        split(b"a\tb\tk", 3, &mut b);
        assert_eq!(b, [0, 2, 4]);
        assert_eq!(field(b"a\tb\tk", &b, 2), b"k");
        assert_eq!(hashed_end(b"a\tb\tk", &b, 2), 3);
        split(b"a\tb", 2, &mut b);
        assert_eq!(hashed_end(b"a\tb", &b, 2), 3);
    }
}
