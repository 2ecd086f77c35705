//! Shared test setup. Every test starts its own throwaway PostgreSQL through the same
//! `throwaway` module the tool uses; nothing is mocked.
//!
//! Environment:
//! - `KONG_REHEARSE_TEST_SERVER_URL`: an existing server for the server-backend tests
//!   (default: a local throwaway started for the test plays that server).
//! - `KONG_REHEARSE_KEEP_TEST_DB=1`: when a test fails, keep its database running and print
//!   how to connect, for a post-mortem.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kong_rehearse::throwaway::{Backend, Options, Throwaway};

pub struct TestDb {
    tw: Option<Throwaway>,
}

impl TestDb {
    pub async fn local() -> Self {
        Self::start(Backend::Local { tcp: false }).await
    }

    pub async fn start(backend: Backend) -> Self {
        let opts = Options {
            backend,
            ..Options::default()
        };
        let tw = Throwaway::start(&opts)
            .await
            .unwrap_or_else(|e| panic!("cannot start a throwaway PostgreSQL: {e}"));
        TestDb { tw: Some(tw) }
    }

    pub fn tw(&self) -> &Throwaway {
        self.tw.as_ref().unwrap()
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        self.tw().target().connect().await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("KONG_REHEARSE_KEEP_TEST_DB").is_some() {
            if let Some(tw) = self.tw.take() {
                eprintln!("KONG_REHEARSE_KEEP_TEST_DB: {}", tw.keep());
            }
        }
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kong-rehearse"))
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn process_alive(pid: i32) -> bool {
    // A zombie still answers kill(0); /proc tells whether it really runs.
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(s) => !s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("Z")),
        Err(_) => false,
    }
}

/// A key=value conninfo for the binary's `--db` (no password: local throwaways use trust).
pub fn conninfo(spec: &kong_rehearse::pg::conn::ConnSpec) -> String {
    let host = match &spec.endpoint {
        kong_rehearse::pg::conn::Endpoint::Socket(p) => p.display().to_string(),
        kong_rehearse::pg::conn::Endpoint::Tcp(h) => h.clone(),
    };
    format!(
        "host={host} port={} user={} dbname={}",
        spec.port, spec.user, spec.dbname
    )
}

/// A throwaway holding a fresh Kong 2.8.5 fixture (scale 1).
pub async fn fixture_db() -> TestDb {
    let db = TestDb::local().await;
    let client = db.client().await;
    kong_rehearse::fixture::build(&client, kong_rehearse::fixture::Spec { scale: 1, seed: 1 })
        .await
        .unwrap();
    db
}

/// Runs the binary with `--format json` and returns its exit code and the one JSON object it
/// printed on stdout (panicking, with stderr, if stdout is anything else).
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = std::process::Command::new(bin())
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// The `kind` of every problem of a JSON report, in order.
pub fn kinds(v: &serde_json::Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

/// `kong-rehearse snapshot` of `db`'s working database into `out`, which must succeed.
pub fn snapshot_of(db: &TestDb, out: &Path) {
    let (code, v) = run_json(&[
        "snapshot",
        "--source",
        &conninfo(db.tw().target()),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v:#}");
}
