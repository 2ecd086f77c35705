//! Phase checks for a rehearsal: what the database held before, what the LTS sequence says
//! must change, and whether the migrated database shows exactly that.
//!
//! Counts and content are compared per table over the columns the table had before. Rows
//! the sequence rewrites are checked against the Rust ports of Kong's rules, row by row;
//! everything else must be byte-identical: a table no rule touches is proven so without
//! reading it when none of its rows was written since the "before" snapshot
//! (`fingerprint::Written`), and is read and hashed otherwise. Nothing here holds a table in
//! memory: fingerprints stream, the rewritten columns wait on disk, problem lists are capped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use futures_util::{pin_mut, TryStreamExt};
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

use crate::backup::manifest::TableEntry;
use crate::error::{Error, Result};
use crate::kong::lts::LtsCatalog;
use crate::kong::schema_meta::{self, Row};
use crate::kong::transforms;
use crate::pg::catalog::{self, Catalog, Change};
use crate::pg::conn::ConnSpec;
use crate::pg::fingerprint::{
    self, Also, Chunks, Done, Job, Scan, Scope, TableFingerprint, TableKey, Written,
};
use crate::pg::quote_ident;
use crate::report::{Kind, Problem};

/// Tables whose contents the checks handle by rule, or not at all.
const BOOKKEEPING: &[&str] = &["schema_meta", "locks"];

/// Rows named one by one per check; past it, one more problem gives the total.
pub const MAX_LISTED: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct TableState {
    pub rows: i64,
    pub checksum: String,
    pub columns: Vec<String>,
    /// Chunk hashes in key order: where a later difference first shows.
    #[serde(skip)]
    pub chunks: Chunks,
    /// Taken from a snapshot manifest (the source's record), not read from the restore.
    #[serde(skip)]
    pub recorded: bool,
    /// Only counted: no step of the sequence touches the table, so its fingerprint is taken
    /// only if a row of it turns out written, under [`Before::held`].
    #[serde(skip)]
    pub deferred: bool,
}

/// The database right before migrating (on the throwaway copy), in one snapshot. Nothing
/// in it grows with the data but the chunk lists (at most `fingerprint::MAX_CHUNKS` per
/// table); the rewritten columns wait on disk.
pub struct Before {
    pub catalog: Catalog,
    pub tables: BTreeMap<String, TableState>,
    pub schema_meta: Vec<Row>,
    /// routes.paths and plugins.config as they were, in id order, on disk.
    pub rewritten: Rewritten,
    /// Rows 3.0's teardown keeps in `targets`, and their fingerprint over the 2.8 columns.
    pub targets_kept: TableFingerprint,
    /// `tags` as it should read after 016 moves vault tags to `sm_vaults`.
    pub tags_expected: TableFingerprint,
    /// routes without `paths`, plugins without `config`: what must not change at all.
    pub without_rewritten: BTreeMap<String, TableFingerprint>,
    /// The primary keys the rows were ordered by: the end state is read in the same order.
    pub keys: BTreeMap<String, TableKey>,
    /// The snapshot's transaction horizon: rows written after it are the upgrade's
    /// (`fingerprint::Written`).
    pub xid_horizon: i64,
    /// The throwaway, for the checks' own fingerprint connections.
    pub target: ConnSpec,
    /// The "before" snapshot itself, kept readable through the upgrade while some table is
    /// `deferred`; released once the end state is checked.
    pub held: Option<fingerprint::HeldSnapshot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountRow {
    pub table: String,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub expected: Option<i64>,
    /// Why the expectation differs from `before`, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub ok: bool,
}

pub fn select_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Targets 016's teardown keeps: the newest per (upstream, target); a condition on `t`, a
/// row of `targets`.
fn surviving_targets(schema: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM {}.targets t2 WHERE t.created_at < t2.created_at \
         AND t.upstream_id = t2.upstream_id AND t.target = t2.target)",
        quote_ident(schema)
    )
}

/// Tags that stay after 016's teardown: not those of the targets it deletes; a condition on
/// `t`, a row of `tags`.
fn surviving_tags(schema: &str) -> String {
    format!(
        "t.entity_id NOT IN (SELECT t1.id FROM {s}.targets t1 WHERE EXISTS (SELECT 1 \
         FROM {s}.targets t2 WHERE t1.created_at < t2.created_at AND t1.upstream_id = \
         t2.upstream_id AND t1.target = t2.target))",
        s = quote_ident(schema)
    )
}

fn scope(schema: &str, table: &str, columns: Vec<String>, filter: String, key: TableKey) -> Scope {
    Scope {
        schema: schema.to_string(),
        table: table.to_string(),
        columns,
        filter,
        key,
    }
}

/// What one fingerprint of `capture_before` is for.
enum Slot {
    Table(String),
    TargetsKept,
    TagsExpected,
    Without(String),
    /// Counted only (`TableState::deferred`).
    Counted(String),
}

/// The fingerprints a rule needs of table `name` besides its own, as `Also`s of its scan.
fn derived(name: &str, t: &catalog::Table, schema: &str, cat: &Catalog) -> Vec<(Slot, Also)> {
    let all = || t.columns.iter().map(|c| c.name.clone());
    match name {
        "targets" => vec![(
            Slot::TargetsKept,
            Also {
                columns: all().collect(),
                only_if: Some(surviving_targets(schema)),
            },
        )],
        // sync_tags follows the rows: the tags of the targets 016's teardown deletes go with
        // them. Copying the vaults to sm_vaults fires sync_tags too, but its upsert only
        // updates `tags` on conflict, so those rows keep entity_name 'vaults_beta' (a Kong
        // quirk).
        "tags" => vec![(
            Slot::TagsExpected,
            Also {
                columns: TAGS_COMPARED.map(String::from).to_vec(),
                only_if: cat.has_table("targets").then(|| surviving_tags(schema)),
            },
        )],
        "routes" | "plugins" => {
            let skip = rewritten_column(name);
            vec![(
                Slot::Without(name.to_string()),
                Also {
                    columns: all().filter(|c| c != skip).collect(),
                    only_if: None,
                },
            )]
        }
        _ => vec![],
    }
}

/// The columns of `tags` its rule compares.
const TAGS_COMPARED: [&str; 3] = ["entity_id", "entity_name", "tags"];

