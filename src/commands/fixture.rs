//! `fixture`: a generated Kong 2.8.5 database (optionally born on an older release) into an
//! empty database the user names, or into a throwaway written out as a dump.

use serde_json::json;

use super::{throwaway_options, Outcome};
use crate::cli::FixtureArgs;
use crate::error::{Exit, Result};
use crate::fixture::{self, Spec};
use crate::pg::conn::ConnSpec;
use crate::report::Progress;
use crate::throwaway::Throwaway;

async fn build(
    client: &tokio_postgres::Client,
    spec: Spec,
    history_from: Option<&str>,
) -> Result<fixture::Summary> {
    match history_from {
        None => fixture::build(client, spec).await,
        Some(tag) => fixture::build_from_history(client, spec, tag).await,
    }
}

pub async fn run(a: &FixtureArgs, progress: Progress) -> Result<Outcome> {
    if let Some(tag) = &a.history_from {
        if !crate::kong::history::TAGS.contains(&tag.as_str()) {
            return Err(crate::error::Error::Usage(format!(
                "--history-from {tag}: the tool replays the histories of Kong {}; pick one of \
                 them (the one closest to the release your production database was born on)",
                crate::kong::history::TAGS.join(", ")
            )));
        }
    }
    let spec = Spec {
        scale: a.scale,
        seed: a.seed,
    };
    let mut notes = Vec::new();
    let (summary, where_) = if let Some(url) = &a.into {
        let target = ConnSpec::parse(url)?;
        crate::throwaway::guard::writes_user_database();
        let client = target.connect().await?;
        fixture::ensure_empty(&client, &target.to_string()).await?;
        progress.line(format!(
            "building Kong 2.8.5 fixture (scale {}{}) into {target}",
            a.scale,
            born(a)
        ));
        let s = build(&client, spec, a.history_from.as_deref()).await?;
        (s, json!({"into": target.to_string()}))
    } else {
        let out = a.out.clone().expect("clap requires --out or --into");
        let opts = throwaway_options(&a.throwaway)?;
        progress.line("starting a throwaway PostgreSQL");
        let tw = Throwaway::start(&opts).await?;
        progress.line(format!(
            "throwaway ready in {} ms: {}",
            tw.startup.as_millis(),
            tw.describe()
        ));
        let startup_ms = tw.startup.as_millis() as u64;
        let client = tw.target().connect().await?;
        progress.line(format!(
            "building Kong 2.8.5 fixture (scale {}{})",
            a.scale,
            born(a)
        ));
        let s = build(&client, spec, a.history_from.as_deref()).await?;
        drop(client);
        progress.line(format!("writing {}", out.display()));
        let t = std::time::Instant::now();
        let bytes =
            crate::pg::programs::pg_dump_custom(&tw.client_tool("pg_dump")?, tw.target(), &out)?;
        let dump_ms = t.elapsed().as_millis();
        if opts.keep {
            notes.push(tw.keep());
        }
        (
            s,
            json!({
                "out": out.display().to_string(),
                "out_bytes": bytes,
                "dump_ms": dump_ms,
                "throwaway_startup_ms": startup_ms,
            }),
        )
    };
    let mut text = format!(
        "fixture: Kong {} schema, scale {}, seed {}: {} rows in {} tables (+{} tags rows)\n\
         bootstrap {} ms, load {} ms ({:.0} rows/s)\n",
        summary.kong_version,
        summary.scale,
        summary.seed,
        summary.rows_loaded,
        summary.tables.len(),
        summary.tags_rows,
        summary.bootstrap_time.as_millis(),
        summary.load_time.as_millis(),
        summary.rows_per_second()
    );
    if let Some(o) = where_.get("out").and_then(|v| v.as_str()) {
        text.push_str(&format!("wrote {o} (pg_dump custom format, mode 0600)\n"));
    }
    for n in &notes {
        text.push_str(n);
        text.push('\n');
    }
    let mut body = json!({
        "fixture": summary,
        "timings_ms": {
            "bootstrap": summary.bootstrap_time.as_millis() as u64,
            "load": summary.load_time.as_millis() as u64,
        },
        "rows_per_second": summary.rows_per_second().round(),
        "notes": notes,
    });
    if let (Some(b), Some(w)) = (body.as_object_mut(), where_.as_object()) {
        b.extend(w.clone());
    }
    Ok(Outcome {
        exit: Exit::Ok,
        problems: vec![],
        text,
        json: body,
    })
}

fn born(a: &FixtureArgs) -> String {
    a.history_from
        .as_deref()
        .map(|t| format!(", born on Kong {t}"))
        .unwrap_or_default()
}
