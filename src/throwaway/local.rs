//! The embedded backend: a private PostgreSQL cluster in a temp dir, tuned for speed over
//! durability because nothing in it must survive a crash.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{Pid, User};
use rand::RngCore;

use super::binaries::PgBin;
use super::guard::{self, Undo};
use crate::error::{Error, Result};
use crate::pg::conn::{ConnSpec, Endpoint};

/// The superuser initdb creates; the local backend always connects as it.
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Listen on 127.0.0.1 (a free port, password auth) as well as the private socket.
    pub tcp: bool,
    /// Unprivileged user to run initdb/postgres as when we are root (default `postgres`).
    pub pg_user: Option<String>,
}

pub struct LocalServer {
    pub dir: PathBuf,
    pub pid: i32,
    pub bin: PgBin,
    /// Connects to the `postgres` maintenance database.
    pub admin: ConnSpec,
    pub startup: Duration,
    guard_id: Option<u64>,
}

/// Who runs the server processes: ourselves, or (when root) an unprivileged user.
struct RunAs {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

impl LocalServer {
    pub fn start(bin: PgBin, opts: &LocalOptions) -> Result<Self> {
        let t0 = Instant::now();
        let run_as = run_as(opts.pg_user.as_deref())?;
        let dir = tempfile::Builder::new()
            .prefix("kong-rehearse-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?
            .keep();
        // From here on, any early return must remove the dir: the guard entry does it.
        let mut server = LocalServer {
            dir: dir.clone(),
            pid: 0,
            bin,
            admin: ConnSpec {
                endpoint: Endpoint::Socket(dir.clone()),
                port: 5432,
                user: SUPERUSER.into(),
                password: None,
                dbname: "postgres".into(),
                // libpq's defaults, none of the caller's PG* variables: the server is ours.
                params: Default::default(),
            },
            startup: Duration::ZERO,
            guard_id: Some(guard::register(Undo::LocalServer {
                pid: 0,
                dir: dir.clone(),
            })),
        };
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot set mode 0700 on", &dir, e))?;
        if let Some(r) = &run_as {
            nix::unistd::chown(&dir, Some(r.uid), Some(r.gid)).map_err(|e| {
                Error::io(
                    "cannot hand the temp dir to the server user",
                    &dir,
                    e.into(),
                )
            })?;
        }

        let password = if opts.tcp {
            let mut b = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut b);
            let pw: String = b.iter().map(|x| format!("{x:02x}")).collect();
            write_private(&dir.join("pwfile"), pw.as_bytes(), run_as.as_ref())?;
            Some(pw)
        } else {
            None
        };

        server.initdb(run_as.as_ref(), opts.tcp)?;
        if opts.tcp {
            let _ = std::fs::remove_file(dir.join("pwfile"));
            server.admin.endpoint = Endpoint::Tcp("127.0.0.1".into());
            server.admin.port = free_port()?;
            server.admin.password = password;
        }
        server.launch(run_as.as_ref(), opts.tcp)?;
        server.wait_ready()?;
        server.startup = t0.elapsed();
        Ok(server)
    }

    fn command(&self, tool: &str, run_as: Option<&RunAs>, log: &str) -> Result<Command> {
        let log_path = self.dir.join(log);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&log_path)
            .map_err(|e| Error::io("cannot create", &log_path, e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Error::io("cannot reopen", &log_path, e))?;
        let mut cmd = Command::new(self.bin.tool(tool));
        cmd.current_dir(&self.dir)
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if let Some(r) = run_as {
            if let Err(e) = nix::unistd::chown(&log_path, Some(r.uid), Some(r.gid)) {
                return Err(Error::io("cannot chown", &log_path, e.into()));
            }
            cmd.uid(r.uid.as_raw()).gid(r.gid.as_raw());
        }
        Ok(cmd)
    }

    fn initdb(&self, run_as: Option<&RunAs>, tcp: bool) -> Result<()> {
        let mut cmd = self.command("initdb", run_as, "initdb.log")?;
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"])
            .arg("--auth-local=trust");
        if tcp {
            let method = if self.bin.major >= 10 {
                "scram-sha-256"
            } else {
                "md5"
            };
            cmd.arg(format!("--auth-host={method}"))
                .arg(format!("--pwfile={}", self.dir.join("pwfile").display()));
        } else {
            cmd.arg("--auth-host=reject");
        }
        if self.bin.major >= 13 {
            cmd.arg("--no-instructions");
        }
        let status = cmd.status().map_err(|e| Error::ThrowawayStart {
            step: "initdb",
            detail: format!("cannot run {}: {e}", self.bin.tool("initdb").display()),
            log: String::new(),
        })?;
        if !status.success() {
            return Err(Error::ThrowawayStart {
                step: "initdb",
                detail: format!("exit status {status}"),
                log: read_tail(&self.dir.join("initdb.log")),
            });
        }
        Ok(())
    }