/// `known`: per-table fingerprints already recorded for exactly this data (a snapshot
/// manifest, format 2 on); those tables are not read again. `rows_may_change`: with it,
/// every other table (no step of the sequence changes its rows) is only counted now when
/// its rows' text cannot change unwritten (see `fingerprint::Written`), and the snapshot is
/// held so that one found written after the upgrade can still be read as it was. Everything else is
/// fingerprinted over several connections to `target` sharing this snapshot, each table in
/// one pass with the fingerprints its rule needs, while the rewritten columns stream to
/// disk on this one.
pub async fn capture_before(
    client: &mut Client,
    target: &ConnSpec,
    schema: &str,
    known: Option<&BTreeMap<String, TableEntry>>,
    rows_may_change: Option<&BTreeSet<String>>,
) -> Result<Before> {
    let tx = crate::pg::conn::read_only_snapshot(client).await?;
    let catalog = catalog::read(&tx, schema).await?;
    let keys = fingerprint::table_keys(&tx, schema).await?;
    let opaque = match rows_may_change {
        None => BTreeSet::new(),
        Some(_) => fingerprint::tables_with_opaque_types(&tx, schema).await?,
    };
    let key = |t: &str| keys.get(t).cloned().unwrap_or_default();
    let mut tables = BTreeMap::new();
    // Per job: what its own fingerprint is for (None: only its `Also`s count), then theirs.
    let (mut jobs, mut slots) = (vec![], vec![]);
    for (name, t) in &catalog.tables {
        let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let recorded = known.and_then(|k| k.get(name)).and_then(|e| {
            let chunks = e.chunks.clone()?;
            e.checksum
                .starts_with(fingerprint::CHECKSUM_PREFIX)
                .then(|| (e.rows, e.checksum.clone(), chunks))
        });
        let derived = derived(name, t, schema, &catalog);
        if recorded.is_none()
            && derived.is_empty()
            && rows_may_change.is_some_and(|t| !t.contains(name))
            && !opaque.contains(name)
        {
            jobs.push(Job::Count(scope(
                schema,
                name,
                columns,
                String::new(),
                key(name),
            )));
            slots.push((Some(Slot::Counted(name.clone())), vec![]));
            continue;
        }
        let fused = recorded.is_none() && !key(name).columns.is_empty();
        if let Some((rows, checksum, chunks)) = recorded {
            tables.insert(
                name.clone(),
                TableState {
                    rows,
                    checksum,
                    columns: columns.clone(),
                    chunks,
                    recorded: true,
                    deferred: false,
                },
            );
        }
        if fused {
            // An `Also` needs the key order of its own scope: only tables with a key fuse.
            let (also_slots, also): (Vec<Slot>, Vec<Also>) = derived.into_iter().unzip();
            jobs.push(Job::Scan(Scan {
                scope: scope(schema, name, columns, String::new(), key(name)),
                also,
            }));
            slots.push((Some(Slot::Table(name.clone())), also_slots));
            continue;
        }
        if !tables.contains_key(name) {
            jobs.push(Job::Scan(Scan {
                scope: scope(schema, name, columns, String::new(), key(name)),
                also: vec![],
            }));
            slots.push((Some(Slot::Table(name.clone())), vec![]));
        }
        for (slot, a) in derived {
            let filter = a.only_if.map(|c| format!("WHERE {c}")).unwrap_or_default();
            jobs.push(Job::Scan(Scan {
                scope: scope(schema, name, a.columns, filter, key(name)),
                also: vec![],
            }));
            slots.push((Some(slot), vec![]));
        }
    }
    let schema_meta = schema_meta::read(&tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))?;
    let xid_horizon = fingerprint::xid_horizon(&tx).await?;
    let snapshot = fingerprint::export_snapshot(&tx).await?;
    let held = if jobs.iter().any(|j| matches!(j, Job::Count(_))) {
        Some(fingerprint::hold_snapshot(target, &snapshot).await?)
    } else {
        None
    };
    let (done, rewritten) = tokio::join!(
        fingerprint::run(target, Some(&snapshot), jobs, fingerprint::DEFAULT_WORKERS),
        Rewritten::capture(&tx, schema, &catalog)
    );
    let (done, rewritten) = (done?, rewritten?);
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
    let empty = |t: &str| TableFingerprint {
        table: t.to_string(),
        rows: 0,
        checksum: String::new(),
        chunks: Chunks::default(),
    };
    let (mut targets_kept, mut tags_expected) = (empty("targets"), empty("tags"));
    let mut without_rewritten = BTreeMap::new();
    let columns_of = |name: &str| -> Vec<String> {
        catalog.tables[name]
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    for ((main, also_slots), d) in slots.into_iter().zip(done) {
        let (fp, also, main) = match (d, main) {
            (Done::Count(rows), Some(Slot::Counted(name))) => {
                let columns = columns_of(&name);
                tables.insert(
                    name,
                    TableState {
                        rows,
                        checksum: String::new(),
                        columns,
                        chunks: Chunks::default(),
                        recorded: false,
                        deferred: true,
                    },
                );
                continue;
            }
            (Done::Scan(fp, also), main) => (fp, also, main),
            _ => {
                return Err(Error::Internal(
                    "a fingerprint job came back as another".into(),
                ))
            }
        };
        let own = main.map(|s| (s, fp));
        for (slot, fp) in own.into_iter().chain(also_slots.into_iter().zip(also)) {
            match slot {
                Slot::Table(name) => {
                    let columns = columns_of(&name);
                    tables.insert(
                        name,
                        TableState {
                            rows: fp.rows,
                            checksum: fp.checksum,
                            columns,
                            chunks: fp.chunks,
                            recorded: false,
                            deferred: false,
                        },
                    );
                }
                Slot::TargetsKept => targets_kept = fp,
                Slot::TagsExpected => tags_expected = fp,
                Slot::Without(name) => {
                    without_rewritten.insert(name, fp);
                }
                Slot::Counted(_) => {
                    return Err(Error::Internal("a counted table came back hashed".into()))
                }
            }
        }
    }
    Ok(Before {
        without_rewritten,
        catalog,
        tables,
        schema_meta,
        rewritten,
        targets_kept,
        tags_expected,
        keys,
        xid_horizon,
        target: target.clone(),
        held,
    })
}

/// The before side of the two columns the sequence rewrites row by row (routes.paths,
/// plugins.config): one JSON line per row in id order, in a private temporary directory.
/// The end state is compared with it while both stream, so neither table is ever held in
/// memory.
pub struct Rewritten {
    dir: tempfile::TempDir,
}

type RouteLine = (Uuid, Option<Vec<String>>);
type PluginLine = (Uuid, String, serde_json::Value);

fn no_params() -> impl ExactSizeIterator<Item = &'static (dyn ToSql + Sync)> {
    std::iter::empty()
}

impl Rewritten {
    async fn capture(tx: &Transaction<'_>, schema: &str, cat: &Catalog) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("kong-rehearse-before-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a temporary directory", "/tmp", e))?;
        let s = quote_ident(schema);
        if cat.has_table("routes") {
            let q = format!("SELECT id, paths FROM {s}.routes ORDER BY id");
            spill(tx, &q, &dir.path().join("routes"), |r| {
                serde_json::to_vec(&(r.get::<_, Uuid>(0), r.get::<_, Option<Vec<String>>>(1)))
            })
            .await?;
        }
        if cat.has_table("plugins") {
            let q = format!("SELECT id, name, config FROM {s}.plugins ORDER BY id");
            spill(tx, &q, &dir.path().join("plugins"), |r| {
                serde_json::to_vec(&(
                    r.get::<_, Uuid>(0),
                    r.get::<_, String>(1),
                    r.get::<_, serde_json::Value>(2),
                ))
            })
            .await?;
        }
        Ok(Rewritten { dir })
    }

