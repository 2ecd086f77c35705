//! One rehearsal, as a straight line: get the source into the throwaway (`restore`), judge
//! it (`judge`), capture what it holds (`before`), look for hazards (`hazards`), run `up`,
//! verify, run `finish`, verify (`migrate`, `verify`), and rehearse the way back
//! (`rollback`). Each phase is one function in its own file and adds to the report; the
//! first phase that must stop the line (not eligible, hazard, failed migration) does. This
//! module only sequences the phases: no SQL, no client programs.

mod before;
pub mod forecast;
mod hazards;
mod judge;
mod migrate;
mod restore;
pub mod rollback;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Exit, Result};
use crate::kong::lts::LtsCatalog;
use crate::kong::runner::builtin::{Failure, StepLog};
use crate::kong::runner::kong_cli::{KongCli, KongOutput};
use crate::kong::state::SubsystemState;
use crate::pg::catalog::Change;
use crate::pg::conn::ConnSpec;
use crate::report::{Problem, Progress};
use crate::throwaway::Throwaway;
use verify::CountRow;

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
    /// What Kong 3.4 loads (`plugins` / KONG_PLUGINS): only those subsystems migrate.
    pub plugins: crate::kong::plugins::Plugins,
    /// Kong's pg_schema, when it is not `public` (default: a snapshot manifest's schema).
    pub schema: Option<String>,
    /// --db-timeout, --workload, --interrupt.
    pub forecast: forecast::Options,
    /// The role Kong's migrations run as (`pg_user`), when the production kong.conf or
    /// KONG_PG_USER says: it must own the tables they alter.
    pub kong_user: Option<String>,
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
    pub runtime_hazards: Vec<crate::preflight::Finding>,
    /// Runtime hazards found, listed or not: `runtime_hazards` holds the first of each rule.
    pub runtime_hazards_total: usize,
    /// Per rule, how many were found.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime_hazards_by_rule: BTreeMap<&'static str, usize>,
    /// `db_timeout_s`, `workload[]`, `interrupts[]`.
    #[serde(flatten)]
    pub forecast: forecast::Forecast,
    #[serde(skip)]
    pub exit: Option<Exit>,
}

impl Report {
    fn finish(&mut self, exit: Exit) {
        self.exit = Some(exit);
        self.exit_code = exit as u8;
        self.verdict = if exit == Exit::Ok { "pass" } else { "fail" };
    }
    /// The exit code set when the rehearsal ended; a report that never reached an end is a
    /// defect of the tool, never a pass.
    pub fn exit(&self) -> Exit {
        self.exit.unwrap_or(Exit::Internal)
    }
}

/// What the phases share: the report being written, progress, and the phase clock.
pub(crate) struct Ctx<'a> {
    pub report: Report,
    pub progress: Progress,
    pub opts: &'a Options,
    pub cat: LtsCatalog,
    pub kong: Option<KongCli>,
}

/// A phase either hands the next one its result or ends the rehearsal with an exit code
/// (the problems are already in the report).
pub(crate) enum Next<T> {
    Go(T),
    Stop(Exit),
}

macro_rules! go {
    ($ctx:ident, $phase:expr) => {
        match $phase {
            Next::Go(v) => v,
            Next::Stop(exit) => {
                $ctx.report.finish(exit);
                return Ok($ctx.report);
            }
        }
    };
}

impl Ctx<'_> {
    pub fn done(&mut self, phase: &'static str, t0: Instant) {
        self.done_in(phase, t0.elapsed());
    }

    /// A phase that ran alongside another one: its own duration, measured where it ran.
    pub fn done_in(&mut self, phase: &'static str, took: Duration) {
        let ms = took.as_millis() as u64;
        self.progress.line(format!("{phase}: done in {ms} ms"));
        self.report.phases.push(PhaseTime {
            phase,
            duration_ms: ms,
        });
    }

    /// Problems of a phase, tagged with it.
    pub fn problems(&mut self, phase: &'static str, problems: Vec<Problem>) {
        self.report
            .problems
            .extend(problems.into_iter().map(|p| p.in_phase(phase)));
    }
}

/// Independent work running on the runtime while the rehearsal goes on (the reference
/// schemas while pg_restore runs, the hazards while the source is fingerprinted). Dropped
/// unjoined (a phase stopped the line, or failed), it is aborted, never left running.
pub(crate) struct Background<T>(tokio::task::JoinHandle<T>);

impl<T: Send + 'static> Background<T> {
    pub fn spawn(f: impl std::future::Future<Output = T> + Send + 'static) -> Self {
        Background(tokio::spawn(f))
    }

    pub async fn join(mut self) -> T {
        match (&mut self.0).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("background work of the rehearsal was cancelled: {e}"),
        }
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs blocking work (a client program) so that the runtime's other tasks keep going
/// meanwhile: on a multi-threaded runtime the worker hands its tasks over first.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// An async step that blocks its thread for long stretches (pg_restore inside), run as
/// `blocking` does; on a single-threaded runtime it is simply awaited.
pub(crate) async fn blocking_async<F: std::future::Future>(f: F) -> F::Output {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let h = Handle::current();
    match h.runtime_flavor() {
        RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| h.block_on(f)),
        _ => f.await,
    }
}

pub async fn rehearse(
    tw: &mut Throwaway,
    source: &Source,
    opts: &Options,
    progress: Progress,
) -> Result<Report> {
    let mut ctx = Ctx {
        report: Report {
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
        },
        progress,
        opts,
        cat: LtsCatalog::load()?,
        kong: opts.kong_bin.as_deref().map(KongCli::new).transpose()?,
    };
    // The reference schemas do not depend on the source: they load while it is restored.
    let references = before::start_references(&ctx, tw);
    let restored = go!(ctx, restore::restore(&mut ctx, tw, source).await?);
    let golden = restore::golden_reference(&mut ctx, tw).await?;
    let schema = go!(ctx, judge::judge(&mut ctx, tw, golden.as_ref()).await?);
    // Both only read the restored database (nothing writes to it before `up`): the hazards
    // are looked for on their own connection while `before` fingerprints the source.
    let found = hazards::start(tw.target(), &schema);
    let mut before = before::before(
        &mut ctx,
        tw,
        &schema,
        &restored,
        golden.as_ref(),
        references,
    )
    .await?;
    let owners = restore::owners(tw, source, &restored, &schema)?;
    go!(ctx, hazards::hazards(&mut ctx, found, &owners).await?);
    let expect = before::expected_meta(&ctx, &before.state, golden.as_ref());
    let migrated = migrate::up_and_finish(&mut ctx, &mut before, &schema, &expect).await?;
    forecast::interrupts(&mut ctx, tw, &restored.dump).await?;
    drop(before.client);
    rollback::rollbacks(&mut ctx, tw, &restored.dump, &schema, &before.state).await?;
    if let Next::Stop(exit) = migrated {
        ctx.report.finish(exit);
        return Ok(ctx.report);
    }
    drop(restored);
    let exit = if ctx.report.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Verification
    };
    ctx.report.finish(exit);
    Ok(ctx.report)
}
