//! Phase checks for a rehearsal: what the database held before, what the LTS sequence says
//! must change, and whether the migrated database shows exactly that.
//!
//! Counts and content are compared per table over the columns the table had before. Rows
//! the sequence rewrites are checked against the Rust ports of Kong's rules, row by row;
//! everything else must be byte-identical.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::kong::lts::LtsCatalog;
use crate::kong::schema_meta::{self, Row};
use crate::kong::transforms;
use crate::pg::catalog::{self, Catalog, Change};
use crate::pg::fingerprint::checksum;
use crate::pg::quote_ident;
use crate::report::{Kind, Problem};

/// Tables whose contents the checks handle by rule, or not at all.
const BOOKKEEPING: &[&str] = &["schema_meta", "locks"];

#[derive(Debug, Clone, Serialize)]
pub struct TableState {
    pub rows: i64,
    pub checksum: String,
    pub columns: Vec<String>,
}

/// The database right before migrating (on the throwaway copy), in one snapshot.
pub struct Before {
    pub catalog: Catalog,
    pub tables: BTreeMap<String, TableState>,
    pub schema_meta: Vec<Row>,
    pub routes: BTreeMap<Uuid, Option<Vec<String>>>,
    pub plugins: BTreeMap<Uuid, (String, serde_json::Value)>,
    /// Rows 3.0's teardown keeps in `targets`, and their checksum over the 2.8 columns.
    pub targets_kept: (i64, String),
    /// `tags` as it should read after 016 moves vault tags to `sm_vaults`.
    pub tags_expected: (i64, String),
    /// routes without `paths`, plugins without `config`: what must not change at all.
    pub without_rewritten: BTreeMap<String, String>,
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

const SURVIVING_TARGETS: &str = "t1 WHERE NOT EXISTS (SELECT 1 FROM targets t2
    WHERE t1.created_at < t2.created_at AND t1.upstream_id = t2.upstream_id AND t1.target = t2.target)";