    /// The rows of `name` as they were, in id order (none when the table did not exist).
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<impl Iterator<Item = Result<T>>> {
        let path = self.dir.path().join(name);
        let file = match std::fs::File::open(&path) {
            Ok(f) => Some(std::io::BufReader::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        Ok(file.into_iter().flat_map(|f| f.lines()).map(move |l| {
            let l = l.map_err(|e| Error::io("cannot read", &path, e))?;
            serde_json::from_str(&l)
                .map_err(|e| Error::Internal(format!("a spilled row does not read back: {e}")))
        }))
    }
}

/// Streams the rows of `q` into `path`, one JSON line each.
async fn spill(
    tx: &Transaction<'_>,
    q: &str,
    path: &std::path::Path,
    line: impl Fn(&tokio_postgres::Row) -> serde_json::Result<Vec<u8>>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io("cannot create", path, e))?;
    let mut w = std::io::BufWriter::new(file);
    let rows = tx
        .query_raw(q, no_params())
        .await
        .map_err(|e| Error::db("cannot read the rewritten columns", e))?;
    pin_mut!(rows);
    while let Some(r) = rows
        .try_next()
        .await
        .map_err(|e| Error::db("cannot read the rewritten columns", e))?
    {
        let mut bytes =
            line(&r).map_err(|e| Error::Internal(format!("a row does not serialize: {e}")))?;
        bytes.push(b'\n');
        w.write_all(&bytes)
            .map_err(|e| Error::io("cannot write", path, e))?;
    }
    w.flush().map_err(|e| Error::io("cannot write", path, e))
}

/// Tables the whole sequence drops (up and teardown), and those dropped already by `up`.
pub fn dropped_tables(cat: &LtsCatalog) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = BTreeSet::new();
    let mut in_up = BTreeSet::new();
    for s in cat.subsystems.iter().flat_map(|s| &s.sequence) {
        for e in &s.effects.up {
            if e.op == "drop_table" {
                if let Some(t) = &e.table {
                    all.insert(t.clone());
                    in_up.insert(t.clone());
                }
            }
        }
        for e in &s.effects.teardown {
            if e.op == "drop_table" {
                if let Some(t) = &e.table {
                    all.insert(t.clone());
                }
            }
        }
    }
    (all, in_up)
}

/// After `kong migrations up`: old 2.8 nodes still read this database, so nothing of 2.8
/// may be gone except what `up` is declared to drop; the up-phase objects must be there;
/// schema_meta must list exactly the teardowns as pending; no path may be prefixed twice.
pub async fn after_up(
    client: &mut Client,
    schema: &str,
    before: &Before,
    cat: &LtsCatalog,
    expected_meta: &MetaExpectation,
) -> Result<(Vec<Problem>, Vec<String>, Catalog)> {
    let tx = crate::pg::conn::read_only_snapshot(client).await?;
    let now = catalog::read(&tx, schema).await?;
    let (_, dropped_in_up) = dropped_tables(cat);
    let mut problems = vec![];
    let mut warnings = vec![];
    for ch in catalog::diff(&before.catalog, &now) {
        // `up` only adds, except what it is declared to drop or replace; column position is
        // never a difference (a database born on Kong 1.x has its own).
        if ch.change == "added" || ch.object == "column order" {
            continue;
        }
        let table = ch.table.clone().unwrap_or_default();
        if ch.change == "changed"
            && cat
                .touched_by(ch.object, ch.table.as_deref(), &ch.name)
                .is_some()
        {
            continue;
        }
        if dropped_in_up.contains(&table) {
            if ch.object == "table" {
                warnings.push(format!(
                    "compatibility: `up` drops table {table} (core/020_330_to_340) while 2.8 \
                     nodes may still be serving; 2.8.5 does not use it (a 1.x leftover), but \
                     any rows in it ({} here) are gone",
                    before.tables.get(&table).map_or(0, |t| t.rows)
                ));
            }
            continue;
        }
        problems.push(
            Problem::new(
                Kind::SchemaMismatch,
                format!(
                    "after `up`, {}: 2.8 nodes still serving from this database during the \
                     upgrade would break",
                    ch.describe()
                ),
            )
            .object(format!("{} {}", ch.object, ch.name))
            .fix("Find what removed it (a trigger, an event trigger, a changed migration file); the LTS sequence keeps every 2.8 object until `finish`."),
        );
    }
    for sub in &cat.subsystems {
        for step in &sub.sequence {
            for e in step.effects.up.iter().filter(|e| !e.is_conditional()) {
                if e.present_in(&now) == Some(false) {
                    problems.push(
                        Problem::new(
                            Kind::SchemaMismatch,
                            format!("after `up`, {} is missing", e.describe()),
                        )
                        .subsystem(&sub.name)
                        .migration(&step.name)
                        .fix("The migration reported success without its effect: check the server log of the throwaway (--keep) and the migration SQL."),
                    );
                }
            }
        }
    }
    let meta = schema_meta::read(&tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))?;
    problems.extend(expected_meta.check("up", &meta));
    if now.has_table("routes") {
        // The first few by id, and how many in all: the list stays short at any size.
        let (mut listed, mut all) = (Listed::new(), 0);
        for r in tx
            .query(
                &format!(
                    "SELECT id::text, p, count(*) OVER () FROM routes, unnest(paths) p \
                     WHERE p LIKE '~~%' ORDER BY id, p LIMIT {MAX_LISTED}"
                ),
                &[],
            )
            .await
            .map_err(|e| Error::db("cannot read routes", e))?
        {
            let (id, p, total): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
            all = total as usize;
            listed.push(|| {
                Problem::new(Kind::ContentMismatch, format!("route {id} has path `{p}`: a regex path was prefixed with `~` twice"))
                    .object(format!("routes {id}"))
                    .fix("The path migration ran twice (a re-run `up --force`, or a database that already had `~` paths): restore the routes from the pre-upgrade backup.")
            });
        }
        listed.total = listed.total.max(all);
        problems
            .extend(listed.into_problems("route paths prefixed with `~` twice", "table routes"));
    }
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
    Ok((problems, warnings, now))
}

/// What schema_meta must read after a phase.
pub enum MetaExpectation {
    /// Exactly these rows (the built-in runner predicts Kong byte for byte).
    Exact(Vec<Row>),
    /// The same executed set per subsystem and nothing pending, as in a fresh bootstrap of
    /// the same Kong binary (whose core order differs from an upgrade's).
    SameSetsAs(Vec<Row>),
    /// Not checked.
    Skip,
}

impl MetaExpectation {
    pub fn check(&self, phase: &str, got: &[Row]) -> Vec<Problem> {
        match self {
            MetaExpectation::Exact(want) => compare_meta(phase, got, want),
            MetaExpectation::SameSetsAs(want) => compare_meta(phase, &as_sets(got), &as_sets(want)),
            MetaExpectation::Skip => vec![],
        }
    }
}

