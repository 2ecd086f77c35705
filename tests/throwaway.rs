//! The throwaway module against real PostgreSQL servers: start, stop, cleanup on every path.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, process_alive, TestDb};
use kong_rehearse::pg::conn::ConnSpec;
use kong_rehearse::throwaway::{Backend, Options, Throwaway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_server_starts_answers_and_is_removed_on_drop() {
    let db = TestDb::local().await;
    let (dir, pid) = db
        .tw()
        .local_server()
        .map(|(d, p)| (d.to_path_buf(), p))
        .unwrap();
    assert!(dir.is_dir() && process_alive(pid));

    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().mode() & 0o777,
        0o700,
        "private temp dir"
    );
    if nix::unistd::geteuid().is_root() {
        // initdb/postgres refuse root: the server must run as the unprivileged user.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            !uid_line.split_whitespace().nth(1).unwrap().eq("0"),
            "{uid_line}"
        );
    }

    let client = db.client().await;
    let row = client
        .query_one("SELECT current_database(), current_setting('fsync'), current_setting('listen_addresses')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "kong");
    assert_eq!(row.get::<_, String>(1), "off");
    assert_eq!(row.get::<_, String>(2), "", "socket only, no TCP listener");
    drop(client);

    drop(db);
    assert!(!dir.exists(), "temp dir removed");
    assert!(!process_alive(pid), "postmaster stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_tcp_listens_on_loopback_with_a_password() {
    let db = TestDb::start(Backend::Local { tcp: true }).await;
    let t = db.tw().target().clone();
    assert!(t.password.is_some());
    assert!(!t.to_string().contains(t.password.as_deref().unwrap()));
    let client = db.client().await;
    let addr: String = client
        .query_one("SELECT host(inet_server_addr())", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(addr, "127.0.0.1");
    // Without the password the server refuses.
    let mut nopw = t.clone();
    nopw.password = None;
    assert!(nopw.connect().await.is_err());
}

#[test]
fn a_panic_still_stops_the_server_and_removes_the_dir() {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let tw = Throwaway::start(&Options::default()).await.unwrap();
            let (dir, pid) = tw
                .local_server()
                .map(|(d, p)| (d.to_path_buf(), p))
                .unwrap();
            tx.send((dir, pid)).unwrap();
            panic!("deliberate panic with a live throwaway");
        });
    });
    assert!(handle.join().is_err(), "the thread panicked");
    let (dir, pid) = rx.recv().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!process_alive(pid), "postmaster {pid} still running");
}

#[test]
fn sigint_to_the_running_binary_cleans_up() {
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["fixture", "--scale", "400", "--out"])
        .arg(out.path().join("big.dump"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut dir = None;
    let mut pid = None;
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        // "throwaway ready in N ms: local PostgreSQL 15.x in /tmp/kong-rehearse-XXXX (pid N)"
        if let Some(rest) = line.split(" in /").nth(1) {
            let path = format!("/{}", rest.split(' ').next().unwrap());
            dir = Some(std::path::PathBuf::from(path));
            pid = line
                .rsplit("(pid ")
                .next()
                .and_then(|s| s.trim_end_matches(')').parse::<i32>().ok());
        }
        if line.contains("building Kong") {
            break;
        }
    }
    // Keep draining stderr so the binary never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.for_each(drop));
    let (dir, pid) = (dir.expect("dir line"), pid.expect("pid"));
    assert!(dir.exists() && process_alive(pid));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(status.code(), Some(130), "exit 128+SIGINT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!process_alive(pid), "postmaster {pid} survived SIGINT");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        !out.path().join("big.dump").exists(),
        "no partial dump under the final name"
    );
    assert!(
        !out.path().join("big.dump.partial").exists(),
        "partial dump removed"
    );
}

/// The server backend: a uniquely named scratch database on an existing server, dropped at
/// the end. `KONG_REHEARSE_TEST_SERVER_URL` names that server; by default a local
/// throwaway (on TCP, with a password) plays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_database_is_created_and_dropped_on_an_existing_server() {
    let host_db;
    let admin = match std::env::var("KONG_REHEARSE_TEST_SERVER_URL") {
        Ok(url) => ConnSpec::parse(&url).unwrap(),
        Err(_) => {
            host_db = TestDb::start(Backend::Local { tcp: true }).await;
            host_db.tw().admin().unwrap().clone()
        }
    };
    let opts = Options {
        backend: Backend::Server {
            admin: admin.clone(),
        },
        ..Options::default()
    };
    let tw = Throwaway::start(&opts).await.unwrap();
    let name = tw.target().dbname.clone();
    assert!(name.starts_with("kong_rehearse_"), "{name}");
    let tw2 = Throwaway::start(&opts).await.unwrap();
    assert_ne!(tw2.target().dbname, name, "names are unique");

    let exists = |c: tokio_postgres::Client, n: String| async move {
        c.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&n])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    // An open session on the scratch database must not keep it from being dropped.
    let inside = tw.target().connect().await.unwrap();
    inside.batch_execute("CREATE TABLE t(x int)").await.unwrap();
    assert_eq!(
        exists(admin.connect().await.unwrap(), name.clone()).await,
        1
    );
    drop(tw);
    drop(tw2);
    assert_eq!(
        exists(admin.connect().await.unwrap(), name).await,
        0,
        "dropped"
    );
}

/// Needs a Docker engine and `--features docker`: `cargo test --features docker -- --ignored`.
#[test]
#[ignore = "needs a Docker engine and --features docker; none on the CI machine"]
fn docker_backend_starts_a_postgres_container() {
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(engine, "no Docker engine answers `docker info`");
    if !cfg!(feature = "docker") {
        panic!("built without `--features docker`");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = TestDb::start(Backend::Docker {
            image: "postgres:15".into(),
        })
        .await;
        let v: String = db
            .client()
            .await
            .query_one("SHOW server_version", &[])
            .await
            .unwrap()
            .get(0);
        assert!(v.starts_with("15"), "{v}");
    });
}
