//! Rehearsing the way back: restore the pre-upgrade backup into the upgraded database the
//! way the upgrade guide says (`pg_restore --clean`), or into a re-created schema, and prove
//! whether the result is exactly the 2.8 database again.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kong::schema_meta;
use crate::pg::catalog;
use crate::pg::conn::ConnSpec;
use crate::pg::fingerprint::{self, Scope};
use crate::pg::programs;
use crate::rehearsal::verify::Before;
use crate::report::{Kind, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The guide's `pg_restore --clean` into the upgraded database.
    Clean,
    /// Drop and re-create the Kong schema, then restore.
    Recreate,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Clean => "clean",
            Method::Recreate => "recreate",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub method: Method,
    /// The restore command as an operator would type it.
    pub command: String,
    pub restore_exit_code: Option<i32>,
    /// Number of `pg_restore: error:` lines.
    pub restore_errors: usize,
    /// The first few of them.
    pub first_errors: Vec<String>,
    /// True when catalog, schema_meta and every table equal the pre-upgrade database.
    pub exact: bool,
    pub differences: Vec<Problem>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub explanation: String,
}

/// Runs one rollback method on `target` (the upgraded database) from `dump`, then compares
/// the result with the pre-upgrade state.
pub async fn rehearse(
    method: Method,
    pg_restore: &Path,
    dump: &Path,
    target: &ConnSpec,
    schema: &str,
    before: &Before,
) -> Result<Outcome> {
    let t0 = Instant::now();
    // Grants are in the pre-upgrade state only when their roles exist here: restore them
    // exactly then, or the way back would fail on a role the target lacks.
    let privileges = !before.catalog.grants.is_empty();
    let (command, (code, stderr)) = match method {
        Method::Clean => (
            format!("pg_restore -d {} --clean {}", target.dbname, dump.display()),
            programs::pg_restore_into_existing(pg_restore, dump, target, privileges, &["--clean"])?,
        ),
        Method::Recreate => {
            let client = target.connect().await?;
            let mut recreate = crate::pg::sql::session::recreate_schema(schema);
            let public: Vec<&str> = before
                .catalog
                .grants
                .get("SCHEMA to PUBLIC")
                .map(|p| {
                    p.split(' ')
                        .filter_map(|x| x.strip_prefix('+'))
                        .map(|x| x.trim_end_matches('*'))
                        .collect()
                })
                .unwrap_or_default();
            let mut grant = String::new();
            if !public.is_empty() {
                grant = format!(
                    " {}",
                    crate::pg::sql::session::grant_schema_to_public(schema, &public)
                );
                recreate.push_str(&grant);
            }
            client
                .batch_execute(&recreate)
                .await
                .map_err(|e| Error::db("cannot re-create the Kong schema", e))?;
            (
                format!(
                    "psql -d {db} -c 'DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema};{grant}' && pg_restore -d {db} --exit-on-error {}",
                    dump.display(),
                    db = target.dbname
                ),
                programs::pg_restore_into_existing(
                    pg_restore,
                    dump,
                    target,
                    privileges,
                    &["--exit-on-error"],
                )?,
            )
        }
    };
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error:"))
        .map(|l| l.trim().to_string())
        .collect();
    let differences = compare_with_before(target, schema, before).await?;
    let exact = differences.is_empty() && code == Some(0);
    let explanation = if method == Method::Clean && !exact {
        "`pg_restore --clean` drops and re-creates only the objects the 2.8 backup knows, in \
         dependency order. The 3.4 tables (filter_chains, keys, key_sets, sm_vaults) are not \
         in it, and their foreign keys to workspaces, services, routes and plugins make those \
         drops fail. So the 2.8 rows of those tables are never restored (duplicate keys), they \
         keep their 3.4 columns and already-rewritten `~` paths, and the 3.4-only tables \
         survive, while schema_meta says 2.8 again. A retried upgrade on that database skips \
         copying vaults and prefixes route paths a second time. Roll back by re-creating \
         instead: drop and re-create the database (or `DROP SCHEMA public CASCADE; CREATE \
         SCHEMA public; GRANT USAGE ON SCHEMA public TO PUBLIC;`, the last for the default \
         PostgreSQL 15 gives `public`, which pg_dump does not write), then `pg_restore \
         --exit-on-error` the backup."
            .to_string()
    } else {
        String::new()
    };
    Ok(Outcome {
        method,
        command,
        restore_exit_code: code,
        restore_errors: errors.len(),
        first_errors: errors.into_iter().take(5).collect(),
        exact,
        differences,
        duration_ms: t0.elapsed().as_millis() as u64,
        explanation,
    })
}