/// Rows reduced to what a bootstrap and an upgrade have in common: sorted executed names,
/// nothing pending, no last_executed.
fn as_sets(rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| {
            let mut executed = r.executed.clone().unwrap_or_default();
            executed.sort();
            Row {
                subsystem: r.subsystem.clone(),
                last_executed: None,
                executed: Some(executed),
                pending: Some(r.pending.clone().unwrap_or_default()),
            }
        })
        .collect()
}

pub fn compare_meta(phase: &str, got: &[Row], want: &[Row]) -> Vec<Problem> {
    let mut out = vec![];
    let g: BTreeMap<&str, &Row> = got.iter().map(|r| (r.subsystem.as_str(), r)).collect();
    let w: BTreeMap<&str, &Row> = want.iter().map(|r| (r.subsystem.as_str(), r)).collect();
    for (name, want_row) in &w {
        match g.get(name) {
            None => out.push(
                Problem::new(Kind::SchemaMismatch, format!("after `{phase}`, schema_meta has no row for `{name}`"))
                    .subsystem(name)
                    .fix("Kong records every migration it runs; a missing row means the step never ran or its record was lost."),
            ),
            Some(got_row) if got_row != want_row => out.push(
                Problem::new(
                    Kind::SchemaMismatch,
                    format!(
                        "after `{phase}`, schema_meta for `{name}` is executed={:?} pending={:?} \
                         last_executed={:?}; Kong 3.4.2 leaves executed={:?} pending={:?} \
                         last_executed={:?}",
                        got_row.executed, got_row.pending, got_row.last_executed,
                        want_row.executed, want_row.pending, want_row.last_executed
                    ),
                )
                .subsystem(name)
                .fix("The bookkeeping differs from what Kong writes: Kong 3.4 would see a different state on its next start."),
            ),
            _ => {}
        }
    }
    for name in g.keys().filter(|n| !w.contains_key(*n)) {
        out.push(
            Problem::new(
                Kind::SchemaMismatch,
                format!("after `{phase}`, schema_meta has an unexpected row `{name}`"),
            )
            .subsystem(name),
        );
    }
    out
}

pub struct FinishReport {
    /// Kong quirks visible in the end state (name → rows).
    pub quirks: BTreeMap<String, u64>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    pub counts: Vec<CountRow>,
    pub schema_changes: Vec<Change>,
    pub reference_diff: String,
    pub catalog: Catalog,
}

/// After `finish`: catalog equals the 3.4.2 reference (differences the source already had
/// against stock 2.8.5 are carried over as warnings), schema_meta equals Kong's, and counts
/// and contents follow the expected-change model.
#[allow(clippy::too_many_arguments)]
pub async fn after_finish(
    client: &mut Client,
    schema: &str,
    before: &Before,
    cat: &LtsCatalog,
    reference_342: &Catalog,
    drift_285: &[Change],
    expected_meta: &MetaExpectation,
) -> Result<FinishReport> {
    let tx = crate::pg::conn::read_only_snapshot(client).await?;
    let now = catalog::read(&tx, schema).await?;
    let mut problems = vec![];
    let mut warnings = vec![];

    let end = expected_end_state(reference_342, drift_285, &before.catalog, cat);
    let mut reference = end.catalog;
    reference.schema = now.schema.clone();
    for held in &end.held {
        warnings.push(format!("held unchanged from the source: {held}"));
    }
    let changes: Vec<Change> = catalog::diff(&reference, &now)
        .into_iter()
        .filter(|c| c.object != "column order")
        .filter(|c| !from_default_privileges(c, &before.catalog))
        .collect();
    for ch in &changes {
        let what = match end
            .touched
            .iter()
            .find(|t| t.0 == (ch.object, ch.table.clone(), ch.name.clone()))
        {
            Some((_, by)) => format!(
                " (the source had its own version of it, and {by} acts on it: Kong 3.4.2's \
                 reference applies)"
            ),
            None => String::new(),
        };
        problems.push(
            Problem::new(
                Kind::SchemaMismatch,
                format!(
                    "after `finish`, compared with the Kong 3.4.2 reference schema plus the \
                     source's own differences from stock 2.8.5: {}{what}",
                    ch.describe()
                ),
            )
            .object(format!("{} {}", ch.object, ch.name))
            .fix("The migrated schema is not what Kong 3.4.2 expects: see the schema diff, and check the migration SQL and the reference."),
        );
    }
    let reference_diff = if changes.is_empty() {
        String::new()
    } else {
        catalog::unified_diff(
            &reference,
            &now,
            "kong-3.4.2 reference + the source's own differences",
            "rehearsed database",
        )
    };

    let meta = schema_meta::read(&tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))?;
    problems.extend(expected_meta.check("finish", &meta));

    let (counts, mut quirks) =
        contents_after_finish(&tx, schema, before, &now, cat, &mut problems).await?;
    if now.has_table("tags") {
        let n: i64 = tx
            .query_one(
                "SELECT count(*) FROM tags WHERE entity_name = 'vaults_beta'",
                &[],
            )
            .await
            .map_err(|e| Error::db("cannot read tags", e))?
            .get(0);
        if n > 0 {
            quirks.insert("tags_still_name_dropped_vaults_beta".to_string(), n as u64);
        }
    }
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
    Ok(FinishReport {
        quirks,
        problems,
        warnings,
        counts,
        schema_changes: catalog::diff(&before.catalog, &now),
        reference_diff,
        catalog: now,
    })
}

/// What a table of the end state must hold: its row count, checksum and chunks.
struct Expected {
    rows: i64,
    checksum: String,
    chunks: Chunks,
}

impl Expected {
    fn of(fp: &TableFingerprint) -> Self {
        Expected {
            rows: fp.rows,
            checksum: fp.checksum.clone(),
            chunks: fp.chunks.clone(),
        }
    }

    fn of_state(st: &TableState) -> Self {
        Expected {
            rows: st.rows,
            checksum: st.checksum.clone(),
            chunks: st.chunks.clone(),
        }
    }

    /// Where `got` first differs, for the problem's message.
    fn where_differs(&self, got: &TableFingerprint) -> String {
        fingerprint::first_difference(&self.chunks, &got.chunks)
            .map(|d| format!("; {}", d.describe()))
            .unwrap_or_default()
    }
}

/// One table compared after `finish`, waiting for its fingerprint.
enum Pending {
    /// A table the source had.
    Kept {
        name: String,
        before_rows: i64,
        want: Expected,
        rule: Option<String>,
        /// The "before" side came from a snapshot manifest, not from this database.
        recorded: bool,
        /// Only counted before (`TableState::deferred`): `want` holds the count alone until
        /// the table is read under the held snapshot.
        deferred: bool,
        /// Read under the held snapshot, it no longer showed its rows: truncated or
        /// rewritten since, so its contents cannot be compared.
        unreadable: bool,
    },
    /// A table the sequence creates, empty or a copy of `from`.
    Created {
        name: &'static str,
        from: Option<&'static str>,
        want: Option<Expected>,
    },
}

