//! Finding PostgreSQL's programs: `--pg-bin DIR`, `PG_BIN`, `pg_config --bindir`,
//! `/usr/lib/postgresql/*/bin` newest first, then `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct PgBin {
    pub dir: PathBuf,
    /// Server major version (15 for 15.4; 9 for 9.6 is reported as 9).
    pub major: u32,
    pub version: String,
}

impl PgBin {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

const SERVER_TOOLS: [&str; 2] = ["initdb", "postgres"];

/// Server binaries (initdb + postgres) for the local backend.
pub fn find_server(explicit: Option<&Path>) -> Result<PgBin> {
    find_with(explicit, &SERVER_TOOLS)
}

/// A client program (pg_dump, pg_restore) for backends whose server is elsewhere.
pub fn find_client(explicit: Option<&Path>, tool: &str) -> Result<PgBin> {
    find_with(explicit, &[tool])
}

fn find_with(explicit: Option<&Path>, tools: &[&str]) -> Result<PgBin> {
    if let Some(dir) = explicit {
        return check_dir(dir, tools, "--pg-bin");
    }
    if let Some(dir) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        return check_dir(Path::new(&dir), tools, "PG_BIN");
    }
    let candidates = candidate_dirs();
    for dir in &candidates {
        if missing(dir, tools).is_empty() {
            return describe(dir);
        }
    }
    Err(Error::PgBinariesNotFound {
        searched: candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn check_dir(dir: &Path, tools: &[&str], origin: &'static str) -> Result<PgBin> {
    let missing = missing(dir, tools);
    if !missing.is_empty() {
        return Err(Error::PgBinDirInvalid {
            dir: dir.to_path_buf(),
            origin,
            missing: missing.join(", "),
        });
    }
    describe(dir)
}

fn missing<'a>(dir: &Path, tools: &[&'a str]) -> Vec<&'a str> {
    tools
        .iter()
        .copied()
        .filter(|t| !is_executable(&dir.join(t)))
        .collect()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !s.is_empty() {
                dirs.push(PathBuf::from(s));
            }
        }
    }
    dirs.extend(debian_style_dirs(Path::new("/usr/lib/postgresql")));
    dirs.push(PathBuf::from("/usr/local/pgsql/bin"));
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// `/usr/lib/postgresql/<major>/bin`, newest major first (16 before 9.6).
pub(crate) fn debian_style_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            Some((key, e.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

fn describe(dir: &Path) -> Result<PgBin> {
    // Any of these tells the version; the first one present is asked.
    let probe = ["postgres", "initdb", "pg_dump", "pg_restore"]
        .iter()
        .map(|t| dir.join(t))
        .find(|p| is_executable(p))
        .unwrap_or_else(|| dir.join("postgres"));
    let out = Command::new(&probe)
        .arg("--version")
        .output()
        .map_err(|e| Error::io("cannot run", &probe, e))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let version = version_from_banner(&text);
    Ok(PgBin {
        dir: dir.to_path_buf(),
        major: parse_major(&version).unwrap_or(0),
        version,
    })
}

pub use crate::pg::version::{parse_major, version_from_banner};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors() {
        for (v, m) in [("15.4", 15), ("9.6.24", 9), ("16beta1", 16), ("17", 17)] {
            assert_eq!(parse_major(v), Some(m), "{v}");
        }
        assert_eq!(parse_major("x"), None);
    }

    #[test]
    fn banner() {
        assert_eq!(
            version_from_banner("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            "15.18"
        );
        assert_eq!(version_from_banner("pg_dump (PostgreSQL) 16.2"), "16.2");
    }

    #[test]
    fn newest_major_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "13", "16", "not-a-version"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let got: Vec<String> = debian_style_dirs(root.path())
            .iter()
            .map(|p| {
                p.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(got, ["16", "13", "9.6"]);
    }

    #[test]
    fn explicit_dir_without_binaries_names_what_is_missing() {
        let d = tempfile::tempdir().unwrap();
        let err = find_server(Some(d.path())).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("initdb, postgres"), "{msg}");
        assert!(msg.contains("--pg-bin"), "{msg}");
        assert_eq!(err.exit(), crate::error::Exit::Environment);
    }
}
