//! The real-Kong runner: `kong migrations up` and `kong migrations finish` of a Kong binary
//! the user names, pointed at the throwaway through KONG_PG_* variables (TLS included:
//! KONG_PG_SSL, KONG_PG_SSL_VERIFY, KONG_LUA_SSL_TRUSTED_CERTIFICATE, so Kong connects the way
//! the tool does). Kong's output is captured for the report; its `migrated up to` lines
//! become the step log.
//!
//! This is the runner for Kong Enterprise and custom plugins, whose migrations the built-in
//! catalog does not have: `bootstrap` of the same binary gives the golden reference.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

use super::builtin::{Failure, RunError, StepLog};
use crate::error::{Error, Result};
use crate::pg::conn::tls::Verify;
use crate::pg::conn::{ConnSpec, Endpoint, RootCert, SslMode};

#[derive(Debug, Clone, Serialize)]
pub struct KongOutput {
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub stdout: String,
    pub stderr: String,
}

pub struct KongCli {
    pub bin: PathBuf,
    /// Kong's prefix directory (it writes nginx files there); private and temporary.
    prefix: tempfile::TempDir,
}

impl KongCli {
    pub fn new(bin: &Path) -> Result<Self> {
        let bin = which(bin).ok_or_else(|| {
            Error::Usage(format!(
                "the Kong binary {} was not found or is not executable; pass --kong-bin with \
                 the path of the `kong` command of the version you upgrade to (3.4.x)",
                bin.display()
            ))
        })?;
        let prefix = tempfile::Builder::new()
            .prefix("kong-rehearse-kong-prefix-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
        Ok(KongCli { bin, prefix })
    }

    /// Runs `kong migrations <args>` against `db`.
    pub fn migrations(&self, db: &ConnSpec, args: &[&str]) -> Result<KongOutput> {
        let host = match &db.endpoint {
            Endpoint::Tcp(h) => h.clone(),
            Endpoint::Socket(_) => {
                return Err(Error::Usage(
                    "Kong connects to PostgreSQL over TCP only; use `--target local-tcp` (the \
                     default with --runner kong), a server URL, or docker:IMAGE"
                        .into(),
                ))
            }
        };
        let tls = kong_tls(db)?;
        let password = db.resolved_password();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("migrations")
            .args(args)
            .env("KONG_DATABASE", "postgres")
            .env("KONG_PG_HOST", host)
            .env("KONG_PG_PORT", db.port.to_string())
            .env("KONG_PG_USER", &db.user)
            .env("KONG_PG_DATABASE", &db.dbname)
            .env("KONG_PREFIX", self.prefix.path())
            .env("KONG_PG_SSL", if tls.ssl { "on" } else { "off" })
            .env("KONG_PG_SSL_VERIFY", if tls.verify { "on" } else { "off" })
            .env_remove("KONG_PG_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = &tls.trusted_certificate {
            cmd.env("KONG_LUA_SSL_TRUSTED_CERTIFICATE", t);
        }
        if let Some(pw) = &password {
            cmd.env("KONG_PG_PASSWORD", pw);
        }
        let t0 = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| Error::io("cannot run", &self.bin, e))?;
        Ok(KongOutput {
            command: format!("kong migrations {}", args.join(" ")),
            exit_code: out.status.code(),
            duration_ms: t0.elapsed().as_millis() as u64,
            stdout: redact(&String::from_utf8_lossy(&out.stdout), db),
            stderr: redact(&String::from_utf8_lossy(&out.stderr), db),
        })
    }

    /// `up` or `finish`, turned into step logs; a non-zero exit, or Kong's exit-0 "aborted"
    /// when another node holds the lock, is a failed migration.
    pub async fn run_phase(
        &self,
        db: &ConnSpec,
        phase: &'static str,
        outputs: &mut Vec<KongOutput>,
    ) -> std::result::Result<Vec<StepLog>, RunError> {
        let arg = if phase == "up" { "up" } else { "finish" };
        let out = self.migrations(db, &[arg])?;
        let logs = parse_steps(&out.stdout, phase);
        let aborted = out.stdout.contains("aborted:") || out.stderr.contains("aborted:");
        let ok = out.exit_code == Some(0) && !aborted;
        outputs.push(out.clone());
        if ok {
            return Ok(logs);
        }
        let client = db.connect().await?;
        let (meta, unreadable) = crate::kong::runner::builtin::left_behind(&client).await;
        let error = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .find(|l| l.contains("Error") || l.contains("aborted"))
            .unwrap_or("kong exited with a failure")
            .trim()
            .to_string();
        // The step Kong was on: the last `migrating <subsystem>` line without a result.
        let subsystem = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("migrating "))
            .next_back()
            .and_then(|l| l.split(' ').next())
            .unwrap_or("?")
            .to_string();
        let step = StepLog {
            subsystem: subsystem.clone(),
            migration: "?".into(),
            phase: if phase == "up" { "up" } else { "teardown" },
            status: "failed",
            duration_ms: out.duration_ms,
            statements: 0,
            rows_rewritten: 0,
            quirks: Default::default(),
            locks: vec![],
        };
        Err(RunError::Failed(Box::new(Failure {
            subsystem,
            migration: "?".into(),
            phase: step.phase,
            error: format!("{error} (exit code {:?})", out.exit_code),
            statement: out.command.clone(),
            schema_meta: meta,
            schema_meta_unreadable: unreadable,
            completed: logs,
            step,
        })))
    }
}

