//! An interrupted upgrade, rehearsed: on a second copy of the source, the migration
//! connection is cut halfway through one step; the upgrade is then rerun as an operator
//! would (`kong migrations up` / `finish` again, Kong's bookkeeping deciding what runs) and
//! its end state compared with the clean rehearsal's. It never touches the clean
//! rehearsal's database except to read it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use tokio_postgres::Client;

use super::super::Ctx;
use crate::error::{Error, Result};
use crate::kong::lts::LtsCatalog;
use crate::kong::runner::builtin::{Builtin, Flow, Hooks, NoHooks, Part, RunError};
use crate::pg::catalog::{self, Catalog};
use crate::pg::fingerprint::{self, Scope};
use crate::pg::sql::forecast as sql;
use crate::pg::{programs, quote_ident};
use crate::report::{Kind, Problem, Progress};
use crate::throwaway::Throwaway;

/// Differences listed per table before the rest are only counted.
const ROWS_SHOWN: usize = 20;

/// What `--interrupt` names: one part, or every data step and teardown in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    All,
    Part(String),
}

/// `--interrupt STEP|all`, checked against the LTS catalog.
pub fn parse(s: &str) -> std::result::Result<Choice, String> {
    if s == "all" {
        return Ok(Choice::All);
    }
    let cat = LtsCatalog::load().map_err(|e| e.to_string())?;
    let valid = every_part(&cat);
    if valid.iter().any(|v| v == s) {
        Ok(Choice::Part(s.to_string()))
    } else {
        Err(format!(
            "`{s}` is not a step of the 2.8.5 → 3.4.2 upgrade; name one as SUBSYSTEM/MIGRATION:PART, \
             e.g. core/016_280_to_300:up_f, or `all` for every data step and teardown. Steps: {}",
            valid.join(", ")
        ))
    }
}

/// Every part a step has: `up` (its SQL), `up_f` (its data step), `teardown`.
fn every_part(cat: &LtsCatalog) -> Vec<String> {
    let mut out = vec![];
    for sub in &cat.subsystems {
        for st in &sub.sequence {
            let id = |p: &str| format!("{}/{}:{p}", sub.name, st.name);
            if st.up.is_some() {
                out.push(id("up"));
            }
            if st.up_f.is_some() {
                out.push(id("up_f"));
            }
            if st.has_teardown {
                out.push(id("teardown"));
            }
        }
    }
    out
}

impl Choice {
    /// The parts to interrupt, in Kong's order. `all` is every data step and teardown:
    /// the parts that commit piece by piece, where a cut can leave half a step behind.
    pub fn parts(&self, cat: &LtsCatalog) -> Vec<String> {
        match self {
            Choice::Part(p) => vec![p.clone()],
            Choice::All => {
                let (mut ups, mut downs) = (vec![], vec![]);
                for p in every_part(cat) {
                    if p.ends_with(":up_f") {
                        ups.push(p);
                    } else if p.ends_with(":teardown") {
                        downs.push(p);
                    }
                }
                ups.extend(downs);
                ups
            }
        }
    }
}

/// One interrupted rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct Interrupt {
    pub step: String,
    /// How far the step got before the cut.
    pub at: String,
    /// What the operator's rerun ran.
    pub rerun: Vec<String>,
    pub same_as_clean: bool,
    /// How the end state differs from the clean rehearsal's.
    pub differences: Vec<Problem>,
    /// What an operator should do instead of (or after) the plain rerun.
    pub recovery: String,
    /// Whether the recovery SQL, applied to the interrupted copy, made it equal the clean
    /// rehearsal's end state (only when there is such SQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_verified: Option<bool>,
    pub duration_ms: u64,
}

/// Cuts the connection halfway through one part, and remembers where.
struct Cutter {
    target: String,
    state: Mutex<CutState>,
}

#[derive(Default)]
struct CutState {
    in_target: bool,
    started: bool,
    /// Writes committed in the target part so far.
    committed: usize,
    at: Option<String>,
}

