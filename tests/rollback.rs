//! The way back: `run --rollback`, `rollback-check`, and the state judge on a database that
//! was rolled back the way the upgrade guide says.

mod common;

use std::path::Path;
use std::process::Command;

use common::{conninfo, fixture_db, run_json, snapshot_of, TestDb};
use kong_rehearse::kong::lts::LtsCatalog;
use kong_rehearse::kong::runner::builtin::Builtin;
use kong_rehearse::report::Progress;

fn pg_tool(db: &TestDb, tool: &str, args: &[&str], file: &Path) {
    let out = Command::new(db.tw().client_tool(tool).unwrap())
        .args(args)
        .arg(file)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    // pg_restore --clean into an upgraded database fails by design; the caller checks state.
    if tool == "pg_dump" {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn upgrade_in_place(db: &TestDb) {
    let cat = LtsCatalog::load().unwrap();
    let runner = Builtin {
        catalog: &cat,
        progress: Progress { quiet: true },
    };
    let c = db.client().await;
    runner.up(&c).await.unwrap();
    runner.finish(&c).await.unwrap();
}

#[test]
fn run_rollback_shows_clean_leaves_3x_behind_and_recommends_recreate() {
    let (code, v) = run_json(&["demo", "--rollback"]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let rb = v["rollback"].as_array().unwrap();
    assert_eq!(rb.len(), 2);
    let clean = &rb[0];
    assert_eq!(clean["method"], "clean");
    assert_eq!(clean["exact"], false);
    assert!(clean["restore_errors"].as_u64().unwrap() > 10, "{clean:#}");
    let diffs = clean["differences"].to_string();
    for left in [
        "table sm_vaults",
        "table filter_chains",
        "table key_sets",
        "table keys",
        "routes.expression",
        "table routes holds different contents",
    ] {
        assert!(diffs.contains(left), "{left} not named: {diffs}");
    }
    assert!(clean["explanation"]
        .as_str()
        .unwrap()
        .contains("DROP SCHEMA"));
    let recreate = &rb[1];
    assert_eq!(recreate["method"], "recreate");
    assert_eq!(recreate["exact"], true, "{recreate:#}");
    assert!(v["rollback_recommendation"]
        .as_str()
        .unwrap()
        .contains("recreate"));
}

#[test]
fn only_a_failing_way_back_fails_the_run() {
    let (code, v) = run_json(&["demo", "--rollback", "clean"]);
    assert_eq!(code, 1);
    assert!(v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "partial"
            && p["message"]
                .as_str()
                .unwrap()
                .contains("no rehearsed way back")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_rolled_back_with_clean_is_refused_and_its_leftovers_named() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("pre-upgrade.dump");
    pg_tool(&db, "pg_dump", &["--format=custom", "-f"], &dump);
    upgrade_in_place(&db).await;
    pg_tool(
        &db,
        "pg_restore",
        &["--no-owner", "--clean", "--dbname=kong"],
        &dump,
    );
    let url = conninfo(db.tw().target());

    for cmd in ["status", "rollback-check"] {
        let (code, v) = run_json(&[cmd, "--db", &url]);
        assert_eq!(code, 3, "{cmd}: {v:#}");
        let msg = v["problems"][0]["message"].as_str().unwrap();
        for left in [
            "table sm_vaults",
            "table filter_chains",
            "table key_sets",
            "table keys",
            "column routes.expression",
            "column routes.priority",
        ] {
            assert!(msg.contains(left), "{cmd}: {left} not named: {msg}");
        }
        assert!(msg.contains("vault") && msg.contains("~~"), "{msg}");
    }
    let (_, v) = run_json(&["rollback-check", "--db", &url]);
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"]
                .as_str()
                .unwrap()
                .contains("has the 3.x path `~/")),
        "{:#}",
        v["problems"]
    );

    // A second forward rehearsal is refused before anything runs.
    let (code, v) = run_json(&["run", "--source", &url]);
    assert_eq!(code, 3, "{:#}", v["problems"]);
    assert!(v["migrations"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_rolled_back_by_recreating_matches_its_pre_upgrade_manifest() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let url = conninfo(db.tw().target());
    snapshot_of(&db, &snap);
    upgrade_in_place(&db).await;
    let manifest = snap.join("manifest.json");
    let (code, v) = run_json(&[
        "rollback-check",
        "--db",
        &url,
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "an upgraded database is no rollback: {v:#}");

    db.client()
        .await
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .unwrap();
    pg_tool(
        &db,
        "pg_restore",
        &["--no-owner", "--exit-on-error", "--dbname=kong"],
        &snap.join("dump"),
    );
    let rollback_check = || {
        run_json(&[
            "rollback-check",
            "--db",
            &url,
            "--manifest",
            manifest.to_str().unwrap(),
        ])
    };
    // `CREATE SCHEMA public` does not give PUBLIC back the USAGE PostgreSQL 15 starts
    // `public` with, and pg_dump does not write it: the rows are back, the grant is not.
    let (code, v) = rollback_check();
    assert_eq!(code, 3, "{v:#}");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"]
                .as_str()
                .unwrap()
                .contains("grant SCHEMA to PUBLIC removed")),
        "{:#}",
        v["problems"]
    );
    db.client()
        .await
        .batch_execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        .await
        .unwrap();
    let (code, v) = rollback_check();
    assert_eq!(code, 0, "{:#}", v["problems"]);
}
