//! Where a database is and how to reach it, in one value every command shares, and the one
//! place that opens connections. It knows PostgreSQL's connection settings only (kong.conf is
//! translated into them by `kong::conf`), and it never prints a password.
//!
//! A `ConnSpec` is read from a libpq URL or `key = value` string, the service file and the
//! libpq environment with libpq's rules (`conninfo`), including TLS (`tls`): sslmode
//! disable/allow/prefer/require/verify-ca/verify-full, sslrootcert (a file or `system`),
//! sslcert/sslkey. The same settings reach PostgreSQL's client programs through PG*
//! variables ([`ConnSpec::libpq_env`]), so the tool and its children never disagree.
//! Every connection the tool opens pins the settings that change text output (TimeZone,
//! DateStyle, IntervalStyle, extra_float_digits, bytea_output), so a checksum taken on one
//! server means the same on any other.

mod conninfo;
pub mod tls;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::Client;

pub use tls::{RootCert, SslMode, TlsSettings, TlsVersion};

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    /// Directory holding the server's unix socket.
    Socket(PathBuf),
}

/// A further host of a multi-host connection string, tried in order after the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub endpoint: Endpoint,
    pub port: u16,
    pub hostaddr: Option<IpAddr>,
}

/// libpq's `target_session_attrs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionAttrs {
    #[default]
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl SessionAttrs {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            SessionAttrs::Any => "any",
            SessionAttrs::ReadWrite => "read-write",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "primary",
            SessionAttrs::Standby => "standby",
            SessionAttrs::PreferStandby => "prefer-standby",
        }
    }
}

/// Everything of a connection string beyond the first host, user, password and database.
/// `Default` is libpq with nothing set (sslmode prefer, no service, no variables).
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// `hostaddr` of the first host.
    pub hostaddr: Option<IpAddr>,
    pub more_hosts: Vec<Host>,
    pub tls: TlsSettings,
    pub options: Option<String>,
    /// None: `kong-rehearse`.
    pub application_name: Option<String>,
    /// Seconds, as given; None: the tool's 10 s (libpq would wait forever); 0: no limit.
    pub connect_timeout: Option<u64>,
    pub keepalives: Option<bool>,
    pub keepalives_idle: Option<u64>,
    pub keepalives_interval: Option<u64>,
    pub keepalives_count: Option<u32>,
    /// Milliseconds.
    pub tcp_user_timeout: Option<u64>,
    pub target_session_attrs: SessionAttrs,
    pub load_balance_random: bool,
    pub channel_binding: Option<String>,
    pub client_encoding: Option<String>,
    pub gssencmode: Option<String>,
    /// None: `~/.pgpass`.
    pub passfile: Option<PathBuf>,
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
        None => match configured()? {
            Some(c) => Ok(c),
            None => Ok((ConnSpec::from_env()?, None)),
        },
    }
}

#[derive(Clone)]
pub struct ConnSpec {
    /// The first host (libpq tries `params.more_hosts` after it).
    pub endpoint: Endpoint,
    pub port: u16,
    pub user: String,
    /// Given explicitly (URL, conninfo, PGPASSWORD, kong.conf); `.pgpass` is read when
    /// connecting, per host, as libpq does.
    pub password: Option<String>,
    pub dbname: String,
    /// Boxed: the rest of libpq's settings are large and seldom set, and a spec travels in
    /// many enums.
    pub params: Box<Params>,
}

/// The tool's connect timeout when none is given: long enough for a managed server across a
/// region, short enough that a wrong host does not look like a hang.
const DEFAULT_CONNECT_TIMEOUT: u64 = 10;
const DEFAULT_APPLICATION_NAME: &str = "kong-rehearse";
/// libpq's DEFAULT_PGSOCKET_DIR on Debian and Ubuntu, which `.pgpass` calls `localhost`.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

fn usage(e: String) -> Error {
    Error::Usage(format!(
        "not a usable PostgreSQL connection string: {e}. Use a URL such as \
         postgres://kong@db.example:5432/kong?sslmode=verify-full or key=value pairs such as \
         `host=db.example user=kong dbname=kong sslmode=verify-full sslrootcert=ca.pem`; put \
         the password in PGPASSWORD or ~/.pgpass rather than on the command line."
    ))
}

