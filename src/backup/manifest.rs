//! Snapshot manifests: what a snapshot directory holds, and what the database held when it
//! was taken, so a restore can be proven whole.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::kong::schema_meta::Row;
use crate::pg::catalog::Catalog;

pub const FORMAT: &str = "kong-rehearse-snapshot";
/// 2: table checksums are `pg::fingerprint`'s (xxh3-128 over rows in key order, with chunk
/// hashes). A format-1 manifest still reads; its md5 checksums cannot be compared with
/// today's, so only its row counts are (see [`TableEntry::same_contents`]).
/// 3: the catalog holds the source's grants (`Catalog::grants`).
pub const FORMAT_VERSION: u32 = 3;
/// The first format whose table checksums are today's fingerprints.
pub const FINGERPRINTS_SINCE: u32 = 2;
/// The first format whose catalog records grants: an older manifest's catalog has none
/// because none were read, not because the source had none.
pub const GRANTS_SINCE: u32 = 3;
pub const MANIFEST: &str = "manifest.json";
/// The pg_dump directory-format archive inside a snapshot directory.
pub const DUMP_DIR: &str = "dump";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the snapshot directory.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub rows: i64,
    pub checksum: String,
    /// Chunk hashes in key order, naming the first differing rows (format 2 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<crate::pg::fingerprint::Chunks>,
}

impl From<crate::pg::fingerprint::TableFingerprint> for TableEntry {
    fn from(f: crate::pg::fingerprint::TableFingerprint) -> Self {
        TableEntry {
            rows: f.rows,
            checksum: f.checksum,
            chunks: Some(f.chunks),
        }
    }
}

impl TableEntry {
    /// Whether `got` holds the same rows as this record: None when that cannot be told
    /// because this checksum is of another kind (a format-1 manifest's md5).
    pub fn same_contents(&self, got: &TableEntry) -> Option<bool> {
        let p = crate::pg::fingerprint::CHECKSUM_PREFIX;
        if !self.checksum.starts_with(p) || !got.checksum.starts_with(p) {
            return None;
        }
        Some(self.rows == got.rows && self.checksum == got.checksum)
    }

    /// Where the rows first differ from `got`'s, for people ("" when the chunks cannot say).
    pub fn first_difference(&self, got: &TableEntry) -> String {
        match (&self.chunks, &got.chunks) {
            (Some(w), Some(g)) => crate::pg::fingerprint::first_difference(w, g)
                .map(|d| d.describe())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KongState {
    pub eligible: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub source: String,
    pub schema: String,
    pub server_version: String,
    pub pg_dump_version: String,
    pub compress: String,
    pub snapshot_id: String,
    pub kong_state: KongState,
    pub schema_meta: Vec<Row>,
    pub tables: BTreeMap<String, TableEntry>,
    pub catalog_sha256: String,
    pub catalog: Catalog,
    pub files: Vec<FileEntry>,
    pub duration_ms: u64,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read the manifest", path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not a kong-rehearse snapshot manifest ({e}); pass the manifest.json that \
                 `kong-rehearse snapshot` wrote, or leave --manifest out",
                path.display()
            ))
        })
    }
}

/// The sha256 of a catalog's JSON form, so a restore can be checked against the schema the
/// snapshot saw without comparing object by object first.
pub fn catalog_sha256(c: &crate::pg::catalog::Catalog) -> Result<String> {
    let json = serde_json::to_vec(c)
        .map_err(|e| Error::Internal(format!("the catalog does not serialize: {e}")))?;
    Ok(sha256_hex(&json))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn file_sha256(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, hex(&h.finalize())))
}

/// Every regular file under `root/sub`, relative to `root`, sorted.
pub fn list_files(root: &Path, sub: &str) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    let mut stack = vec![root.join(sub)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io("cannot list", &d, e))? {
            let e = e.map_err(|e| Error::io("cannot list", &d, e))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// sha256 and size of every file of the dump.
pub fn hash_files(root: &Path, files: &[PathBuf]) -> Result<Vec<FileEntry>> {
    files
        .iter()
        .map(|f| {
            let (bytes, sha256) = file_sha256(&root.join(f))?;
            Ok(FileEntry {
                path: f.display().to_string(),
                bytes,
                sha256,
            })
        })
        .collect()
}
