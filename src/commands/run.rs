//! `run` and `demo`: a rehearsal on a throwaway, rendered for people and for machines.

use std::fmt::Write as _;

use super::{throwaway_options, Outcome};
use crate::cli::{
    DemoArgs, RehearsalArgs, RollbackChoice, RunArgs, RunnerChoice, StopAfter, ThrowawayArgs,
};
use crate::conn::ConnSpec;
use crate::error::{Error, Result};
use crate::fixture::{self, Spec};
use crate::rehearsal::{self, Report, Source};
use crate::report::Progress;
use crate::rollback;
use crate::throwaway::{self, Throwaway};

fn options(a: &RehearsalArgs) -> rehearsal::Options {
    rehearsal::Options {
        stop_after_up: a.stop_after == Some(StopAfter::Up),
        skip_hazard_check: a.skip_hazard_check,
        allow_unknown: a.allow_unknown.clone(),
        reference_342: a.reference_schema.clone(),
        restore_jobs: a.jobs,
        kong_bin: (a.runner == RunnerChoice::Kong).then(|| a.kong_bin.clone()),
        strict: a.strict,
        rollback: match a.rollback {
            None => vec![],
            Some(RollbackChoice::Clean) => vec![rollback::Method::Clean],
            Some(RollbackChoice::Recreate) => vec![rollback::Method::Recreate],
            Some(RollbackChoice::Both) => vec![rollback::Method::Clean, rollback::Method::Recreate],
        },
    }
}

pub async fn run(a: &RunArgs, progress: Progress) -> Result<Outcome> {
    let source = match (&a.dump, &a.source) {
        _ if a.snapshot.is_some() => {
            let dir = a.snapshot.clone().unwrap_or_default();
            if !dir.join(crate::manifest::MANIFEST).exists() {
                return Err(Error::Usage(format!(
                    "{} is not a kong-rehearse snapshot directory (no manifest.json); take one \
                     with `kong-rehearse snapshot --out DIR`, or pass a plain dump with --dump",
                    dir.display()
                )));
            }
            Source::Snapshot(dir)
        }
        (Some(p), _) => {
            if !p.exists() {
                return Err(Error::Usage(format!(
                    "the dump {} does not exist; pass the path of a pg_dump custom- or \
                     directory-format archive (pg_dump -Fc), or use --source URL",
                    p.display()
                )));
            }
            Source::Dump(p.clone())
        }
        (None, Some(url)) => Source::Url(ConnSpec::parse(url)?),
        (None, None) => unreachable!("clap requires --dump, --source or --snapshot"),
    };
    let (opts, mut tw) = start(&a.throwaway, &a.rehearsal, progress).await?;
    let mut report =
        rehearsal::rehearse(&mut tw, &source, &options(&a.rehearsal), progress).await?;
    finish(report_keep(&mut report, tw, opts.keep), &a.rehearsal)
}

pub async fn demo(a: &DemoArgs, progress: Progress) -> Result<Outcome> {
    let (opts, mut tw) = start(&a.throwaway, &a.rehearsal, progress).await?;
    let source = tw.sibling("kong_source").await?;
    progress.line(format!(
        "building a Kong 2.8.5 fixture (scale {}) as the source",
        a.scale
    ));
    let t0 = std::time::Instant::now();
    let summary = fixture::build(
        &source.connect().await?,
        Spec {
            scale: a.scale,
            seed: a.seed,
        },
    )
    .await?;
    progress.line(format!(
        "fixture: {} rows in {} ms",
        summary.rows_loaded + summary.tags_rows,
        t0.elapsed().as_millis()
    ));
    let mut report = rehearsal::rehearse(
        &mut tw,
        &Source::Url(source),
        &options(&a.rehearsal),
        progress,
    )
    .await?;
    finish(report_keep(&mut report, tw, opts.keep), &a.rehearsal)
}

async fn start(
    a: &ThrowawayArgs,
    r: &RehearsalArgs,
    progress: Progress,
) -> Result<(throwaway::Options, Throwaway)> {
    let mut opts = throwaway_options(a)?;
    // Kong reaches PostgreSQL over TCP only.
    if r.runner == RunnerChoice::Kong {
        if let throwaway::Backend::Local { tcp } = &mut opts.backend {
            *tcp = true;
        }
    }
    progress.line("starting a throwaway PostgreSQL");
    let tw = Throwaway::start(&opts).await?;
    progress.line(format!(
        "throwaway ready in {} ms: {}",
        tw.startup.as_millis(),
        tw.describe()
    ));
    Ok((opts, tw))
}

fn report_keep(report: &mut Report, tw: Throwaway, keep: bool) -> &mut Report {
    if keep {
        let target = tw.target().to_string();
        report.kept = Some(format!("{target}: {}", tw.keep()));
    }
    report
}

fn finish(report: &mut Report, a: &RehearsalArgs) -> Result<Outcome> {
    let json = serde_json::to_value(&*report).unwrap_or_default();
    if let Some(path) = &a.report_json {
        let v = crate::report::json_envelope("run", report.exit(), &report.problems, json.clone());
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io("cannot write the report", path, e))?;
    }
    Ok(Outcome {
        exit: report.exit(),
        problems: report.problems.clone(),
        text: render_text(report),
        json,
    })
}

pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let total: u64 = r.phases.iter().map(|p| p.duration_ms).sum();
    if r.verdict == "pass" {
        let _ = writeln!(
            s,
            "PASS: the Kong 2.8.5 → 3.4.2 upgrade of {} rehearsed cleanly ({total} ms)",
            r.source
        );
    } else {
        let _ = writeln!(
            s,
            "FAIL (exit {}): {} problem(s) in the rehearsal of {}",
            r.exit_code,
            r.problems.len(),
            r.source
        );
    }
    for p in &r.problems {
        let _ = writeln!(s, "  {}", p.to_text());
    }
    let _ = writeln!(
        s,
        "\nphases: {}",
        r.phases
            .iter()
            .map(|p| format!("{} {} ms", p.phase, p.duration_ms))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    if r.restore.rows > 0 {
        let _ = writeln!(
            s,
            "restore: {} rows, {:.1} MB/s, {:.0} rows/s",
            r.restore.rows, r.restore.mb_per_s, r.restore.rows_per_s
        );
    }
    if !r.migrations.is_empty() {
        let _ = writeln!(s, "\nmigrations:");
        for m in &r.migrations {
            let _ = writeln!(
                s,
                "  {:<8} {:<36} {:<6} {:>6} ms{}",
                m.phase,
                format!("{}/{}", m.subsystem, m.migration),
                m.status,
                m.duration_ms,
                if m.rows_rewritten > 0 {
                    format!("  {} row(s) rewritten", m.rows_rewritten)
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(f) = &r.failure {
        let _ = writeln!(s, "\nleft behind (schema_meta after the failure):");
        for row in &f.schema_meta {
            let _ = writeln!(
                s,
                "  {:<22} pending={:?} last_executed={:?}",
                row.subsystem,
                row.pending.clone().unwrap_or_default(),
                row.last_executed
            );
        }
    }
    if !r.quirks.is_empty() {
        let _ = writeln!(
            s,
            "\nKong quirks reproduced (production will show them too):"
        );
        for (q, n) in &r.quirks {
            let _ = writeln!(s, "  {q}: {n} row(s)");
        }
    }
    if !r.counts.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<32} {:>9} {:>9} {:>9}  ok",
            "table", "before", "after", "expected"
        );
        let show = |v: Option<i64>| {
            v.map(|x| {
                if x < 0 {
                    "present".to_string()
                } else {
                    x.to_string()
                }
            })
            .unwrap_or_else(|| "-".into())
        };
        for c in &r.counts {
            let _ = writeln!(
                s,
                "{:<32} {:>9} {:>9} {:>9}  {}{}",
                c.table,
                show(c.before),
                show(c.after),
                show(c.expected),
                if c.ok { "yes" } else { "NO" },
                c.rule
                    .as_deref()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            );
        }
    }
    if !r.schema_changes.is_empty() {
        let count = |c: &str, o: &str| {
            r.schema_changes
                .iter()
                .filter(|x| x.change == c && x.object == o)
                .count()
        };
        let _ = writeln!(
            s,
            "\nschema changes vs the source: tables +{} -{}, columns +{} -{}, constraints +{} -{}, indexes +{} -{}, triggers +{} -{}, functions +{}",
            count("added", "table"), count("removed", "table"),
            count("added", "column"), count("removed", "column"),
            count("added", "constraint"), count("removed", "constraint"),
            count("added", "index"), count("removed", "index"),
            count("added", "trigger"), count("removed", "trigger"),
            count("added", "function"),
        );
    }
    if !r.reference_diff.is_empty() {
        let _ = writeln!(
            s,
            "\nschema diff against the Kong 3.4.2 reference:\n{}",
            r.reference_diff
        );
    }
    if !r.runtime_hazards.is_empty() && r.exit_code != 3 {
        let _ = writeln!(
            s,
            "\nruntime hazards ({}; warnings, `--strict` makes them failures):",
            r.runtime_hazards.len()
        );
        for f in &r.runtime_hazards {
            let _ = writeln!(s, "  {}", f.to_problem().to_text());
        }
    }
    if !r.rollback.is_empty() {
        let _ = writeln!(s, "\nrollback rehearsal:");
        for o in &r.rollback {
            let _ = writeln!(
                s,
                "  {:?}: {} ({} pg_restore error(s), {} difference(s) from the pre-upgrade database, {} ms)\n    command: {}",
                o.method,
                if o.exact { "restores the 2.8 database exactly" } else { "does NOT restore the 2.8 database" },
                o.restore_errors,
                o.differences.len(),
                o.duration_ms,
                o.command
            );
            for d in o.differences.iter().take(12) {
                let _ = writeln!(s, "    - {}", d.message);
            }
            if o.differences.len() > 12 {
                let _ = writeln!(
                    s,
                    "    - … {} more (see the JSON report)",
                    o.differences.len() - 12
                );
            }
            if !o.explanation.is_empty() {
                let _ = writeln!(s, "    why: {}", o.explanation);
            }
        }
        if let Some(rec) = &r.rollback_recommendation {
            let _ = writeln!(s, "  recommendation: {rec}");
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "\nwarnings:");
        for w in &r.warnings {
            let _ = writeln!(s, "  {w}");
        }
    }
    if let Some(k) = &r.kept {
        let _ = writeln!(s, "\n{k}");
    }
    s
}
