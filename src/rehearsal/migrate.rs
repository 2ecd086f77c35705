//! Phases `up`, `verify_up`, `finish` and `verify_finish`: Kong's two migration commands
//! (built-in runner, or a real Kong binary), each followed by the check of what it left.

use std::time::Instant;

use super::before::Captured;
use super::forecast;
use super::verify::{self, MetaExpectation};
use super::{Ctx, Next, Report};
use crate::error::{Exit, Result};
use crate::kong::runner::builtin::{Builtin, RunError, StepLog};
use crate::report::{Kind, Problem};

pub(crate) async fn up_and_finish(
    ctx: &mut Ctx<'_>,
    cap: &mut Captured,
    schema: &str,
    (meta_up, meta_finish): &(MetaExpectation, MetaExpectation),
) -> Result<Next<()>> {
    if let Next::Stop(exit) = up(ctx, cap).await? {
        return Ok(Next::Stop(exit));
    }
    verify_up(ctx, cap, schema, meta_up).await?;
    if ctx.opts.stop_after_up {
        // No finish report collects them: the quirks are the up steps' own.
        for log in &ctx.report.migrations {
            for (q, n) in &log.quirks {
                *ctx.report.quirks.entry(q.clone()).or_default() += n;
            }
        }
        return Ok(timed_out(ctx));
    }
    if let Next::Stop(exit) = finish(ctx, cap).await? {
        return Ok(Next::Stop(exit));
    }
    verify_finish(ctx, cap, schema, meta_finish).await?;
    Ok(timed_out(ctx))
}

/// A step that outlasted --db-timeout ran to its end here, so the rest was still
/// rehearsed; production's migration would have stopped at it, so the run fails as a
/// failed migration does.
fn timed_out(ctx: &Ctx<'_>) -> Next<()> {
    if ctx
        .report
        .problems
        .iter()
        .any(|p| p.kind == Kind::DbTimeout)
    {
        Next::Stop(Exit::MigrationFailed)
    } else {
        Next::Go(())
    }
}

/// One of Kong's two commands, watched by the forecast (locks, --db-timeout, 2.8 traffic).
async fn run_phase(ctx: &mut Ctx<'_>, cap: &Captured, phase: &'static str) -> Result<Next<()>> {
    let watch = forecast::Watch::start(ctx, cap, phase).await?;
    // The phase's time is the migration's own, not the watchers' connection setup.
    let t0 = Instant::now();
    let runner = Builtin {
        catalog: &ctx.cat,
        progress: ctx.progress,
    };
    let target = cap_target(ctx, cap);
    let mut res: std::result::Result<Vec<StepLog>, RunError> = match (&ctx.kong, target) {
        (None, _) if phase == "up" => runner.up_with(&cap.client, watch.hooks()).await,
        (None, _) => runner.finish_with(&cap.client, watch.hooks()).await,
        (Some(k), Some(spec)) => k.run_phase(&spec, phase, &mut ctx.report.kong_output).await,
        (Some(_), None) => unreachable!("cap_target is Some whenever a Kong binary runs"),
    };
    let mut logs: Vec<&mut StepLog> = match &mut res {
        Ok(logs) => logs.iter_mut().collect(),
        Err(RunError::Failed(f)) => f.completed.iter_mut().chain([&mut f.step]).collect(),
        Err(RunError::Env(_)) => vec![],
    };
    watch.end(ctx, &mut logs).await?;
    match res {
        Ok(logs) => {
            ctx.report.migrations.extend(logs);
            ctx.done(phase, t0);
            Ok(Next::Go(()))
        }
        Err(e) => failed(&mut ctx.report, e),
    }
}

fn cap_target(ctx: &Ctx<'_>, cap: &Captured) -> Option<crate::pg::conn::ConnSpec> {
    ctx.kong.as_ref().map(|_| cap.target.clone())
}

/// Every subsystem's `up`, SQL then data step, with Kong's bookkeeping.
async fn up(ctx: &mut Ctx<'_>, cap: &Captured) -> Result<Next<()>> {
    run_phase(ctx, cap, "up").await
}

/// Every teardown, in the same order.
async fn finish(ctx: &mut Ctx<'_>, cap: &Captured) -> Result<Next<()>> {
    run_phase(ctx, cap, "finish").await
}

/// What 2.8 nodes see during the upgrade window: every 2.8 object kept, the up-phase
/// objects present, schema_meta exactly Kong's with the teardowns pending.
async fn verify_up(
    ctx: &mut Ctx<'_>,
    cap: &mut Captured,
    schema: &str,
    meta: &MetaExpectation,
) -> Result<()> {
    let t0 = Instant::now();
    let (p, w, _) = verify::after_up(&mut cap.client, schema, &cap.state, &ctx.cat, meta).await?;
    ctx.problems("verify_up", p);
    ctx.report.warnings.extend(w);
    ctx.done("verify_up", t0);
    Ok(())
}

/// The end state: the 3.4.2 reference plus the source's own drift, schema_meta, counts and
/// content as Kong's rules predict.
async fn verify_finish(
    ctx: &mut Ctx<'_>,
    cap: &mut Captured,
    schema: &str,
    meta: &MetaExpectation,
) -> Result<()> {
    let t0 = Instant::now();
    let fin = verify::after_finish(
        &mut cap.client,
        schema,
        &cap.state,
        &ctx.cat,
        &cap.ref_342,
        &cap.drift,
        meta,
    )
    .await?;
    // Nothing reads the "before" snapshot after the end state is checked.
    cap.state.held = None;
    ctx.problems("verify_finish", fin.problems);
    ctx.report.warnings.extend(fin.warnings);
    ctx.report.counts = fin.counts;
    ctx.report.quirks.extend(fin.quirks);
    ctx.report.schema_changes = fin.schema_changes;
    ctx.report.reference_diff = fin.reference_diff;
    ctx.done("verify_finish", t0);
    Ok(())
}

/// A failed step: what completed, the failed step, and the problem naming it.
fn failed(report: &mut Report, e: RunError) -> Result<Next<()>> {
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
            Ok(Next::Stop(Exit::MigrationFailed))
        }
    }
}
