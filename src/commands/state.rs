//! `status` and `plan`: read a database once, judge it, and say what would run.

use std::path::Path;

use serde_json::json;

use super::Outcome;
use crate::cli::{RollbackCheckArgs, StateArgs};
use crate::error::{Exit, Result};
use crate::kong::inspect::{self, Inspection};
use crate::kong::lts::{Effect, LtsCatalog};
use crate::kong::state::{self, Verdict};
use crate::pg::conn::ConnSpec;
use crate::report::{Kind, Problem};

struct Judged {
    plugins: crate::kong::plugins::Plugins,
    db: ConnSpec,
    inspection: Inspection,
    catalog: LtsCatalog,
    verdict: Verdict,
    runtime: Option<crate::preflight::data_hazards::Runtime>,
}

async fn judge(a: &StateArgs, kong_conf: Option<&Path>) -> Result<Judged> {
    let (db, conf_schema) =
        crate::pg::conn::resolve(a.db.as_deref(), || crate::kong::conf::pg_target(kong_conf))?;
    let schema = a.schema.clone().or(conf_schema);
    // One read-only snapshot for every read: the state judged and the runtime hazards describe
    // the same moment of a database that may be serving traffic.
    let mut client = db.connect().await?;
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let inspection = inspect::inspect_in(&tx, schema.as_deref()).await?;
    // Runtime hazards need Kong's tables; a database that is not Kong has none to read.
    let runtime =
        if inspection.catalog.has_table("routes") && inspection.catalog.has_table("plugins") {
            Some(crate::preflight::data_hazards::runtime(&tx, &inspection.schema).await?)
        } else {
            None
        };
    let owners: std::collections::BTreeMap<String, String> = tx
        .query(
            crate::pg::sql::catalog::Q_TABLE_OWNERS,
            &[&inspection.schema],
        )
        .await
        .map_err(|e| crate::error::Error::db("cannot read the table owners", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    tx.rollback()
        .await
        .map_err(|e| crate::error::Error::db("cannot end the read-only transaction", e))?;
    // Kong migrates only the subsystems of the plugins it loads.
    let plugins = crate::kong::plugins::Plugins::from_kong_conf(kong_conf)?;
    let mut catalog = LtsCatalog::load()?;
    catalog.restrict(&plugins);
    let verdict = state::judge(
        &state::Observed {
            schema_meta: inspection.rows.as_deref(),
            catalog: &inspection.catalog,
            plugins_in_use: inspection.plugins_in_use.as_deref(),
        },
        &catalog,
        &state::Options {
            allow_unknown: a.allow_unknown.clone(),
            plugins: plugins.clone(),
        },
    )?;
    let mut verdict = verdict;
    // Kong's migrations run as its one pg_user, which must own what they alter.
    let (hazards, warnings) = crate::preflight::ownership::judge(
        &owners,
        &crate::preflight::ownership::tables_altered(&catalog),
        super::kong_pg_user(kong_conf)?.as_deref(),
    );
    verdict.warnings.extend(warnings);
    verdict
        .warnings
        .extend(runtime.as_ref().and_then(|r| r.unlisted_note()));
    if !hazards.is_empty() {
        verdict.problems.extend(hazards);
        verdict.eligible = false;
    }
    if let (true, Some(rt)) = (a.strict, &runtime) {
        verdict.problems.extend(rt.strict_problems());
        verdict.eligible = verdict.problems.is_empty();
    }
    Ok(Judged {
        plugins,
        db,
        inspection,
        catalog,
        verdict,
        runtime,
    })
}

fn runtime_text(j: &Judged, strict: bool) -> String {
    let Some(rt) = &j.runtime else {
        return String::new();
    };
    let mut s = String::new();
    if let Some(n) = &rt.mixed_version {
        s.push_str(&format!("\nmixed-version window: {n}\n"));
    }
    if !rt.findings.is_empty() && !strict {
        s.push_str(&format!(
            "\nruntime hazards ({}; warnings, `--strict` makes them failures):\n",
            rt.total().max(rt.findings.len())
        ));
        for f in &rt.findings {
            s.push_str(&format!("  {}\n", f.to_text()));
        }
    }
    s
}

fn exit_of(v: &Verdict) -> Exit {
    if v.eligible {
        Exit::Ok
    } else {
        Exit::NotEligible
    }
}

fn header(j: &Judged) -> String {
    let v = &j.verdict;
    let head = if v.eligible {
        "ELIGIBLE: a complete Kong 2.8.5 database; the 2.8 → 3.4 LTS upgrade path applies"
            .to_string()
    } else {
        format!(
            "NOT ELIGIBLE: {} problem(s); do not run the 2.8 → 3.4 upgrade on this database as it is",
            v.problems.len()
        )
    };
    format!(
        "{head}\ndatabase: {} (schema {}, PostgreSQL {})\nplugins Kong 3.4 loads: {}\n",
        j.db,
        j.inspection.schema,
        j.inspection.server_version,
        j.plugins.describe()
    )
}

fn problems_text(v: &Verdict) -> String {
    let mut s = String::new();
    if !v.problems.is_empty() {
        s.push_str("\nproblems:\n");
        for p in &v.problems {
            s.push_str(&format!("  {}\n", p.to_text()));
        }
    }
    if !v.warnings.is_empty() {
        s.push_str("\nwarnings:\n");
        for w in &v.warnings {
            s.push_str(&format!("  {w}\n"));
        }
    }
    s
}

fn body(j: &Judged) -> serde_json::Value {
    json!({
        "runtime_hazards": j.runtime.as_ref().map(|r| r.findings.clone()).unwrap_or_default(),
        "runtime_hazards_total": j.runtime.as_ref().map(|r| r.total().max(r.findings.len())).unwrap_or_default(),
        "mixed_version_note": j.runtime.as_ref().and_then(|r| r.mixed_version.clone()),
        "database": j.db.to_string(),
        "schema": j.inspection.schema,
        "server_version": j.inspection.server_version,
        "eligible": j.verdict.eligible,
        "subsystems": j.verdict.subsystems,
        "warnings": j.verdict.warnings,
        "plugins": j.plugins,
    })
}

pub async fn status(a: &StateArgs, kong_conf: Option<&Path>) -> Result<Outcome> {
    let j = judge(a, kong_conf).await?;
    let mut text = header(&j);
    text.push_str(&format!(
        "\n{:<24} {:>8} {:>8}  {:<34} {}\n",
        "subsystem", "executed", "pending", "Kong 3.4.2 `up` would run", "verdict"
    ));
    for s in &j.verdict.subsystems {
        let new = match s.new.len() {
            0 => "-".to_string(),
            1 => s.new[0].clone(),
            n => format!("{} … {} ({n})", s.new[0], s.new[n - 1]),
        };
        text.push_str(&format!(
            "{:<24} {:>8} {:>8}  {:<34} {}\n",
            s.subsystem,
            s.executed.len(),
            s.pending.len(),
            new,
            s.verdict
        ));
    }
    let history: Vec<String> = j
        .verdict
        .subsystems
        .iter()
        .flat_map(|s| {
            s.history
                .iter()
                .map(move |h| format!("{}/{} ({})", s.subsystem, h.migration, h.releases))
        })
        .collect();
    if !history.is_empty() {
        text.push_str(&format!(
            "\nhistory (recorded by earlier Kong releases; Kong 3.4.2 ignores them): {}\n",
            history.join(", ")
        ));
    }
    text.push_str(&problems_text(&j.verdict));
    text.push_str(&runtime_text(&j, a.strict));
    Ok(Outcome {
        exit: exit_of(&j.verdict),
        problems: j.verdict.problems.clone(),
        json: body(&j),
        text,
    })
}

#[derive(serde::Serialize)]
struct PlanStep<'a> {
    n: usize,
    phase: &'static str,
    subsystem: &'a str,
    migration: &'a str,
    sql: Option<&'a str>,
    data_step: Option<&'a str>,
    /// How Kong records the step in schema_meta afterwards.
    records: &'static str,
    effects: &'a [Effect],
}

pub async fn plan(a: &StateArgs, kong_conf: Option<&Path>) -> Result<Outcome> {
    let j = judge(a, kong_conf).await?;
    let mut steps = vec![];
    // `up`: what Kong would classify as new, subsystem by subsystem, in catalog order.
    for sub in &j.catalog.subsystems {
        let new = j
            .verdict
            .subsystems
            .iter()
            .find(|s| s.subsystem == sub.name)
            .map(|s| s.new.clone())
            .unwrap_or_default();
        for step in sub.sequence.iter().filter(|s| new.contains(&s.name)) {
            steps.push(PlanStep {
                n: steps.len() + 1,
                phase: "up",
                subsystem: &sub.name,
                migration: &step.name,
                sql: step.up.as_deref(),
                data_step: step.up_f.as_deref(),
                records: if step.has_teardown {
                    "pending"
                } else {
                    "executed"
                },
                effects: &step.effects.up,
            });
        }
    }
    let up_steps: Vec<(String, String)> = steps
        .iter()
        .map(|s| (s.subsystem.to_string(), s.migration.to_string()))
        .collect();
    // `finish`: the teardowns, in the same order.
    for sub in &j.catalog.subsystems {
        for step in sub.sequence.iter().filter(|s| s.has_teardown) {
            let queued = up_steps
                .iter()
                .any(|(s, m)| s == &sub.name && m == &step.name);
            let pending = j
                .verdict
                .subsystems
                .iter()
                .any(|s| s.subsystem == sub.name && s.pending.contains(&step.name));
            if queued || pending {
                steps.push(PlanStep {
                    n: steps.len() + 1,
                    phase: "finish",
                    subsystem: &sub.name,
                    migration: &step.name,
                    sql: step.teardown.as_deref(),
                    data_step: step.teardown_step.as_deref(),
                    records: "executed (teardown)",
                    effects: &step.effects.teardown,
                });
            }
        }
    }

    let mut text = header(&j);
    text.push_str(&format!(
        "\nplan: Kong {} → {}: {} step(s); `kong migrations up` runs steps marked up, `kong migrations finish` the rest\n",
        j.catalog.from,
        j.catalog.to,
        steps.len()
    ));
    for s in &steps {
        let what = match (s.sql.is_some(), s.data_step) {
            (true, Some(d)) => format!("SQL + data step {d}"),
            (true, None) => "SQL".into(),
            (false, Some(d)) => format!("data step {d}"),
            (false, None) => "nothing (bookkeeping only)".into(),
        };
        text.push_str(&format!(
            "{:>3}. [{}] {}/{}: {what}; recorded {}\n",
            s.n, s.phase, s.subsystem, s.migration, s.records
        ));
        for e in s.effects {
            text.push_str(&format!("       - {}\n", e.describe()));
        }
    }
    text.push_str(&problems_text(&j.verdict));
    text.push_str(&runtime_text(&j, a.strict));
    let mut json = body(&j);
    json["steps"] = serde_json::to_value(&steps).unwrap_or_default();
    Ok(Outcome {
        exit: exit_of(&j.verdict),
        problems: j.verdict.problems.clone(),
        json,
        text,
    })
}

pub async fn rollback_check(a: &RollbackCheckArgs, kong_conf: Option<&Path>) -> Result<Outcome> {
    let mut j = judge(&a.state, kong_conf).await?;
    let mut problems = j.verdict.problems.clone();
    // Rows only a 3.0 migration writes: regex paths already carrying `~`.
    let mut client = j.db.connect().await?;
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    if j.inspection.catalog.has_table("routes") {
        let q = format!(
            "SELECT id::text, p FROM {}.routes, unnest(paths) p WHERE p LIKE '~%' ORDER BY 1",
            crate::pg::quote_ident(&j.inspection.schema)
        );
        for r in tx
            .query(&q, &[])
            .await
            .map_err(|e| crate::error::Error::db("cannot read routes", e))?
        {
            let (id, p): (String, String) = (r.get(0), r.get(1));
            if crate::kong::transforms::is_regex_path(&p[1..]) {
                problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!("route {id} has the 3.x path `{p}` in a 2.8 database: 3.0's path migration already ran on it, and a second upgrade makes it `~{p}`"),
                    )
                    .subsystem("core")
                    .migration("016_280_to_300")
                    .object(format!("routes {id}"))
                    .fix("Restore the routes from the pre-upgrade backup (re-create the schema and pg_restore), not by hand."),
                );
            }
        }
    }
    if let Some(path) = &a.manifest {
        let m = crate::backup::manifest::Manifest::load(path)?;
        let facts = crate::backup::read_facts(
            &tx,
            &j.db,
            Some(&j.inspection.schema),
            crate::pg::fingerprint::DEFAULT_WORKERS,
        )
        .await?;
        for (t, want) in &m.tables {
            match facts.tables.get(t) {
                None => problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!("table {t} ({} rows in the manifest) is missing", want.rows),
                    )
                    .object(format!("table {t}")),
                ),
                Some(got) if got.rows != want.rows => problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!(
                            "table {t}: {} rows, {} in the pre-upgrade manifest",
                            got.rows, want.rows
                        ),
                    )
                    .object(format!("table {t}")),
                ),
                Some(got) if want.same_contents(got) == Some(false) => problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!(
                            "table {t}: contents differ from the pre-upgrade manifest; {}",
                            want.first_difference(got)
                        ),
                    )
                    .object(format!("table {t}")),
                ),
                _ => {}
            }
        }
        for t in facts.tables.keys().filter(|t| !m.tables.contains_key(*t)) {
            problems.push(
                Problem::new(
                    Kind::Partial,
                    format!("table {t} is not in the pre-upgrade manifest: a 3.x leftover"),
                )
                .object(format!("table {t}")),
            );
        }
        // A way back that re-creates the schema must bring back its grants too (an older
        // manifest recorded none, so there is nothing to hold them to).
        if m.format_version >= crate::backup::manifest::GRANTS_SINCE {
            let only_grants = |c: &crate::pg::catalog::Catalog| crate::pg::catalog::Catalog {
                grants: c.grants.clone(),
                ..Default::default()
            };
            for ch in
                crate::pg::catalog::diff(&only_grants(&m.catalog), &only_grants(&facts.catalog))
            {
                problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!("after the rollback, {} (against the pre-upgrade manifest)", ch.describe()),
                    )
                    .object(format!("grant {}", ch.name))
                    .fix("Grant it again as the manifest records it. When re-creating the schema `public` on PostgreSQL 15 or later, follow `CREATE SCHEMA public` with `GRANT USAGE ON SCHEMA public TO PUBLIC`: pg_dump does not write that default."),
                );
            }
        }
    }
    tx.rollback().await.ok();
    j.verdict.problems = problems.clone();
    j.verdict.eligible = problems.is_empty();
    let mut text = if problems.is_empty() {
        format!(
            "CLEAN: {} reads as the pre-upgrade Kong 2.8.5 database\n",
            j.db
        )
    } else {
        format!(
            "NOT A CLEAN ROLLBACK: {} problem(s) in {}\n",
            problems.len(),
            j.db
        )
    };
    text.push_str(&problems_text(&j.verdict));
    Ok(Outcome {
        exit: exit_of(&j.verdict),
        problems,
        json: body(&j),
        text,
    })
}

