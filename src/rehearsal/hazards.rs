//! Phase `hazards`: rows the real migration chokes on or corrupts (they stop the line before
//! anything migrates, unless `--skip-hazard-check`), and runtime hazards (warnings, or
//! problems with `--strict`). The queries only read the restored database, on their own
//! connection, so they run while `before` fingerprints it.

use std::time::{Duration, Instant};

use super::{Background, Ctx, Next};
use crate::error::{Exit, Result};
use crate::pg::conn::ConnSpec;
use crate::preflight::data_hazards::{self, Runtime};
use crate::report::Problem;

/// Data hazards and runtime hazards, as the queries found them.
type Found = Result<(Vec<Problem>, Runtime)>;

/// The hazards being looked for, with the time the looking took.
pub(crate) struct Pending(Background<(Found, Duration)>);

/// Starts looking for the hazards of the restored database.
pub(crate) fn start(target: &ConnSpec, schema: &str) -> Pending {
    let (target, schema) = (target.clone(), schema.to_string());
    Pending(Background::spawn(async move {
        let t0 = Instant::now();
        let res = async {
            let client = target.connect().await?;
            data_hazards::find(&client, &schema).await
        }
        .await;
        (res, t0.elapsed())
    }))
}

/// `owners`: who owns each table in the dump (the restore drops owners): a table Kong's role
/// cannot alter is a hazard like a row the migration chokes on.
pub(crate) async fn hazards(
    ctx: &mut Ctx<'_>,
    pending: Pending,
    owners: &std::collections::BTreeMap<String, String>,
) -> Result<Next<()>> {
    let (res, took) = pending.0.join().await;
    let (mut found, rt) = res?;
    let (owner_hazards, owner_warnings) = crate::preflight::ownership::judge(
        owners,
        &crate::preflight::ownership::tables_altered(&ctx.cat),
        ctx.opts.kong_user.as_deref(),
    );
    found.extend(owner_hazards);
    ctx.report.warnings.extend(owner_warnings);
    if let Some(n) = &rt.mixed_version {
        ctx.report
            .warnings
            .push(format!("mixed-version window: {n}"));
    }
    if ctx.opts.strict {
        found.extend(rt.strict_problems());
    }
    ctx.report.warnings.extend(rt.unlisted_note());
    ctx.report.runtime_hazards_total = rt.total();
    ctx.report.runtime_hazards_by_rule = rt.counts.clone();
    ctx.report.runtime_hazards = rt.findings;
    ctx.done_in("hazards", took);
    if found.is_empty() {
        return Ok(Next::Go(()));
    }
    if ctx.opts.skip_hazard_check {
        for h in &found {
            ctx.report.warnings.push(format!(
                "hazard ignored (--skip-hazard-check): {}",
                h.message
            ));
        }
        return Ok(Next::Go(()));
    }
    ctx.problems("hazards", found);
    Ok(Next::Stop(Exit::NotEligible))
}
