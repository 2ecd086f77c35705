//! `run` and `demo`: a rehearsal on a throwaway, rendered for people and for machines.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{throwaway_options, Outcome};
use crate::cli::{
    DemoArgs, RehearsalArgs, RollbackChoice, RunArgs, RunnerChoice, StopAfter, ThrowawayArgs,
};
use crate::error::{Error, Result};
use crate::fixture::{self, Spec};
use crate::kong::plugins::Plugins;
use crate::pg::conn::ConnSpec;
use crate::rehearsal::rollback;
use crate::rehearsal::{self, Report, Source};
use crate::report::Progress;
use crate::throwaway::{self, Throwaway};

fn options(
    a: &RehearsalArgs,
    plugins: Plugins,
    schema: Option<String>,
    kong_user: Option<String>,
) -> rehearsal::Options {
    rehearsal::Options {
        plugins,
        schema,
        kong_user,
        stop_after_up: a.stop_after == Some(StopAfter::Up),
        skip_hazard_check: a.skip_hazard_check,
        allow_unknown: a.allow_unknown.clone(),
        reference_342: a.reference_schema.clone(),
        restore_jobs: a.jobs,
        kong_bin: (a.runner == RunnerChoice::Kong).then(|| a.kong_bin.clone()),
        strict: a.strict,
        forecast: rehearsal::forecast::Options {
            db_timeout: std::time::Duration::from_secs(a.db_timeout),
            workload: a.workload,
            interrupt: a.interrupt.clone(),
        },
        rollback: match a.rollback {
            None => vec![],
            Some(RollbackChoice::Clean) => vec![rollback::Method::Clean],
            Some(RollbackChoice::Recreate) => vec![rollback::Method::Recreate],
            Some(RollbackChoice::Both) => vec![rollback::Method::Clean, rollback::Method::Recreate],
        },
    }
}

/// Kong's pg_schema for the rehearsal: `--schema`, else the snapshot manifest's, else
/// `pg_schema` of the production kong.conf / KONG_PG_SCHEMA.
fn kong_schema(a: &RunArgs, kong_conf: Option<&Path>) -> Result<Option<String>> {
    if let Some(s) = &a.rehearsal.schema {
        return Ok(Some(s.clone()));
    }
    if let Some(dir) = &a.snapshot {
        let path = dir.join(crate::backup::manifest::MANIFEST);
        if path.exists() {
            return Ok(Some(crate::backup::manifest::Manifest::load(&path)?.schema));
        }
    }
    let conf = kong_conf
        .map(|p| {
            crate::kong::conf::load(p).map_err(|e| Error::io("cannot read the kong.conf", p, e))
        })
        .transpose()?;
    Ok(crate::kong::conf::pg_settings(conf.as_ref(), &|k| std::env::var(k).ok()).schema)
}

pub async fn run(a: &RunArgs, kong_conf: Option<&Path>, progress: Progress) -> Result<Outcome> {
    let source = match (&a.dump, &a.source) {
        _ if a.snapshot.is_some() => {
            let dir = a.snapshot.clone().unwrap_or_default();
            if !dir.join(crate::backup::manifest::MANIFEST).exists() {
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
                    "the dump {} does not exist; pass the path of a pg_dump archive (custom \
                     -Fc, directory -Fd, or plain SQL, also .sql.gz), or use --source URL",
                    p.display()
                )));
            }
            if p.join(crate::backup::manifest::MANIFEST).exists() {
                return Err(Error::Usage(format!(
                    "{} is a kong-rehearse snapshot directory, not a dump; pass it with \
                     --snapshot, which checks its files against the manifest and uses the \
                     manifest as the \"before\" side",
                    p.display()
                )));
            }
            Source::Dump(p.clone())
        }
        (None, Some(url)) => Source::Url(ConnSpec::parse(url)?),
        (None, None) => unreachable!("clap requires --dump, --source or --snapshot"),
    };
    let plugins = Plugins::from_kong_conf(kong_conf)?;
    let schema = kong_schema(a, kong_conf)?;
    let (opts, mut tw) = start(&a.throwaway, &a.rehearsal, progress).await?;
    let mut report = rehearsal::rehearse(
        &mut tw,
        &source,
        &options(
            &a.rehearsal,
            plugins,
            schema,
            super::kong_pg_user(kong_conf)?,
        ),
        progress,
    )
    .await?;
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
        // The demo's own fixture loads every bundled plugin, in schema public.
        &options(&a.rehearsal, Plugins::kong_default(), None, None),
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
    let json = serde_json::to_value(&*report)
        .map_err(|e| Error::Internal(format!("the report does not serialize: {e}")))?;
    type Renderer = fn(&mut dyn std::io::Write, &Report) -> std::io::Result<()>;
    let files: [(&Option<std::path::PathBuf>, Renderer); 3] = [
        (&a.report_json, |w, r| crate::render::json(w, "run", r)),
        (&a.junit, crate::render::junit::write),
        (&a.markdown, crate::render::markdown::write),
    ];
    for (path, render) in files {
        if let Some(path) = path {
            // Reports name databases and migration output: private like the dumps.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| Error::io("cannot create the report", path, e))?;
            // `mode` applies only to a new file: an existing report is narrowed too.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("cannot set mode 0600 on the report", path, e))?;
            render(&mut f, report).map_err(|e| Error::io("cannot write the report", path, e))?;
        }
    }
    Ok(Outcome {
        exit: report.exit(),
        problems: report.problems.clone(),
        text: {
            let mut buf = Vec::new();
            crate::render::text::write(&mut buf, report, crate::render::use_color())
                .map_err(|e| Error::Internal(format!("the text report does not render: {e}")))?;
            String::from_utf8_lossy(&buf).into_owned()
        },
        json,
    })
}
