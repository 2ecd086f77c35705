//! Phase `judge`: is the restored copy exactly a complete Kong 2.8.5 database, ready for the
//! LTS path? The copy is identical to the source and safe to read at length.

use std::time::Instant;

use super::{Ctx, Next};
use crate::error::{Exit, Result};
use crate::kong::inspect;
use crate::kong::schema_meta::Row;
use crate::kong::state;
use crate::pg::catalog::Catalog;
use crate::report::{Kind, Problem};
use crate::throwaway::Throwaway;

/// Hands on the Kong schema's name when the database is eligible.
pub(crate) async fn judge(
    ctx: &mut Ctx<'_>,
    tw: &Throwaway,
    golden: Option<&(Catalog, Vec<Row>)>,
) -> Result<Next<String>> {
    let t0 = Instant::now();
    if let Some(schema) = ctx.opts.schema.as_deref().filter(|s| *s != "public") {
        kong_search_path(tw.target(), schema).await?;
    }
    // Kong runs the migrations of loaded plugins only; every later phase walks this catalog.
    ctx.cat.restrict(&ctx.opts.plugins);
    let insp = inspect::inspect(tw.target(), ctx.opts.schema.as_deref()).await?;
    let mut verdict = state::judge(
        &state::Observed {
            schema_meta: insp.rows.as_deref(),
            catalog: &insp.catalog,
            plugins_in_use: insp.plugins_in_use.as_deref(),
        },
        &ctx.cat,
        &state::Options {
            allow_unknown: ctx.opts.allow_unknown.clone(),
            plugins: ctx.opts.plugins.clone(),
        },
    )?;
    if let Some((_, rows)) = golden {
        relax_for_real_kong(&mut verdict, rows);
    }
    ctx.report.state = verdict.subsystems.clone();
    ctx.report.warnings.extend(verdict.warnings.clone());
    ctx.done("judge", t0);
    if !verdict.eligible {
        ctx.problems("judge", verdict.problems);
        return Ok(Next::Stop(Exit::NotEligible));
    }
    Ok(Next::Go(insp.schema))
}

/// Kong's connections to a pg_schema other than `public` start with `SET SCHEMA '<schema>'`
/// (kong/db/strategies/postgres/connector.lua), so its unqualified migration SQL and the
/// `sync_tags` trigger resolve there. The throwaway's database gets the same search_path, so
/// every later connection of the rehearsal (the runner's included) sees what Kong sees.
async fn kong_search_path(target: &crate::pg::conn::ConnSpec, schema: &str) -> Result<()> {
    let client = target.connect().await?;
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} SET search_path TO {}",
            crate::pg::quote_ident(&target.dbname),
            crate::pg::quote_ident(schema)
        ))
        .await
        .map_err(|e| {
            crate::error::Error::db(format!("cannot point the throwaway at schema {schema}"), e)
        })
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
