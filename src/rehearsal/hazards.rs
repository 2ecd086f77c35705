//! Phase `hazards`: rows the real migration chokes on or corrupts (they stop the line before
//! anything migrates, unless `--skip-hazard-check`), and runtime hazards (warnings, or
//! problems with `--strict`).

use std::time::Instant;

use super::{Ctx, Next};
use crate::error::{Exit, Result};
use crate::preflight::data_hazards;

pub(crate) async fn hazards(
    ctx: &mut Ctx<'_>,
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<Next<()>> {
    let t0 = Instant::now();
    let mut found = data_hazards::find(client).await?;
    let rt = data_hazards::runtime(client, schema).await?;
    if let Some(n) = &rt.mixed_version {
        ctx.report
            .warnings
            .push(format!("mixed-version window: {n}"));
    }
    if ctx.opts.strict {
        found.extend(rt.strict_problems());
    }
    ctx.report.runtime_hazards = rt.findings;
    ctx.done("hazards", t0);
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
