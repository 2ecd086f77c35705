//! One rehearsal, as a straight line: get the source into the throwaway, judge it, look for
//! hazards, run `up`, verify, run `finish`, verify. Each phase adds to the report; the
//! first phase that must stop the line (not eligible, hazard, failed migration) does.

pub mod rollback;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::backup::manifest::{self, Manifest};
use crate::error::{Error, Exit, Result};
use crate::kong::inspect;
use crate::kong::lts::LtsCatalog;
use crate::kong::release::embedded_text;
use crate::kong::runner::builtin::{Builtin, Failure, RunError, StepLog};
use crate::kong::runner::kong_cli::{KongCli, KongOutput};
use crate::kong::schema_meta::{self, Record, Row};
use crate::kong::state::{self, SubsystemState};
use crate::pg::catalog::{self, Catalog, Change};
use crate::pg::conn::ConnSpec;
use crate::pg::programs;
use crate::preflight::data_hazards;
use crate::report::{Kind, Problem, Progress};
use crate::throwaway::Throwaway;
use verify::{CountRow, MetaExpectation};

#[derive(Debug, Clone)]
pub enum Source {
    /// A pg_dump custom- or directory-format archive.
    Dump(PathBuf),
    /// A live database, dumped in one snapshot by pg_dump.
    Url(ConnSpec),
    /// A `kong-rehearse snapshot` directory (dump + manifest).
    Snapshot(PathBuf),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub stop_after_up: bool,
    pub skip_hazard_check: bool,
    pub allow_unknown: Vec<String>,
    /// Use this schema.sql as the 3.4.2 reference instead of the embedded one.
    pub reference_342: Option<PathBuf>,
    pub restore_jobs: u32,
    /// Run a real Kong binary instead of the built-in runner.
    pub kong_bin: Option<PathBuf>,
    /// After the forward rehearsal, rehearse these ways back, in order.
    pub rollback: Vec<rollback::Method>,
    /// Runtime hazards fail the run (exit 3) instead of being warnings.
    pub strict: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseTime {
    pub phase: &'static str,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Restore {
    pub bytes: u64,
    pub rows: i64,
    pub mb_per_s: f64,
    pub rows_per_s: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub verdict: &'static str,
    pub exit_code: u8,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    pub source: String,
    pub phases: Vec<PhaseTime>,
    pub restore: Restore,
    pub state: Vec<SubsystemState>,
    pub migrations: Vec<StepLog>,
    /// Kong quirks that fired, with the number of rows showing each.
    pub quirks: BTreeMap<String, u64>,
    pub counts: Vec<CountRow>,
    pub schema_changes: Vec<Change>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reference_diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// With --keep: how to reach the migrated database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// `builtin`, or `kong` (a real Kong binary).
    pub runner: &'static str,
    /// With the real-Kong runner: what each `kong migrations` command printed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kong_output: Vec<KongOutput>,
    /// With --rollback: each way back, and whether it restored the 2.8 database exactly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<rollback::Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_recommendation: Option<String>,
    /// What migrates cleanly but behaves differently on 3.4 (warnings unless --strict).
    pub runtime_hazards: Vec<crate::preflight::runtime::Finding>,
    #[serde(skip)]
    pub exit: Option<Exit>,
}

impl Report {
    fn finish(&mut self, exit: Exit) {
        self.exit = Some(exit);
        self.exit_code = exit as u8;
        self.verdict = if exit == Exit::Ok { "pass" } else { "fail" };
    }
    pub fn exit(&self) -> Exit {
        self.exit.unwrap_or(Exit::Ok)
    }
}

struct Clock<'a> {
    report: &'a mut Report,
    progress: Progress,
}

impl Clock<'_> {
    fn done(&mut self, phase: &'static str, t0: Instant) {
        let ms = t0.elapsed().as_millis() as u64;
        self.progress.line(format!("{phase}: done in {ms} ms"));
        self.report.phases.push(PhaseTime {
            phase,
            duration_ms: ms,
        });
    }
}