/// Counts and contents after `finish`: every table the source had, over the columns it had,
/// against the rule for it; the tables the sequence creates; the rewritten columns row by
/// row, with the quirks Kong's re-encoding leaves counted on the end state. The tables are
/// fingerprinted over several connections sharing `tx`'s snapshot while the rewritten
/// columns stream on `tx` itself.
async fn contents_after_finish(
    tx: &Transaction<'_>,
    schema: &str,
    before: &Before,
    now: &Catalog,
    cat: &LtsCatalog,
    problems: &mut Vec<Problem>,
) -> Result<(Vec<CountRow>, BTreeMap<String, u64>)> {
    let (dropped, _) = dropped_tables(cat);
    let mut counts = vec![];
    let (mut pending, mut scopes) = (vec![], vec![]);
    let key = |t: &str| before.keys.get(t).cloned().unwrap_or_default();
    for (name, st) in &before.tables {
        if BOOKKEEPING.contains(&name.as_str()) {
            continue;
        }
        if dropped.contains(name) {
            let gone = !now.has_table(name);
            counts.push(CountRow {
                table: name.clone(),
                before: Some(st.rows),
                after: (!gone).then_some(-1),
                expected: None,
                rule: Some("dropped by the sequence".into()),
                ok: gone,
            });
            if !gone {
                problems.push(Problem::new(
                    Kind::SchemaMismatch,
                    format!("table {name} should have been dropped"),
                ));
            }
            continue;
        }
        if !now.has_table(name) {
            counts.push(CountRow {
                table: name.clone(),
                before: Some(st.rows),
                after: None,
                expected: Some(st.rows),
                rule: None,
                ok: false,
            });
            problems.push(
                Problem::new(Kind::CountMismatch, format!("table {name} ({} rows) is gone after the upgrade", st.rows))
                    .object(format!("table {name}"))
                    .fix("No step of the LTS sequence drops it: find what did before trusting this upgrade."),
            );
            continue;
        }
        let (mut cols, mut want, mut rule) = (st.columns.clone(), Expected::of_state(st), None);
        match name.as_str() {
            "targets" => {
                want = Expected::of(&before.targets_kept);
                rule = Some("targets_keep_newest_per_upstream_target".to_string());
            }
            "tags" => {
                cols = TAGS_COMPARED.map(String::from).to_vec();
                want = Expected::of(&before.tags_expected);
                rule = Some("tags of deleted targets go with them".to_string());
            }
            "routes" | "plugins" => {
                // The rewritten column is checked row by row below; the rest must be identical.
                let skip = rewritten_column(name);
                cols.retain(|c| c != skip);
                if let Some(fp) = before.without_rewritten.get(name) {
                    want = Expected::of(fp);
                }
                rule = Some(format!("{skip} rewritten by rule"));
            }
            _ => {}
        }
        // A table count a rule changes is counted over the rule's own columns (`tags`):
        // the row count is the same whatever the columns.
        scopes.push(scope(schema, name, cols, String::new(), key(name)));
        pending.push(Pending::Kept {
            name: name.clone(),
            before_rows: st.rows,
            want,
            rule,
            recorded: st.recorded,
            deferred: st.deferred,
            unreadable: false,
        });
    }
    for (name, from) in [
        ("sm_vaults", Some("vaults_beta")),
        ("key_sets", None),
        ("keys", None),
        ("filter_chains", None),
    ] {
        let Some(t) = now.tables.get(name) else {
            continue; // a missing table is a schema problem, reported above
        };
        let src = from.and_then(|f| before.tables.get(f));
        let (cols, k) = match (src, from) {
            // A copy is read over the source's columns, in the source's key order.
            (Some(s), Some(f)) => (s.columns.clone(), key(f)),
            _ => (
                t.columns.iter().map(|c| c.name.clone()).collect(),
                TableKey::default(),
            ),
        };
        scopes.push(scope(schema, name, cols, String::new(), k));
        pending.push(Pending::Created {
            name,
            from,
            want: src.map(Expected::of_state),
        });
    }

    // Tables no rule touches are first asked whether any row was written since the "before"
    // snapshot (a count, no rows read): untouched, with the same count, they hold the same
    // rows. Only the others are read and hashed. A "before" taken from a snapshot manifest
    // is the source's, not this database's: those tables are always hashed.
    let opaque = fingerprint::tables_with_opaque_types(tx, schema).await?;
    let jobs: Vec<Job> = pending
        .iter()
        .zip(&scopes)
        .map(|(p, s)| match p {
            Pending::Kept {
                name,
                rule: None,
                recorded: false,
                ..
            } if !opaque.contains(name) && has_columns(now, name, &s.columns) => Job::Written {
                scope: s.clone(),
                horizon: before.xid_horizon,
            },
            _ => Job::Scan(Scan {
                scope: s.clone(),
                also: vec![],
            }),
        })
        .collect();
    let snapshot = fingerprint::export_snapshot(tx).await?;
    let mut quirks = BTreeMap::new();
    let workers = fingerprint::DEFAULT_WORKERS;
    let (done, rewritten) = tokio::join!(
        fingerprint::run(&before.target, Some(&snapshot), jobs, workers),
        rewritten_after_finish(tx, schema, before, now, &mut quirks)
    );
    let (done, rewritten) = (done?, rewritten?);
    // None: proven untouched; Some(fp): read; with the rows written, when counted.
    let mut got: Vec<(Option<TableFingerprint>, Option<Written>)> = vec![];
    let mut again = vec![];
    for (i, (d, p)) in done.into_iter().zip(&pending).enumerate() {
        match d {
            Done::Scan(fp, _) => got.push((Some(fp), None)),
            Done::Written(w) => {
                let want_rows = match p {
                    Pending::Kept { want, .. } => want.rows,
                    Pending::Created { .. } => -1,
                };
                if w.written > 0 || w.rows != want_rows {
                    again.push(i);
                }
                got.push((None, Some(w)));
            }
            Done::Count(_) => return Err(Error::Internal("the end state was only counted".into())),
        }
    }
    let rescans = again
        .iter()
        .map(|&i| {
            Job::Scan(Scan {
                scope: scopes[i].clone(),
                also: vec![],
            })
        })
        .collect();
    for (i, d) in again
        .iter()
        .zip(fingerprint::run(&before.target, Some(&snapshot), rescans, workers).await?)
    {
        if let Done::Scan(fp, _) = d {
            got[*i].0 = Some(fp);
        }
    }
    // A table only counted before, that must now be compared row for row: read as it was,
    // under the held "before" snapshot, over the same scope.
    let resolve: Vec<usize> = pending
        .iter()
        .enumerate()
        .filter(|(i, p)| matches!(p, Pending::Kept { deferred: true, .. }) && got[*i].0.is_some())
        .map(|(i, _)| i)
        .collect();
    if !resolve.is_empty() {
        let held = before.held.as_ref().ok_or_else(|| {
            Error::Internal("a table was only counted, and the snapshot was not held".into())
        })?;
        let (mut readable, mut jobs) = (vec![], vec![]);
        for &i in &resolve {
            if has_columns(now, &scopes[i].table, &scopes[i].columns) {
                readable.push(i);
                jobs.push(Job::Scan(Scan {
                    scope: scopes[i].clone(),
                    also: vec![],
                }));
            } else if let Pending::Kept { unreadable, .. } = &mut pending[i] {
                // The held snapshot reads through today's catalog: a column gone is gone.
                *unreadable = true;
            }
        }
        let fps = fingerprint::run(&before.target, Some(&held.id), jobs, workers).await?;
        for (&i, d) in readable.iter().zip(fps) {
            if let (
                Done::Scan(fp, _),
                Pending::Kept {
                    want,
                    before_rows,
                    unreadable,
                    ..
                },
            ) = (d, &mut pending[i])
            {
                if fp.rows == *before_rows {
                    *want = Expected::of(&fp);
                } else {
                    *unreadable = true;
                }
            }
        }
    }

    for ((p, (fp, written)), s) in pending.into_iter().zip(got).zip(&scopes) {
        // Which rows the upgrade wrote, for a table no step should have written to.
        let written_keys = || async {
            match written {
                Some(w) if w.written > 0 => {
                    let keys = fingerprint::written_keys(tx, s, before.xid_horizon, 5).await?;
                    Ok::<_, Error>(format!(
                        "; {} row(s) were written during the upgrade{}",
                        w.written,
                        if keys.is_empty() {
                            String::new()
                        } else {
                            format!(", by {}: {}", s.key.columns.join(", "), keys.join("; "))
                        }
                    ))
                }
                _ => Ok(String::new()),
            }
        };
        match p {
            Pending::Kept {
                name,
                before_rows,
                want,
                rule,
                unreadable,
                ..
            } => {
                if let (true, Some(got)) = (unreadable, &fp) {
                    counts.push(CountRow {
                        table: name.clone(),
                        before: Some(before_rows),
                        after: Some(got.rows),
                        expected: Some(want.rows),
                        rule,
                        ok: false,
                    });
                    let written = written_keys().await?;
                    problems.push(
                        Problem::new(
                            Kind::ContentMismatch,
                            format!(
                                "table {name}: rows were written during the upgrade, and no step of \
                                 the LTS sequence writes to it; it was also truncated, rewritten or \
                                 lost a column since the \"before\" snapshot, so its contents \
                                 cannot be compared row for row{written}"
                            ),
                        )
                        .object(format!("table {name}"))
                        .fix("Something wrote to this table during the upgrade: look for triggers, rules or event triggers in the source, and for anything else connected to the database during the rehearsal."),
                    );
                    continue;
                }
                let Some(got) = fp else {
                    // Untouched since "before", and as many rows: the same rows.
                    counts.push(CountRow {
                        table: name.clone(),
                        before: Some(before_rows),
                        after: Some(before_rows),
                        expected: Some(want.rows),
                        rule,
                        ok: true,
                    });
                    continue;
                };
                let ok = got.rows == want.rows;
                counts.push(CountRow {
                    table: name.clone(),
                    before: Some(before_rows),
                    after: Some(got.rows),
                    expected: Some(want.rows),
                    rule: rule.clone(),
                    ok,
                });
                if !ok {
                    let written = written_keys().await?;
                    problems.push(
                        Problem::new(
                            Kind::CountMismatch,
                            format!(
                                "table {name}: {before_rows} rows before, {} after, {} expected{}{}{written}",
                                got.rows,
                                want.rows,
                                rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                                want.where_differs(&got)
                            ),
                        )
                        .object(format!("table {name}"))
                        .fix("Rows appeared or vanished that no migration step accounts for: look for triggers or rules on this table in the source, and for anything else writing to the database during the rehearsal."),
                    );
                } else if got.checksum != want.checksum {
                    let written = written_keys().await?;
                    problems.push(
                        Problem::new(
                            Kind::ContentMismatch,
                            format!(
                                "table {name}: the contents of the columns it had before changed, and no \
                                 step of the LTS sequence rewrites them{}{}{written}",
                                rule.as_deref().map(|r| format!(" (beyond {r})")).unwrap_or_default(),
                                want.where_differs(&got)
                            ),
                        )
                        .object(format!("table {name}"))
                        .fix("Something rewrote existing rows during the upgrade: look for triggers on this table in the source."),
                    );
                }
            }
            Pending::Created { name, from, want } => {
                let Some(got) = fp else {
                    return Err(Error::Internal(format!("table {name} was never read")));
                };
                let expected = want.as_ref().map_or(0, |w| w.rows);
                let ok = got.rows == expected
                    && want.as_ref().is_none_or(|w| w.checksum == got.checksum);
                counts.push(CountRow {
                    table: name.to_string(),
                    before: None,
                    after: Some(got.rows),
                    expected: Some(expected),
                    rule: from.map(|f| format!("copy of {f}")),
                    ok,
                });
                if !ok {
                    problems.push(
                        Problem::new(
                            if got.rows == expected {
                                Kind::ContentMismatch
                            } else {
                                Kind::CountMismatch
                            },
                            format!(
                                "table {name}: {} rows after the upgrade, {expected} expected{}{}",
                                got.rows,
                                from.map(|f| format!(" (a copy of {f})")).unwrap_or_default(),
                                want.as_ref().map(|w| w.where_differs(&got)).unwrap_or_default()
                            ),
                        )
                        .object(format!("table {name}"))
                        .fix(
                            "Vault entities must survive the move from vaults_beta to sm_vaults unchanged.",
                        ),
                    );
                }
            }
        }
    }
    problems.extend(rewritten);
    Ok((counts, quirks))
}

