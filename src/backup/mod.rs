//! Snapshots that can be proven whole, and the proof: `snapshot` dumps a database in one
//! exported snapshot and records, from that same snapshot, what every table held;
//! `verify-backup` restores a dump into a throwaway and checks it against that record (or
//! against the live source).

pub mod manifest;

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::error::{Error, Result};
use crate::kong::{lts::LtsCatalog, schema_meta, state};
use crate::pg::catalog;
use crate::pg::conn::ConnSpec;
use crate::pg::fingerprint;
use crate::pg::programs;
use crate::report::{Kind, Problem, Progress};
use crate::throwaway::{binaries, Throwaway};
use manifest::{FileEntry, KongState, Manifest, TableEntry};

/// What the source holds, read inside one transaction.
pub(crate) struct Facts {
    pub schema: String,
    pub catalog: catalog::Catalog,
    pub rows: Option<Vec<schema_meta::Row>>,
    pub tables: BTreeMap<String, TableEntry>,
}

pub(crate) async fn read_facts(tx: &impl GenericClient, schema: Option<&str>) -> Result<Facts> {
    let schema: String = match schema {
        Some(s) => s.to_string(),
        None => tx
            .query_one("SELECT coalesce(current_schema(), 'public')::text", &[])
            .await
            .map_err(|e| Error::db("cannot read the current schema", e))?
            .get(0),
    };
    let catalog = catalog::read(tx, &schema).await?;
    let rows = if catalog.has_table("schema_meta") {
        tx.batch_execute(&format!(
            "SET LOCAL search_path TO {}",
            crate::pg::quote_ident(&schema)
        ))
        .await
        .map_err(|e| Error::db("cannot select the Kong schema", e))?;
        Some(
            schema_meta::read(tx)
                .await
                .map_err(|e| Error::db("cannot read schema_meta", e))?,
        )
    } else {
        None
    };
    let mut tables = BTreeMap::new();
    for t in catalog.tables.keys() {
        let qualified = format!(
            "{}.{}",
            crate::pg::quote_ident(&schema),
            crate::pg::quote_ident(t)
        );
        let q = format!(
            "SELECT count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE \"C\")), '')
               FROM (SELECT t.* FROM {qualified} t) r"
        );
        let row = tx
            .query_one(&q, &[])
            .await
            .map_err(|e| Error::db(format!("cannot checksum table {t}"), e))?;
        tables.insert(
            t.clone(),
            TableEntry {
                rows: row.get(0),
                checksum: row.get(1),
            },
        );
    }
    Ok(Facts {
        schema,
        catalog,
        rows,
        tables,
    })
}

fn kong_state(facts: &Facts) -> Result<KongState> {
    let cat = LtsCatalog::load()?;
    let v = state::judge(
        &state::Observed {
            schema_meta: facts.rows.as_deref(),
            catalog: &facts.catalog,
        },
        &cat,
        &state::Options::default(),
    );
    Ok(KongState {
        eligible: v.eligible,
        problems: v.problems.iter().map(|p| p.to_text()).collect(),
    })
}

pub struct SnapshotOptions {
    pub jobs: u32,
    pub compress: Option<String>,
    pub schema: Option<String>,
    pub pg_bin: Option<PathBuf>,
}

pub struct SnapshotResult {
    pub manifest: Manifest,
    pub warnings: Vec<String>,
}

/// Dumps `source` into `out/dump` (pg_dump -Fd in an exported snapshot) and writes
/// `out/manifest.json`. `out` is created 0700; it must not exist or be empty.
pub async fn take(
    source: &ConnSpec,
    out: &Path,
    opts: &SnapshotOptions,
    progress: Progress,
) -> Result<SnapshotResult> {
    let t0 = Instant::now();
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::Usage(format!(
            "{} already exists and is not empty; a snapshot goes into a new directory, so \
             nothing is overwritten: pass a new path to --out",
            out.display()
        )));
    }
    if !out.exists() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(out)
            .map_err(|e| Error::io("cannot create the snapshot directory", out, e))?;
    }
    let pg_dump = binaries::find_client(opts.pg_bin.as_deref(), "pg_dump")?.tool("pg_dump");
    let (dump_major, dump_version) = programs::tool_version(&pg_dump)?;

    let mut client = source.connect().await?;
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let row = tx
        .query_one(
            "SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num')::int",
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot export a snapshot of the source", e))?;
    let (snapshot_id, server_version, server_num): (String, String, i32) =
        (row.get(0), row.get(1), row.get(2));
    let server_major = (server_num / 10000) as u32;
    let mut warnings = vec![];
    if dump_major < server_major {
        return Err(Error::ExternalTool {
            tool: pg_dump.display().to_string(),
            status: format!("version {dump_version}"),
            stderr: format!("the source runs PostgreSQL {server_version}, newer than this pg_dump"),
            fix: "pg_dump cannot dump a newer server: install the PostgreSQL client of the server's major version (or newer) and pass its directory with --pg-bin",
        });
    }
    if dump_major > server_major {
        warnings.push(format!(
            "pg_dump {dump_version} is newer than the server ({server_version}); its archive needs a pg_restore of version {dump_major} or newer"
        ));
    } else if version_key(&dump_version)
        < version_key(server_version.split(' ').next().unwrap_or(""))
    {
        warnings.push(format!(
            "pg_dump {dump_version} is older than the server ({server_version}) within the same major version; consider the server's minor version"
        ));
    }
    let compress = opts
        .compress
        .clone()
        .unwrap_or_else(|| default_compress(dump_major));
    let dump_dir = out.join(manifest::DUMP_DIR);
    progress.line(format!(
        "dumping {source} in snapshot {snapshot_id} (pg_dump -Fd -j {}, compress {compress})",
        opts.jobs
    ));
    // pg_dump works from the exported snapshot while this transaction, in the very same
    // snapshot, counts and checksums every table.
    let (dumped, facts) = tokio::join!(
        programs::pg_dump_directory(
            &pg_dump,
            source,
            &dump_dir,
            &snapshot_id,
            opts.jobs,
            &compress
        ),
        read_facts(&tx, opts.schema.as_deref())
    );
    let facts = facts?;
    tx.rollback().await.ok();
    dumped?;

    let files = manifest::list_files(out, manifest::DUMP_DIR)?;
    let files = manifest::hash_files(out, &files)?;
    let catalog_json = serde_json::to_vec(&facts.catalog).unwrap_or_default();
    let m = Manifest {
        format: manifest::FORMAT.into(),
        format_version: 1,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        source: source.to_string(),
        schema: facts.schema.clone(),
        server_version,
        pg_dump_version: dump_version,
        compress,
        snapshot_id,
        kong_state: kong_state(&facts)?,
        schema_meta: facts.rows.clone().unwrap_or_default(),
        tables: facts.tables.clone(),
        catalog_sha256: manifest::sha256_hex(&catalog_json),
        catalog: facts.catalog,
        files,
        duration_ms: t0.elapsed().as_millis() as u64,
    };
    let path = out.join(manifest::MANIFEST);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("cannot create", &path, e))?;
    use std::io::Write;
    f.write_all(
        serde_json::to_string_pretty(&m)
            .unwrap_or_default()
            .as_bytes(),
    )
    .map_err(|e| Error::io("cannot write", &path, e))?;
    Ok(SnapshotResult {
        manifest: m,
        warnings,
    })
}