/// Rows Kong's sequence leaves in schema_meta, predicted from the rows before.
fn predict_meta(before: &[Row], cat: &LtsCatalog) -> (Vec<Row>, Vec<Row>) {
    let mut rows = before.to_vec();
    let mut pending = vec![];
    for sub in &cat.subsystems {
        for step in &sub.sequence {
            let recorded = before.iter().any(|r| {
                r.subsystem == sub.name
                    && r.executed
                        .iter()
                        .chain(&r.pending)
                        .flatten()
                        .any(|m| m == &step.name)
            });
            if recorded {
                continue;
            }
            let rec = if step.has_teardown {
                Record::Pending
            } else {
                Record::Executed
            };
            schema_meta::simulate(&mut rows, &sub.name, &step.name, rec);
            if step.has_teardown {
                pending.push((sub.name.clone(), step.name.clone()));
            }
        }
    }
    let after_up = rows.clone();
    for (s, m) in pending {
        schema_meta::simulate(&mut rows, &s, &m, Record::Teardown);
    }
    (after_up, rows)
}

/// Loads a reference schema (pg_dump --schema-only text) into a sibling database and
/// reads its catalog, so the reference is rendered by the same server as the rehearsal.
async fn reference_catalog(spec: ConnSpec, name: &str, sql: &str) -> Result<Catalog> {
    let client = spec.connect().await?;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| Error::db(format!("cannot load the reference schema {name}"), e))?;
    catalog::read(&client, "public").await
}