/// Everything that differs from the pre-upgrade database: catalog (any 3.x object left),
/// schema_meta, and each table's rows and checksum.
pub async fn compare_with_before(
    target: &ConnSpec,
    schema: &str,
    before: &Before,
) -> Result<Vec<Problem>> {
    let client = target.connect().await?;
    client
        .batch_execute(&crate::pg::sql::session::set_search_path(schema))
        .await
        .map_err(|e| Error::db("cannot select the Kong schema", e))?;
    let now = catalog::read(&client, schema).await?;
    let mut out = vec![];
    for ch in catalog::diff(&before.catalog, &now) {
        out.push(
            Problem::new(
                Kind::Partial,
                format!("after the rollback, {}", ch.describe()),
            )
            .object(format!("{} {}", ch.object, ch.name)),
        );
    }
    let meta = schema_meta::read(&client)
        .await
        .map_err(|e| Error::db("cannot read schema_meta after the rollback", e))?;
    if meta != before.schema_meta {
        out.push(
            Problem::new(
                Kind::Partial,
                "after the rollback, schema_meta differs from the pre-upgrade database".to_string(),
            )
            .object("table schema_meta"),
        );
    }
    // Every table the rollback kept with the columns it had, fingerprinted in parallel in
    // the order the "before" side was, and compared chunk by chunk.
    let (mut names, mut scopes) = (vec![], vec![]);
    for (name, st) in &before.tables {
        let Some(t) = now.tables.get(name) else {
            continue; // reported by the catalog diff
        };
        if !st
            .columns
            .iter()
            .all(|c| t.columns.iter().any(|x| &x.name == c))
        {
            continue; // a lost column is reported by the catalog diff
        }
        names.push(name);
        scopes.push(Scope {
            schema: schema.to_string(),
            table: name.clone(),
            columns: st.columns.clone(),
            filter: String::new(),
            key: before.keys.get(name).cloned().unwrap_or_default(),
        });
    }
    let fps =
        fingerprint::fingerprint_all(target, None, scopes, fingerprint::DEFAULT_WORKERS).await?;
    for (name, got) in names.into_iter().zip(fps) {
        let st = &before.tables[name];
        let rows = got.rows;
        let at = fingerprint::first_difference(&st.chunks, &got.chunks)
            .map(|d| format!("; {}", d.describe()))
            .unwrap_or_default();
        if rows != st.rows {
            out.push(
                Problem::new(
                    Kind::Partial,
                    format!(
                        "after the rollback, table {name} has {rows} rows; {} before the upgrade{at}",
                        st.rows
                    ),
                )
                .object(format!("table {name}")),
            );
        } else if got.checksum != st.checksum {
            out.push(
                Problem::new(Kind::Partial, format!("after the rollback, table {name} holds different contents than before the upgrade{at}"))
                    .object(format!("table {name}")),
            );
        }
    }
    Ok(out)
}

/// The ways back, rehearsed on the upgraded database in order; the first exact one is
/// recommended, and none being exact is a problem.
pub(crate) async fn rollbacks(
    ctx: &mut super::Ctx<'_>,
    tw: &crate::throwaway::Throwaway,
    dump: &std::path::Path,
    schema: &str,
    before: &Before,
) -> Result<()> {
    let opts = ctx.opts;
    let report = &mut ctx.report;
    if opts.rollback.is_empty() {
        return Ok(());
    }
    let pg_restore = tw.client_tool("pg_restore")?;
    for m in &opts.rollback {
        let t0 = Instant::now();
        let o = rehearse(*m, &pg_restore, dump, tw.target(), schema, before).await?;
        report.phases.push(super::PhaseTime {
            phase: match m {
                Method::Clean => "rollback_clean",
                Method::Recreate => "rollback_recreate",
            },
            duration_ms: t0.elapsed().as_millis() as u64,
        });
        report.rollback.push(o);
    }
    match report.rollback.iter().find(|o| o.exact) {
        Some(o) => {
            report.rollback_recommendation = Some(format!(
                "roll back with the `{}` method: {}",
                o.method.as_str(),
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
