//! Where a database is and how to reach it, in one value that every command shares.
//!
//! A `ConnSpec` is read from a libpq URL or key=value string, or from the libpq environment
//! (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE). It hands the same target to
//! tokio-postgres and to PostgreSQL's client programs (pg_dump, pg_restore), and its
//! `Display` never shows the password.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};

use crate::error::{Error, Result};

#[derive(Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    /// Directory holding the server's unix socket.
    Socket(PathBuf),
}

/// The database a command reads: `explicit` (a URL or conninfo) when given, with no schema;
/// else what `configured` names (the caller's own configuration, e.g. Kong's kong.conf, with
/// its schema), asked only then, so a broken configuration never stands in the way of an
/// explicit target; else the libpq environment (PGHOST, ...).
pub fn resolve(
    explicit: Option<&str>,
    configured: impl FnOnce() -> Result<Option<(ConnSpec, Option<String>)>>,
) -> Result<(ConnSpec, Option<String>)> {
    match explicit {
        Some(s) => Ok((ConnSpec::parse(s)?, None)),
        None => Ok(configured()?.unwrap_or_else(|| (ConnSpec::from_env(), None))),
    }
}

#[derive(Clone)]
pub struct ConnSpec {
    pub endpoint: Endpoint,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
}

impl ConnSpec {
    /// Parses a `postgres://` URL or a `key=value` conninfo string. Fields it leaves out are
    /// filled from the libpq environment and then from libpq's defaults, as psql does.
    pub fn parse(s: &str) -> Result<Self> {
        let cfg = tokio_postgres::Config::from_str(s).map_err(|e| {
            Error::Usage(format!(
                "`{}` is not a PostgreSQL connection string ({e}). Use a URL such as \
                 postgres://kong@db.example:5432/kong or key=value pairs such as \
                 `host=db.example user=kong dbname=kong`; put the password in PGPASSWORD \
                 rather than on the command line.",
                redact_str(s)
            ))
        })?;
        let mut spec = Self::from_env();
        if let Some(h) = cfg.get_hosts().first() {
            spec.endpoint = match h {
                Host::Tcp(h) => Endpoint::Tcp(h.clone()),
                Host::Unix(p) => Endpoint::Socket(p.clone()),
            };
        }
        if let Some(p) = cfg.get_ports().first() {
            spec.port = *p;
        }
        if let Some(u) = cfg.get_user() {
            spec.user = u.to_string();
        }
        if let Some(p) = cfg.get_password() {
            spec.password = Some(String::from_utf8_lossy(p).into_owned());
        }
        match cfg.get_dbname() {
            Some(d) => spec.dbname = d.to_string(),
            // libpq's default database is the user name.
            None if std::env::var_os("PGDATABASE").is_none() => spec.dbname = spec.user.clone(),
            None => {}
        }
        Ok(spec)
    }

    /// The target libpq would pick with no connection string at all.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let endpoint = match var("PGHOST") {
            Some(h) if h.starts_with('/') => Endpoint::Socket(PathBuf::from(h)),
            Some(h) => Endpoint::Tcp(h),
            None => default_socket_dir()
                .map(Endpoint::Socket)
                .unwrap_or_else(|| Endpoint::Tcp("localhost".into())),
        };
        let user = var("PGUSER").unwrap_or_else(current_user_name);
        ConnSpec {
            endpoint,
            port: var("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(5432),
            dbname: var("PGDATABASE").unwrap_or_else(|| user.clone()),
            user,
            password: var("PGPASSWORD"),
        }
    }

    pub fn with_dbname(&self, dbname: &str) -> Self {
        ConnSpec {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    pub fn tokio_config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        match &self.endpoint {
            Endpoint::Tcp(h) => c.host(h),
            Endpoint::Socket(p) => c.host_path(p),
        };
        c.port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name("kong-rehearse")
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(p) = &self.password {
            c.password(p);
        }
        c
    }

    /// Connects and drives the connection on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client> {
        let (client, connection) =
            self.tokio_config()
                .connect(NoTls)
                .await
                .map_err(|source| Error::Connect {
                    target: self.to_string(),
                    source,
                })?;
        tokio::spawn(async move {
            // The error, if any, surfaces on the next query through the client.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Environment for PostgreSQL client programs, so that the password travels in the
    /// environment of the child only, never on a command line that `ps` shows.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let host = match &self.endpoint {
            Endpoint::Tcp(h) => h.clone(),
            Endpoint::Socket(p) => p.display().to_string(),
        };
        let mut env = vec![
            ("PGHOST", host),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.dbname.clone()),
        ];
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.clone()));
        }
        env
    }

    /// A command line a person can paste to connect (password left out).
    pub fn psql_hint(&self) -> String {
        let host = match &self.endpoint {
            Endpoint::Tcp(h) => h.clone(),
            Endpoint::Socket(p) => p.display().to_string(),
        };
        format!(
            "psql \"host={host} port={} user={} dbname={}\"",
            self.port, self.user, self.dbname
        )
    }
}

/// Redacted: the password is replaced, so the value is safe for logs and reports.
impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pw = if self.password.is_some() { ":***" } else { "" };
        match &self.endpoint {
            Endpoint::Tcp(h) => write!(
                f,
                "postgres://{}{pw}@{h}:{}/{}",
                self.user, self.port, self.dbname
            ),
            Endpoint::Socket(p) => write!(
                f,
                "postgres://{}{pw}@/{}?host={}&port={}",
                self.user,
                self.dbname,
                p.display(),
                self.port
            ),
        }
    }
}

impl fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSpec({self})")
    }
}

/// A REPEATABLE READ, READ ONLY transaction: everything read through it comes from one
/// snapshot, and nothing can be written. Every read of a database the user named uses it.
pub async fn read_only_snapshot(client: &mut Client) -> Result<tokio_postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| Error::db("cannot open a read-only snapshot", e))
}

/// Hides the password of a URL (`user:secret@`) or conninfo (`password=secret`) string that
/// could not be parsed, so even the error for a malformed value does not leak it.
pub fn redact_str(s: &str) -> String {
    let mut out = s.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        if let Some(at) = out[rest_start..].find('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    let mut result = String::new();
    for (i, part) in out.split(' ').enumerate() {
        if i > 0 {
            result.push(' ');
        }
        if part.to_ascii_lowercase().starts_with("password=") {
            result.push_str("password=***");
        } else {
            result.push_str(part);
        }
    }
    result
}

fn default_socket_dir() -> Option<PathBuf> {
    ["/var/run/postgresql", "/tmp"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
}

pub fn current_user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "postgres".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_never_shows_the_password() {
        let s = ConnSpec::parse("postgres://kong:s3cret@db.example:6543/kong").unwrap();
        assert_eq!(s.port, 6543);
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        let shown = s.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(shown, "postgres://kong:***@db.example:6543/kong");
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(!s.psql_hint().contains("s3cret"));
    }

    #[test]
    fn redacts_unparseable_strings() {
        assert_eq!(
            redact_str("postgres://kong:hunter2@h/db?x"),
            "postgres://kong:***@h/db?x"
        );
        assert_eq!(
            redact_str("host=h password=hunter2 user=k"),
            "host=h password=*** user=k"
        );
    }

    #[test]
    fn socket_hosts_are_kept_as_paths() {
        let s = ConnSpec::parse("host=/tmp/x port=5999 user=postgres dbname=kong").unwrap();
        assert!(s.endpoint == Endpoint::Socket(PathBuf::from("/tmp/x")));
        assert_eq!(s.dbname, "kong");
    }
}