pub async fn rehearse(
    tw: &mut Throwaway,
    source: &Source,
    opts: &Options,
    progress: Progress,
) -> Result<Report> {
    let cat = LtsCatalog::load()?;
    let mut report = Report {
        source: match source {
            Source::Dump(p) | Source::Snapshot(p) => p.display().to_string(),
            Source::Url(u) => u.to_string(),
        },
        runner: if opts.kong_bin.is_some() {
            "kong"
        } else {
            "builtin"
        },
        ..Default::default()
    };
    let kong = opts.kong_bin.as_deref().map(KongCli::new).transpose()?;
    let mut clock = Clock {
        report: &mut report,
        progress,
    };
    let target = tw.target().clone();

    // 1. The source, restored into the throwaway.
    let dump_dir = programs::private_dump_dir()?;
    let mut known_tables = None;
    let dump = match source {
        Source::Dump(p) => p.clone(),
        Source::Snapshot(dir) => {
            let m = Manifest::load(&dir.join(manifest::MANIFEST))?;
            let bad = crate::backup::check_files(dir, &m)?;
            if !bad.is_empty() {
                clock.report.problems = tag(bad, "files");
                report.finish(Exit::Verification);
                return Ok(report);
            }
            known_tables = Some(
                m.tables
                    .iter()
                    .map(|(k, v)| (k.clone(), (v.rows, v.checksum.clone())))
                    .collect::<BTreeMap<_, _>>(),
            );
            dir.join(manifest::DUMP_DIR)
        }
        Source::Url(src) => {
            let t0 = Instant::now();
            progress.line(format!("dumping {src} (pg_dump, one snapshot)"));
            let out = dump_dir.path().join("source.dump");
            programs::pg_dump_custom(&tw.client_tool("pg_dump")?, src, &out)?;
            clock.done("dump", t0);
            out
        }
    };
    let dump_bytes = dir_or_file_size(&dump);
    let t0 = Instant::now();
    progress.line(format!("restoring into {}", tw.describe()));
    programs::pg_restore(
        &tw.client_tool("pg_restore")?,
        &dump,
        &target,
        opts.restore_jobs,
    )?;
    let restore_s = t0.elapsed().as_secs_f64().max(1e-6);
    clock.done("restore", t0);

    // With a real Kong, its own `bootstrap` is the golden reference: it knows the
    // subsystems (Enterprise, custom plugins) the built-in catalog does not.
    let mut golden: Option<(Catalog, Vec<Row>)> = None;
    if let Some(k) = &kong {
        let t0 = Instant::now();
        let spec = tw.sibling("kong_reference_bootstrap").await?;
        let out = k.migrations(&spec, &["bootstrap"])?;
        let ok = out.exit_code == Some(0);
        let msg = format!("{}{}", out.stdout, out.stderr);
        clock.report.kong_output.push(out);
        if !ok {
            return Err(Error::ExternalTool {
                tool: format!("{} migrations bootstrap", k.bin.display()),
                status: "non-zero".into(),
                stderr: msg.trim().to_string(),
                fix: "the golden reference database could not be bootstrapped: check that --kong-bin is a working Kong 3.4 and that its plugins= setting matches production",
            });
        }
        let client = spec.connect().await?;
        let cat_ref = catalog::read(&client, "public").await?;
        let rows = schema_meta::read(&client)
            .await
            .map_err(|e| Error::db("cannot read the reference schema_meta", e))?;
        golden = Some((cat_ref, rows));
        clock.done("bootstrap_reference", t0);
    }

    // 2. Judge the restored copy (identical to the source, and safe to read at length).
    let t0 = Instant::now();
    let insp = inspect::inspect(&target, None).await?;
    let mut verdict = state::judge(
        &state::Observed {
            schema_meta: insp.rows.as_deref(),
            catalog: &insp.catalog,
        },
        &cat,
        &state::Options {
            allow_unknown: opts.allow_unknown.clone(),
        },
    );
    if let Some((_, rows)) = &golden {
        relax_for_real_kong(&mut verdict, rows);
    }
    clock.report.state = verdict.subsystems.clone();
    clock.report.warnings.extend(verdict.warnings.clone());
    clock.done("judge", t0);
    if !verdict.eligible {
        clock.report.problems = tag(verdict.problems, "judge");
        report.finish(Exit::NotEligible);
        return Ok(report);
    }
    let schema = insp.schema.clone();

    // 3. Before: references, drift, fingerprints.
    let t0 = Instant::now();
    let ref_342_sql = match &opts.reference_342 {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Error::io("cannot read the reference schema", p, e))?,
        None => embedded_text("kong-3.4.2/schema.sql")?,
    };
    let ref_285_sql = embedded_text("kong-2.8.5/schema.sql")?;
    let spec_285 = tw.sibling("kong_reference_285").await?;
    let spec_342 = match (&golden, &opts.reference_342) {
        (Some(_), None) => None,
        _ => Some(tw.sibling("kong_reference_342").await?),
    };
    // The references load while the source is fingerprinted: independent work, separate
    // connections.
    let mut client = target.connect().await?;
    let (ref_285, ref_342, before) = tokio::join!(
        reference_catalog(spec_285, "kong-2.8.5", &ref_285_sql),
        async {
            match (spec_342, &golden) {
                (Some(spec), _) => reference_catalog(spec, "kong-3.4.2", &ref_342_sql).await,
                (None, Some((c, _))) => Ok(c.clone()),
                (None, None) => {
                    unreachable!("a sibling is created whenever there is no golden reference")
                }
            }
        },
        verify::capture_before(&mut client, &schema, known_tables.as_ref())
    );
    let (ref_285, ref_342, before) = (ref_285?, ref_342?, before?);
    let mut ref_285_here = ref_285.clone();
    ref_285_here.schema = before.catalog.schema.clone();
    let drift = catalog::diff(&ref_285_here, &before.catalog);
    for d in &drift {
        clock
            .report
            .warnings
            .push(format!("drift from stock Kong 2.8.5: {}", d.describe()));
    }
    let rows_total: i64 = before.tables.values().map(|t| t.rows).sum();
    let bytes = dump_bytes;
    clock.report.restore = Restore {
        bytes,
        rows: rows_total,
        mb_per_s: (bytes as f64 / 1e6 / restore_s * 10.0).round() / 10.0,
        rows_per_s: (rows_total as f64 / restore_s).round(),
    };
    clock.done("before", t0);

    // 4. Hazards.
    let t0 = Instant::now();
    let mut found = data_hazards::find(&client).await?;
    let rt = data_hazards::runtime(&client, &schema).await?;
    if let Some(n) = &rt.mixed_version {
        clock
            .report
            .warnings
            .push(format!("mixed-version window: {n}"));
    }
    if opts.strict {
        found.extend(rt.strict_problems());
    }
    clock.report.runtime_hazards = rt.findings;
    clock.done("hazards", t0);
    if !found.is_empty() {
        if opts.skip_hazard_check {
            for h in &found {
                clock.report.warnings.push(format!(
                    "hazard ignored (--skip-hazard-check): {}",
                    h.message
                ));
            }
        } else {
            clock.report.problems = tag(found, "hazards");
            report.finish(Exit::NotEligible);
            return Ok(report);
        }
    }

    let (meta_up, meta_finish) = match &golden {
        None => {
            let (u, f) = predict_meta(&before.schema_meta, &cat);
            (MetaExpectation::Exact(u), MetaExpectation::Exact(f))
        }
        Some((_, rows)) => (
            MetaExpectation::Skip,
            MetaExpectation::SameSetsAs(rows.clone()),
        ),
    };
    let runner = Builtin {
        catalog: &cat,
        progress,
    };

    // 5. up, and what 2.8 nodes would see during the upgrade window.
    let t0 = Instant::now();
    let up = match &kong {
        None => runner.up(&client).await,
        Some(k) => {
            k.run_phase(&target, "up", &mut clock.report.kong_output)
                .await
        }
    };
    match up {
        Ok(logs) => clock.report.migrations.extend(logs),
        Err(e) => {
            let mut r = failed(report, e)?;
            rollbacks(tw, &dump, &schema, &before, opts, &mut r).await?;
            return Ok(r);
        }
    }
    clock.done("up", t0);
    let t0 = Instant::now();
    let (p, w, _) = verify::after_up(&mut client, &schema, &before, &cat, &meta_up).await?;
    clock.report.problems.extend(tag(p, "verify_up"));
    clock.report.warnings.extend(w);
    clock.done("verify_up", t0);

    if !opts.stop_after_up {
        // 6. finish, and the end state.
        let t0 = Instant::now();
        let fin = match &kong {
            None => runner.finish(&client).await,
            Some(k) => {
                k.run_phase(&target, "finish", &mut clock.report.kong_output)
                    .await
            }
        };
        match fin {
            Ok(logs) => clock.report.migrations.extend(logs),
            Err(e) => {
                let mut r = failed(report, e)?;
                rollbacks(tw, &dump, &schema, &before, opts, &mut r).await?;
                return Ok(r);
            }
        }
        clock.done("finish", t0);
        let t0 = Instant::now();
        let fin = verify::after_finish(
            &mut client,
            &schema,
            &before,
            &cat,
            &ref_342,
            &drift,
            &meta_finish,
        )
        .await?;
        clock
            .report
            .problems
            .extend(tag(fin.problems, "verify_finish"));
        clock.report.warnings.extend(fin.warnings);
        clock.report.counts = fin.counts;
        clock.report.quirks.extend(fin.quirks);
        clock.report.schema_changes = fin.schema_changes;
        clock.report.reference_diff = fin.reference_diff;
        clock.done("verify_finish", t0);
    }

    if opts.stop_after_up {
        for log in &report.migrations {
            for (q, n) in &log.quirks {
                *report.quirks.entry(q.clone()).or_default() += n;
            }
        }
    }
    drop(client);
    rollbacks(tw, &dump, &schema, &before, opts, &mut report).await?;
    drop(dump_dir);
    let exit = if report.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Verification
    };
    report.finish(exit);
    Ok(report)
}

