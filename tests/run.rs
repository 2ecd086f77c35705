//! The rehearsal end to end (`demo`, `run`) on real throwaway servers: a clean pass, and
//! each failure kind with its exit code.

mod common;

use std::process::Command;

use common::{bin, conninfo, fixture_db, kinds, repo_file, run_json, TestDb};
use serde_json::Value;

fn rehearse(db: &TestDb, extra: &[&str]) -> (i32, Value) {
    let src = conninfo(db.tw().target());
    let mut args = vec!["run", "--source", src.as_str()];
    args.extend_from_slice(extra);
    run_json(&args)
}

fn assert_demo_passes(scale: &str) {
    let (code, v) = run_json(&["demo", "--scale", scale]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert_eq!(v["verdict"], "pass");
    let m = v["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 19, "15 ups and 4 teardowns");
    assert!(m.iter().all(|s| s["status"] == "ok"));
    let counts = v["counts"].as_array().unwrap();
    assert!(counts.iter().all(|c| c["ok"] == true), "{counts:#?}");
    let targets = counts.iter().find(|c| c["table"] == "targets").unwrap();
    assert!(
        targets["after"].as_i64() < targets["before"].as_i64(),
        "duplicates removed"
    );
    for gone in ["ttls", "vaults_beta"] {
        assert!(counts
            .iter()
            .any(|c| c["table"] == gone && c["after"].is_null()));
    }
    let phases: Vec<&str> = v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    for p in [
        "restore",
        "judge",
        "before",
        "hazards",
        "up",
        "verify_up",
        "finish",
        "verify_finish",
    ] {
        assert!(phases.contains(&p), "phase {p} missing: {phases:?}");
    }
}

#[test]
fn demo_passes_at_scale_1() {
    assert_demo_passes("1");
}

#[test]
fn demo_passes_at_scale_10() {
    assert_demo_passes("10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_from_a_dump_file_passes_and_reports_kong_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("k.dump");
    let out = Command::new(bin())
        .args(["fixture", "--scale", "1", "--out", dump.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, v) = run_json(&["run", "--dump", dump.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let quirks = v["quirks"].as_object().unwrap();
    assert!(
        quirks.contains_key("empty_array_became_object"),
        "{quirks:?}"
    );
    assert!(v["restore"]["rows_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["restore"]["mb_per_s"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_is_only_read() {
    let db = fixture_db().await;
    let c = db.client().await;
    let before = kong_rehearse::pg::fingerprint::fingerprints(&c)
        .await
        .unwrap();
    let (code, _) = rehearse(&db, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        kong_rehearse::pg::fingerprint::fingerprints(&c)
            .await
            .unwrap(),
        before
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM schema_meta", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13, "the source is still a 2.8.5 database");
}

const TIE: &str = "INSERT INTO targets (id, created_at, upstream_id, target, weight, ws_id)
  SELECT '00000000-0000-4000-8000-00000000beef', created_at, upstream_id, target, 50, ws_id
    FROM targets t1 WHERE NOT EXISTS (SELECT 1 FROM targets t2 WHERE t2.upstream_id = t1.upstream_id
      AND t2.target = t1.target AND t2.created_at > t1.created_at) ORDER BY id LIMIT 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tied_duplicate_target_is_a_hazard_found_before_migrating() {
    let db = fixture_db().await;
    db.client().await.batch_execute(TIE).await.unwrap();
    let (code, v) = rehearse(&db, &[]);
    assert_eq!(code, 3, "{:#}", v["problems"]);
    assert_eq!(kinds(&v), ["hazard"]);
    let p = &v["problems"][0];
    assert!(p["message"]
        .as_str()
        .unwrap()
        .contains("00000000-0000-4000-8000-00000000beef"));
    assert!(p["fix"].as_str().unwrap().contains("DELETE FROM targets"));
    assert!(
        v["migrations"].as_array().unwrap().is_empty(),
        "nothing ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_hazard_check_skipped_the_teardown_fails_and_leaves_016_pending() {
    let db = fixture_db().await;
    db.client().await.batch_execute(TIE).await.unwrap();
    let (code, v) = rehearse(&db, &["--skip-hazard-check"]);
    assert_eq!(code, 4, "{:#}", v["problems"]);
    assert_eq!(kinds(&v), ["migration_failed"]);
    let f = &v["failure"];
    assert_eq!(f["subsystem"], "core");
    assert_eq!(f["migration"], "016_280_to_300");
    assert_eq!(f["phase"], "teardown");
    assert!(
        f["error"]
            .as_str()
            .unwrap()
            .contains("targets_cache_key_key"),
        "{f:#}"
    );
    assert!(f["statement"]
        .as_str()
        .unwrap()
        .contains("UPDATE targets SET cache_key"));
    let core = f["schema_meta"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subsystem"] == "core")
        .unwrap();
    assert_eq!(
        core["pending"],
        serde_json::json!(["016_280_to_300"]),
        "016 stays pending"
    );
    let m = v["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 16, "all 15 ups, then the failed teardown");
    assert!(m[..15]
        .iter()
        .all(|s| s["phase"] == "up" && s["status"] == "ok"));
    assert_eq!(m[15]["status"], "failed");
}

const PLANT: &str = "CREATE FUNCTION planted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$;
CREATE TRIGGER planted AFTER UPDATE ON routes FOR EACH STATEMENT EXECUTE FUNCTION planted();";

/// Plants a trigger running `body` after each UPDATE of routes (the data steps update them),
/// then rehearses.
async fn rehearse_planted(db: &TestDb, body: &str) -> (i32, Value) {
    db.client()
        .await
        .batch_execute(&PLANT.replace("{body}", body))
        .await
        .unwrap();
    rehearse(db, &[])
}

/// The content_mismatch problem about `table`.
fn content_mismatch_on<'a>(v: &'a Value, table: &str) -> &'a Value {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "content_mismatch" && p["message"].as_str().unwrap().contains(table))
        .unwrap_or_else(|| panic!("no content_mismatch on {table}: {:#}", v["problems"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_trigger_that_deletes_rows_is_caught_by_counts() {
    let db = fixture_db().await;
    let body = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY id LIMIT 3)";
    let (code, v) = rehearse_planted(&db, body).await;
    assert_eq!(code, 1, "{:#}", v["problems"]);
    assert!(
        kinds(&v).contains(&"count_mismatch".to_string()),
        "{:#}",
        v["problems"]
    );
    let sessions = v["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == "sessions")
        .unwrap();
    assert_eq!(sessions["ok"], false);
    assert!(sessions["after"].as_i64().unwrap() < sessions["before"].as_i64().unwrap());
    // The planted objects are the source's drift from stock 2.8.5, reported, not failed.
    let w = v["warnings"].to_string();
    assert!(
        w.contains("drift from stock Kong 2.8.5") && w.contains("planted"),
        "{w}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_trigger_that_rewrites_a_column_is_caught_by_content() {
    let db = fixture_db().await;
    let body = "UPDATE consumers SET username = 'rewritten-by-trigger' WHERE id = (SELECT id FROM consumers ORDER BY id LIMIT 1)";
    let (code, v) = rehearse_planted(&db, body).await;
    assert_eq!(code, 1, "{:#}", v["problems"]);
    content_mismatch_on(&v, "consumers");
}

/// ratelimiting_metrics is a table no step of the sequence touches, so "before" only counts
/// it and keeps its snapshot open; a write to it during the upgrade must still be compared
/// row for row (read under that snapshot) and named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_trigger_that_writes_an_untouched_table_is_named() {
    let db = fixture_db().await;
    let client = db.client().await;
    let victim = client
        .query_one(
            "SELECT identifier, value FROM ratelimiting_metrics ORDER BY identifier, period, period_date LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let identifier: String = victim.get(0);
    let body =
        format!("UPDATE ratelimiting_metrics SET value = 424242 WHERE identifier = '{identifier}'");
    let (code, v) = rehearse_planted(&db, &body).await;
    assert_eq!(code, 1, "{:#}", v["problems"]);
    let p = content_mismatch_on(&v, "ratelimiting_metrics");
    let m = p["message"].as_str().unwrap();
    assert!(m.contains(&identifier), "the written row is named: {p:#}");
    let counts = v["counts"].as_array().unwrap();
    let rl = counts
        .iter()
        .find(|c| c["table"] == "ratelimiting_metrics")
        .unwrap();
    assert_eq!(
        rl["before"], rl["after"],
        "as many rows: only content tells"
    );
}

/// TRUNCATE is not MVCC-safe: a held snapshot sees a truncated table empty. A table that was
/// only counted and then truncated and refilled cannot be compared, and must not pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_table_truncated_and_refilled_does_not_pass() {
    let db = fixture_db().await;
    let body = "CREATE TEMP TABLE IF NOT EXISTS keep AS SELECT * FROM ratelimiting_metrics; \
        TRUNCATE ratelimiting_metrics; \
        INSERT INTO ratelimiting_metrics SELECT * FROM keep";
    let (code, v) = rehearse_planted(&db, body).await;
    assert_eq!(code, 1, "{:#}", v["problems"]);
    let p = content_mismatch_on(&v, "ratelimiting_metrics");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("cannot be compared"),
        "{p:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_reference_is_caught_by_the_schema_check() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let reference = std::fs::read_to_string(repo_file("schemas/kong-3.4.2/schema.sql")).unwrap();
    let tampered = reference.replacen(
        "    expression text,",
        "    expression character varying(200),",
        1,
    );
    assert_ne!(tampered, reference, "the reference has routes.expression");
    let path = dir.path().join("tampered.sql");
    std::fs::write(&path, tampered).unwrap();
    let (code, v) = rehearse(&db, &["--reference-schema", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{:#}", v["problems"]);
    let p = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "schema_mismatch")
        .expect("schema_mismatch");
    assert!(
        p["message"].as_str().unwrap().contains("routes.expression"),
        "{p:#}"
    );
    assert!(v["reference_diff"].as_str().unwrap().contains("expression"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_after_up_leaves_the_between_up_and_finish_state() {
    let db = fixture_db().await;
    let (code, v) = rehearse(&db, &["--stop-after", "up"]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let m = v["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 15);
    assert!(m.iter().all(|s| s["phase"] == "up"));
    assert!(
        v["counts"].as_array().unwrap().is_empty(),
        "no finish, no end-state counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ineligible_source_is_refused_before_anything_runs() {
    let db = fixture_db().await;
    db.client()
        .await
        .batch_execute(
            "UPDATE schema_meta SET pending = ARRAY['016_280_to_300'] WHERE subsystem = 'core'",
        )
        .await
        .unwrap();
    let (code, v) = rehearse(&db, &[]);
    assert_eq!(code, 3);
    assert_eq!(kinds(&v), ["partial"]);
    assert!(v["migrations"].as_array().unwrap().is_empty());
}

/// The up-phase check itself: a 2.8 column gone after `up` is a failure, because 2.8 nodes
/// still read the database between `up` and `finish`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_up_phase_check_fails_when_a_28_column_is_dropped() {
    use kong_rehearse::kong::lts::LtsCatalog;
    use kong_rehearse::kong::runner::builtin::Builtin;
    use kong_rehearse::rehearsal::verify;
    use kong_rehearse::report::Progress;

    let db = fixture_db().await;
    let cat = LtsCatalog::load().unwrap();
    let mut client = db.client().await;
    let before = verify::capture_before(&mut client, db.tw().target(), "public", None, None)
        .await
        .unwrap();
    let runner = Builtin {
        catalog: &cat,
        progress: Progress { quiet: true },
    };
    runner.up(&client).await.unwrap();
    let meta = verify::MetaExpectation::Exact(
        kong_rehearse::kong::schema_meta::read(&client)
            .await
            .unwrap(),
    );
    let (problems, _, _) = verify::after_up(&mut client, "public", &before, &cat, &meta)
        .await
        .unwrap();
    assert!(problems.is_empty(), "{problems:#?}");

    client
        .batch_execute("ALTER TABLE routes DROP COLUMN path_handling")
        .await
        .unwrap();
    let (problems, _, _) = verify::after_up(&mut client, "public", &before, &cat, &meta)
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].message.contains("routes.path_handling"),
        "{}",
        problems[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_and_configs_kongs_data_steps_choke_on_are_hazards() {
    let db = fixture_db().await;
    db.client()
        .await
        .batch_execute(
            "UPDATE routes SET paths = ARRAY['/bad%FFbyte'] WHERE id = (SELECT id FROM routes ORDER BY id LIMIT 1);
             UPDATE routes SET paths = ARRAY['~/users/\\d+'] WHERE id = (SELECT id FROM routes ORDER BY id OFFSET 1 LIMIT 1);
             UPDATE plugins SET config = jsonb_set(config, '{functions}', 'null')
              WHERE id = (SELECT id FROM plugins WHERE name = 'pre-function' ORDER BY id LIMIT 1);",
        )
        .await
        .unwrap();
    let (code, v) = rehearse(&db, &[]);
    assert_eq!(code, 3, "{:#}", v["problems"]);
    let msgs: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert_eq!(kinds(&v), ["hazard", "hazard", "hazard"], "{msgs:#?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("/bad%FFbyte") && m.contains("UTF-8")),
        "{msgs:#?}"
    );
    assert!(msgs.iter().any(|m| m.contains("~~/users")), "{msgs:#?}");
    assert!(msgs.iter().any(|m| m.contains("pre-function")), "{msgs:#?}");
}

/// A Kong database whose pg_schema is `kong`: `snapshot`, `verify-backup` and `run` read it
/// there (with `--schema`, or the snapshot manifest's schema), and Kong's migrations run in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kong_schema_other_than_public_goes_through_snapshot_verify_backup_and_run() {
    let db = fixture_db().await;
    db.client()
        .await
        .batch_execute("ALTER SCHEMA public RENAME TO kong; CREATE SCHEMA public;")
        .await
        .unwrap();
    let src = conninfo(db.tw().target());

    let (code, v) = rehearse(&db, &[]);
    assert_eq!(code, 3, "{:#}", v["problems"]);
    assert_eq!(kinds(&v), ["not_kong"]);
    assert!(v["problems"][0]["fix"]
        .as_str()
        .unwrap()
        .contains("--schema"));

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, v) = run_json(&[
        "snapshot",
        "--source",
        &src,
        "--schema",
        "kong",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["kong_state"]["eligible"], true, "{v:#}");

    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["kong_eligible"], true);

    let plain = dir.path().join("kong.sql");
    let out = Command::new(db.tw().client_tool("pg_dump").unwrap())
        .args(["--format=plain", "-f"])
        .arg(&plain)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, v) = run_json(&["verify-backup", plain.to_str().unwrap(), "--schema", "kong"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["kong_eligible"], true);

    let (code, v) = run_json(&["run", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 19);

    let (code, v) = rehearse(&db, &["--schema", "kong"]);
    assert_eq!(code, 0, "{:#}", v["problems"]);

    let (code, v) = run_json(&["rollback-check", "--db", &src, "--schema", "kong"]);
    assert_eq!(code, 0, "{v:#}");
}

fn plain_dump(db: &TestDb, path: &std::path::Path) {
    // Without --no-owner: the OWNER TO and GRANT lines a production dump has are skipped as
    // pg_restore --no-owner --no-privileges skips them.
    let out = Command::new(db.tw().client_tool("pg_dump").unwrap())
        .args(["--format=plain", "-f"])
        .arg(path)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_takes_plain_sql_dumps_also_gzipped() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("kong.sql");
    plain_dump(&db, &sql);
    let (code, v) = run_json(&[
        "run",
        "--dump",
        sql.to_str().unwrap(),
        "--rollback",
        "recreate",
    ]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 19);
    assert_eq!(v["rollback"][0]["exact"], true, "{:#}", v["rollback"]);

    let out = Command::new("gzip").arg("-k").arg(&sql).output().unwrap();
    assert!(out.status.success());
    let gz = dir.path().join("kong.sql.gz");
    let (code, v) = run_json(&["run", "--dump", gz.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let (code, v) = run_json(&["verify-backup", gz.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["input"], "plain_sql_gz");
}

/// A backup must never execute anything but SQL: a psql meta-command pg_dump never writes is
/// refused, and nothing of the file runs (`run` exit 2: the argument is not a usable dump;
/// `verify-backup` exit 1: the backup fails verification, kind `unsafe_backup`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_with_a_shell_escape_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("x");
    let sql = dir.path().join("evil.sql");
    std::fs::write(
        &sql,
        format!(
            "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nCREATE TABLE canary (id int);\n\\! touch {}\n",
            marker.display()
        ),
    )
    .unwrap();
    let (code, v) = run_json(&["run", "--dump", sql.to_str().unwrap()]);
    assert_eq!(code, 2, "{v:#}");
    let msg = v["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("\\!") && msg.contains("line 7"), "{msg}");
    assert!(!marker.exists(), "the shell command ran");

    let (code, v) = run_json(&["verify-backup", sql.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(kinds(&v), ["unsafe_backup"]);
    assert!(!marker.exists(), "the shell command ran");
}