/// `known`: per-table (rows, checksum) already recorded for exactly this data (a snapshot
/// manifest); those tables are not counted again.
pub async fn capture_before(
    client: &mut Client,
    schema: &str,
    known: Option<&BTreeMap<String, (i64, String)>>,
) -> Result<Before> {
    let tx = crate::pg::conn::read_only_snapshot(client).await?;
    let catalog = catalog::read(&tx, schema).await?;
    let mut tables = BTreeMap::new();
    for (name, t) in &catalog.tables {
        let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let (rows, sum) = match known.and_then(|k| k.get(name)) {
            Some(k) => k.clone(),
            None => checksum(&tx, name, &select_list(&columns), "").await?,
        };
        tables.insert(
            name.clone(),
            TableState {
                rows,
                checksum: sum,
                columns,
            },
        );
    }
    let schema_meta = schema_meta::read(&tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))?;
    let mut routes = BTreeMap::new();
    if catalog.has_table("routes") {
        for r in tx
            .query("SELECT id, paths FROM routes", &[])
            .await
            .map_err(|e| Error::db("cannot read routes", e))?
        {
            routes.insert(r.get(0), r.get(1));
        }
    }
    let mut plugins = BTreeMap::new();
    if catalog.has_table("plugins") {
        for r in tx
            .query("SELECT id, name, config FROM plugins", &[])
            .await
            .map_err(|e| Error::db("cannot read plugins", e))?
        {
            plugins.insert(r.get(0), (r.get(1), r.get(2)));
        }
    }
    let targets_kept = match tables.get("targets") {
        Some(t) => {
            let cols = t
                .columns
                .iter()
                .map(|c| format!("t1.{}", quote_ident(c)))
                .collect::<Vec<_>>();
            checksum(&tx, "targets", &cols.join(", "), SURVIVING_TARGETS).await?
        }
        None => (0, String::new()),
    };
    // sync_tags follows the rows: the tags of the targets 016's teardown deletes go with
    // them. Copying the vaults to sm_vaults fires sync_tags too, but its upsert only updates
    // `tags` on conflict, so those rows keep entity_name 'vaults_beta' (a Kong quirk).
    let tags_expected = if catalog.has_table("tags") {
        let deleted_targets = if catalog.has_table("targets") {
            "WHERE entity_id NOT IN (SELECT t1.id FROM targets t1 WHERE EXISTS (SELECT 1 FROM targets t2
               WHERE t1.created_at < t2.created_at AND t1.upstream_id = t2.upstream_id AND t1.target = t2.target))"
        } else {
            ""
        };
        checksum(&tx, "tags", "entity_id, entity_name, tags", deleted_targets).await?
    } else {
        (0, String::new())
    };
    let mut without_rewritten = BTreeMap::new();
    for name in ["routes", "plugins"] {
        if let Some(t) = tables.get(name) {
            let skip = rewritten_column(name);
            let cols: Vec<String> = t.columns.iter().filter(|c| *c != skip).cloned().collect();
            let (_, sum) = checksum(&tx, name, &select_list(&cols), "").await?;
            without_rewritten.insert(name.to_string(), sum);
        }
    }
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
    Ok(Before {
        without_rewritten,
        catalog,
        tables,
        schema_meta,
        routes,
        plugins,
        targets_kept,
        tags_expected,
    })
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
        if ch.change != "removed" && ch.object != "column order" {
            continue;
        }
        let table = ch.table.clone().unwrap_or_default();
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
        for r in tx
            .query(
                "SELECT id::text, p FROM routes, unnest(paths) p WHERE p LIKE '~~%'",
                &[],
            )
            .await
            .map_err(|e| Error::db("cannot read routes", e))?
        {
            let (id, p): (String, String) = (r.get(0), r.get(1));
            problems.push(
                Problem::new(Kind::ContentMismatch, format!("route {id} has path `{p}`: a regex path was prefixed with `~` twice"))
                    .object(format!("routes {id}"))
                    .fix("The path migration ran twice (a re-run `up --force`, or a database that already had `~` paths): restore the routes from the pre-upgrade backup."),
            );
        }
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

    let key = |c: &Change| (c.change, c.object, c.table.clone(), c.name.clone());
    let drift: BTreeSet<_> = drift_285.iter().map(key).collect();
    let mut reference = reference_342.clone();
    reference.schema = now.schema.clone();
    let changes = catalog::diff(&reference, &now);
    for ch in &changes {
        if drift.contains(&key(ch)) {
            warnings.push(format!(
                "carried over from the source's drift from stock 2.8.5: {}",
                ch.describe()
            ));
            continue;
        }
        problems.push(
            Problem::new(
                Kind::SchemaMismatch,
                format!("after `finish`, compared with the Kong 3.4.2 reference schema: {}", ch.describe()),
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
            "kong-3.4.2 reference",
            "rehearsed database",
        )
    };

    let meta = schema_meta::read(&tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))?;
    problems.extend(expected_meta.check("finish", &meta));

    let (dropped, _) = dropped_tables(cat);
    let mut counts = vec![];
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
        let (mut cols, mut expected_rows, mut expected_sum, mut rule) =
            (st.columns.clone(), st.rows, st.checksum.clone(), None);
        match name.as_str() {
            "targets" => {
                (expected_rows, expected_sum) = before.targets_kept.clone();
                rule = Some("targets_keep_newest_per_upstream_target".to_string());
            }
            "tags" => {
                (expected_rows, expected_sum) = before.tags_expected.clone();
                rule = Some("tags of deleted targets go with them".to_string());
            }
            "routes" | "plugins" => {
                // The rewritten column is checked row by row below; the rest must be identical.
                let skip = rewritten_column(name);
                cols.retain(|c| c != skip);
                if let Some(sum) = before.without_rewritten.get(name) {
                    expected_sum = sum.clone();
                }
                rule = Some(format!("{skip} rewritten by rule"));
            }
            _ => {}
        }
        let (rows, sum) = checksum(&tx, name, &select_list(&cols), "").await?;
        let ok = rows == expected_rows;
        counts.push(CountRow {
            table: name.clone(),
            before: Some(st.rows),
            after: Some(rows),
            expected: Some(expected_rows),
            rule: rule.clone(),
            ok,
        });
        if !ok {
            problems.push(
                Problem::new(
                    Kind::CountMismatch,
                    format!(
                        "table {name}: {} rows before, {rows} after, {expected_rows} expected{}",
                        st.rows,
                        rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                )
                .object(format!("table {name}"))
                .fix("Rows appeared or vanished that no migration step accounts for: look for triggers or rules on this table in the source, and for anything else writing to the database during the rehearsal."),
            );
        } else if sum != expected_sum {
            problems.push(
                Problem::new(
                    Kind::ContentMismatch,
                    format!(
                        "table {name}: the contents of the columns it had before changed, and no \
                         step of the LTS sequence rewrites them{}",
                        rule.as_deref().map(|r| format!(" (beyond {r})")).unwrap_or_default()
                    ),
                )
                .object(format!("table {name}"))
                .fix("Something rewrote existing rows during the upgrade: look for triggers on this table in the source."),
            );
        }
    }
    // Tables the sequence creates.
    for (name, from) in [
        ("sm_vaults", Some("vaults_beta")),
        ("key_sets", None),
        ("keys", None),
        ("filter_chains", None),
    ] {
        if !now.has_table(name) {
            continue; // a missing table is a schema problem, reported above
        }
        let src = from.and_then(|f| before.tables.get(f));
        let expected = src.map_or(0, |s| s.rows);
        let (rows, sum) = match src {
            Some(s) => checksum(&tx, name, &select_list(&s.columns), "").await?,
            None => checksum(&tx, name, "*", "").await?,
        };
        let ok = rows == expected && src.is_none_or(|s| s.checksum == sum);
        counts.push(CountRow {
            table: name.to_string(),
            before: None,
            after: Some(rows),
            expected: Some(expected),
            rule: from.map(|f| format!("copy of {f}")),
            ok,
        });
        if !ok {
            problems.push(
                Problem::new(
                    if rows == expected {
                        Kind::ContentMismatch
                    } else {
                        Kind::CountMismatch
                    },
                    format!(
                        "table {name}: {rows} rows after the upgrade, {expected} expected{}",
                        from.map(|f| format!(" (a copy of {f})"))
                            .unwrap_or_default()
                    ),
                )
                .object(format!("table {name}"))
                .fix(
                    "Vault entities must survive the move from vaults_beta to sm_vaults unchanged.",
                ),
            );
        }
    }

    // Rewritten columns, row by row; the quirks Kong's re-encoding leaves are counted on
    // the end state, as production will show them.
    let mut quirks: BTreeMap<String, u64> = BTreeMap::new();
    for r in tx
        .query("SELECT id, paths FROM routes", &[])
        .await
        .map_err(|e| Error::db("cannot read routes", e))?
    {
        let id: Uuid = r.get(0);
        let got: Option<Vec<String>> = r.get(1);
        let Some(before_paths) = before.routes.get(&id) else {
            continue;
        };
        let want = before_paths
            .as_ref()
            .map(|p| transforms::migrate_route_paths(p).unwrap_or_else(|| p.clone()));
        if got != want {
            problems.push(
                Problem::new(
                    Kind::ContentMismatch,
                    format!("route {id}: paths are {got:?} after the upgrade; Kong's path migration gives {want:?} from {before_paths:?}"),
                )
                .object(format!("routes {id}"))
                .fix("Route paths must change only by Kong's 3.0 path rule (regex paths get `~`, plain paths are normalized)."),
            );
        }
    }
    for r in tx
        .query("SELECT id, name, config FROM plugins", &[])
        .await
        .map_err(|e| Error::db("cannot read plugins", e))?
    {
        let id: Uuid = r.get(0);
        let name: String = r.get(1);
        let got: serde_json::Value = r.get(2);
        let Some((_, before_cfg)) = before.plugins.get(&id) else {
            continue;
        };
        for q in transforms::quirks(before_cfg, &got) {
            *quirks.entry(q.to_string()).or_default() += 1;
        }
        let want = predicted_config(&name, before_cfg);
        if got != want {
            problems.push(
                Problem::new(
                    Kind::ContentMismatch,
                    format!("plugin {id} ({name}): config after the upgrade differs from what Kong's data migrations produce"),
                )
                .object(format!("plugins {id}"))
                .fix("Plugin configs may change only by the pre-/post-function and http-log rules."),
            );
        }
    }
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
