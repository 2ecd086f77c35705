//! PostgreSQL's own pg_dump, run against a database we name, writing a file that is mode
//! 0600 from its first byte and appears under its final name only when complete.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::conn::ConnSpec;
use crate::error::{Error, Result};

pub fn pg_dump_custom(pg_dump: &Path, source: &ConnSpec, out: &Path) -> Result<u64> {
    let tmp = partial_path(out);
    let _ = std::fs::remove_file(&tmp);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create the dump file", &tmp, e))?;
    let output = Command::new(pg_dump)
        .args(["--format=custom", "--no-owner", "--no-privileges"])
        .envs(source.libpq_env())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::io("cannot run", pg_dump, e));
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if !output.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::ExternalTool {
            tool: pg_dump.display().to_string(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            fix: "pg_dump must be at least as new as the server it dumps; check the \
                  connection and the free space where the file is written",
        });
    }
    std::fs::rename(&tmp, out)
        .map_err(|e| Error::io("cannot move the dump into place at", out, e))?;
    Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}