    fn launch(&mut self, run_as: Option<&RunAs>, tcp: bool) -> Result<()> {
        let mut cmd = self.command("postgres", run_as, "postgres.log")?;
        cmd.arg("-D").arg(self.dir.join("data"));
        let listen = if tcp { "127.0.0.1" } else { "" };
        let mut settings: Vec<(&str, String)> = vec![
            ("listen_addresses", listen.into()),
            ("port", self.admin.port.to_string()),
            ("unix_socket_directories", self.dir.display().to_string()),
            ("unix_socket_permissions", "0700".into()),
            // Durability buys nothing here: the cluster is deleted at the end anyway.
            ("fsync", "off".into()),
            ("synchronous_commit", "off".into()),
            ("full_page_writes", "off".into()),
            ("wal_level", "minimal".into()),
            ("max_wal_senders", "0".into()),
            ("max_wal_size", "4GB".into()),
            ("checkpoint_timeout", "30min".into()),
            // Loads and migrations measure what they change; autovacuum would only add noise.
            ("autovacuum", "off".into()),
            ("shared_buffers", "256MB".into()),
            ("maintenance_work_mem", "256MB".into()),
            ("work_mem", "16MB".into()),
            ("max_connections", "50".into()),
            ("log_min_messages", "warning".into()),
            ("timezone", "UTC".into()),
        ];
        if self.bin.major < 10 {
            settings.retain(|(k, _)| *k != "max_wal_size" || self.bin.major >= 10);
        }
        for (k, v) in &settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        // Own process group: a Ctrl-C in the terminal reaches us, not the server, so the
        // server is stopped by our cleanup in order rather than racing it.
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|e| Error::ThrowawayStart {
            step: "postgres",
            detail: format!("cannot run {}: {e}", self.bin.tool("postgres").display()),
            log: String::new(),
        })?;
        self.pid = child.id() as i32;
        // Reaped by pid in guard::stop_postmaster; the handle itself is not needed.
        drop(child);
        if let Some(id) = self.guard_id.take() {
            guard::take(id);
        }
        self.guard_id = Some(guard::register(Undo::LocalServer {
            pid: self.pid,
            dir: self.dir.clone(),
        }));
        Ok(())
    }

    /// Ready when postmaster.pid's status line says so (PostgreSQL ≥ 10), or, for older
    /// servers, when the socket file shows up.
    fn wait_ready(&self) -> Result<()> {
        let pidfile = self.dir.join("data").join("postmaster.pid");
        let socket = self.dir.join(format!(".s.PGSQL.{}", self.admin.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) =
                waitpid(Pid::from_raw(self.pid), Some(WaitPidFlag::WNOHANG))
            {
                return Err(Error::ThrowawayStart {
                    step: "postgres",
                    detail: "the server exited during startup".into(),
                    log: read_tail(&self.dir.join("postgres.log")),
                });
            }
            let ready = if self.bin.major >= 10 {
                std::fs::read_to_string(&pidfile)
                    .map(|s| s.lines().nth(7).map(str::trim) == Some("ready"))
                    .unwrap_or(false)
            } else {
                socket.exists()
            };
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::ThrowawayStart {
                    step: "postgres",
                    detail: "the server did not become ready within 60 s".into(),
                    log: read_tail(&self.dir.join("postgres.log")),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Leaves the server running past the end of the process and says how to reach it.
    pub fn keep(mut self) -> String {
        if let Some(id) = self.guard_id.take() {
            guard::take(id);
        }
        format!(
            "stop it with: kill -INT {pid} && rm -rf {dir}   (or: {pg_ctl} -D {dir}/data stop{as_user})",
            pid = self.pid,
            dir = self.dir.display(),
            pg_ctl = self.bin.tool("pg_ctl").display(),
            as_user = if nix::unistd::geteuid().is_root() {
                ", run as the server's user"
            } else {
                ""
            }
        )
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(undo) = self.guard_id.take().and_then(guard::take) {
            undo.run();
        }
    }
}

fn run_as(pg_user: Option<&str>) -> Result<Option<RunAs>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let name = pg_user.unwrap_or("postgres");
    match User::from_name(name) {
        Ok(Some(u)) if !u.uid.is_root() => Ok(Some(RunAs {
            uid: u.uid,
            gid: u.gid,
        })),
        _ => Err(Error::NoUnprivilegedUser {
            user: name.to_string(),
        }),
    }
}

fn write_private(path: &Path, data: &[u8], run_as: Option<&RunAs>) -> Result<()> {
    use std::io::Write;
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    f.write_all(data)
        .map_err(|e| Error::io("cannot write", path, e))?;
    if let Some(r) = run_as {
        nix::unistd::chown(path, Some(r.uid), Some(r.gid))
            .map_err(|e| Error::io("cannot chown", path, e.into()))?;
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::io("cannot find a free TCP port on", "127.0.0.1", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("cannot find a free TCP port on", "127.0.0.1", e))
}

fn read_tail(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(30);
    lines[start..].join("\n")
}