impl Cutter {
    fn new(target: &str) -> Self {
        Cutter {
            target: target.to_string(),
            state: Mutex::new(CutState::default()),
        }
    }
    fn st(&self) -> std::sync::MutexGuard<'_, CutState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Hooks for Cutter {
    // The cut is counted in rows committed before it, as Kong's one UPDATE per row leaves
    // them: the step being cut runs row by row.
    fn rows_one_by_one(&self, p: &Part<'_>) -> bool {
        p.id() == self.target
    }
    fn part_started(&self, p: &Part<'_>) {
        let mut st = self.st();
        if st.at.is_none() && p.id() == self.target {
            st.in_target = true;
            st.started = true;
            st.committed = 0;
        }
    }
    fn before_unit(&self, _p: &Part<'_>, unit: &'static str, done: usize, total: usize) -> Flow {
        let mut st = self.st();
        if !st.in_target || st.at.is_some() || done != total / 2 {
            return Flow::Go;
        }
        let so_far = match unit {
            "row" => format!(
                "{} row(s) written and committed before the cut",
                st.committed
            ),
            "query" => format!("{} query(ies) committed before the cut", st.committed),
            _ => "the transaction rolls back".to_string(),
        };
        st.at = Some(format!("{unit} {} of {total} ({so_far})", done + 1));
        Flow::Cut
    }
    fn query_done(&self, _p: &Part<'_>, sql: &str, commits: bool) {
        let mut st = self.st();
        // The data steps' reading SELECT commits too, but writes nothing.
        if st.in_target && commits && !sql.trim_start().to_uppercase().starts_with("SELECT") {
            st.committed += 1;
        }
    }
    fn part_ended(&self, _p: &Part<'_>, _ok: bool) {
        self.st().in_target = false;
    }
}

/// The clean rehearsal's end state, read once for every comparison.
struct Clean {
    catalog: Catalog,
    /// Per table: the compared columns and the fingerprint checksum over them.
    sums: BTreeMap<String, (Vec<String>, String)>,
}

