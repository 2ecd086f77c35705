//! `verify-backup`: what a file or directory is (snapshot, pg_dump archive, plain SQL), its
//! files against the manifest, a restore into a throwaway, foreign keys and NOT VALID
//! constraints, and the contents against the manifest or a live source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::manifest::{self, FileEntry, Manifest, TableEntry};
use super::{kong_state, read_facts};
use crate::error::{Error, Result};
use crate::pg::conn::ConnSpec;
use crate::pg::fingerprint;
use crate::pg::plain_sql;
use crate::pg::programs;
use crate::report::{Kind, Problem, Progress};
use crate::throwaway::Throwaway;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    SnapshotDir,
    DirectoryDump,
    CustomDump,
    PlainSql,
    /// A plain SQL dump compressed with gzip (`pg_dump | gzip > kong.sql.gz`).
    PlainSqlGz,
}

impl Input {
    pub fn is_plain_sql(self) -> bool {
        matches!(self, Input::PlainSql | Input::PlainSqlGz)
    }
}

fn looks_like_sql(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.contains("PostgreSQL database dump")
        || text.trim_start().starts_with("--") && text.contains("SET ")
}

/// What kind of dump `path` is, or the problem that says it is none.
pub fn classify(path: &Path) -> std::result::Result<Input, Box<Problem>> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Box::new(Problem::new(Kind::FileMissing, format!("{}: {e}", path.display()))
            .fix("Pass the path of a snapshot directory, a pg_dump directory or custom-format archive, or a plain SQL dump."))
    })?;
    if meta.is_dir() {
        if path.join(manifest::MANIFEST).exists() {
            return Ok(Input::SnapshotDir);
        }
        if path.join("toc.dat").exists() {
            return Ok(Input::DirectoryDump);
        }
        return Err(Box::new(Problem::new(
            Kind::NotADump,
            format!("{} is a directory without toc.dat or manifest.json: not a pg_dump directory archive", path.display()),
        )
        .fix("Pass the directory pg_dump -Fd wrote (it holds toc.dat), or a kong-rehearse snapshot directory.")));
    }
    if meta.len() == 0 {
        return Err(Box::new(Problem::new(Kind::EmptyFile, format!("{} is empty (0 bytes)", path.display()))
            .object(path.display().to_string())
            .fix("The backup job wrote nothing: check its log and disk space, and take the backup again.")));
    }
    let mut head = vec![0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head.truncate(n);
    if head.starts_with(b"PGDMP") {
        return Ok(Input::CustomDump);
    }
    if looks_like_sql(&head) {
        return Ok(Input::PlainSql);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let inner = crate::pg::plain_sql::head(path, 4096).map_err(|e| {
            Box::new(
                Problem::new(Kind::Corrupt, format!("{} is gzip'ed but does not decode: {e}", path.display()))
                    .object(path.display().to_string())
                    .fix("Copy the backup again from the original; if the original is corrupt, take a new backup."),
            )
        })?;
        if looks_like_sql(&inner) {
            return Ok(Input::PlainSqlGz);
        }
        return Err(Box::new(Problem::new(
            Kind::NotADump,
            format!("{} is gzip'ed, but what it holds is not a plain SQL dump", path.display()),
        )
        .object(path.display().to_string())
        .fix("Only plain SQL dumps are read compressed (`pg_dump | gzip`); uncompress a gzip'ed custom or directory archive first.")));
    }
    Err(Box::new(Problem::new(
        Kind::NotADump,
        format!(
            "{} is not a pg_dump archive: it does not start with the custom-format magic PGDMP and is not a plain SQL dump",
            path.display()
        ),
    )
    .object(path.display().to_string())
    .fix("Pass the file pg_dump wrote (-Fc, -Fd or -Fp; a plain dump may be gzip'ed).")))
}