fn env_var(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

impl ConnSpec {
    /// A spec with libpq's defaults for everything else (no environment read): for servers
    /// the tool starts itself.
    pub fn new(
        endpoint: Endpoint,
        port: u16,
        user: &str,
        password: Option<String>,
        dbname: &str,
    ) -> Self {
        ConnSpec {
            endpoint,
            port,
            user: user.to_string(),
            password,
            dbname: dbname.to_string(),
            params: Box::default(),
        }
    }

    /// Parses a `postgres://` URL or a `key = value` conninfo string. What it leaves out comes
    /// from the service file (`service=`/PGSERVICE), then the libpq environment, then libpq's
    /// defaults, as psql does.
    pub fn parse(s: &str) -> Result<Self> {
        Self::parse_with_env(s, &env_var)
    }

    /// [`ConnSpec::parse`] with the environment given (for tests).
    pub fn parse_with_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let given = conninfo::parse(s).map_err(usage)?;
        Self::from_values(given, env)
    }

    /// The target libpq would pick with no connection string at all.
    pub fn from_env() -> Result<Self> {
        Self::from_values(conninfo::Values::new(), &env_var)
    }

    fn from_values(given: conninfo::Values, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let v = conninfo::add_defaults(given, env).map_err(usage)?;
        let get = |k: &str| value(&v, k);
        refuse_unsupported(&v)?;

        let hosts: Vec<&str> = get("host")
            .map(|h| h.split(',').collect())
            .unwrap_or_default();
        let addrs: Vec<&str> = get("hostaddr")
            .map(|h| h.split(',').collect())
            .unwrap_or_default();
        if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
            return Err(usage(format!(
                "could not match {} host names to {} hostaddr values",
                hosts.len(),
                addrs.len()
            )));
        }
        let n = hosts.len().max(addrs.len()).max(1);
        let ports: Vec<&str> = get("port")
            .map(|p| p.split(',').collect())
            .unwrap_or_default();
        if ports.len() > 1 && ports.len() != n {
            return Err(usage(format!(
                "could not match {} port numbers to {n} hosts",
                ports.len()
            )));
        }
        let mut list = vec![];
        for i in 0..n {
            let hostaddr =
                match addrs.get(i).map(|a| a.trim()).filter(|a| !a.is_empty()) {
                    Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
                        usage(format!("hostaddr `{a}` is not a numeric IP address"))
                    })?),
                    None => None,
                };
            let host = hosts.get(i).copied().unwrap_or("");
            let endpoint = if host.is_empty() {
                match hostaddr {
                    Some(a) => Endpoint::Tcp(a.to_string()),
                    None => default_endpoint(),
                }
            } else if host.starts_with('/') || host.starts_with('@') {
                Endpoint::Socket(PathBuf::from(host))
            } else {
                Endpoint::Tcp(host.to_string())
            };
            let port = match ports.get(i).or(ports.first()).map(|p| p.trim()) {
                None | Some("") => 5432,
                Some(p) => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| usage(format!("invalid port number `{p}`")))?,
            };
            list.push(Host {
                endpoint,
                port,
                hostaddr,
            });
        }
        let first = list.remove(0);
        let user = get("user")
            .map(str::to_string)
            .unwrap_or_else(current_user_name);
        let dbname = get("dbname")
            .map(str::to_string)
            .unwrap_or_else(|| user.clone());

        let secs = |k: &str| -> Result<Option<u64>> {
            get(k)
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .map(|n| n.max(0) as u64)
                        .map_err(|_| {
                            usage(format!(
                                "invalid integer value `{s}` for connection option `{k}`"
                            ))
                        })
                })
                .transpose()
        };
        let params = Box::new(Params {
            hostaddr: first.hostaddr,
            more_hosts: list,
            tls: tls::from_values(&v).map_err(usage)?,
            options: get("options").map(str::to_string),
            application_name: get("application_name")
                .or(get("fallback_application_name"))
                .map(str::to_string),
            connect_timeout: secs("connect_timeout")?,
            keepalives: secs("keepalives")?.map(|k| k != 0),
            keepalives_idle: secs("keepalives_idle")?,
            keepalives_interval: secs("keepalives_interval")?,
            keepalives_count: secs("keepalives_count")?.map(|c| c.min(u32::MAX as u64) as u32),
            tcp_user_timeout: secs("tcp_user_timeout")?,
            target_session_attrs: match get("target_session_attrs") {
                None => SessionAttrs::Any,
                Some(s) => SessionAttrs::parse(s).ok_or_else(|| {
                    usage(format!(
                        "invalid target_session_attrs value `{s}`: use any, read-write, \
                         read-only, primary, standby or prefer-standby"
                    ))
                })?,
            },
            load_balance_random: match get("load_balance_hosts") {
                None | Some("disable") => false,
                Some("random") => true,
                Some(s) => {
                    return Err(usage(format!(
                        "invalid load_balance_hosts value `{s}`: use disable or random"
                    )))
                }
            },
            channel_binding: match get("channel_binding") {
                None => None,
                Some(s @ ("disable" | "prefer" | "require")) => Some(s.to_string()),
                Some(s) => {
                    return Err(usage(format!(
                        "invalid channel_binding value `{s}`: use disable, prefer or require"
                    )))
                }
            },
            client_encoding: get("client_encoding").map(str::to_string),
            gssencmode: get("gssencmode").map(str::to_string),
            passfile: get("passfile").map(PathBuf::from),
        });
        Ok(ConnSpec {
            endpoint: first.endpoint,
            port: first.port,
            user,
            password: get("password").map(str::to_string),
            dbname,
            params,
        })
    }

    pub fn with_dbname(&self, dbname: &str) -> Self {
        ConnSpec {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    /// Every host in the order libpq tries them (before `load_balance_hosts=random`).
    pub fn hosts(&self) -> Vec<Host> {
        let mut v = vec![Host {
            endpoint: self.endpoint.clone(),
            port: self.port,
            hostaddr: self.params.hostaddr,
        }];
        v.extend(self.params.more_hosts.iter().cloned());
        v
    }

    pub fn application_name(&self) -> &str {
        self.params
            .application_name
            .as_deref()
            .unwrap_or(DEFAULT_APPLICATION_NAME)
    }

    fn connect_timeout(&self) -> Option<Duration> {
        match self
            .params
            .connect_timeout
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
        {
            0 => None,
            // libpq waits at least 2 s: a smaller value would cut off a slow handshake.
            n => Some(Duration::from_secs(n.max(2))),
        }
    }

    fn passfile(&self) -> Option<PathBuf> {
        self.params.passfile.clone().or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".pgpass"))
        })
    }

    /// The password for `host`: the explicit one, else the `.pgpass` entry libpq would use.
    fn password_for(&self, host: &Host) -> Option<String> {
        if self.password.is_some() {
            return self.password.clone();
        }
        let name = match (&host.endpoint, host.hostaddr) {
            (Endpoint::Tcp(h), _) if !h.is_empty() => h.clone(),
            (Endpoint::Tcp(_), Some(a)) => a.to_string(),
            (Endpoint::Tcp(_), None) => "localhost".into(),
            (Endpoint::Socket(p), _) if p == Path::new(DEFAULT_SOCKET_DIR) => "localhost".into(),
            (Endpoint::Socket(p), _) => p.display().to_string(),
        };
        conninfo::pgpass_lookup(
            &self.passfile()?,
            &name,
            &host.port.to_string(),
            &self.dbname,
            &self.user,
        )
    }

    /// The password the first host gets (explicit or from `.pgpass`): for a child that reads
    /// neither libpq variables nor `.pgpass` (Kong).
    pub fn resolved_password(&self) -> Option<String> {
        self.password_for(&self.hosts()[0])
    }

    /// `text` with every password this spec can send replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut secrets: Vec<String> = self.password.iter().cloned().collect();
        secrets.extend(self.hosts().iter().filter_map(|h| self.password_for(h)));
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    fn tokio_config(&self, host: &Host) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        match &host.endpoint {
            Endpoint::Tcp(h) => c.host(h),
            Endpoint::Socket(p) => c.host_path(p),
        };
        if let Some(a) = host.hostaddr {
            c.hostaddr(a);
        }
        c.port(host.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(self.application_name());
        let p = &self.params;
        if let Some(o) = &p.options {
            c.options(o);
        }
        if let Some(t) = self.connect_timeout() {
            c.connect_timeout(t);
        }
        if let Some(k) = p.keepalives {
            c.keepalives(k);
        }
        if let Some(s) = p.keepalives_idle {
            c.keepalives_idle(Duration::from_secs(s));
        }
        if let Some(s) = p.keepalives_interval {
            c.keepalives_interval(Duration::from_secs(s));
        }
        if let Some(n) = p.keepalives_count {
            c.keepalives_retries(n);
        }
        if let Some(ms) = p.tcp_user_timeout {
            c.tcp_user_timeout(Duration::from_millis(ms));
        }
        match p.channel_binding.as_deref() {
            Some("disable") => {
                c.channel_binding(tokio_postgres::config::ChannelBinding::Disable);
            }
            Some("require") => {
                c.channel_binding(tokio_postgres::config::ChannelBinding::Require);
            }
            _ => {}
        }
        if p.tls.direct {
            c.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
        }
        if let Some(pw) = self.password_for(host) {
            c.password(pw);
        }
        c
    }

    /// Connects (each host in turn, as libpq does), pins the session's output settings, and
    /// drives the connection on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client> {
        let mut hosts = self.hosts();
        if self.params.load_balance_random {
            use rand::seq::SliceRandom;
            hosts.shuffle(&mut rand::thread_rng());
        }
        let passes: &[SessionAttrs] = match self.params.target_session_attrs {
            // libpq: a standby if any host is one, else any server.
            SessionAttrs::PreferStandby => &[SessionAttrs::Standby, SessionAttrs::Any],
            SessionAttrs::Any => &[SessionAttrs::Any],
            SessionAttrs::ReadWrite => &[SessionAttrs::ReadWrite],
            SessionAttrs::ReadOnly => &[SessionAttrs::ReadOnly],
            SessionAttrs::Primary => &[SessionAttrs::Primary],
            SessionAttrs::Standby => &[SessionAttrs::Standby],
        };
        let mut failures: Vec<(Host, Failure)> = vec![];
        for want in passes {
            for h in &hosts {
                let attempt = self.connect_host(h, *want);
                let r = match self.connect_timeout() {
                    Some(t) => tokio::time::timeout(t, attempt)
                        .await
                        .unwrap_or(Err(Failure::Timeout(t))),
                    None => attempt.await,
                };
                match r {
                    Ok(c) => return Ok(c),
                    Err(f) => {
                        failures.retain(|(o, _)| o != h);
                        failures.push((h.clone(), f));
                    }
                }
            }
        }
        Err(self.connect_error(failures))
    }

    async fn connect_host(&self, h: &Host, want: SessionAttrs) -> Result<Client, Failure> {
        use tokio_postgres::config::SslMode as Mode;
        let cfg = self.tokio_config(h);
        let mode = self.params.tls.effective_mode();
        let client = match (&h.endpoint, mode) {
            // libpq never uses TLS over a unix socket, whatever sslmode says.
            (Endpoint::Socket(_), _) | (_, SslMode::Disable) => {
                self.start(cfg, Mode::Disable).await?
            }
            (_, SslMode::Allow) => match self.start(cfg.clone(), Mode::Disable).await {
                // The server turned the plaintext session down: try again with TLS.
                Err(Failure::Pg(e)) if e.as_db_error().is_some() => {
                    self.start(cfg, Mode::Require).await?
                }
                r => r?,
            },
            (_, SslMode::Prefer) => match self.start(cfg.clone(), Mode::Prefer).await {
                // A failed handshake: libpq's prefer tries again without TLS.
                Err(Failure::Pg(e)) if tls::rustls_error(&e).is_some() => {
                    self.start(cfg, Mode::Disable).await?
                }
                r => r?,
            },
            _ => self.start(cfg, Mode::Require).await?,
        };
        check_session_attrs(&client, want).await?;
        client
            .batch_execute(crate::pg::sql::session::PIN_OUTPUT_SETTINGS)
            .await
            .map_err(Failure::Pg)?;
        Ok(client)
    }

    async fn start(
        &self,
        mut cfg: tokio_postgres::Config,
        mode: tokio_postgres::config::SslMode,
    ) -> Result<Client, Failure> {
        cfg.ssl_mode(mode);
        let config = if mode == tokio_postgres::config::SslMode::Disable {
            // Never used for a handshake; tokio-postgres only needs a connector to hold.
            tls::plain_config()
        } else {
            self.params.tls.client_config().map_err(Failure::Setup)?
        };
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*config).clone());
        let (client, connection) = cfg.connect(connector).await.map_err(Failure::Pg)?;
        tokio::spawn(async move {
            // The error, if any, surfaces on the next query through the client.
            let _ = connection.await;
        });
        Ok(client)
    }

    fn connect_error(&self, failures: Vec<(Host, Failure)>) -> Error {
        let explained: Vec<(String, String, String)> = failures
            .iter()
            .map(|(h, f)| {
                let (d, fix) = self.explain(h, f);
                (host_label(h), d, fix)
            })
            .collect();
        let (detail, fix) = match explained.as_slice() {
            [] => ("no host to try".to_string(), default_fix()),
            [(_, d, f)] => (d.clone(), f.clone()),
            many => (
                many.iter()
                    .map(|(h, d, _)| format!("{h}: {d}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                many.last().map(|(_, _, f)| f.clone()).unwrap_or_default(),
            ),
        };
        let mut chars = fix.chars();
        let fix = match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect(),
            None => fix,
        };
        Error::Connect {
            target: self.to_string(),
            detail: self.redact(&detail),
            fix,
        }
    }

    /// What went wrong with one host, and the fix, in the terms of the setting involved.
    fn explain(&self, h: &Host, f: &Failure) -> (String, String) {
        let tls = &self.params.tls;
        let mode = tls.effective_mode();
        match f {
            Failure::Setup(e) => (e.detail.clone(), e.fix.clone()),
            Failure::Timeout(t) => (
                format!("no answer within {} s (connect_timeout)", t.as_secs()),
                default_fix(),
            ),
            Failure::Attrs(msg) => (
                msg.clone(),
                format!(
                    "list a server that matches target_session_attrs={}, or change that setting",
                    self.params.target_session_attrs.as_str()
                ),
            ),
            Failure::Pg(e) => {
                let host = match &h.endpoint {
                    Endpoint::Tcp(t) => t.clone(),
                    Endpoint::Socket(p) => p.display().to_string(),
                };
                if let Some(r) = tls::rustls_error(e) {
                    return tls::explain_handshake(r, &host, tls);
                }
                if let Some(db) = e.as_db_error() {
                    let code = db.code().code();
                    let msg = db.message();
                    if code == "28000" && msg.contains("no encryption") {
                        let fix = if mode == SslMode::Disable {
                            "sslmode=disable forbids TLS, and this server accepts only TLS \
                             connections: use sslmode=verify-full with sslrootcert=CA-FILE (or \
                             sslmode=require to encrypt without verifying the server)"
                        } else {
                            "connect with TLS: sslmode=verify-full with sslrootcert=CA-FILE, or \
                             sslmode=require (in the URL, the conninfo or PGSSLMODE)"
                        };
                        return (
                            format!(
                                "the server refuses connections without TLS (SQLSTATE {code}: \
                                 {msg})"
                            ),
                            fix.into(),
                        );
                    }
                    if code == "28000" && msg.contains("certificate") {
                        return (
                            format!("{msg} (SQLSTATE {code})"),
                            "give a client certificate the server's CA signed, whose common \
                             name is the user name: sslcert=FILE sslkey=FILE (PGSSLCERT, \
                             PGSSLKEY)"
                                .into(),
                        );
                    }
                    if code == "28P01" {
                        return (
                            format!("{msg} (SQLSTATE {code})"),
                            "check the password (in the URL or conninfo, PGPASSWORD, \
                             ~/.pgpass or PGPASSFILE, or kong.conf's pg_password)"
                                .into(),
                        );
                    }
                    return (crate::error::describe_pg_error(e), default_fix());
                }
                let text = error_chain(e);
                if text.contains("server does not support TLS") {
                    return (
                        format!(
                            "the server does not accept TLS connections, and sslmode={} does not \
                             allow connecting without TLS",
                            mode.as_str()
                        ),
                        "turn TLS on at the server (ssl = on with ssl_cert_file and \
                         ssl_key_file), or connect with the sslmode the network warrants; \
                         kong-rehearse never downgrades it silently"
                            .into(),
                    );
                }
                (text, default_fix())
            }
        }
    }

    /// Environment for PostgreSQL client programs: the same settings the tool connects with,
    /// so the password travels in the environment of the child only, never on a command line
    /// that `ps` shows. Apply it after removing [`LIBPQ_ENV_VARS`] from the child's inherited
    /// environment.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let hosts = self.hosts();
        let host_str = |h: &Host| match &h.endpoint {
            Endpoint::Tcp(t) => t.clone(),
            Endpoint::Socket(p) => p.display().to_string(),
        };
        let join = |f: &dyn Fn(&Host) -> String| hosts.iter().map(f).collect::<Vec<_>>().join(",");
        let mut env = vec![
            ("PGHOST", join(&host_str)),
            ("PGPORT", join(&|h: &Host| h.port.to_string())),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.dbname.clone()),
        ];
        if hosts.iter().any(|h| h.hostaddr.is_some()) {
            env.push((
                "PGHOSTADDR",
                join(&|h: &Host| h.hostaddr.map(|a| a.to_string()).unwrap_or_default()),
            ));
        }
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.clone()));
        }
        if let Some(f) = &self.params.passfile {
            env.push(("PGPASSFILE", f.display().to_string()));
        }
        let t = &self.params.tls;
        env.push(("PGSSLMODE", t.effective_mode().as_str().into()));
        match &t.root_cert {
            Some(RootCert::File(p)) => env.push(("PGSSLROOTCERT", p.display().to_string())),
            // libpq before 16 has no `system`: the bundle itself means the same to every client.
            Some(RootCert::System) => env.push((
                "PGSSLROOTCERT",
                tls::system_bundle()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "system".into()),
            )),
            None => {}
        }
        if let Some(c) = &t.cert {
            env.push(("PGSSLCERT", c.display().to_string()));
        }
        if let Some(k) = &t.key {
            env.push(("PGSSLKEY", k.display().to_string()));
        }
        if t.no_client_cert {
            env.push(("PGSSLCERTMODE", "disable".into()));
        }
        if t.sni == Some(false) {
            env.push(("PGSSLSNI", "0".into()));
        }
        if let Some(v) = t.min_protocol {
            env.push(("PGSSLMINPROTOCOLVERSION", v.as_str().into()));
        }
        if let Some(v) = t.max_protocol {
            env.push(("PGSSLMAXPROTOCOLVERSION", v.as_str().into()));
        }
        if t.direct {
            env.push(("PGSSLNEGOTIATION", "direct".into()));
        }
        let p = &self.params;
        env.push(("PGAPPNAME", self.application_name().to_string()));
        if let Some(o) = &p.options {
            env.push(("PGOPTIONS", o.clone()));
        }
        env.push((
            "PGCONNECT_TIMEOUT",
            p.connect_timeout
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
                .to_string(),
        ));
        if p.target_session_attrs != SessionAttrs::Any {
            env.push((
                "PGTARGETSESSIONATTRS",
                p.target_session_attrs.as_str().into(),
            ));
        }
        if p.load_balance_random {
            env.push(("PGLOADBALANCEHOSTS", "random".into()));
        }
        if let Some(c) = &p.channel_binding {
            env.push(("PGCHANNELBINDING", c.clone()));
        }
        if let Some(c) = &p.client_encoding {
            env.push(("PGCLIENTENCODING", c.clone()));
        }
        if let Some(g) = &p.gssencmode {
            env.push(("PGGSSENCMODE", g.clone()));
        }
        env
    }

    /// The value for a client program's `--dbname`: a conninfo naming the database (quoted, so
    /// no database name is ever read as a connection string) plus the settings libpq has no
    /// environment variable for (keepalives, tcp_user_timeout).
    pub fn dbname_arg(&self) -> String {
        let mut s = format!("dbname={}", conninfo_quote(&self.dbname));
        let p = &self.params;
        let extra: [(&str, Option<String>); 5] = [
            ("keepalives", p.keepalives.map(|k| (k as u8).to_string())),
            ("keepalives_idle", p.keepalives_idle.map(|v| v.to_string())),
            (
                "keepalives_interval",
                p.keepalives_interval.map(|v| v.to_string()),
            ),
            (
                "keepalives_count",
                p.keepalives_count.map(|v| v.to_string()),
            ),
            (
                "tcp_user_timeout",
                p.tcp_user_timeout.map(|v| v.to_string()),
            ),
        ];
        for (k, v) in extra {
            if let Some(v) = v {
                s.push_str(&format!(" {k}={v}"));
            }
        }
        s
    }

    /// A command line a person can paste to connect (password left out).
    pub fn psql_hint(&self) -> String {
        let host = match &self.endpoint {
            Endpoint::Tcp(h) => h.clone(),
            Endpoint::Socket(p) => p.display().to_string(),
        };
        let mut s = format!(
            "host={host} port={} user={} dbname={}",
            self.port, self.user, self.dbname
        );
        if let Some(m) = self.params.tls.mode {
            s.push_str(&format!(" sslmode={}", m.as_str()));
        }
        match &self.params.tls.root_cert {
            Some(RootCert::File(p)) => s.push_str(&format!(" sslrootcert={}", p.display())),
            Some(RootCert::System) => s.push_str(" sslrootcert=system"),
            None => {}
        }
        format!("psql \"{s}\"")
    }
}