/// The ways back, rehearsed on the upgraded database in order; the first exact one is
/// recommended, and none being exact is a problem.
async fn rollbacks(
    tw: &Throwaway,
    dump: &std::path::Path,
    schema: &str,
    before: &verify::Before,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    if opts.rollback.is_empty() {
        return Ok(());
    }
    let pg_restore = tw.client_tool("pg_restore")?;
    for m in &opts.rollback {
        let t0 = Instant::now();
        let o = rollback::rehearse(*m, &pg_restore, dump, tw.target(), schema, before).await?;
        report.phases.push(PhaseTime {
            phase: match m {
                rollback::Method::Clean => "rollback_clean",
                rollback::Method::Recreate => "rollback_recreate",
            },
            duration_ms: t0.elapsed().as_millis() as u64,
        });
        report.rollback.push(o);
    }
    match report.rollback.iter().find(|o| o.exact) {
        Some(o) => {
            report.rollback_recommendation = Some(format!(
                "roll back with the `{}` method: {}",
                serde_json::to_value(o.method).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                o.command
            ));
        }
        None => report.problems.push(
            Problem::new(
                Kind::Partial,
                "no rehearsed way back restored the pre-upgrade database exactly (see `rollback`)",
            )
            .in_phase("rollback")
            .fix("Do not upgrade production until a rollback is proven: try `--rollback recreate`, and check that the backup restores whole with `verify-backup`."),
        ),
    }
    Ok(())
}