/// Files against the manifest: missing, changed, extra.
pub fn check_files(root: &Path, m: &Manifest) -> Result<Vec<Problem>> {
    let mut out = vec![];
    let listed: BTreeMap<&str, &FileEntry> = m.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for f in &m.files {
        let p = root.join(&f.path);
        if !p.exists() {
            out.push(
                Problem::new(Kind::FileMissing, format!("{} is listed in the manifest but missing", f.path))
                    .object(f.path.clone())
                    .fix("Copy the snapshot again from where it was taken; a partial copy cannot be restored whole."),
            );
            continue;
        }
        let (bytes, sha) = manifest::file_sha256(&p)?;
        if bytes != f.bytes || sha != f.sha256 {
            let what = if bytes < f.bytes {
                format!("is {bytes} bytes, {} expected: truncated", f.bytes)
            } else if bytes != f.bytes {
                format!("is {bytes} bytes, {} expected", f.bytes)
            } else {
                "has the right size but different bytes (corrupted)".to_string()
            };
            out.push(
                Problem::new(Kind::FileChanged, format!("{} {what} (sha256 {sha}, manifest {})", f.path, f.sha256))
                    .object(f.path.clone())
                    .fix("The file changed after the snapshot was taken: copy it again from the original, or take a new snapshot."),
            );
        }
    }
    if root.join(manifest::DUMP_DIR).is_dir() {
        for f in manifest::list_files(root, manifest::DUMP_DIR)? {
            let s = f.display().to_string();
            if !listed.contains_key(s.as_str()) {
                out.push(
                    Problem::new(Kind::FileExtra, format!("{s} is in the snapshot directory but not in the manifest"))
                        .object(s)
                        .fix("Something added a file after the snapshot was taken; remove it, or take a new snapshot."),
                );
            }
        }
    }
    Ok(out)
}

/// A restore error, classified so truncation and corruption read as what they are.
pub fn classify_restore_error(input: Input, e: &Error) -> Problem {
    let text = e.to_string();
    let lower = text.to_lowercase();
    let (kind, what, fix) = if lower.contains("end of file")
        || lower.contains("unexpected eof")
        || lower.contains("could not read from input file")
    {
        (
            Kind::Truncated,
            "the dump ends early: it is truncated (a copy, upload or dump that did not finish)",
            "Take or copy the backup again and compare its size with the original; pg_restore --list cannot tell a truncated archive from a whole one.",
        )
    } else if lower.contains("uncompress")
        || lower.contains("compressed data")
        || lower.contains("incorrect header check")
        || lower.contains("invalid block type")
        || lower.contains("data error")
        || lower.contains("crc")
    {
        (
            Kind::Corrupt,
            "the dump is corrupt: compressed data does not decode",
            "Copy the backup again from the original; if the original is corrupt, take a new backup.",
        )
    } else {
        (
            Kind::RestoreFailed,
            "the dump does not restore",
            "Read the first error above; a backup that does not restore with --exit-on-error is not a backup.",
        )
    };
    Problem::new(kind, format!("{what} ({input:?}): {text}")).fix(fix)
}

