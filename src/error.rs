//! The one error type at the library boundary. Each variant is one failure class; its message
//! states what happened and how to fix it, and it knows which exit code it maps to.

use std::path::PathBuf;

/// Exit codes shared by every command (README has the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Verification = 1,
    Usage = 2,
    NotEligible = 3,
    MigrationFailed = 4,
    Environment = 5,
    /// A defect of kong-rehearse itself (embedded data unreadable, a panic): never to be
    /// mistaken for a verdict on the user's database.
    Internal = 70,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) were found; looked in: {searched}. \
         Install the PostgreSQL server (Debian/Ubuntu: `apt-get install -y postgresql`; \
         macOS: `brew install postgresql@15`), or point the tool at the directory holding \
         initdb and postgres with `--pg-bin DIR` or the PG_BIN environment variable."
    )]
    PgBinariesNotFound { searched: String },

    #[error(
        "the directory {dir} given by {origin} does not contain PostgreSQL server binaries \
         (missing: {missing}). Pass the `bin` directory of a PostgreSQL server install, \
         e.g. `--pg-bin /usr/lib/postgresql/15/bin`, or install the server \
         (Debian/Ubuntu: `apt-get install -y postgresql`) and leave --pg-bin/PG_BIN unset."
    )]
    PgBinDirInvalid {
        dir: PathBuf,
        origin: &'static str,
        missing: String,
    },

    #[error(
        "running as root, and PostgreSQL refuses to run as root, but the unprivileged user \
         `{user}` to run it as does not exist. Create it (`useradd --system {user}`), \
         name another one with `--pg-user NAME`, or run the tool as a normal user."
    )]
    NoUnprivilegedUser { user: String },

    #[error(
        "`{step}` failed while preparing the throwaway PostgreSQL ({detail}). Its log is below; \
         fix the cause it names (disk space, permissions of the temp dir, a broken install) \
         and run again.\n{log}"
    )]
    ThrowawayStart {
        step: &'static str,
        detail: String,
        log: String,
    },

    /// `target` is the redacted spec, `detail` what went wrong (TLS, authentication, the
    /// network) and `fix` what to change, both in the terms of the setting involved.
    #[error("cannot connect to {target}: {detail}. {fix}.")]
    Connect {
        target: String,
        detail: String,
        fix: String,
    },

    #[error(
        "cannot create or drop the scratch database {name} on {target}: {detail}. The user \
         needs the CREATEDB privilege (`ALTER ROLE <user> CREATEDB`), or use the default \
         local throwaway instead of a server."
    )]
    ScratchDatabase {
        name: String,
        target: String,
        detail: String,
    },

    #[error("{context}: {detail}")]
    Database { context: String, detail: String },

    #[error(
        "the target database {target} is not empty ({found}). The fixture only builds into an \
         empty database, so nothing of yours is overwritten: create a new one \
         (`createdb kong_fixture`) and pass its URL, or use `--out FILE`."
    )]
    TargetNotEmpty { target: String, found: String },

    #[error("{tool} failed (exit status {status}): {stderr}. {fix}")]
    ExternalTool {
        tool: String,
        status: String,
        stderr: String,
        fix: &'static str,
    },

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Usage(String),

    #[error("the Docker backend is unavailable: {0}")]
    Docker(String),

    #[error("the embedded schema data is broken ({0}); this is a bug in kong-rehearse")]
    Embedded(String),

    #[error(
        "internal error in kong-rehearse ({0}); this is a bug in the tool, not a verdict on \
         your database. Please report it with the command you ran (rerun with \
         RUST_BACKTRACE=1 for a backtrace)"
    )]
    Internal(String),

    /// The database is not in a state the requested step can start from.
    #[error("{0}")]
    NotEligible(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::TargetNotEmpty { .. } => Exit::Usage,
            Error::Embedded(_) | Error::Internal(_) => Exit::Internal,
            Error::NotEligible(_) => Exit::NotEligible,
            _ => Exit::Environment,
        }
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// Wraps a server error with what the tool was doing; the server's own message, detail
    /// and hint are kept because they usually name the fix.
    pub fn db(context: impl Into<String>, e: tokio_postgres::Error) -> Self {
        Error::Database {
            context: context.into(),
            detail: describe_pg_error(&e),
        }
    }
}

/// A server error as one line: message, SQLSTATE and hint. The server's `detail` can quote row
/// values (`Key (key)=(…) already exists`, credentials included), so it is shown only with
/// `-v`.
pub fn describe_pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                if verbose() {
                    s.push_str(&format!("; detail: {d}"));
                } else {
                    s.push_str(
                        "; the server's detail is not shown because it can quote row values \
                         (rerun with -v to see it)",
                    );
                }
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => e.to_string(),
    }
}

/// Whether the user asked for detail (`-v`, or RUST_LOG at debug for kong-rehearse): read from
/// the log filter main installs, so no flag travels through every call.
pub fn verbose() -> bool {
    tracing::enabled!(target: "kong_rehearse", tracing::Level::DEBUG)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defects_of_the_tool_have_their_own_exit_code() {
        assert_eq!(Error::Embedded("x".into()).exit(), Exit::Internal);
        assert_eq!(Error::Internal("x".into()).exit(), Exit::Internal);
        assert_eq!(Exit::Internal as u8, 70);
        assert_eq!(Error::Usage("x".into()).exit(), Exit::Usage);
        assert_eq!(Error::NotEligible("x".into()).exit(), Exit::NotEligible);
    }

    #[test]
    fn an_unfinished_rehearsal_report_is_never_a_pass() {
        let r = crate::rehearsal::Report::default();
        assert_eq!(r.exit(), Exit::Internal);
    }
}
