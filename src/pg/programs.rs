//! PostgreSQL's own pg_dump and pg_restore, and the only module that spawns them; never a
//! re-implementation of them. Each is pointed
//! at its database with exactly the tool's connection settings (TLS included), and what it
//! prints is shown without passwords or row values. Plain-SQL
//! dumps are not restored with psql, which would run any meta-command they hold: see
//! `pg::plain_sql`.
//!
//! Dump files are mode 0600 from their first byte and appear under their final name only
//! when complete.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::pg::conn::ConnSpec;

/// Points a client program at `spec` and nothing else: every libpq variable inherited from
/// the caller is removed first (a PGSERVICE or PGSSLMODE of the shell would otherwise win
/// over the tool's settings), then the spec's own settings are set, TLS included.
fn connect_to(cmd: &mut Command, spec: &ConnSpec) {
    for var in crate::pg::conn::libpq_env_vars() {
        cmd.env_remove(var);
    }
    cmd.envs(spec.libpq_env());
    cmd.arg(format!("--dbname={}", spec.dbname_arg()));
}

pub fn pg_dump_custom(pg_dump: &Path, source: &ConnSpec, out: &Path) -> Result<u64> {
    let tmp = partial_path(out);
    let _ = std::fs::remove_file(&tmp);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create the dump file", &tmp, e))?;
    let mut cmd = Command::new(pg_dump);
    // Grants are kept: a backup that drops them does not restore whole.
    cmd.args(["--format=custom", "--no-owner"]);
    connect_to(&mut cmd, source);
    let output = cmd
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
        return Err(tool_failed(
            pg_dump,
            &output,
            source,
            "pg_dump must be at least as new as the server it dumps; check the \
                  connection and the free space where the file is written",
        ));
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

/// Restores a custom- or directory-format dump into `target` with `--exit-on-error`: a
/// restore error is a failure, never a warning. Ownership is not restored (everything is
/// owned by the throwaway's user); grants are, with `privileges`, once every role they name
/// exists (`backup::prepare_grants`).
pub fn pg_restore(
    pg_restore: &Path,
    dump: &Path,
    target: &ConnSpec,
    jobs: u32,
    privileges: bool,
) -> Result<()> {
    let mut cmd = Command::new(pg_restore);
    cmd.args(["--exit-on-error", "--no-owner"])
        .arg(format!("--jobs={}", jobs.max(1)));
    if !privileges {
        cmd.arg("--no-privileges");
    }
    connect_to(&mut cmd, target);
    let output = cmd
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::io("cannot run", pg_restore, e))?;
    if !output.status.success() {
        return Err(tool_failed(
            pg_restore,
            &output,
            target,
            "check that the file is a complete pg_dump custom or directory archive \
                  (`pg_restore --list FILE`) and that pg_restore is at least as new as the \
                  pg_dump that wrote it",
        ));
    }
    Ok(())
}

/// A private temp file path for an intermediate dump (the dir is 0700 and removed on drop).
pub fn private_dump_dir() -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new()
        .prefix("kong-rehearse-dump-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("cannot set mode 0700 on", d.path(), e))?;
    Ok(d)
}

/// `pg_dump --snapshot=ID -Fd -j N` into `out` (which must not exist yet), with umask 077 so
/// every file is 0600 and every directory 0700 from the start.
pub async fn pg_dump_directory(
    pg_dump: &Path,
    source: &ConnSpec,
    out: &Path,
    snapshot_id: &str,
    jobs: u32,
    compress: &str,
) -> Result<()> {
    let mut cmd = tokio::process::Command::new(pg_dump);
    cmd.args(["--format=directory", "--no-sync"])
        .arg(format!("--snapshot={snapshot_id}"))
        .arg(format!("--jobs={}", jobs.max(1)))
        .arg(format!("--compress={compress}"))
        .arg(format!("--file={}", out.display()));
    connect_to(cmd.as_std_mut(), source);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: umask is async-signal-safe; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            Ok(())
        });
    }
    let output = cmd
        .output()
        .await
        .map_err(|e| Error::io("cannot run", pg_dump, e))?;
    if !output.status.success() {
        return Err(tool_failed(
            pg_dump,
            &output,
            source,
            "check the connection and the free space where the snapshot is written; \
                  pg_dump must be at least as new as the server",
        ));
    }
    Ok(())
}

/// `pg_dump --version` → (major, full version text).
pub fn tool_version(tool: &Path) -> Result<(u32, String)> {
    let out = Command::new(tool)
        .arg("--version")
        .output()
        .map_err(|e| Error::io("cannot run", tool, e))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v = super::version::version_from_banner(&text);
    Ok((super::version::parse_major(&v).unwrap_or(0), v))
}