/// Whether `table` of `cat` still has every one of `columns`.
fn has_columns(cat: &Catalog, table: &str, columns: &[String]) -> bool {
    cat.tables.get(table).is_some_and(|t| {
        columns
            .iter()
            .all(|c| t.columns.iter().any(|x| &x.name == c))
    })
}

/// At most [`MAX_LISTED`] problems of one kind, then one that gives the total.
struct Listed {
    kept: Vec<Problem>,
    total: usize,
}

impl Listed {
    fn new() -> Self {
        Listed {
            kept: vec![],
            total: 0,
        }
    }

    fn push(&mut self, p: impl FnOnce() -> Problem) {
        self.total += 1;
        if self.kept.len() < MAX_LISTED {
            self.kept.push(p());
        }
    }

    /// The problems kept, and a last one for the rest (`what`: "routes whose paths …").
    fn into_problems(mut self, what: &str, object: &str) -> Vec<Problem> {
        if self.total > self.kept.len() {
            self.kept.push(
                Problem::new(
                    Kind::ContentMismatch,
                    format!(
                        "{} more {what} ({} in all; the first {} are listed)",
                        self.total - self.kept.len(),
                        self.total,
                        self.kept.len()
                    ),
                )
                .object(object.to_string()),
            );
        }
        self.kept
    }
}