/// Rehearses each `--interrupt` part on its own copy of `dump`, after the clean rehearsal
/// ended in `tw`'s working database.
pub(crate) async fn interrupts(ctx: &mut Ctx<'_>, tw: &mut Throwaway, dump: &Path) -> Result<()> {
    let Some(choice) = ctx.opts.forecast.interrupt.clone() else {
        return Ok(());
    };
    if ctx.report.failure.is_some() {
        ctx.report.warnings.push(
            "--interrupt: not rehearsed, because the clean rehearsal's migration itself failed"
                .into(),
        );
        return Ok(());
    }
    let t0 = Instant::now();
    let clean_db = tw.target().connect().await?;
    let schema = current_schema(&clean_db).await?;
    let mut clean_kept: Option<Clean> = None;
    // Roles are the server's, not a database's: made once, they serve every copy.
    let grants = crate::backup::prepare_grants(tw, dump, crate::backup::Input::CustomDump).await?;
    for (n, part) in choice.parts(&ctx.cat).iter().enumerate() {
        ctx.progress.line(format!(
            "interrupt: cutting the connection halfway through {part} on a second copy"
        ));
        let t1 = Instant::now();
        let name = format!("kong_interrupt_{n}");
        let spec = tw.sibling(&name).await?;
        programs::pg_restore(
            &tw.client_tool("pg_restore")?,
            dump,
            &spec,
            ctx.opts.restore_jobs,
            grants.restored(),
        )?;
        let copy = spec.connect().await?;
        let before = catalog::read(&copy, &schema).await?;
        // The compared columns depend on the pre-upgrade schema, which the first copy shows.
        let clean = match clean_kept.take() {
            Some(c) => c,
            None => read_clean(&clean_db, &schema, &before).await?,
        };
        let mut out = rehearse_one(ctx, &copy, &spec, part).await?;
        let copy = spec.connect().await?;
        out.differences
            .extend(compare(&copy, &clean_db, &schema, &clean).await?);
        let doubled: i64 = copy
            .query_one(sql::DOUBLE_TILDE_ROUTES, &[])
            .await
            .map_err(|e| Error::db("cannot look for `~~` route paths", e))?
            .get(0);
        out.same_as_clean = out.differences.is_empty();
        out.recovery = if out.same_as_clean {
            format!(
                "A plain rerun is safe after a cut in {part}: `{}` reaches the clean end state. \
                 After a --db-timeout failure, raise --db-timeout before rerunning.",
                out.rerun.join("` then `")
            )
        } else if doubled > 0 {
            copy.batch_execute(sql::FIX_DOUBLE_TILDE)
                .await
                .map_err(|e| {
                    Error::db("cannot apply the `~~` recovery to the interrupted copy", e)
                })?;
            let repaired = compare(&copy, &clean_db, &schema, &clean).await?.is_empty();
            out.recovery_verified = Some(repaired);
            let fix = one_line(sql::FIX_DOUBLE_TILDE);
            if repaired {
                format!(
                    "Do not just rerun after a cut in {part}: {doubled} route(s) converted before \
                     the cut get a second `~` (Kong records the migration only after its data \
                     step). Restore the pre-upgrade backup and run the upgrade again with a \
                     --db-timeout that covers this step; or, after the rerun, strip the extra \
                     `~` with: {fix}"
                )
            } else {
                format!(
                    "Restore the pre-upgrade backup and run the upgrade again with a --db-timeout \
                     that covers this step: after a cut in {part} the rerun converts rows a \
                     second time, and not only as `~~` ({doubled} route(s)) that `{fix}` \
                     repairs: the other differences have no fix after the fact."
                )
            }
        } else {
            format!(
                "Do not just rerun after a cut in {part}: the rerun does not reach the clean end \
                 state (see the differences). Restore the pre-upgrade backup and run the upgrade \
                 again with a --db-timeout that covers this step."
            )
        };
        drop(copy);
        out.duration_ms = t1.elapsed().as_millis() as u64;
        ctx.progress.line(format!(
            "interrupt {part}: {} ({} difference(s)) in {} ms",
            if out.same_as_clean {
                "same as the clean rehearsal"
            } else {
                "NOT the clean end state"
            },
            out.differences.len(),
            out.duration_ms
        ));
        if !out.same_as_clean {
            ctx.report.warnings.push(format!(
                "interrupt {part}: a rerun after a cut at {} does not give the clean end state \
                 ({} difference(s)); see interrupts[].recovery",
                out.at,
                out.differences.len()
            ));
        }
        ctx.report.forecast.interrupts.push(out);
        drop_copy(ctx, tw, &name).await;
        clean_slot(&mut clean_kept, clean);
    }
    ctx.done("interrupts", t0);
    Ok(())
}

/// What an operator does after a failed `kong migrations up` or `finish`: run the same
/// command again, then follow what Kong says. `up` refuses while migrations are pending
/// ("run 'kong migrations finish'"); `finish` says when new migrations wait ("run 'kong
/// migrations up'"). Returns the commands run, each with how Kong answered.
async fn operator_rerun(
    runner: &Builtin<'_>,
    c: &Client,
    cat: &LtsCatalog,
    failed_phase: &str,
    finish_too: bool,
    differences: &mut Vec<Problem>,
) -> Result<Vec<String>> {
    let mut rerun = vec![];
    let mut next = if failed_phase == "up" { "up" } else { "finish" };
    // Each command either completes its half or hands over to the other; a few suffice.
    for _ in 0..6 {
        let meta = crate::kong::schema_meta::read(c)
            .await
            .map_err(|e| Error::db("cannot read schema_meta on the interrupted copy", e))?;
        let pending = meta
            .iter()
            .any(|r| r.pending.as_ref().is_some_and(|p| !p.is_empty()));
        let r = match next {
            "up" if pending => {
                rerun.push(
                    "kong migrations up (refused: \"Database has pending migrations; run 'kong migrations finish'\")"
                        .to_string(),
                );
                next = "finish";
                continue;
            }
            "up" => runner.up_with(c, &NoHooks).await,
            _ => runner.finish_with(c, &NoHooks).await,
        };
        rerun.push(format!("kong migrations {next}"));
        match r {
            Ok(_) => {}
            Err(RunError::Failed(f)) => {
                differences.push(
                    Problem::new(
                        Kind::MigrationFailed,
                        format!(
                            "the rerun `kong migrations {next}` failed at {}/{}: {}",
                            f.subsystem, f.migration, f.error
                        ),
                    )
                    .subsystem(&f.subsystem)
                    .migration(&f.migration),
                );
                return Ok(rerun);
            }
            Err(RunError::Env(e)) => return Err(e),
        }
        let meta = crate::kong::schema_meta::read(c)
            .await
            .map_err(|e| Error::db("cannot read schema_meta on the interrupted copy", e))?;
        next = match next {
            "up" if finish_too => "finish",
            "up" => return Ok(rerun),
            _ if has_new(cat, &meta) => "up",
            _ => return Ok(rerun),
        };
    }
    Ok(rerun)
}