/// "15.4" → [15, 4]; "9.6.24" → [9, 6, 24]: versions compared as numbers, not text.
fn version_key(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// gzip level 1 where pg_dump has nothing faster (PostgreSQL ≤ 15); lz4 from 16 on.
pub fn default_compress(pg_dump_major: u32) -> String {
    if pg_dump_major >= 16 {
        "lz4".into()
    } else {
        "1".into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_as_numbers() {
        assert!(super::version_key("15.4") < super::version_key("15.18"));
        assert!(super::version_key("9.6.24") < super::version_key("15.1"));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    SnapshotDir,
    DirectoryDump,
    CustomDump,
    PlainSql,
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
    let text = String::from_utf8_lossy(&head);
    if text.contains("PostgreSQL database dump")
        || text.trim_start().starts_with("--") && text.contains("SET ")
    {
        return Ok(Input::PlainSql);
    }
    Err(Box::new(Problem::new(
        Kind::NotADump,
        format!(
            "{} is not a pg_dump archive: it does not start with the custom-format magic PGDMP and is not a plain SQL dump",
            path.display()
        ),
    )
    .object(path.display().to_string())
    .fix("Pass the file pg_dump wrote (-Fc, -Fd or -Fp). If it is compressed (e.g. .gz), uncompress it first.")))
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
    r.restore_bytes = crate::rehearsal::dir_or_file_size(&dump);

    let t0 = Instant::now();
    progress.line(format!(
        "restoring {} into {}",
        dump.display(),
        tw.describe()
    ));
    let restored = match input {
        Input::PlainSql => programs::psql_restore(&tw.client_tool("psql")?, &dump, tw.target()),
        _ => programs::pg_restore(
            &tw.client_tool("pg_restore")?,
            &dump,
            tw.target(),
            opts.jobs,
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
            Input::PlainSql => None,
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
    let schema = manifest.as_ref().map(|m| m.schema.clone());
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let facts = read_facts(&tx, schema.as_deref()).await?;
    tx.rollback().await.ok();
    let secs = (r.restore_ms as f64 / 1000.0).max(1e-3);
    let rows: i64 = facts.tables.values().map(|t| t.rows).sum();
    r.restore_mb_per_s = (r.restore_bytes as f64 / 1e6 / secs * 10.0).round() / 10.0;
    r.restore_rows_per_s = (rows as f64 / secs).round();

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
        .batch_execute(&format!(
            "SET search_path TO {}",
            crate::pg::quote_ident(&facts.schema)
        ))
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
        let f = read_facts(&tx, Some(&facts.schema)).await?;
        tx.rollback().await.ok();
        Some(f.tables)
    } else {
        manifest.as_ref().map(|m| {
            r.compared_with = Some("manifest".into());
            m.tables.clone()
        })
    };
    if let Some(base) = baseline {
        let names: std::collections::BTreeSet<&String> =
            base.keys().chain(facts.tables.keys()).collect();
        for t in names {
            let (want, got) = (base.get(t), facts.tables.get(t));
            let ok = want == got;
            r.tables.push(TableCheck {
                table: t.clone(),
                expected_rows: want.map(|x| x.rows),
                restored_rows: got.map(|x| x.rows),
                ok,
            });
            match (want, got) {
                (Some(w), Some(g)) if w.rows != g.rows => r.problems.push(
                    Problem::new(Kind::CountMismatch, format!("table {t}: {} rows restored, {} expected", g.rows, w.rows))
                        .object(format!("table {t}"))
                        .fix("The backup does not hold what the source held: take it again."),
                ),
                (Some(_), Some(_)) if !ok => r.problems.push(
                    Problem::new(Kind::ContentMismatch, format!("table {t}: same row count, different contents"))
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