/// routes.paths and plugins.config after `finish`, row by row against Kong's rules applied to
/// the rows as they were: the end state streams in id order next to the spilled before side.
async fn rewritten_after_finish(
    tx: &Transaction<'_>,
    schema: &str,
    before: &Before,
    now: &Catalog,
    quirks: &mut BTreeMap<String, u64>,
) -> Result<Vec<Problem>> {
    let s = quote_ident(schema);
    let mut out = vec![];
    if now.has_table("routes") {
        let mut listed = Listed::new();
        let mut was = before.rewritten.read::<RouteLine>("routes")?.peekable();
        let rows = tx
            .query_raw(
                format!("SELECT id, paths FROM {s}.routes ORDER BY id").as_str(),
                no_params(),
            )
            .await
            .map_err(|e| Error::db("cannot read routes", e))?;
        pin_mut!(rows);
        while let Some(r) = rows
            .try_next()
            .await
            .map_err(|e| Error::db("cannot read routes", e))?
        {
            let id: Uuid = r.get(0);
            let Some((_, before_paths)) = next_with(&mut was, id, |l| l.0)? else {
                continue;
            };
            let got: Option<Vec<String>> = r.get(1);
            let want = before_paths
                .as_ref()
                .map(|p| transforms::migrate_route_paths(p).unwrap_or_else(|| p.clone()));
            if got != want {
                listed.push(|| {
                    Problem::new(
                        Kind::ContentMismatch,
                        format!("route {id}: paths are {got:?} after the upgrade; Kong's path migration gives {want:?} from {before_paths:?}"),
                    )
                    .object(format!("routes {id}"))
                    .fix("Route paths must change only by Kong's 3.0 path rule (regex paths get `~`, plain paths are normalized).")
                });
            }
        }
        out.extend(listed.into_problems(
            "routes whose paths differ from Kong's path migration",
            "table routes",
        ));
    }
    if now.has_table("plugins") {
        let mut listed = Listed::new();
        let mut was = before.rewritten.read::<PluginLine>("plugins")?.peekable();
        let rows = tx
            .query_raw(
                format!("SELECT id, name, config FROM {s}.plugins ORDER BY id").as_str(),
                no_params(),
            )
            .await
            .map_err(|e| Error::db("cannot read plugins", e))?;
        pin_mut!(rows);
        while let Some(r) = rows
            .try_next()
            .await
            .map_err(|e| Error::db("cannot read plugins", e))?
        {
            let id: Uuid = r.get(0);
            let Some((_, _, before_cfg)) = next_with(&mut was, id, |l| l.0)? else {
                continue;
            };
            let name: String = r.get(1);
            let got: serde_json::Value = r.get(2);
            for q in transforms::quirks(&before_cfg, &got) {
                *quirks.entry(q.to_string()).or_default() += 1;
            }
            let want = predicted_config(&name, &before_cfg);
            if got != want {
                listed.push(|| {
                    Problem::new(
                        Kind::ContentMismatch,
                        format!("plugin {id} ({name}): config after the upgrade differs from what Kong's data migrations produce"),
                    )
                    .object(format!("plugins {id}"))
                    .fix("Plugin configs may change only by the pre-/post-function and http-log rules.")
                });
            }
        }
        out.extend(listed.into_problems(
            "plugins whose config differs from Kong's data migrations",
            "table plugins",
        ));
    }
    Ok(out)
}

/// The before line with id `id` from a stream in id order, skipping lines of ids the end
/// state no longer has; None when the before side has no such id.
fn next_with<T>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = Result<T>>>,
    id: Uuid,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Option<T>> {
    loop {
        match lines.peek() {
            None => return Ok(None),
            Some(Err(_)) => return lines.next().expect("peeked").map(|_| None),
            Some(Ok(l)) if id_of(l) < id => {
                lines.next();
            }
            Some(Ok(l)) if id_of(l) == id => return lines.next().expect("peeked").map(Some),
            Some(Ok(_)) => return Ok(None),
        }
    }
}