/// Whether Kong would call some migration of the sequence new (neither executed nor pending).
fn has_new(cat: &LtsCatalog, meta: &[crate::kong::schema_meta::Row]) -> bool {
    cat.subsystems.iter().any(|sub| {
        let row = meta.iter().find(|r| r.subsystem == sub.name);
        sub.sequence.iter().any(|st| {
            !row.is_some_and(|r| {
                r.executed
                    .iter()
                    .chain(&r.pending)
                    .flatten()
                    .any(|m| m == &st.name)
            })
        })
    })
}

/// The cut run, then the operator's rerun; the comparison is the caller's.
async fn rehearse_one(
    ctx: &Ctx<'_>,
    copy: &Client,
    spec: &crate::pg::conn::ConnSpec,
    part: &str,
) -> Result<Interrupt> {
    let runner = Builtin {
        catalog: &ctx.cat,
        progress: Progress { quiet: true },
    };
    let finish_too = !ctx.opts.stop_after_up;
    let cutter = Cutter::new(part);
    let mut differences = vec![];
    let mut failed_in = None;
    match runner.up_with(copy, &cutter).await {
        Ok(_) => {}
        Err(RunError::Failed(f)) => failed_in = Some(("up", f)),
        Err(RunError::Env(e)) => return Err(e),
    }
    if failed_in.is_none() && finish_too {
        match runner.finish_with(copy, &cutter).await {
            Ok(_) => {}
            Err(RunError::Failed(f)) => failed_in = Some(("finish", f)),
            Err(RunError::Env(e)) => return Err(e),
        }
    }
    let (at, started) = {
        let st = cutter.st();
        (st.at.clone(), st.started)
    };
    let cut = at.is_some();
    let at = match (at, started) {
        (Some(a), _) => a,
        (None, true) => "nothing to cut: the step had no rows or queries to process".into(),
        (None, false) => "nothing to cut: the step did not run on this database".into(),
    };
    let mut rerun = vec![];
    if let Some((phase, f)) = failed_in {
        if !cut {
            differences.push(
                Problem::new(
                    Kind::MigrationFailed,
                    format!(
                        "the interrupted copy's first run failed before the cut, at {}/{}: {}",
                        f.subsystem, f.migration, f.error
                    ),
                )
                .subsystem(&f.subsystem)
                .migration(&f.migration),
            );
        }
        // The cut connection is gone; the operator's rerun is a new `kong migrations` run.
        let c = spec.connect().await?;
        // Kong's cluster_mutex removes its lock when the migration callback fails.
        c.batch_execute(sql::RELEASE_KONG_LOCK).await.map_err(|e| {
            Error::db(
                "cannot release Kong's migration lock on the interrupted copy",
                e,
            )
        })?;
        rerun = operator_rerun(&runner, &c, &ctx.cat, phase, finish_too, &mut differences).await?;
    }
    Ok(Interrupt {
        step: part.to_string(),
        at,
        rerun,
        same_as_clean: false,
        differences,
        recovery: String::new(),
        recovery_verified: None,
        duration_ms: 0,
    })
}