/// Every environment variable libpq reads: a child gets these removed and then exactly the
/// spec's own ([`ConnSpec::libpq_env`]), so a PGSERVICE or PGSSLMODE of the caller's shell
/// cannot point it elsewhere than the tool.
pub fn libpq_env_vars() -> impl Iterator<Item = &'static str> {
    conninfo::KEYWORDS
        .iter()
        .filter_map(|(_, v)| *v)
        .chain(conninfo::EXTRA_ENV.iter().copied())
}

/// A keyword's value; an empty one is not set, as in libpq.
fn value<'a>(v: &'a conninfo::Values, k: &str) -> Option<&'a str> {
    v.get(k).map(String::as_str).filter(|s| !s.is_empty())
}

/// Settings the tool cannot honour are refused, never dropped.
fn refuse_unsupported(v: &conninfo::Values) -> Result<()> {
    let get = |k: &str| value(v, k);
    let refuse = |what: &str| Err(usage(what.to_string()));
    if get("sslcrl").is_some() || get("sslcrldir").is_some() {
        return refuse(
            "sslcrl/sslcrldir (PGSSLCRL/PGSSLCRLDIR) ask for a certificate revocation check, \
             which kong-rehearse cannot do; it will not connect without it. Unset them for \
             this tool (the server certificate is still verified with sslmode=verify-full)",
        );
    }
    if get("sslpassword").is_some() {
        return refuse(
            "sslpassword: kong-rehearse cannot read an encrypted client key; decrypt it \
             (`openssl pkey -in key.pem -out plain.pem`, mode 0600) and pass that as sslkey",
        );
    }
    if get("requirepeer").is_some() {
        return refuse(
            "requirepeer (PGREQUIREPEER) cannot be checked by kong-rehearse; unset it for this tool",
        );
    }
    if get("require_auth").is_some() {
        return refuse(
            "require_auth (PGREQUIREAUTH) cannot be enforced by kong-rehearse; unset it for this tool",
        );
    }
    if get("gssencmode") == Some("require") {
        return refuse(
            "gssencmode=require: kong-rehearse does not speak GSSAPI encryption; use TLS \
             (sslmode=verify-full) instead",
        );
    }
    if let Some(r) = get("replication") {
        if !matches!(r, "0" | "false" | "off" | "no") {
            return refuse("replication connections are not what kong-rehearse reads from");
        }
    }
    Ok(())
}

