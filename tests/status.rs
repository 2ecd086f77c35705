//! `status` and `plan` on real databases: one test per verdict class, each built from a
//! Kong 2.8.5 fixture by editing schema_meta and/or the schema.

mod common;

use std::process::Command;

use common::{bin, conninfo, fixture_db, TestDb};
use serde_json::Value;

struct Run {
    code: i32,
    json: Value,
}

fn status(db: &TestDb, extra: &[&str]) -> Run {
    run_cmd("status", db, extra)
}

fn run_cmd(cmd: &str, db: &TestDb, extra: &[&str]) -> Run {
    let out = Command::new(bin())
        .args([cmd, "--format", "json", "--db", &conninfo(db.tw().target())])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        code: out.status.code().unwrap(),
        json,
    }
}

async fn edit(db: &TestDb, sql: &str) {
    db.client().await.batch_execute(sql).await.unwrap();
}

/// Asserts the run is not eligible (exit 3) and that a problem of `kind` names
/// `subsystem`/`migration` and says `words`.
fn assert_problem(r: &Run, kind: &str, subsystem: &str, migration: Option<&str>, words: &[&str]) {
    assert_eq!(r.code, 3, "{:#}", r.json);
    assert_eq!(r.json["verdict"], "fail");
    assert_eq!(r.json["eligible"], false);
    let problems = r.json["problems"].as_array().unwrap();
    let p = problems
        .iter()
        .find(|p| {
            p["kind"] == kind
                && p["subsystem"] == subsystem
                && migration.is_none_or(|m| p["migration"] == m)
        })
        .unwrap_or_else(|| {
            panic!("no {kind} problem for {subsystem}/{migration:?} in {problems:#?}")
        });
    let msg = p["message"].as_str().unwrap();
    for w in words {
        assert!(msg.contains(w), "message lacks {w:?}: {msg}");
    }
    assert!(
        !p["fix"].as_str().unwrap_or("").is_empty(),
        "every problem carries a fix"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_285_fixture_is_eligible() {
    let db = fixture_db().await;
    let r = status(&db, &[]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert_eq!(r.json["verdict"], "pass");
    assert_eq!(r.json["eligible"], true);
    assert_eq!(r.json["problems"].as_array().unwrap().len(), 0);
    let subs = r.json["subsystems"].as_array().unwrap();
    assert_eq!(subs.len(), 16, "13 subsystems of 2.8.5 + 3 new in 3.x");
    let core = subs.iter().find(|s| s["subsystem"] == "core").unwrap();
    assert_eq!(core["new"].as_array().unwrap().len(), 5);
    assert_eq!(core["executed"].as_array().unwrap().len(), 14);
}

/// Order inside `executed` is never a problem by itself: Kong's `finish` appends each
/// teardown's name when it completes, and `State.load` only asks whether a name is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_entries_are_not_a_problem() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = executed[1:3] || executed[5:5] || executed[4:4] || executed[6:] WHERE subsystem = 'core'").await;
    let r = status(&db, &[]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert_eq!(r.json["problems"].as_array().unwrap().len(), 0);
}

/// `last_executed` naming a migration that is not recorded: Kong 3.4.2 classifies it as
/// missing and never runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_last_executed_is_out_of_order() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = array_remove(executed, '015_270_to_280') WHERE subsystem = 'core'").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "out_of_order",
        "core",
        Some("015_270_to_280"),
        &["last_executed", "missing"],
    );
    let core = r.json["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subsystem"] == "core")
        .unwrap();
    assert_eq!(core["missing"][0], "015_270_to_280");
}

