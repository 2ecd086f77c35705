//! A PostgreSQL database the tool owns for the length of one command, and always removes:
//! on return, on error, on panic, and on SIGINT/SIGTERM (see `guard`), unless `--keep`.
//! It knows nothing about Kong and never touches a database it did not create.
//!
//! One interface, three backends:
//! - `local` (default): a private cluster from `initdb` in a temp dir, socket-only;
//! - `server`: a uniquely named scratch database on an existing server;
//! - `docker` (cargo feature): a container of a chosen PostgreSQL image.

pub mod binaries;
#[cfg(feature = "docker")]
pub mod docker;
pub mod guard;
pub mod local;
pub mod scratch;

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pg::conn::ConnSpec;
use binaries::PgBin;

/// Name of the working database inside a server the tool starts itself (Kong's default).
pub const WORK_DB: &str = "kong";

#[derive(Debug, Clone)]
pub enum Backend {
    Local { tcp: bool },
    Server { admin: ConnSpec },
    Docker { image: String },
}

impl Backend {
    /// `local`, `local-tcp`, `docker:IMAGE`, or a connection URL / conninfo for `server`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "local" => Ok(Backend::Local { tcp: false }),
            "local-tcp" => Ok(Backend::Local { tcp: true }),
            _ if s.starts_with("docker:") => Ok(Backend::Docker {
                image: s["docker:".len()..].to_string(),
            }),
            _ => Ok(Backend::Server {
                admin: ConnSpec::parse(s)?,
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub backend: Backend,
    pub pg_bin: Option<PathBuf>,
    pub pg_user: Option<String>,
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backend: Backend::Local { tcp: false },
            pg_bin: None,
            pg_user: None,
            keep: false,
        }
    }
}

enum Kind {
    Local(local::LocalServer),
    Server(scratch::ScratchDb),
    #[cfg(feature = "docker")]
    Docker(Box<docker::DockerServer>),
}

pub struct Throwaway {
    kind: Kind,
    /// Extra scratch databases (server backend), dropped with the throwaway.
    siblings: Vec<scratch::ScratchDb>,
    /// The working database: `kong` on servers we start, the scratch database otherwise.
    target: ConnSpec,
    /// Client programs (pg_dump, pg_restore) matching the server as closely as we can.
    client_bin: Option<PgBin>,
    pub startup: Duration,
}

/// Creates siblings of a throwaway: see [`Throwaway::sibling_maker`].
#[derive(Clone)]
pub struct SiblingMaker {
    admin: ConnSpec,
    /// On someone else's server: a uniquely named scratch database, dropped when done.
    scratch: bool,
}

/// A database created next to the working one; dropped, it is removed (on someone else's
/// server) unless [`Throwaway::adopt`] took it.
pub struct Sibling {
    pub spec: ConnSpec,
    scratch: Option<scratch::ScratchDb>,
}

impl SiblingMaker {
    /// `name` is the database's name on a server we started (it dies with the server); on
    /// someone else's server the name is unique instead.
    pub async fn create(&self, name: &str) -> Result<Sibling> {
        if self.scratch {
            let s = scratch::ScratchDb::create(&self.admin).await?;
            return Ok(Sibling {
                spec: s.target.clone(),
                scratch: Some(s),
            });
        }
        Ok(Sibling {
            spec: create_named_db(&self.admin, name, &format!("the database {name}")).await?,
            scratch: None,
        })
    }
}

impl Throwaway {
    pub async fn start(opts: &Options) -> Result<Self> {
        let t0 = std::time::Instant::now();
        let (kind, target, client_bin) = match &opts.backend {
            Backend::Local { tcp } => {
                let bin = binaries::find_server(opts.pg_bin.as_deref())?;
                let lopts = local::LocalOptions {
                    tcp: *tcp,
                    pg_user: opts.pg_user.clone(),
                };
                let server =
                    tokio::task::spawn_blocking(move || local::LocalServer::start(bin, &lopts))
                        .await
                        .map_err(|e| {
                            Error::Internal(format!("the throwaway start panicked: {e}"))
                        })??;
                let target = create_work_db(&server.admin).await?;
                let bin = server.bin.clone();
                (Kind::Local(server), target, Some(bin))
            }
            Backend::Server { admin } => {
                let db = scratch::ScratchDb::create(admin).await?;
                let target = db.target.clone();
                let bin = binaries::find_client(opts.pg_bin.as_deref(), "pg_dump").ok();
                (Kind::Server(db), target, bin)
            }
            #[cfg(feature = "docker")]
            Backend::Docker { image } => {
                let server = docker::DockerServer::start(image).await?;
                let target = create_work_db(&server.admin).await?;
                let bin = binaries::find_client(opts.pg_bin.as_deref(), "pg_dump").ok();
                (Kind::Docker(Box::new(server)), target, bin)
            }
            #[cfg(not(feature = "docker"))]
            Backend::Docker { .. } => {
                return Err(Error::Docker(
                    "this build of kong-rehearse has no Docker support; rebuild it with \
                     `cargo install --features docker` or use the default local throwaway"
                        .into(),
                ))
            }
        };
        Ok(Throwaway {
            kind,
            siblings: vec![],
            target,
            client_bin,
            startup: t0.elapsed(),
        })
    }

