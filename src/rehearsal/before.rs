//! Phase `before`: the reference schemas (rendered by the rehearsal's own server), the
//! source's drift from stock 2.8.5, and what every table holds, captured in one snapshot;
//! and the schema_meta Kong's sequence must leave after `up` and after `finish`.

use std::time::Instant;

use super::restore::Restored;
use super::verify::{self, MetaExpectation};
use super::{Background, Ctx, Restore};
use crate::error::{Error, Result};
use crate::kong::lts::LtsCatalog;
use crate::kong::release::embedded_text;
use crate::kong::schema_meta::{self, Record, Row};
use crate::pg::catalog::{self, Catalog, Change};
use crate::pg::conn::ConnSpec;
use crate::throwaway::{Sibling, Throwaway};

pub(crate) struct Captured {
    /// The rehearsal's connection to the throwaway, kept for the later phases.
    pub client: tokio_postgres::Client,
    pub target: ConnSpec,
    pub state: verify::Before,
    pub ref_342: Catalog,
    /// Differences of the source from stock 2.8.5, which the end state must keep.
    pub drift: Vec<Change>,
}

/// The two reference schemas, loading into their sibling databases (started before the
/// restore: they do not depend on the source).
pub(crate) struct References {
    /// The first error setting them up (reading --reference-342), in the order `before`
    /// would meet it; nothing was started then.
    setup: Result<()>,
    ref_285: Option<Background<Result<Loaded>>>,
    /// None with a golden bootstrap and no --reference-342: the bootstrap is the reference.
    ref_342: Option<Background<Result<Loaded>>>,
}

/// A reference schema loaded, and the sibling database it was loaded into, which the
/// throwaway adopts (so `--keep` names it, and it is dropped with the throwaway).
type Loaded = (Sibling, Catalog);

/// Starts creating the sibling databases and loading the references into them: creating a
/// database waits on the disk more than the CPU, so it overlaps pg_restore well.
pub(crate) fn start_references(ctx: &Ctx<'_>, tw: &Throwaway) -> References {
    let mut refs = References {
        setup: Ok(()),
        ref_285: None,
        ref_342: None,
    };
    let sqls = match &ctx.opts.reference_342 {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Error::io("cannot read the reference schema", p, e)),
        None => embedded_text("kong-3.4.2/schema.sql"),
    }
    .and_then(|sql_342| Ok((embedded_text("kong-2.8.5/schema.sql")?, sql_342)));
    let (sql_285, sql_342) = match sqls {
        Ok(s) => s,
        Err(e) => {
            refs.setup = Err(e);
            return refs;
        }
    };
    // A golden bootstrap (a real Kong binary) is the 3.4.2 reference unless one is given.
    let golden = ctx.kong.is_some() && ctx.opts.reference_342.is_none();
    let maker = tw.sibling_maker();
    let load = |db: &'static str, name: &'static str, sql: String| {
        let maker = maker.clone();
        Background::spawn(async move {
            let sibling = maker.create(db).await?;
            let cat = reference_catalog(&sibling.spec, name, &sql).await?;
            Ok((sibling, cat))
        })
    };
    refs.ref_285 = Some(load("kong_reference_285", "kong-2.8.5", sql_285));
    refs.ref_342 = (!golden).then(|| load("kong_reference_342", "kong-3.4.2", sql_342));
    refs
}

pub(crate) async fn before(
    ctx: &mut Ctx<'_>,
    tw: &mut Throwaway,
    schema: &str,
    restored: &Restored,
    golden: Option<&(Catalog, Vec<Row>)>,
    refs: References,
) -> Result<Captured> {
    let t0 = Instant::now();
    refs.setup?;
    // The references load (since the restore) while the source is fingerprinted:
    // independent work, separate connections.
    let mut client = tw.target().connect().await?;
    // Tables no step changes are only counted, and read later only if written: unless the
    // rollback rehearsal needs every table as it was, or a real Kong runs migrations the
    // catalog does not know.
    let rows_may_change = ctx.cat.tables_rows_may_change();
    let defer = (ctx.opts.rollback.is_empty() && ctx.kong.is_none()).then_some(&rows_may_change);
    let (ref_285, ref_342, state) = tokio::join!(
        async {
            match refs.ref_285 {
                Some(r) => r.join().await,
                None => Err(Error::Internal(
                    "the 2.8.5 reference was never started".into(),
                )),
            }
        },
        async {
            match (refs.ref_342, golden) {
                (Some(r), _) => r.join().await.map(|(s, c)| (Some(s), c)),
                // No sibling: the catalog of the real Kong's bootstrap.
                (None, Some((c, _))) => Ok((None, c.clone())),
                (None, None) => Err(Error::Internal(
                    "no 3.4.2 reference: neither a sibling database nor a golden bootstrap".into(),
                )),
            }
        },
        verify::capture_before(
            &mut client,
            tw.target(),
            schema,
            restored.known_tables.as_ref(),
            defer,
        )
    );
    let ((sibling_285, ref_285), (sibling_342, ref_342), state) = (ref_285?, ref_342?, state?);
    tw.adopt(sibling_285);
    if let Some(s) = sibling_342 {
        tw.adopt(s);
    }
    let mut ref_285_here = ref_285.clone();
    ref_285_here.schema = state.catalog.schema.clone();
    let drift = catalog::diff(&ref_285_here, &state.catalog);
    // Column position is never a difference: a database born on Kong 1.x has its own.
    for d in drift.iter().filter(|d| d.object != "column order") {
        let by = ctx.cat.touched_by(d.object, d.table.as_deref(), &d.name);
        ctx.report.warnings.push(match by {
            None => format!(
                "drift from stock Kong 2.8.5 (no migration acts on it; held unchanged): {}",
                d.describe()
            ),
            Some((sub, m)) => format!(
                "drift from stock Kong 2.8.5 that {sub}/{m} acts on (the end state is held to \
                 Kong 3.4.2's reference for it): {}",
                d.describe()
            ),
        });
    }
    let rows_total: i64 = state.tables.values().map(|t| t.rows).sum();
    let (bytes, secs) = (restored.dump_bytes, restored.restore_s);
    ctx.report.restore = Restore {
        bytes,
        rows: rows_total,
        mb_per_s: (bytes as f64 / 1e6 / secs * 10.0).round() / 10.0,
        rows_per_s: (rows_total as f64 / secs).round(),
    };
    ctx.done("before", t0);
    Ok(Captured {
        client,
        target: tw.target().clone(),
        state,
        ref_342,
        drift,
    })
}

/// What schema_meta must hold after `up` and after `finish`: predicted from the rows before
/// (built-in runner), or the same sets as the real Kong's own bootstrap.
pub(crate) fn expected_meta(
    ctx: &Ctx<'_>,
    before: &verify::Before,
    golden: Option<&(Catalog, Vec<Row>)>,
) -> (MetaExpectation, MetaExpectation) {
    match golden {
        None => {
            let (u, f) = predict_meta(&before.schema_meta, &ctx.cat);
            (MetaExpectation::Exact(u), MetaExpectation::Exact(f))
        }
        Some((_, rows)) => (
            MetaExpectation::Skip,
            MetaExpectation::SameSetsAs(rows.clone()),
        ),
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
async fn reference_catalog(spec: &ConnSpec, name: &str, sql: &str) -> Result<Catalog> {
    let client = spec.connect().await?;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| Error::db(format!("cannot load the reference schema {name}"), e))?;
    catalog::read(&client, "public").await
}