/// Reads an archive sequentially (`pg_restore --file=/dev/null`), without a database; the
/// error, if any, names truncation or corruption plainly.
pub fn pg_restore_read_through(pg_restore: &Path, dump: &Path) -> Option<String> {
    let out = Command::new(pg_restore)
        .arg("--file=/dev/null")
        .arg(dump)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).trim().to_string())
}

/// `pg_restore --list` of an archive: its table of contents, owners included (pg_dump records
/// them in every archive, whatever `--no-owner` it was given).
pub fn archive_list(pg_restore: &Path, dump: &Path) -> Result<String> {
    read_archive(pg_restore, Command::new(pg_restore).arg("--list").arg(dump))
}

/// The stdout of `cmd`, a pg_restore that reads an archive without a database.
fn read_archive(pg_restore: &Path, cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("cannot run", pg_restore, e))?;
    if !out.status.success() {
        return Err(Error::ExternalTool {
            tool: pg_restore.display().to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            fix: "check that the file is a complete pg_dump custom or directory archive \
                  (`pg_restore --list FILE`)",
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The SQL of an archive's grant entries (`ACL`, `DEFAULT ACL`), as pg_restore would run it:
/// read from the archive alone (`--list`, then `--use-list` of those entries to `--file=-`),
/// without a database. Empty when the archive has none.
pub fn acl_statements(pg_restore: &Path, dump: &Path) -> Result<String> {
    let list = archive_list(pg_restore, dump)?;
    // `ID; oid oid ACL schema kind name owner` and `… DEFAULT ACL …`: the description starts
    // after the two oids.
    let acl: String = list
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter(|l| {
            l.split_whitespace()
                .nth(3)
                .is_some_and(|d| d == "ACL" || d == "DEFAULT")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if acl.is_empty() {
        return Ok(String::new());
    }
    let dir = private_dump_dir()?;
    let list_file = dir.path().join("acl.list");
    std::fs::write(&list_file, acl)
        .map_err(|e| Error::io("cannot write the restore list", &list_file, e))?;
    read_archive(
        pg_restore,
        Command::new(pg_restore)
            .arg(format!("--use-list={}", list_file.display()))
            .arg("--no-owner")
            .arg("--file=-")
            .arg(dump),
    )
}

/// A PostgreSQL client program exited with a failure: its stderr names the cause.
fn tool_failed(
    tool: &Path,
    output: &std::process::Output,
    spec: &ConnSpec,
    fix: &'static str,
) -> Error {
    Error::ExternalTool {
        tool: tool.display().to_string(),
        status: output.status.to_string(),
        stderr: private_stderr(&String::from_utf8_lossy(&output.stderr), spec)
            .trim()
            .to_string(),
        fix,
    }
}

/// A client program's stderr as the tool shows it: never a password, and the server's
/// `DETAIL:` lines (which can quote row values, credentials included) only with `-v`, as for
/// the tool's own server errors.
fn private_stderr(stderr: &str, spec: &ConnSpec) -> String {
    let text = spec.redact(stderr);
    if crate::error::verbose() {
        return text;
    }
    let mut hidden = false;
    let mut out: Vec<&str> = vec![];
    for line in text.lines() {
        if line.trim_start().starts_with("DETAIL:") {
            hidden = true;
            continue;
        }
        out.push(line);
    }
    let mut s = out.join("\n");
    if hidden {
        s.push_str(
            "\n(the server's DETAIL lines are not shown because they can quote row values; \
             rerun with -v to see them)",
        );
    }
    s
}

/// Size of a dump file, or of all files of a directory-format dump.
pub fn dump_size(p: &std::path::Path) -> u64 {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// pg_restore into a database that already holds objects (a rollback rehearsal), with
/// `extra` options such as `--clean`; returns the exit code and what it printed on stderr,
/// since errors there are the finding, not a failure of the tool.
pub fn pg_restore_into_existing(
    pg_restore: &Path,
    dump: &Path,
    target: &ConnSpec,
    privileges: bool,
    extra: &[&str],
) -> Result<(Option<i32>, String)> {
    let mut cmd = Command::new(pg_restore);
    cmd.arg("--no-owner").args(extra);
    if !privileges {
        cmd.arg("--no-privileges");
    }
    connect_to(&mut cmd, target);
    let out = cmd
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::io("cannot run", pg_restore, e))?;
    Ok((
        out.status.code(),
        private_stderr(&String::from_utf8_lossy(&out.stderr), target),
    ))
}