/// `core migrated up to: 016_280_to_300 (pending)` → one step each.
pub fn parse_steps(stdout: &str, phase: &'static str) -> Vec<StepLog> {
    stdout
        .lines()
        .filter_map(|l| {
            let (sub, rest) = l.trim().split_once(" migrated up to: ")?;
            let name = rest.split(' ').next()?;
            Some(StepLog {
                subsystem: sub.to_string(),
                migration: name.to_string(),
                phase: if phase == "up" { "up" } else { "teardown" },
                status: "ok",
                duration_ms: 0,
                statements: 0,
                rows_rewritten: 0,
                quirks: Default::default(),
                locks: vec![],
            })
        })
        .collect()
}

fn redact(text: &str, db: &ConnSpec) -> String {
    db.redact(text)
}

/// Kong's TLS settings for a target.
#[derive(Debug, PartialEq, Eq)]
struct KongTls {
    ssl: bool,
    verify: bool,
    trusted_certificate: Option<String>,
}

/// The kong.conf TLS settings that make Kong connect to `db` the way the tool does (pgmoon
/// @3.4.2: `pg_ssl` asks for TLS and goes on without it when the server offers none, as
/// `prefer` does; `pg_ssl_verify` checks the chain against `lua_ssl_trusted_certificate`,
/// never the host name). What Kong cannot do is refused rather than quietly weakened.
fn kong_tls(db: &ConnSpec) -> Result<KongTls> {
    let t = &db.params.tls;
    if t.cert.is_some() {
        return Err(Error::Usage(
            "the target asks for a client certificate (sslcert), and Kong 3.4 cannot present \
             one to PostgreSQL (kong.conf has no such setting); log in to the --target server \
             with a password for --runner kong, or use the built-in runner"
                .into(),
        ));
    }
    let mode = t.effective_mode();
    if mode == SslMode::VerifyFull {
        return Err(Error::Usage(
            "the target asks for sslmode=verify-full, and Kong checks a PostgreSQL \
             certificate's CA (pg_ssl_verify) but never its host name; with --runner kong use \
             sslmode=verify-ca for the --target server (Kong's own strength), or the built-in \
             runner"
                .into(),
        ));
    }
    if matches!(mode, SslMode::Disable | SslMode::Allow) {
        return Ok(KongTls {
            ssl: false,
            verify: false,
            trusted_certificate: None,
        });
    }
    if t.verification() == Verify::Nothing {
        return Ok(KongTls {
            ssl: true,
            verify: false,
            trusted_certificate: None,
        });
    }
    let trusted = match &t.root_cert {
        Some(RootCert::System) => "system".to_string(),
        _ => {
            let file = t
                .root_file()
                .map_err(|e| Error::Usage(format!("{}; {}", e.detail, e.fix)))?
                .ok_or_else(|| {
                    Error::Usage("the target verifies the server but names no CA file".into())
                })?;
            // Kong resolves a relative path against its own prefix, not our directory.
            std::path::absolute(&file)
                .map_err(|e| Error::io("cannot resolve", &file, e))?
                .display()
                .to_string()
        }
    };
    Ok(KongTls {
        ssl: true,
        verify: true,
        trusted_certificate: Some(trusted),
    })
}

fn which(bin: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let ok = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if bin.components().count() > 1 {
        return ok(bin).then(|| bin.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(bin))
        .find(|p| ok(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kongs_progress_lines() {
        let out = "migrating core on database 'kong'...\ncore migrated up to: 016_280_to_300 (pending)\n\
                   core migrated up to: 017_300_to_310 (executed)\nmigrating acme on database 'kong'...\n\
                   acme migrated up to: 001_280_to_300 (executed)\n3 migrations processed\n";
        let steps = parse_steps(out, "up");
        let names: Vec<String> = steps
            .iter()
            .map(|s| format!("{}/{}", s.subsystem, s.migration))
            .collect();
        assert_eq!(
            names,
            [
                "core/016_280_to_300",
                "core/017_300_to_310",
                "acme/001_280_to_300"
            ]
        );
    }

    #[test]
    fn kong_gets_the_tls_the_tool_uses() {
        let tls = |s: &str| kong_tls(&ConnSpec::parse(s).unwrap());
        let off = tls("host=h sslmode=disable").unwrap();
        assert!(!off.ssl && !off.verify);
        let on = tls("host=h sslmode=require sslrootcert=/nonexistent/ca.pem").unwrap();
        assert!(on.ssl && !on.verify, "{on:?}");
        let ca = tls("host=h sslmode=verify-ca sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(
            ca,
            KongTls {
                ssl: true,
                verify: true,
                trusted_certificate: Some("/etc/ca.pem".into())
            }
        );
        assert!(tls("host=h sslmode=verify-full sslrootcert=/etc/ca.pem").is_err());
        assert!(tls("host=h sslmode=require sslcert=/c.pem sslkey=/k.pem").is_err());
    }

    #[test]
    fn passwords_are_redacted_from_captured_output() {
        let db = ConnSpec::parse("postgres://kong:pa55word@127.0.0.1:5432/kong").unwrap();
        assert_eq!(
            redact("auth failed for pa55word", &db),
            "auth failed for ***"
        );
    }
}