/// Names of Kong 1.x that 2.x no longer lists are history, not unknown migrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_from_earlier_releases_are_history() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = executed[1:1] || ARRAY['001_14_to_15', '002_15_to_1'] || executed[2:] WHERE subsystem = 'core'").await;
    let r = status(&db, &[]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    let core = r.json["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subsystem"] == "core")
        .unwrap();
    assert_eq!(core["history"][0]["migration"], "001_14_to_15");
    assert_eq!(core["history"][0]["releases"], "1.0.0 … 1.5.1");
    assert_eq!(core["history"][1]["migration"], "002_15_to_1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_middle_entry_is_a_gap() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = array_remove(executed, '009_200_to_210') WHERE subsystem = 'core'").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "out_of_order",
        "core",
        Some("009_200_to_210"),
        &["gap", "015_270_to_280"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_30_migration_is_partial() {
    let db = fixture_db().await;
    edit(
        &db,
        "UPDATE schema_meta SET pending = ARRAY['016_280_to_300'] WHERE subsystem = 'core'",
    )
    .await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "partial",
        "core",
        Some("016_280_to_300"),
        &["pending", "finish"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_016_without_its_columns_is_partial() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = array_append(executed, '016_280_to_300'), last_executed = '016_280_to_300' WHERE subsystem = 'core'").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "partial",
        "core",
        Some("016_280_to_300"),
        &["recorded as executed", "column targets.cache_key"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_of_016_without_the_record_are_partial() {
    let db = fixture_db().await;
    edit(&db, "ALTER TABLE targets ADD COLUMN cache_key TEXT UNIQUE; ALTER TABLE routes ADD COLUMN expression TEXT, ADD COLUMN priority BIGINT;").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "partial",
        "core",
        Some("016_280_to_300"),
        &["not recorded", "column routes.expression"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_26_era_database_is_not_an_lts_source() {
    let db = fixture_db().await;
    edit(&db, "UPDATE schema_meta SET executed = array_remove(executed, '015_270_to_280'), last_executed = '014_230_to_270' WHERE subsystem = 'core'; DROP TABLE vaults_beta;").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "not_lts_source",
        "core",
        Some("015_270_to_280"),
        &["ends at `014_230_to_270`", "older than Kong 2.8"],
    );
    let fix = r.json["problems"][0]["fix"].as_str().unwrap();
    assert!(fix.contains("Upgrade to Kong 2.8.x first"), "{fix}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_plugin_is_unknown_unless_allowed() {
    let db = fixture_db().await;
    edit(&db, "INSERT INTO schema_meta VALUES ('schema_meta', 'my-custom-plugin', '000_base_my_custom_plugin', ARRAY['000_base_my_custom_plugin'], NULL)").await;
    let r = status(&db, &[]);
    assert_problem(
        &r,
        "unknown_migration",
        "my-custom-plugin",
        None,
        &["my-custom-plugin", "000_base_my_custom_plugin"],
    );
    let r = status(&db, &["--allow-unknown", "my-custom-plugin"]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert!(r.json["warnings"][0]
        .as_str()
        .unwrap()
        .contains("my-custom-plugin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_database_is_named_as_such() {
    let db = fixture_db().await;
    edit(&db, "INSERT INTO schema_meta VALUES ('schema_meta', 'enterprise', '013_2700_to_2800', ARRAY['000_base', '013_2700_to_2800'], NULL)").await;
    let r = status(&db, &[]);
    assert_eq!(r.code, 3);
    let p = &r.json["problems"][0];
    assert_eq!(p["kind"], "enterprise");
    assert!(p["message"].as_str().unwrap().contains("Kong Enterprise"));
    assert!(p["fix"]
        .as_str()
        .unwrap()
        .contains("real Kong Enterprise binary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_database_is_not_kong() {
    let db = TestDb::local().await;
    let r = status(&db, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json["problems"][0]["kind"], "not_kong");
    assert!(r.json["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no schema_meta"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kong_schema_other_than_public_is_read_with_schema() {
    let db = fixture_db().await;
    edit(
        &db,
        "ALTER SCHEMA public RENAME TO kong_gw; CREATE SCHEMA public;",
    )
    .await;
    assert_eq!(status(&db, &[]).json["problems"][0]["kind"], "not_kong");
    let r = status(&db, &["--schema", "kong_gw"]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert_eq!(r.json["schema"], "kong_gw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_leaves_the_source_exactly_as_it_was() {
    let db = fixture_db().await;
    let c = db.client().await;
    let fp = kong_rehearse::pg::fingerprint::fingerprints(&c)
        .await
        .unwrap();
    let cat = kong_rehearse::pg::catalog::read(&c, "public")
        .await
        .unwrap();
    let writes_before = writes(&c).await;
    assert_eq!(status(&db, &[]).code, 0);
    assert_eq!(run_cmd("plan", &db, &[]).code, 0);
    assert_eq!(
        kong_rehearse::pg::fingerprint::fingerprints(&c)
            .await
            .unwrap(),
        fp
    );
    assert_eq!(
        kong_rehearse::pg::catalog::read(&c, "public")
            .await
            .unwrap(),
        cat
    );
    c.batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    assert_eq!(writes(&c).await, writes_before, "no row was written");
}

#[test]
fn an_unreachable_database_is_an_environment_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["status", "--format", "json", "--db"])
        .arg(format!(
            "host={} port=5999 user=kong dbname=kong",
            dir.path().display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["problems"][0]["kind"], "environment");
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot connect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_lists_every_up_then_every_teardown_in_kongs_order() {
    let db = fixture_db().await;
    let r = run_cmd("plan", &db, &[]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    let steps = r.json["steps"].as_array().unwrap();
    let names: Vec<String> = steps
        .iter()
        .map(|s| {
            format!(
                "{} {}/{}",
                s["phase"].as_str().unwrap(),
                s["subsystem"].as_str().unwrap(),
                s["migration"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names.len(), 19, "{names:#?}");
    assert_eq!(names[0], "up core/016_280_to_300");
    assert_eq!(names[4], "up core/020_330_to_340");
    assert_eq!(names[5], "up acme/001_280_to_300");
    assert_eq!(names[14], "up session/002_320_to_330");
    assert_eq!(
        &names[15..],
        [
            "finish core/016_280_to_300",
            "finish http-log/001_280_to_300",
            "finish post-function/001_280_to_300",
            "finish pre-function/001_280_to_300"
        ]
    );
    assert_eq!(steps[0]["records"], "pending");
    assert_eq!(steps[1]["records"], "executed");
    assert!(steps[0]["effects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["column"] == "cache_key"));
}

async fn writes(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}
