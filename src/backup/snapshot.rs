//! `snapshot`: pg_dump -Fd in an exported snapshot, the same snapshot counted and
//! checksummed, and a manifest with a sha256 per file. The directory is 0700, every file
//! 0600; a failed snapshot removes what it wrote, so nothing half-written looks like a
//! backup.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::manifest::{self, Manifest};
use super::{kong_state, read_facts};
use crate::error::{Error, Result};
use crate::pg::conn::ConnSpec;
use crate::pg::programs;
use crate::report::Progress;
use crate::throwaway::binaries;

/// Where pg_dump writes until the snapshot is whole.
const INCOMPLETE_DUMP: &str = "dump.incomplete";

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
/// `out/manifest.json`. `out` is created 0700; it must not exist or be empty. On any failure
/// what was written is removed again (the directory too, when this call created it).
pub async fn take(
    source: &ConnSpec,
    out: &Path,
    opts: &SnapshotOptions,
    progress: Progress,
) -> Result<SnapshotResult> {
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
    let created = !out.exists();
    if created {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(out)
            .map_err(|e| Error::io("cannot create the snapshot directory", out, e))?;
    }
    let taken = take_into(source, out, opts, progress).await;
    if taken.is_err() {
        // Never leave something that looks like a backup: the manifest is written last, but a
        // partial dump directory alone must not survive either.
        if created {
            let _ = std::fs::remove_dir_all(out);
        } else {
            let _ = std::fs::remove_dir_all(out.join(INCOMPLETE_DUMP));
            let _ = std::fs::remove_dir_all(out.join(manifest::DUMP_DIR));
            let _ = std::fs::remove_file(out.join(manifest::MANIFEST));
        }
    }
    taken
}

async fn take_into(
    source: &ConnSpec,
    out: &Path,
    opts: &SnapshotOptions,
    progress: Progress,
) -> Result<SnapshotResult> {
    let t0 = Instant::now();
    let pg_dump = binaries::find_client(opts.pg_bin.as_deref(), "pg_dump")?.tool("pg_dump");
    let (dump_major, dump_version) = programs::tool_version(&pg_dump)?;

    let mut client = source.connect().await?;
    let tx = crate::pg::conn::read_only_snapshot(&mut client).await?;
    let row = tx
        .query_one(crate::pg::sql::session::EXPORT_SNAPSHOT, &[])
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
    // pg_dump writes under a name that says the dump is not whole; it becomes `dump` just
    // before the manifest is written, so even a snapshot killed by a signal (no cleanup
    // runs) leaves nothing that passes for a backup.
    let dump_dir = out.join(INCOMPLETE_DUMP);
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
        read_facts(&tx, source, opts.schema.as_deref(), opts.jobs as usize)
    );
    let facts = facts?;
    dumped?;
    tx.rollback()
        .await
        .map_err(|e| Error::db("cannot end the snapshot transaction", e))?;

    let files = manifest::list_files(out, INCOMPLETE_DUMP)?;
    let mut files = manifest::hash_files(out, &files)?;
    for f in &mut files {
        if let Some(rest) = f.path.strip_prefix(INCOMPLETE_DUMP) {
            f.path = format!("{}{rest}", manifest::DUMP_DIR);
        }
    }
    let catalog_sha256 = manifest::catalog_sha256(&facts.catalog)?;
    let m = Manifest {
        format: manifest::FORMAT.into(),
        format_version: manifest::FORMAT_VERSION,
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
        catalog_sha256,
        catalog: facts.catalog,
        files,
        duration_ms: t0.elapsed().as_millis() as u64,
    };
    let done = out.join(manifest::DUMP_DIR);
    std::fs::rename(&dump_dir, &done)
        .map_err(|e| Error::io("cannot rename the finished dump to", &done, e))?;
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
            .map_err(|e| Error::Internal(format!("the manifest does not serialize: {e}")))?
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
