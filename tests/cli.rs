//! The binary's contract: exit codes, JSON on stdout, files it writes, errors it prints.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use common::{bin, TestDb};

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{text}"))
}

#[test]
fn missing_server_binaries_give_a_clear_error_and_exit_5() {
    let empty = tempfile::tempdir().unwrap();
    let dump = empty.path().join("x.dump");
    let pg_bin = empty.path().to_str().unwrap();
    let out = run(&[
        "fixture",
        "--out",
        dump.to_str().unwrap(),
        "--pg-bin",
        pg_bin,
    ]);
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("initdb, postgres"), "{err}");
    assert!(err.contains("apt-get install -y postgresql"), "{err}");
    assert!(err.contains(pg_bin), "{err}");
    assert!(!dump.exists());

    let out = run(&[
        "fixture",
        "--out",
        dump.to_str().unwrap(),
        "--pg-bin",
        pg_bin,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(5));
    let v = json_of(&out);
    assert_eq!(v["verdict"], "error");
    assert_eq!(v["exit_code"], 5);
    assert_eq!(v["problems"][0]["kind"], "environment");

    // The same through PG_BIN.
    let out = Command::new(bin())
        .args(["fixture", "--out", dump.to_str().unwrap()])
        .env("PG_BIN", pg_bin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        run(&["fixture"]).status.code(),
        Some(2),
        "needs --out or --into"
    );
    assert_eq!(
        run(&["fixture", "--out", "a", "--into", "b"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(
        run(&["fixture", "--scale", "0", "--out", "a"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn running_as_root_without_the_unprivileged_user_is_explained() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root, and this test must run there"
        );
        eprintln!("SKIPPED: only meaningful as root");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dump = d.path().join("x.dump");
    let out = run(&[
        "fixture",
        "--out",
        dump.to_str().unwrap(),
        "--pg-user",
        "no_such_user_kr",
    ]);
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no_such_user_kr") && err.contains("--pg-user"),
        "{err}"
    );
}

#[test]
fn fixture_out_writes_a_private_restorable_custom_dump() {
    let d = tempfile::tempdir().unwrap();
    let dump = d.path().join("kong28.dump");
    let out = run(&[
        "fixture",
        "--scale",
        "2",
        "--seed",
        "9",
        "--out",
        dump.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["fixture"]["scale"], 2);
    assert!(v["fixture"]["rows_loaded"].as_u64().unwrap() > 1000);

    let mode = std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "dump must be private: {mode:o}");
    let head = std::fs::read(&dump).unwrap();
    assert_eq!(&head[..5], b"PGDMP", "custom-format magic");
    // pg_restore can read the table of contents, and it lists Kong's tables.
    let pg_restore = kong_rehearse::throwaway::binaries::find_client(None, "pg_restore").unwrap();
    let list = Command::new(pg_restore.tool("pg_restore"))
        .arg("--list")
        .arg(&dump)
        .output()
        .unwrap();
    assert!(list.status.success());
    let toc = String::from_utf8_lossy(&list.stdout);
    for t in [
        "schema_meta",
        "routes",
        "vaults_beta",
        "ratelimiting_metrics",
    ] {
        assert!(
            toc.contains(&format!("TABLE DATA public {t} ")),
            "{t} missing from the dump"
        );
    }
    assert!(!d.path().join("kong28.dump.partial").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_into_fills_an_empty_database_and_refuses_a_non_empty_one() {
    let db = TestDb::local().await;
    let admin = db.tw().admin().unwrap().clone();
    admin
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE DATABASE empty")
        .await
        .unwrap();
    let empty = admin.with_dbname("empty");
    let url = format!(
        "host={} port={} user={} dbname=empty",
        match &empty.endpoint {
            kong_rehearse::pg::conn::Endpoint::Socket(p) => p.display().to_string(),
            kong_rehearse::pg::conn::Endpoint::Tcp(h) => h.clone(),
        },
        empty.port,
        empty.user
    );
    let out = run(&["fixture", "--into", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = empty.connect().await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM schema_meta", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
    let before = kong_rehearse::pg::fingerprint::fingerprints(&c)
        .await
        .unwrap();

    // A second run must not touch what is there now.
    let out = run(&["fixture", "--into", &url]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not empty") && err.contains("createdb"),
        "{err}"
    );
    let after = kong_rehearse::pg::fingerprint::fingerprints(&c)
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "a refused --into leaves the database as it was"
    );
}