/// Why one connection attempt failed.
enum Failure {
    Pg(tokio_postgres::Error),
    Setup(tls::TlsSetupError),
    Timeout(Duration),
    Attrs(String),
}

async fn check_session_attrs(client: &Client, want: SessionAttrs) -> Result<(), Failure> {
    use crate::pg::sql::session::{IN_RECOVERY, TRANSACTION_READ_ONLY};
    let (q, bad_if, why) = match want {
        SessionAttrs::Any | SessionAttrs::PreferStandby => return Ok(()),
        SessionAttrs::ReadWrite => (TRANSACTION_READ_ONLY, true, "the server is read-only"),
        SessionAttrs::ReadOnly => (TRANSACTION_READ_ONLY, false, "the server allows writes"),
        SessionAttrs::Primary => (IN_RECOVERY, true, "the server is a standby"),
        SessionAttrs::Standby => (IN_RECOVERY, false, "the server is not a standby"),
    };
    let row = client.query_one(q, &[]).await.map_err(Failure::Pg)?;
    if row.get::<_, bool>(0) == bad_if {
        return Err(Failure::Attrs(why.into()));
    }
    Ok(())
}

fn default_fix() -> String {
    "Check that the server is running and reachable, and the host, port, user, password and \
     database name (URL or conninfo, PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, or kong.conf)"
        .into()
}

