//! Errors that do not lie: a report that could not be written is not a pass, `--keep` on a
//! server names every database it leaves, an interrupted `fixture --into` does not claim
//! the user's database was untouched, and a manifest's `catalog_sha256` is checked.

mod common;

use std::process::{Command, Stdio};

use common::{bin, conninfo, fixture_db, run_json, snapshot_of, TestDb};

#[test]
fn a_report_that_cannot_be_written_is_an_environment_error_not_a_pass() {
    let conf = common::repo_file("tests/fixtures/kong-conf/kong-3.4-clean.conf");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(bin())
        .args(["lint-conf", conf.to_str().unwrap()])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the report"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_on_a_server_target_names_every_database_it_leaves() {
    // A local throwaway plays the user's server.
    let server = TestDb::start(kong_rehearse::throwaway::Backend::Local { tcp: false }).await;
    let admin = server.tw().target().with_dbname("postgres");
    let dump_dir = tempfile::tempdir().unwrap();
    let dump = dump_dir.path().join("k.dump");
    let st = Command::new(bin())
        .args(["fixture", "--scale", "1", "--out", dump.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let (code, v) = run_json(&[
        "run",
        "--dump",
        dump.to_str().unwrap(),
        "--target",
        &conninfo(&admin),
        "--keep",
    ]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let kept = v["kept"].as_str().unwrap().to_string();
    let c = admin.connect().await.unwrap();
    let left: Vec<String> = c
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'kong_rehearse_%' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left.len(), 3, "work database and two references: {left:?}");
    for name in &left {
        assert!(kept.contains(name.as_str()), "{name} not named in: {kept}");
        c.batch_execute(&format!("DROP DATABASE \"{name}\""))
            .await
            .unwrap();
    }
    assert!(kept.contains("DROP DATABASE"), "{kept}");

    // Without --keep nothing is left.
    let (code, _) = run_json(&[
        "run",
        "--dump",
        dump.to_str().unwrap(),
        "--target",
        &conninfo(&admin),
    ]);
    assert_eq!(code, 0);
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'kong_rehearse_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_fixture_into_does_not_claim_the_database_was_untouched() {
    let db = TestDb::local().await;
    let child = Command::new(bin())
        .args([
            "fixture",
            "--scale",
            "400",
            "--into",
            &conninfo(db.tw().target()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough to be writing rows, far shorter than the whole build.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(!err.contains("was not modified"), "{err}");
    assert!(err.contains("may hold a partial result"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_backup_checks_the_manifests_catalog_sha256() {
    let db = fixture_db().await;
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("snap");
    snapshot_of(&db, &snap);
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);

    // A catalog edited in the manifest no longer matches its sha256.
    let path = snap.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["catalog"]["tables"]
        .as_object_mut()
        .unwrap()
        .remove("ttls")
        .unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "file_changed"
                && p["message"].as_str().unwrap().contains("catalog_sha256")),
        "{:#}",
        v["problems"]
    );
}

#[test]
fn report_files_are_private_even_when_they_existed() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("report.json");
    let junit = d.path().join("report.xml");
    std::fs::write(&json, "old").unwrap();
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _) = run_json(&[
        "demo",
        "--scale",
        "1",
        "--report-json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    for p in [&json, &junit] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    assert!(std::fs::read_to_string(&json)
        .unwrap()
        .contains("\"verdict\""));
}
