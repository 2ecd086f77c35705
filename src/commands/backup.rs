//! `snapshot` and `verify-backup`.

use std::fmt::Write as _;

use serde_json::json;

use super::{throwaway_options, Outcome};
use crate::backup::{self, SnapshotOptions, VerifyOptions};
use crate::cli::{SnapshotArgs, VerifyBackupArgs};
use crate::error::{Exit, Result};
use crate::pg::conn::ConnSpec;
use crate::report::Progress;
use crate::throwaway::Throwaway;

pub async fn snapshot(
    a: &SnapshotArgs,
    kong_conf: Option<&std::path::Path>,
    progress: Progress,
) -> Result<Outcome> {
    let (source, conf_schema) = crate::pg::conn::resolve(a.source.as_deref(), || {
        crate::kong::conf::pg_target(kong_conf)
    })?;
    let opts = SnapshotOptions {
        jobs: a.jobs,
        compress: a.compress.clone(),
        schema: a.schema.clone().or(conf_schema),
        pg_bin: a.pg_bin.clone(),
    };
    let res = backup::take(&source, &a.out, &opts, progress).await?;
    let m = &res.manifest;
    let rows: i64 = m.tables.values().map(|t| t.rows).sum();
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    let mut text = format!(
        "snapshot of {} written to {} in {} ms\n  {} tables, {rows} rows, {} files, {bytes} bytes (pg_dump {} -Fd, compress {})\n  Kong state: {}\n",
        m.source,
        a.out.display(),
        m.duration_ms,
        m.tables.len(),
        m.files.len(),
        m.pg_dump_version,
        m.compress,
        if m.kong_state.eligible { "a complete Kong 2.8.5 database".to_string() } else { format!("not eligible: {}", m.kong_state.problems.join("; ")) }
    );
    for w in &res.warnings {
        let _ = writeln!(text, "  warning: {w}");
    }
    Ok(Outcome {
        exit: Exit::Ok,
        problems: vec![],
        text,
        json: json!({
            "out": a.out.display().to_string(),
            "manifest": a.out.join(crate::backup::manifest::MANIFEST).display().to_string(),
            "tables": m.tables.len(),
            "rows": rows,
            "files": m.files.len(),
            "bytes": bytes,
            "duration_ms": m.duration_ms,
            "compress": m.compress,
            "kong_state": m.kong_state,
            "warnings": res.warnings,
        }),
    })
}

pub async fn verify_backup(a: &VerifyBackupArgs, progress: Progress) -> Result<Outcome> {
    let against = a.against.as_deref().map(ConnSpec::parse).transpose()?;
    let topts = throwaway_options(&a.throwaway)?;
    progress.line("starting a throwaway PostgreSQL");
    let tw = Throwaway::start(&topts).await?;
    let opts = VerifyOptions {
        manifest: a.manifest.clone(),
        against,
        jobs: a.jobs,
        schema: a.schema.clone(),
    };
    let r = backup::verify(&tw, &a.path, &opts, progress).await?;
    let exit = if r.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Verification
    };
    let mut text = if exit == Exit::Ok {
        format!("INTACT: {} restores whole", a.path.display())
    } else {
        format!(
            "NOT INTACT: {} problem(s) with {}",
            r.problems.len(),
            a.path.display()
        )
    };
    if let Some(c) = &r.compared_with {
        let _ = write!(text, " (compared with the {c})");
    }
    text.push('\n');
    for p in &r.problems {
        let _ = writeln!(text, "  {}", p.to_text());
    }
    if r.restore_ms > 0 {
        let _ = writeln!(
            text,
            "restore: {} ms, {:.1} MB/s, {:.0} rows/s; {} table(s) compared, {} differ",
            r.restore_ms,
            r.restore_mb_per_s,
            r.restore_rows_per_s,
            r.tables.len(),
            r.tables.iter().filter(|t| !t.ok).count()
        );
    }
    for w in &r.warnings {
        let _ = writeln!(text, "warning: {w}");
    }
    if topts.keep {
        let _ = writeln!(text, "{}", tw.keep());
    }
    Ok(Outcome {
        exit,
        problems: r.problems.clone(),
        text,
        json: serde_json::to_value(&r).unwrap_or_default(),
    })
}