fn host_label(h: &Host) -> String {
    match &h.endpoint {
        Endpoint::Tcp(t) if t.contains(':') => format!("[{t}]:{}", h.port),
        Endpoint::Tcp(t) => format!("{t}:{}", h.port),
        Endpoint::Socket(p) => format!("{}:{}", p.display(), h.port),
    }
}

/// A tokio-postgres error with its causes (its Display names only the outermost).
fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn conninfo_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Redacted: the password is replaced, so the value is safe for logs and reports.
impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pw = if self.password.is_some() { ":***" } else { "" };
        let mode = self
            .params
            .tls
            .mode
            .map(|m| format!("sslmode={}", m.as_str()));
        match &self.endpoint {
            Endpoint::Tcp(_) => {
                let hosts = self
                    .hosts()
                    .iter()
                    .map(host_label)
                    .collect::<Vec<_>>()
                    .join(",");
                write!(f, "postgres://{}{pw}@{hosts}/{}", self.user, self.dbname)?;
                if let Some(m) = mode {
                    write!(f, "?{m}")?;
                }
                Ok(())
            }
            Endpoint::Socket(p) => {
                write!(
                    f,
                    "postgres://{}{pw}@/{}?host={}&port={}",
                    self.user,
                    self.dbname,
                    p.display(),
                    self.port
                )?;
                if let Some(m) = mode {
                    write!(f, "&{m}")?;
                }
                Ok(())
            }
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

/// Hides every password in a URL or conninfo string (userinfo, `password=` in the query or as
/// a keyword, quoted or not, with spaces around `=`), even in a string that does not parse.
pub fn redact_str(s: &str) -> String {
    let mut out = s.to_string();
    if let Ok(v) = conninfo::parse(s) {
        for k in ["password", "sslpassword"] {
            if let Some(p) = v.get(k).filter(|p| !p.is_empty()) {
                out = out.replace(p.as_str(), "***");
            }
        }
    }
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let end = out[rest_start..]
            .find('/')
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    static KEYWORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = KEYWORD.get_or_init(|| {
        regex::Regex::new(r"(?i)(password\s*=\s*)('(?:\\.|[^'\\])*'?|[^\s&]*)")
            .expect("a valid regex")
    });
    re.replace_all(&out, "${1}***").into_owned()
}

fn default_endpoint() -> Endpoint {
    ["/var/run/postgresql", "/tmp"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .map(Endpoint::Socket)
        .unwrap_or_else(|| Endpoint::Tcp("localhost".into()))
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

    fn no_env(_: &str) -> Option<String> {
        None
    }

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
        for s in [
            "host=h password = hunter2 user=k",
            "host=h password='hun ter2' user=k",
            "host=h password = 'hunter2",
            "postgres://k@h/db?password=hunter2&sslmode=require",
            "postgres://k:hunter2@h:5432,h2/db?bogus",
        ] {
            let r = redact_str(s);
            assert!(!r.contains("hunter2") && !r.contains("ter2"), "{s} -> {r}");
        }
    }

    #[test]
    fn socket_hosts_are_kept_as_paths() {
        let s = ConnSpec::parse("host=/tmp/x port=5999 user=postgres dbname=kong").unwrap();
        assert!(s.endpoint == Endpoint::Socket(PathBuf::from("/tmp/x")));
        assert_eq!(s.dbname, "kong");
    }

    #[test]
    fn tls_modes_libpq_rejects_elsewhere_are_read() {
        let s = ConnSpec::parse_with_env(
            "host=db.example user=kong sslmode=verify-full sslrootcert=/etc/ca.pem",
            &no_env,
        )
        .unwrap();
        assert_eq!(s.params.tls.effective_mode(), SslMode::VerifyFull);
        assert_eq!(
            s.params.tls.root_cert,
            Some(RootCert::File("/etc/ca.pem".into()))
        );
        assert_eq!(
            s.to_string(),
            "postgres://kong@db.example:5432/kong?sslmode=verify-full"
        );
        let s = ConnSpec::parse_with_env("postgres://k@h/db?sslrootcert=system", &no_env).unwrap();
        assert_eq!(s.params.tls.effective_mode(), SslMode::VerifyFull);
        assert!(
            ConnSpec::parse_with_env("host=h sslmode=require sslrootcert=system", &no_env).is_err()
        );
        let e = ConnSpec::parse_with_env("host=h sslmode=verify-fool", &no_env).unwrap_err();
        assert!(e.to_string().contains("verify-fool"), "{e}");
        assert!(ConnSpec::parse_with_env("host=h sslcrl=/x", &no_env).is_err());
    }

    #[test]
    fn environment_fills_in_and_reaches_children() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-ca".to_string()),
            "PGSSLROOTCERT" => Some("/ca.pem".to_string()),
            "PGAPPNAME" => Some("mine".to_string()),
            "PGPASSWORD" => Some("pw-from-env".to_string()),
            _ => None,
        };
        let s = ConnSpec::parse_with_env(
            "host=a,b port=1,2 user=u dbname=d options='-c search_path=x' keepalives_idle=30",
            &env,
        )
        .unwrap();
        assert_eq!(s.hosts().len(), 2);
        assert_eq!(s.hosts()[1].port, 2);
        let child: std::collections::HashMap<_, _> = s.libpq_env().into_iter().collect();
        assert_eq!(child["PGHOST"], "a,b");
        assert_eq!(child["PGPORT"], "1,2");
        assert_eq!(child["PGSSLMODE"], "verify-ca");
        assert_eq!(child["PGSSLROOTCERT"], "/ca.pem");
        assert_eq!(child["PGAPPNAME"], "mine");
        assert_eq!(child["PGOPTIONS"], "-c search_path=x");
        assert_eq!(child["PGPASSWORD"], "pw-from-env");
        assert_eq!(s.dbname_arg(), "dbname='d' keepalives_idle=30");
        assert!(!s.to_string().contains("pw-from-env"));
        let d = ConnSpec::parse_with_env("host=h", &no_env).unwrap();
        let child: std::collections::HashMap<_, _> = d.libpq_env().into_iter().collect();
        assert_eq!(child["PGAPPNAME"], "kong-rehearse");
        assert_eq!(child["PGSSLMODE"], "prefer");
        assert!(libpq_env_vars().any(|v| v == "PGSERVICE"));
    }

    #[test]
    fn several_hosts_need_matching_ports() {
        assert!(ConnSpec::parse_with_env("host=a,b,c port=1,2", &no_env).is_err());
        let s = ConnSpec::parse_with_env("postgres://u@a:1,b:2/db", &no_env).unwrap();
        assert_eq!(s.to_string(), "postgres://u@a:1,b:2/db");
    }
}
