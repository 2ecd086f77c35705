//! `snapshot` and `verify-backup` on real servers: a snapshot under concurrent writes is
//! exact, and every way a backup can be broken is named as such.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{bin, conninfo, fixture_db, kinds, run_json, snapshot_of, TestDb};
use serde_json::Value;

fn custom_dump(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("k.dump");
    let out = Command::new(bin())
        .args(["fixture", "--scale", "1", "--out", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_under_concurrent_writes_matches_its_restore_exactly() {
    let db = fixture_db().await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let c = db.client().await;
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                c.batch_execute(
                    "INSERT INTO cluster_events (id, node_id, at, expire_at, channel, data)
                       VALUES (gen_random_uuid(), gen_random_uuid(), now(), now() + interval '1 day', 'invalidations', 'x');
                     DELETE FROM sessions WHERE id = (SELECT id FROM sessions ORDER BY id LIMIT 1);",
                )
                .await
                .unwrap();
                n += 1;
            }
            n
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    snapshot_of(&db, &snap);
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(writes > 5, "the writer really ran concurrently ({writes})");

    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["compared_with"], "manifest");
    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 30);
    assert!(tables.iter().all(|t| t["ok"] == true));
    assert!(v["restore_rows_per_s"].as_f64().unwrap() > 0.0);

    // The source moved on after the snapshot: comparing with it now shows exactly that.
    let (code, v) = run_json(&[
        "verify-backup",
        snap.to_str().unwrap(),
        "--against",
        &conninfo(db.tw().target()),
    ]);
    assert_eq!(code, 1);
    let k = kinds(&v);
    assert!(k.contains(&"count_mismatch".to_string()), "{k:?}");

    // And the snapshot rehearses, with the manifest as the "before" side.
    let (code, v) = run_json(&["run", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_a_snapshot_writes_is_private() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    snapshot_of(&db, &snap);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&snap), 0o700);
    assert_eq!(mode(&snap.join("dump")), 0o700);
    assert_eq!(mode(&snap.join("manifest.json")), 0o600);
    let mut n = 0;
    for e in std::fs::read_dir(snap.join("dump")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        n += 1;
    }
    assert!(n > 10, "one file per table plus toc.dat");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["kong_state"]["eligible"], true);
    assert_eq!(m["files"].as_array().unwrap().len(), n);
    // A second snapshot into the same directory is refused rather than overwriting.
    let (code, _) = run_json(&[
        "snapshot",
        "--source",
        &conninfo(db.tw().target()),
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_and_a_missing_file_are_found_by_the_manifest() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    snapshot_of(&db, &snap);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("manifest.json")).unwrap())
            .unwrap();
    let data_file = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with(".dat.gz"))
        .max_by_key(|f| f["bytes"].as_u64().unwrap())
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let p = snap.join(&data_file);
    let mut bytes = std::fs::read(&p).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&p, bytes).unwrap();
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 1);
    let p0 = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "file_changed")
        .expect("file_changed");
    assert_eq!(p0["object"], data_file.as_str());

    let victim = m["files"][0]["path"].as_str().unwrap().to_string();
    std::fs::remove_file(snap.join(&victim)).unwrap();
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "file_missing" && p["object"] == victim.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_changed_in_the_source_is_found_with_against() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    snapshot_of(&db, &snap);
    db.client()
        .await
        .batch_execute("UPDATE services SET host = 'moved.example' WHERE name = 'svc-0'")
        .await
        .unwrap();
    let (code, v) = run_json(&[
        "verify-backup",
        snap.to_str().unwrap(),
        "--against",
        &conninfo(db.tw().target()),
    ]);
    assert_eq!(code, 1);
    let p = &v["problems"][0];
    assert_eq!(p["kind"], "content_mismatch");
    assert_eq!(p["object"], "table services");
}

#[test]
fn truncated_corrupt_empty_and_foreign_files_get_distinct_answers() {
    let dir = tempfile::tempdir().unwrap();
    let good = custom_dump(dir.path());
    let data = std::fs::read(&good).unwrap();

    let trunc = dir.path().join("trunc.dump");
    std::fs::write(&trunc, &data[..data.len() / 2]).unwrap();
    let (code, v) = run_json(&["verify-backup", trunc.to_str().unwrap()]);
    assert_eq!(
        (code, kinds(&v)),
        (1, vec!["truncated".to_string()]),
        "{v:#}"
    );

    let flip = dir.path().join("flip.dump");
    let mut d = data.clone();
    let i = d.len() * 2 / 3;
    d[i] ^= 0xff;
    std::fs::write(&flip, &d).unwrap();
    let (code, v) = run_json(&["verify-backup", flip.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        matches!(kinds(&v)[0].as_str(), "corrupt" | "restore_failed"),
        "{v:#}"
    );

    let empty = dir.path().join("empty.dump");
    std::fs::write(&empty, b"").unwrap();
    let (code, v) = run_json(&["verify-backup", empty.to_str().unwrap()]);
    assert_eq!((code, kinds(&v)), (1, vec!["empty_file".to_string()]));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"not a dump at all\n").unwrap();
    let (code, v) = run_json(&["verify-backup", text.to_str().unwrap()]);
    assert_eq!((code, kinds(&v)), (1, vec!["not_a_dump".to_string()]));

    let (code, v) = run_json(&["verify-backup", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_sql_dump_restores_and_a_non_kong_dump_is_named() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("kong.sql");
    let pg_dump = db.tw().client_tool("pg_dump").unwrap();
    let out = Command::new(&pg_dump)
        .args(["--format=plain", "--no-owner", "-f"])
        .arg(&plain)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, v) = run_json(&["verify-backup", plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["input"], "plain_sql");
    assert_eq!(v["kong_eligible"], true);

    let other = TestDb::local().await;
    other.client().await.batch_execute("CREATE TABLE invoices (id int PRIMARY KEY, total numeric); INSERT INTO invoices VALUES (1, 9.5)").await.unwrap();
    let foreign = dir.path().join("other.dump");
    let out = Command::new(&pg_dump)
        .args(["--format=custom", "-f"])
        .arg(&foreign)
        .envs(other.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, v) = run_json(&["verify-backup", foreign.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&v), ["not_kong"]);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("invoices"));
}
