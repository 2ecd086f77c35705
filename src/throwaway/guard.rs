//! Cleanup that also happens on SIGINT/SIGTERM.
//!
//! Drop handles the normal path and panics (unwinding). A signal does not unwind, so every
//! live throwaway also registers what it must undo here; a signal thread runs those undo
//! steps and exits. Whoever takes an entry first (Drop or the signal thread) runs it, so
//! nothing is undone twice.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::pg::conn::ConnSpec;

pub(crate) enum Undo {
    /// Stop a postmaster we started and remove its private directory.
    LocalServer { pid: i32, dir: PathBuf },
    /// Drop a scratch database we created on someone else's server.
    ScratchDatabase { admin: ConnSpec, name: String },
    /// Remove a container we started (Docker backend).
    #[allow(dead_code)]
    Container { id: String },
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static LIVE: Mutex<Vec<(u64, Undo)>> = Mutex::new(Vec::new());
/// Held by the signal thread while it cleans up, so `main` cannot exit under it.
static EXITING: Mutex<()> = Mutex::new(());
static INSTALL: Once = Once::new();

pub(crate) fn register(undo: Undo) -> u64 {
    install_signal_handler();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, undo));
    id
}

/// Removes an entry without running it (the caller runs it, or keeps the resource).
pub(crate) fn take(id: u64) -> Option<Undo> {
    // If a signal is being handled, its thread owns the cleanup and will end the process:
    // wait for that rather than racing it (e.g. exiting while it removes a directory).
    settle();
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let pos = live.iter().position(|(i, _)| *i == id)?;
    Some(live.remove(pos).1)
}

/// Called by `main` before it returns: if a signal is being handled, wait for its cleanup
/// (which ends the process) instead of exiting underneath it.
pub fn settle() {
    drop(EXITING.lock().unwrap_or_else(|e| e.into_inner()));
}

static WRITES_USER_DATABASE: AtomicBool = AtomicBool::new(false);

/// Called by a command that writes into a database the user named (`fixture --into`), so
/// an interrupt does not claim that no database of theirs was touched.
pub fn writes_user_database() {
    WRITES_USER_DATABASE.store(true, Ordering::Relaxed);
    // An interrupt then says what it may have left, even with no throwaway to clean up.
    install_signal_handler();
}

fn install_signal_handler() {
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::Builder::new()
            .name("kong-rehearse-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let _exiting = EXITING.lock().unwrap_or_else(|e| e.into_inner());
                    let all: Vec<Undo> = {
                        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
                        live.drain(..).map(|(_, u)| u).collect()
                    };
                    let n = all.len();
                    for undo in all {
                        undo.run();
                    }
                    // stderr may be closed; a failed write must not stop the exit.
                    let note = if WRITES_USER_DATABASE.load(Ordering::Relaxed) {
                        " The database this command was writing into may hold a partial result."
                    } else {
                        " The source database was not modified."
                    };
                    let _ = writeln!(
                        std::io::stderr(),
                        "kong-rehearse: interrupted by signal {sig}; cleaned up {n} throwaway \
                         resource(s).{note}"
                    );
                    std::process::exit(128 + sig);
                }
            })
            .ok();
    });
}

impl Undo {
    pub(crate) fn run(self) {
        match self {
            Undo::LocalServer { pid, dir } => {
                stop_postmaster(pid);
                let _ = std::fs::remove_dir_all(&dir);
            }
            Undo::ScratchDatabase { admin, name } => {
                if let Err(e) = super::scratch::drop_database_blocking(&admin, &name) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "kong-rehearse: could not drop scratch database {name} on {admin}: {e}; \
                         drop it by hand with `DROP DATABASE \"{name}\"`."
                    );
                }
            }
            Undo::Container { id } => {
                let _ = std::process::Command::new("docker")
                    .args(["rm", "-f", "-v", &id])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. The postmaster is our
/// child, so it is also reaped here; otherwise it would linger as a zombie.
pub(crate) fn stop_postmaster(pid: i32) {
    let pid = Pid::from_raw(pid);
    for (sig, wait_ms) in [
        (Signal::SIGINT, 10_000u64),
        (Signal::SIGQUIT, 3_000),
        (Signal::SIGKILL, 3_000),
    ] {
        if kill(pid, sig).is_err() {
            let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(wait_ms);
        while std::time::Instant::now() < deadline {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                // Exited and reaped, or not our child any more (ECHILD): check it is gone.
                Ok(_) => return,
                Err(_) => {
                    if kill(pid, None).is_err() {
                        return;
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