pub async fn lint_declarative(a: &crate::cli::LintDeclarativeArgs) -> Result<Outcome> {
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| crate::error::Error::io("cannot read the declarative file", &a.file, e))?;
    let name = a.file.display().to_string();
    let findings = crate::preflight::declarative::lint_declarative(&text, &name).map_err(|e| {
        crate::error::Error::Usage(format!(
            "{e}. Pass a Kong declarative configuration (kong.yaml or kong.json, as `kong config db_export` or `deck dump` write it)."
        ))
    })?;
    let mut out = if findings.is_empty() {
        format!("CLEAN: {name} has nothing Kong 3.4 treats differently\n")
    } else {
        format!("{} finding(s) in {name}:\n", findings.len())
    };
    for f in &findings {
        out.push_str(&f.to_text());
        out.push('\n');
    }
    let problems: Vec<Problem> = findings
        .iter()
        .map(|f| f.to_problem(Kind::RuntimeHazard))
        .collect();
    Ok(Outcome {
        exit: if findings.is_empty() {
            Exit::Ok
        } else {
            Exit::Verification
        },
        problems,
        text: out,
        json: json!({ "file": name, "findings": findings }),
    })
}

pub async fn lint_conf(a: &crate::cli::LintConfArgs) -> Result<Outcome> {
    use crate::preflight::Severity;
    let conf = crate::kong::conf::load(&a.file)
        .map_err(|e| crate::error::Error::io("cannot read the kong.conf", &a.file, e))?;
    let name = a.file.display().to_string();
    let findings = crate::preflight::conf_lint::lint(&conf, &name);
    // Notices (changed defaults the file leaves unset) fail only with --strict: a clean 2.8
    // file leaves most of them unset, and a CI step on it must be able to pass.
    let fails = |s: Severity| s != Severity::Info || a.strict;
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, notices) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let failing = findings.iter().filter(|f| fails(f.severity)).count();
    let mut out = if findings.is_empty() {
        format!("CLEAN: {name} means the same on Kong 3.4 as on 2.8\n")
    } else {
        format!(
            "{} finding(s) in {name}: {errors} error(s), {warnings} warning(s), {notices} \
             notice(s)\n",
            findings.len()
        )
    };
    for f in &findings {
        out.push_str(&f.to_text());
        out.push('\n');
    }
    if !findings.is_empty() && failing == 0 {
        out.push_str(&format!(
            "PASS: nothing in {name} is removed, renamed or refused by Kong 3.4; the notices \
             are changes to check, with nothing to edit when 3.4's behaviour suits you \
             (--strict fails on them)\n"
        ));
    }
    let problems: Vec<Problem> = findings
        .iter()
        .filter(|f| fails(f.severity))
        .map(|f| f.to_problem(Kind::RuntimeHazard))
        .collect();
    Ok(Outcome {
        exit: if failing == 0 {
            Exit::Ok
        } else {
            Exit::Verification
        },
        problems,
        text: out,
        json: json!({ "file": name, "strict": a.strict, "findings": findings }),
    })
}