    /// The working database.
    pub fn target(&self) -> &ConnSpec {
        &self.target
    }

    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Local(s) => format!(
                "local PostgreSQL {} in {} (pid {})",
                s.bin.version,
                s.dir.display(),
                s.pid
            ),
            Kind::Server(_) => format!("scratch database on {}", self.target),
            #[cfg(feature = "docker")]
            Kind::Docker(_) => format!("PostgreSQL container at {}", self.target),
        }
    }

    /// Another database next to the working one (for reference schemas); it lives and dies
    /// with the throwaway.
    pub async fn sibling(&mut self, name: &str) -> Result<ConnSpec> {
        let s = self.sibling_maker().create(name).await?;
        Ok(self.adopt(s))
    }

    /// What creating a sibling takes, without holding the throwaway: background work can
    /// create one (the references load while pg_restore runs) and hand it to [`Self::adopt`].
    pub fn sibling_maker(&self) -> SiblingMaker {
        match &self.kind {
            Kind::Server(db) => SiblingMaker {
                admin: db.admin.clone(),
                scratch: true,
            },
            _ => SiblingMaker {
                admin: self
                    .admin()
                    .cloned()
                    .expect("servers we start have an admin connection"),
                scratch: false,
            },
        }
    }

    /// Makes a sibling live and die with the throwaway (and be named by `keep`).
    pub fn adopt(&mut self, s: Sibling) -> ConnSpec {
        self.siblings.extend(s.scratch);
        s.spec
    }

    /// The maintenance connection of a server we started (None for a scratch database on
    /// someone else's server).
    pub fn admin(&self) -> Option<&ConnSpec> {
        match &self.kind {
            Kind::Local(s) => Some(&s.admin),
            Kind::Server(_) => None,
            #[cfg(feature = "docker")]
            Kind::Docker(d) => Some(&d.admin),
        }
    }

    /// Private directory and postmaster pid of the local backend.
    pub fn local_server(&self) -> Option<(&std::path::Path, i32)> {
        match &self.kind {
            Kind::Local(s) => Some((&s.dir, s.pid)),
            _ => None,
        }
    }

    /// A client program such as pg_dump or pg_restore, preferring the server's own install.
    pub fn client_tool(&self, tool: &str) -> Result<PathBuf> {
        if let Some(b) = &self.client_bin {
            let p = b.tool(tool);
            if p.exists() {
                return Ok(p);
            }
        }
        Ok(binaries::find_client(None, tool)?.tool(tool))
    }

    /// Keeps the database (and its server) after the process ends; returns what to tell the
    /// user: how to connect and how to remove it.
    pub fn keep(self) -> String {
        // The local server's private socket needs no password, so that is what we print.
        let shown = match &self.kind {
            Kind::Local(s) => ConnSpec {
                endpoint: crate::pg::conn::Endpoint::Socket(s.dir.clone()),
                password: None,
                ..self.target.clone()
            },
            _ => self.target.clone(),
        };
        let connect = shown.psql_hint();
        let pw_note = if shown.password.is_some() {
            " (password: set PGPASSWORD; it is not printed)"
        } else {
            ""
        };
        // Every database left behind is named, so none is forgotten on someone's server.
        let mut sibling_names = vec![];
        for s in self.siblings {
            sibling_names.push(s.target.dbname.clone());
            s.keep();
        }
        let removal = match self.kind {
            Kind::Local(s) => s.keep(),
            Kind::Server(db) => {
                let mut names = vec![db.target.dbname.clone()];
                names.extend(sibling_names);
                let drops = names
                    .iter()
                    .map(|n| format!("DROP DATABASE {};", crate::pg::quote_ident(n)))
                    .collect::<Vec<_>>()
                    .join(" ");
                db.keep();
                format!(
                    "{} database(s) kept on the server: {}; drop them with: {drops}",
                    names.len(),
                    names.join(", ")
                )
            }
            #[cfg(feature = "docker")]
            Kind::Docker(d) => d.keep(),
        };
        format!("kept: connect with {connect}{pw_note}; {removal}")
    }
}

async fn create_work_db(admin: &ConnSpec) -> Result<ConnSpec> {
    create_named_db(admin, WORK_DB, "the working database").await
}

/// CREATE DATABASE `name` on a server we started; `what` names it in the error.
async fn create_named_db(admin: &ConnSpec, name: &str, what: &str) -> Result<ConnSpec> {
    let client = admin.connect().await?;
    client
        .batch_execute(&crate::pg::sql::session::create_database(name))
        .await
        .map_err(|e| Error::db(format!("cannot create {what}"), e))?;
    Ok(admin.with_dbname(name))
}