/// The schema the upgrade must end with, and why it differs from Kong 3.4.2's reference.
pub struct EndState {
    pub catalog: Catalog,
    /// Objects held as the source had them (its own differences from stock 2.8.5 that no
    /// migration acts on, and the objects of subsystems Kong does not load), described.
    pub held: Vec<String>,
    /// Differences of the source that a migration acts on: `((object, table, name), by)`.
    #[allow(clippy::type_complexity)]
    pub touched: Vec<((&'static str, Option<String>, String), String)>,
}

/// Kong 3.4.2's reference plus every difference the source already had from stock 2.8.5
/// (`drift`: legacy tables and columns of a database born on Kong 1.x, DBA indexes, extra
/// tables, extensions) that no migration of the sequence acts on, and the objects of
/// subsystems whose plugin is not loaded (Kong runs none of their migrations). Those are held
/// exactly as the source has them; a difference a migration does act on is left to the
/// reference and named in `touched`. Column order is never compared.
pub fn expected_end_state(
    reference: &Catalog,
    drift: &[Change],
    source: &Catalog,
    cat: &LtsCatalog,
) -> EndState {
    let mut end = EndState {
        catalog: reference.clone(),
        held: vec![],
        touched: vec![],
    };
    end.catalog.schema = source.schema.clone();
    for d in drift.iter().filter(|d| d.object != "column order") {
        if let Some((sub, m)) = cat.touched_by(d.object, d.table.as_deref(), &d.name) {
            end.touched.push((
                (d.object, d.table.clone(), d.name.clone()),
                format!("{sub}/{m}"),
            ));
            continue;
        }
        hold(
            &mut end.catalog,
            source,
            d.object,
            d.table.as_deref(),
            &d.name,
        );
        end.held.push(d.describe());
    }
    for sub in &cat.not_loaded {
        let mut objects = BTreeSet::new();
        // What its 2.8 migrations left and what its 3.x migrations would do: Kong runs
        // neither, so all of it stays as the source has it.
        let effects = sub.effects_2_8.iter().flat_map(|e| &e.present).chain(
            sub.sequence
                .iter()
                .flat_map(|s| s.effects.up.iter().chain(&s.effects.teardown)),
        );
        for e in effects {
            let t = e.table.clone();
            let object = match e.op.as_str() {
                "create_table" | "drop_table" => t.clone().map(|n| ("table", t.clone(), n)),
                "add_column" => e.column.clone().map(|c| ("column", t.clone(), c)),
                "create_index" => e.name.clone().map(|n| ("index", t.clone(), n)),
                "add_constraint" => e.name.clone().map(|n| ("constraint", t.clone(), n)),
                "create_trigger" => e.name.clone().map(|n| ("trigger", t.clone(), n)),
                "create_function" => e.name.clone().map(|n| ("function", None, n)),
                _ => None,
            };
            objects.extend(object);
        }
        for (object, table, name) in objects {
            hold(&mut end.catalog, source, object, table.as_deref(), &name);
            end.held.push(format!(
                "{object} {} of `{}`, whose plugin is not loaded",
                match &table {
                    Some(t) if object != "table" => format!("{t}.{name}"),
                    _ => name.clone(),
                },
                sub.name
            ));
        }
    }
    end
}

/// A grant on a table Kong 3.x creates that the source's `ALTER DEFAULT PRIVILEGES … ON TABLES`
/// (or `ON SEQUENCES`) gives it: it is there when the migrations run as that role, as
/// production's do when Kong connects as it, and absent otherwise; neither is a mismatch.
fn from_default_privileges(ch: &Change, source: &Catalog) -> bool {
    if ch.object != "grant" || ch.change != "added" {
        return false;
    }
    let Some((table, None)) = catalog::grant_target(&ch.name) else {
        return false;
    };
    if source.tables.contains_key(table) {
        return false;
    }
    let Some((object, grantee)) = ch.name.split_once(" to ") else {
        return false;
    };
    let on = if object.starts_with("SEQUENCE ") {
        "SEQUENCES"
    } else {
        "TABLES"
    };
    source.grants.iter().any(|(k, v)| {
        k.starts_with("DEFAULT PRIVILEGES FOR ROLE ")
            && k.ends_with(&format!(" ON {on} to {grantee}"))
            && Some(v) == ch.after.as_ref()
    })
}

/// Sets one object of `cat` to what `source` has (removes it where `source` has none).
fn hold(cat: &mut Catalog, source: &Catalog, object: &str, table: Option<&str>, name: &str) {
    let src_table = table.and_then(|t| source.tables.get(t));
    match object {
        "table" => match source.tables.get(name) {
            Some(t) => {
                cat.tables.insert(name.to_string(), t.clone());
            }
            None => {
                cat.tables.remove(name);
            }
        },
        "column" => {
            let Some(t) = table.and_then(|t| cat.tables.get_mut(t)) else {
                return;
            };
            let want = src_table.and_then(|s| s.columns.iter().find(|c| c.name == name));
            match (t.columns.iter().position(|c| c.name == name), want) {
                (Some(i), Some(c)) => t.columns[i] = c.clone(),
                (Some(i), None) => {
                    t.columns.remove(i);
                }
                (None, Some(c)) => t.columns.push(c.clone()),
                (None, None) => {}
            }
        }
        "constraint" | "index" | "trigger" => {
            let Some(t) = table.and_then(|t| cat.tables.get_mut(t)) else {
                return;
            };
            let pick = |x: &crate::pg::catalog::Table| -> Option<String> {
                match object {
                    "constraint" => x.constraints.get(name).cloned(),
                    "index" => x.indexes.get(name).cloned(),
                    _ => x.triggers.get(name).cloned(),
                }
            };
            let want = src_table.and_then(pick);
            let map = match object {
                "constraint" => &mut t.constraints,
                "index" => &mut t.indexes,
                _ => &mut t.triggers,
            };
            match want {
                Some(def) => {
                    map.insert(name.to_string(), def);
                }
                None => {
                    map.remove(name);
                }
            }
        }
        "function" => {
            // Catalog keys are `name(args)`; an effect names the function only.
            let same = |k: &String| k == name || k.split('(').next() == Some(name);
            cat.functions.retain(|k, _| !same(k));
            for (k, v) in source.functions.iter().filter(|(k, _)| same(k)) {
                cat.functions.insert(k.clone(), v.clone());
            }
        }
        "grant" => match source.grants.get(name) {
            Some(p) => {
                cat.grants.insert(name.to_string(), p.clone());
            }
            None => {
                cat.grants.remove(name);
            }
        },
        "sequence" | "view" | "extension" => {
            let (dst, src) = match object {
                "sequence" => (&mut cat.sequences, &source.sequences),
                "view" => (&mut cat.views, &source.views),
                _ => (&mut cat.extensions, &source.extensions),
            };
            if src.contains(name) {
                dst.insert(name.to_string());
            } else {
                dst.remove(name);
            }
        }
        _ => {}
    }
}

/// The column a table's declared rewrite touches.
fn rewritten_column(table: &str) -> &'static str {
    if table == "routes" {
        "paths"
    } else {
        "config"
    }
}

/// A plugin's config after up and finish, by Kong's rules.
pub fn predicted_config(name: &str, cfg: &serde_json::Value) -> serde_json::Value {
    match name {
        "pre-function" | "post-function" => {
            transforms::pre_post_function_teardown(&transforms::pre_post_function_up(cfg))
        }
        "http-log" => transforms::http_log_headers(cfg).unwrap_or_else(|| cfg.clone()),
        _ => cfg.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::catalog::{Column, Table};

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            data_type: "uuid".into(),
            default: None,
            not_null: false,
        }
    }

    fn table(cols: &[&str]) -> Table {
        Table {
            columns: cols.iter().map(|c| col(c)).collect(),
            ..Default::default()
        }
    }

    /// The source's own differences from stock 2.8.5 that no migration acts on are held; one a
    /// migration acts on is left to the reference; column order is never compared.
    #[test]
    fn the_end_state_holds_what_no_migration_touches() {
        let cat = LtsCatalog::load().unwrap();
        let mut stock = Catalog::default();
        stock
            .tables
            .insert("plugins".into(), table(&["id", "name", "config"]));
        stock
            .tables
            .insert("targets".into(), table(&["id", "target"]));
        stock
            .tables
            .insert("routes".into(), table(&["id", "name", "paths"]));
        let mut source = stock.clone();
        let plugins = source.tables.get_mut("plugins").unwrap();
        plugins.columns.push(col("api_id"));
        plugins
            .indexes
            .insert("plugins_api_id_idx".into(), "CREATE INDEX ...".into());
        source.tables.insert("apis".into(), table(&["id", "name"]));
        source.extensions.insert("pg_stat_statements".into());
        source
            .tables
            .get_mut("targets")
            .unwrap()
            .columns
            .push(col("cache_key"));
        source.tables.get_mut("routes").unwrap().columns.reverse();
        let drift = catalog::diff(&stock, &source);

        let mut reference = stock.clone();
        reference
            .tables
            .get_mut("targets")
            .unwrap()
            .columns
            .push(Column {
                data_type: "text".into(),
                ..col("cache_key")
            });
        let end = expected_end_state(&reference, &drift, &source, &cat);
        let e = &end.catalog;
        assert!(e.has_table("apis"));
        assert!(e.has_column("plugins", "api_id"));
        assert!(e.has_index("plugins_api_id_idx"));
        assert!(e.extensions.contains("pg_stat_statements"));
        // 016 adds targets.cache_key: the reference's definition applies, and it is named.
        assert_eq!(e.column("targets", "cache_key").unwrap().data_type, "text");
        assert!(end
            .touched
            .iter()
            .any(|(o, by)| o.2 == "cache_key" && by == "core/016_280_to_300"));
        assert_eq!(end.held.len(), 4, "{:#?}", end.held);
        assert!(!end.held.iter().any(|h| h.contains("column order")));
    }
}