async fn current_schema(c: &Client) -> Result<String> {
    Ok(c.query_one(crate::pg::sql::session::CURRENT_SCHEMA, &[])
        .await
        .map_err(|e| Error::db("cannot read the current schema", e))?
        .get(0))
}

/// Whether a column default reads the clock (so two runs at different times differ).
fn clock_default(d: &str) -> bool {
    let d = d.to_ascii_lowercase();
    [
        "current_timestamp",
        "now()",
        "localtimestamp",
        "statement_timestamp",
        "clock_timestamp",
    ]
    .iter()
    .any(|c| d.contains(c))
}

/// The columns compared per table: all but those an upgrade step added to a 2.8 table with
/// a clock default (their value is the time the step ran, e.g. `plugins.updated_at`).
fn compared_columns(end: &Catalog, before: &Catalog) -> BTreeMap<String, Vec<String>> {
    end.tables
        .iter()
        .filter(|(t, _)| t.as_str() != "locks")
        .map(|(t, table)| {
            let cols = table
                .columns
                .iter()
                .filter(|c| {
                    let new_in_old_table = before.has_table(t) && !before.has_column(t, &c.name);
                    !(new_in_old_table && c.default.as_deref().is_some_and(clock_default))
                })
                .map(|c| c.name.clone())
                .collect();
            (t.clone(), cols)
        })
        .collect()
}

fn clean_slot(slot: &mut Option<Clean>, clean: Clean) {
    *slot = Some(clean);
}

async fn read_clean(c: &Client, schema: &str, before: &Catalog) -> Result<Clean> {
    let catalog = catalog::read(c, schema).await?;
    let cols = compared_columns(&catalog, before);
    let sums = checksums(c, schema, &cols).await?;
    let sums = cols
        .into_iter()
        .filter_map(|(t, cols)| Some((t.clone(), (cols, sums.get(&t)?.clone()))))
        .collect();
    Ok(Clean { catalog, sums })
}