/// With a real Kong binary, what the built-in catalog cannot judge is Kong's to run: an
/// Enterprise database, or a subsystem Kong's own bootstrap knows. Those problems become
/// warnings; everything else stands.
fn relax_for_real_kong(v: &mut state::Verdict, bootstrap: &[Row]) {
    let enterprise = v.problems.iter().any(|p| p.kind == Kind::Enterprise);
    let known = |s: &Option<String>| {
        s.as_deref()
            .is_some_and(|s| bootstrap.iter().any(|r| r.subsystem == s))
    };
    let (relaxed, kept): (Vec<Problem>, Vec<Problem>) = std::mem::take(&mut v.problems)
        .into_iter()
        .partition(|p| enterprise || (p.kind == Kind::UnknownMigration && known(&p.subsystem)));
    for p in relaxed {
        v.warnings.push(format!(
            "left to the real Kong binary (not judged by the built-in catalog): {}",
            p.message
        ));
    }
    v.problems = kept;
    v.eligible = v.problems.is_empty();
}

fn tag(problems: Vec<Problem>, phase: &'static str) -> Vec<Problem> {
    problems.into_iter().map(|p| p.in_phase(phase)).collect()
}

fn failed(mut report: Report, e: RunError) -> Result<Report> {
    match e {
        RunError::Env(e) => Err(e),
        RunError::Failed(f) => {
            report.migrations.extend(f.completed.clone());
            report.migrations.push(f.step.clone());
            report.problems.push(
                Problem::new(
                    Kind::MigrationFailed,
                    format!(
                        "{}/{} failed during {}: {}\n    statement: {}",
                        f.subsystem, f.migration, f.phase, f.error, f.statement
                    ),
                )
                .subsystem(&f.subsystem)
                .migration(&f.migration)
                .in_phase(if f.phase == "up" { "up" } else { "finish" })
                .fix("Production would stop at the same point and leave the same state (see `failure.schema_meta`). Fix the data or schema the error names in 2.8 before upgrading; to resume a real upgrade stuck here, fix the cause and rerun `kong migrations finish`."),
            );
            report.failure = Some(*f);
            report.finish(Exit::MigrationFailed);
            Ok(report)
        }
    }
}

/// Size of a dump file, or of all files of a directory-format dump.
pub fn dir_or_file_size(p: &std::path::Path) -> u64 {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}