#[derive(Debug, Serialize)]
pub struct TableCheck {
    pub table: String,
    pub expected_rows: Option<i64>,
    pub restored_rows: Option<i64>,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct BackupReport {
    pub input: Option<Input>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// `manifest`, `against`, or none: what the restored contents were compared with.
    pub compared_with: Option<String>,
    pub tables: Vec<TableCheck>,
    pub restore_ms: u64,
    pub restore_bytes: u64,
    pub restore_mb_per_s: f64,
    pub restore_rows_per_s: f64,
    pub kong_eligible: Option<bool>,
}

pub struct VerifyOptions {
    pub manifest: Option<PathBuf>,
    pub against: Option<ConnSpec>,
    pub jobs: u32,
    /// Kong's pg_schema in the backup (default: the manifest's, else the current schema).
    pub schema: Option<String>,
}

pub async fn verify(
    tw: &Throwaway,
    path: &Path,
    opts: &VerifyOptions,
    progress: Progress,
) -> Result<BackupReport> {
    let mut r = BackupReport {
        input: None,
        problems: vec![],
        warnings: vec![],
        compared_with: None,
        tables: vec![],
        restore_ms: 0,
        restore_bytes: 0,
        restore_mb_per_s: 0.0,
        restore_rows_per_s: 0.0,
        kong_eligible: None,
    };
    let input = match classify(path) {
        Ok(i) => i,
        Err(p) => {
            r.problems.push(*p);
            return Ok(r);
        }
    };
    r.input = Some(input);
    let (manifest_path, root) = match (&opts.manifest, input) {
        (Some(m), _) => (
            Some(m.clone()),
            m.parent().map(Path::to_path_buf).unwrap_or_default(),
        ),
        (None, Input::SnapshotDir) => (Some(path.join(manifest::MANIFEST)), path.to_path_buf()),
        _ => (None, PathBuf::new()),
    };
    let manifest = manifest_path.as_deref().map(Manifest::load).transpose()?;
    if let Some(m) = &manifest {
        progress.line(format!(
            "checking {} file(s) against the manifest",
            m.files.len()
        ));
        r.problems.extend(check_files(&root, m)?);
    }
    let dump = if input == Input::SnapshotDir {
        path.join(manifest::DUMP_DIR)
    } else {
        path.to_path_buf()
    };
    r.restore_bytes = programs::dump_size(&dump);

    let t0 = Instant::now();
    progress.line(format!(
        "restoring {} into {}",
        dump.display(),
        tw.describe()
    ));
    if input.is_plain_sql() {
        // Nothing of a backup that is not plain SQL runs: it is refused whole.
        let refused = plain_sql::scan(&dump)?.refusals;
        if !refused.is_empty() {
            r.problems.push(
                Problem::new(Kind::UnsafeBackup, plain_sql::refused_message(&dump, &refused))
                    .object(dump.display().to_string())
                    .fix("Find out who wrote these lines into the backup; take the backup again with pg_dump, and never restore this file with psql."),
            );
            return Ok(r);
        }
    }
    let grants = super::prepare_grants(tw, &dump, input).await?;
    r.warnings.extend(grants.note());
    let restored = match input {
        Input::PlainSql | Input::PlainSqlGz => {
            plain_sql::restore(&dump, tw.target(), grants.restored())
                .await
                .map(|_| ())
                .map_err(|e| match e {
                    // A dump that ends inside COPY data, or is not UTF-8: a finding on the file.
                    Error::Usage(msg) => Error::ExternalTool {
                        tool: "plain-SQL restore".into(),
                        status: "stopped".into(),
                        stderr: if msg.contains("ends inside COPY data") {
                            format!("unexpected EOF: {msg}")
                        } else {
                            msg
                        },
                        fix: "",
                    },
                    e => e,
                })
        }
        _ => programs::pg_restore(
            &tw.client_tool("pg_restore")?,
            &dump,
            tw.target(),
            opts.jobs,
            grants.restored(),
        ),
    };
    r.restore_ms = t0.elapsed().as_millis() as u64;
    if let Err(e) = restored {
        if !matches!(e, Error::ExternalTool { .. }) {
            return Err(e);
        }
        // A parallel restore seeks, so a short or damaged archive fails with "could not
        // find block ID"; reading it once front to back says which it is.
        let diagnosis = match input {
            Input::CustomDump | Input::DirectoryDump | Input::SnapshotDir => {
                programs::pg_restore_read_through(&tw.client_tool("pg_restore")?, &dump)
            }
            Input::PlainSql | Input::PlainSqlGz => None,
        };
        let e = match diagnosis {
            Some(d) => Error::ExternalTool {
                tool: "pg_restore (reading the archive through)".into(),
                status: "1".into(),
                stderr: d,
                fix: "",
            },
            None => e,
        };
        r.problems.push(classify_restore_error(input, &e));
        return Ok(r);
    }

    let mut client = tw.target().connect().await?;
    let schema = opts
        .schema
        .clone()
        .or_else(|| manifest.as_ref().map(|m| m.schema.clone()));
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let facts = read_facts(&tx, tw.target(), schema.as_deref(), opts.jobs as usize).await?;
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
    let secs = (r.restore_ms as f64 / 1000.0).max(1e-3);
    let rows: i64 = facts.tables.values().map(|t| t.rows).sum();
    r.restore_mb_per_s = (r.restore_bytes as f64 / 1e6 / secs * 10.0).round() / 10.0;
    r.restore_rows_per_s = (rows as f64 / secs).round();

    if let Some(m) = &manifest {
        let (problems, warnings) = schema_against_manifest(m, &facts.catalog, grants.restored())?;
        r.problems.extend(problems);
        r.warnings.extend(warnings);
    }
    let state = kong_state(&facts)?;
    r.kong_eligible = Some(state.eligible);
    if facts.rows.is_none() {
        r.problems.push(
            Problem::new(
                Kind::NotKong,
                format!(
                    "the dump restores, but it is not a Kong database: there is no schema_meta in schema `{}` ({} table(s): {})",
                    facts.schema,
                    facts.catalog.tables.len(),
                    facts.catalog.tables.keys().take(8).cloned().collect::<Vec<_>>().join(", ")
                ),
            )
            .fix("Check that the backup job dumps the Kong database (pg_database / KONG_PG_DATABASE), and the Kong schema if it is not public."),
        );
    } else if !state.eligible {
        r.warnings.push(format!(
            "the backup restores whole, but its Kong state is not a complete 2.8.5 database: {}",
            state.problems.join("; ")
        ));
    }

    client
        .batch_execute(&crate::pg::sql::session::set_search_path(&facts.schema))
        .await
        .map_err(|e| Error::db("cannot select the schema", e))?;
    for v in fingerprint::foreign_key_violations(&client).await? {
        if v.orphan_rows > 0 {
            r.problems.push(
                Problem::new(
                    Kind::ForeignKeyViolation,
                    format!("{}: {} row(s) of {} reference rows that are not in the backup", v.constraint, v.orphan_rows, v.child),
                )
                .object(v.child.clone())
                .fix("The backup is not consistent (taken without one snapshot, or partly restored): take it again with pg_dump (one snapshot) or `kong-rehearse snapshot`."),
            );
        }
    }
    for (table, name) in fingerprint::not_valid_constraints(&client).await? {
        r.problems.push(
            Problem::new(Kind::ConstraintNotValid, format!("constraint {name} on {table} is NOT VALID after the restore"))
                .object(format!("{table}.{name}"))
                .fix("Run `ALTER TABLE ... VALIDATE CONSTRAINT` on the source to find the rows that break it."),
        );
    }

    // Contents: the manifest's record, or the live source now.
    let baseline: Option<BTreeMap<String, TableEntry>> = if let Some(against) = &opts.against {
        r.compared_with = Some(format!("against {against}"));
        let mut c = against.connect().await?;
        let tx = crate::pg::conn::read_only_snapshot(&mut c).await?;
        let f = read_facts(&tx, against, Some(&facts.schema), opts.jobs as usize).await?;
        tx.rollback()
            .await
            .map_err(|e| Error::db("cannot end the read-only snapshot", e))?;
        Some(f.tables)
    } else {
        manifest.as_ref().map(|m| {
            r.compared_with = Some("manifest".into());
            if m.format_version < manifest::FINGERPRINTS_SINCE {
                r.warnings.push(format!(
                    "the manifest is format {} (an older kong-rehearse): its checksums are of another kind, so row counts were compared but contents were not; take the snapshot again to compare contents",
                    m.format_version
                ));
            }
            m.tables.clone()
        })
    };
    if let Some(base) = baseline {
        let names: std::collections::BTreeSet<&String> =
            base.keys().chain(facts.tables.keys()).collect();
        for t in names {
            let (want, got) = (base.get(t), facts.tables.get(t));
            // A format-1 manifest's md5 cannot be compared: its row count still is.
            let ok = match (want, got) {
                (Some(w), Some(g)) => w.rows == g.rows && w.same_contents(g) != Some(false),
                _ => false,
            };
            r.tables.push(TableCheck {
                table: t.clone(),
                expected_rows: want.map(|x| x.rows),
                restored_rows: got.map(|x| x.rows),
                ok,
            });
            // Against a live source both sides can be read again: the rows are named.
            let rows = match (want, got, &opts.against) {
                (Some(w), Some(g), Some(src)) if !ok => {
                    super::differing_rows(src, tw.target(), &facts.schema, t, w, g).await?
                }
                _ => String::new(),
            };
            match (want, got) {
                (Some(w), Some(g)) if w.rows != g.rows => r.problems.push(
                    Problem::new(Kind::CountMismatch, format!("table {t}: {} rows restored, {} expected; {}{rows}", g.rows, w.rows, w.first_difference(g)))
                        .object(format!("table {t}"))
                        .fix("The backup does not hold what the source held: take it again."),
                ),
                (Some(w), Some(g)) if !ok => r.problems.push(
                    Problem::new(Kind::ContentMismatch, format!("table {t}: same row count, different contents; {}{rows}", w.first_difference(g)))
                        .object(format!("table {t}"))
                        .fix("Rows changed between the backup and what it is compared with; if compared with a live source, it moved on since the backup."),
                ),
                (Some(w), None) => r.problems.push(
                    Problem::new(Kind::CountMismatch, format!("table {t} ({} rows) is missing from the restore", w.rows))
                        .object(format!("table {t}")),
                ),
                (None, Some(_)) => r.warnings.push(format!("table {t} is in the restore but not in what it is compared with")),
                _ => {}
            }
        }
    } else {
        r.warnings.push("no manifest and no --against: contents were restored and checked for consistency, but not compared with the source".into());
    }
    Ok(r)
}

/// The restored schema against the one the snapshot saw: the manifest's `catalog_sha256`
/// must match both the manifest's own catalog (the manifest is not edited) and the
/// restored database's (the schema restored whole); a mismatch names each difference.
/// Grants are compared when the restore carried them and the manifest recorded them.
fn schema_against_manifest(
    m: &Manifest,
    restored: &crate::pg::catalog::Catalog,
    grants_restored: bool,
) -> Result<(Vec<Problem>, Vec<String>)> {
    let mut out = vec![];
    let mut warnings = vec![];
    if manifest::catalog_sha256(&m.catalog)? != m.catalog_sha256 {
        out.push(
            Problem::new(
                Kind::FileChanged,
                "the manifest's catalog does not match its catalog_sha256: the manifest was edited or damaged",
            )
            .object(manifest::MANIFEST)
            .fix("Take the snapshot again; a manifest must not be edited by hand."),
        );
        return Ok((out, warnings));
    }
    let (mut want, mut got) = (m.catalog.clone(), restored.clone());
    if !grants_restored || m.format_version < manifest::GRANTS_SINCE {
        want.grants.clear();
        got.grants.clear();
    }
    if manifest::catalog_sha256(&got)? == manifest::catalog_sha256(&want)? {
        return Ok((out, warnings));
    }
    let diff = crate::pg::catalog::diff(&want, &got);
    for ch in diff {
        if ch.object == "grant" && ch.name.starts_with("SCHEMA to ") {
            // pg_dump leaves out a schema's initial privileges (those initdb gave `public`,
            // kept when it is renamed): no pg_dump backup carries them, so this says what
            // to grant after a restore rather than calling the backup broken.
            warnings.push(format!(
                "the restore differs from the source in the Kong schema's own privileges: {}; \
                 pg_dump does not write a schema's initial privileges (those PostgreSQL gave \
                 `public`, kept when it is renamed), so grant them again after restoring this \
                 backup, e.g. `GRANT USAGE ON SCHEMA {} TO PUBLIC`",
                ch.describe(),
                m.schema
            ));
            continue;
        }
        out.push(
            Problem::new(Kind::SchemaMismatch, format!("after the restore, {}", ch.describe()))
                .object(format!("{} {}", ch.object, ch.name))
                .fix("The restore does not have the schema the snapshot saw: check pg_restore's errors, and that the restore target is empty and of a supported PostgreSQL version."),
        );
    }
    Ok((out, warnings))
}