/// The fingerprint checksum of the given columns of each table present (equal exactly when
/// those columns of every row are).
async fn checksums(
    c: &Client,
    schema: &str,
    cols: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, String>> {
    fingerprint::pin_output(c).await?;
    let keys = fingerprint::table_keys(c, schema).await?;
    let mut out = BTreeMap::new();
    for (table, cols) in cols {
        let Some(key) = keys.get(table) else {
            continue;
        };
        let scope = Scope {
            schema: schema.to_string(),
            table: table.clone(),
            columns: cols.clone(),
            filter: String::new(),
            key: key.clone(),
        };
        out.insert(
            table.clone(),
            fingerprint::fingerprint_scope(c, &scope).await?.checksum,
        );
    }
    Ok(out)
}

fn select_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the interrupted copy's end state differs from the clean one.
async fn compare(
    copy: &Client,
    clean_db: &Client,
    schema: &str,
    clean: &Clean,
) -> Result<Vec<Problem>> {
    let cat = catalog::read(copy, schema).await?;
    let mut out: Vec<Problem> = catalog::diff(&clean.catalog, &cat)
        .iter()
        .map(|ch| {
            Problem::new(
                Kind::SchemaMismatch,
                format!("{} (compared with the clean rehearsal)", ch.describe()),
            )
        })
        .collect();
    let present: BTreeMap<String, Vec<String>> = clean
        .sums
        .iter()
        .filter(|(t, _)| cat.has_table(t))
        .map(|(t, (cols, _))| (t.clone(), cols.clone()))
        .collect();
    let sums = checksums(copy, schema, &present).await?;
    for (t, cols) in &present {
        if sums.get(t) == clean.sums.get(t).map(|(_, s)| s) {
            continue;
        }
        out.extend(row_differences(copy, clean_db, t, cols, &select_list(cols)).await?);
    }
    Ok(out)
}

/// The rows of `table` that differ, named by id (and name) with the columns that differ.
async fn row_differences(
    copy: &Client,
    clean_db: &Client,
    table: &str,
    cols: &[String],
    list: &str,
) -> Result<Vec<Problem>> {
    let key = if cols.iter().any(|c| c == "id") {
        "r.id".to_string()
    } else {
        "r".to_string()
    };
    let q = sql::rows_as_json(&quote_ident(table), list, &key);
    let clean_rows = rows(clean_db, &q, table).await?;
    let copy_rows = rows(copy, &q, table).await?;
    let keys: BTreeSet<&String> = clean_rows.keys().chain(copy_rows.keys()).collect();
    let mut out = vec![];
    let mut more = 0;
    for k in keys {
        let (a, b) = (clean_rows.get(k), copy_rows.get(k));
        if a == b {
            continue;
        }
        if out.len() >= ROWS_SHOWN {
            more += 1;
            continue;
        }
        out.push(
            Problem::new(Kind::ContentMismatch, describe_row(table, k, a, b))
                .object(format!("table {table}")),
        );
    }
    if more > 0 {
        out.push(
            Problem::new(
                Kind::ContentMismatch,
                format!("table {table}: {more} more row(s) differ from the clean rehearsal"),
            )
            .object(format!("table {table}")),
        );
    }
    Ok(out)
}

fn describe_row(
    table: &str,
    key: &str,
    clean: Option<&serde_json::Value>,
    copy: Option<&serde_json::Value>,
) -> String {
    let name = |v: &serde_json::Value| {
        v.get("name")
            .and_then(|n| n.as_str())
            .map(|n| format!(" (name {n})"))
            .unwrap_or_default()
    };
    match (clean, copy) {
        (Some(a), Some(b)) => {
            let mut cols = vec![];
            if let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) {
                for (c, av) in ao {
                    let bv = bo.get(c).unwrap_or(&serde_json::Value::Null);
                    if av != bv {
                        cols.push(format!("{c} = {bv} (clean rehearsal: {av})"));
                    }
                }
            }
            format!("{table} {key}{}: {}", name(b), cols.join(", "))
        }
        (Some(a), None) => format!("{table} {key}{}: missing after the rerun", name(a)),
        (None, Some(b)) => format!("{table} {key}{}: only after the rerun", name(b)),
        (None, None) => format!("{table} {key}"),
    }
}

async fn rows(c: &Client, q: &str, table: &str) -> Result<BTreeMap<String, serde_json::Value>> {
    let mut out = BTreeMap::new();
    for r in c
        .query(q, &[])
        .await
        .map_err(|e| Error::db(format!("cannot read the rows of {table}"), e))?
    {
        let key: String = r.get(0);
        let json: String = r.get(1);
        let v = serde_json::from_str(&json).map_err(|e| {
            Error::Internal(format!(
                "PostgreSQL's to_jsonb text of a {table} row does not parse: {e}"
            ))
        })?;
        out.insert(key, v);
    }
    Ok(out)
}

/// SQL on one line, for a recovery text.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drops an interrupted copy as soon as it is compared (its server keeps the clean
/// rehearsal's database, and disk is finite); a failure only leaves it for the throwaway's
/// own cleanup, which the report says.
async fn drop_copy(ctx: &mut Ctx<'_>, tw: &Throwaway, name: &str) {
    let Some(admin) = tw.admin() else {
        return;
    };
    let res = async {
        let c = admin.connect().await?;
        c.execute(crate::pg::sql::session::TERMINATE_OTHERS, &[&name])
            .await
            .map_err(|e| Error::db(format!("cannot close the connections to {name}"), e))?;
        c.batch_execute(&crate::pg::sql::session::drop_database(name, false))
            .await
            .map_err(|e| Error::db(format!("cannot drop {name}"), e))
    }
    .await;
    if let Err(e) = res {
        ctx.report.warnings.push(format!(
            "interrupt: the copy {name} stays until the throwaway is removed: {e}"
        ));
    }
}
