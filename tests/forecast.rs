//! The forecast on real throwaway servers: the locks each step holds, Kong's --db-timeout,
//! the 2.8 traffic that waits meanwhile, and an interrupted step rerun as an operator would.

mod common;

use common::{conninfo, fixture_db, run_json, TestDb};
use serde_json::Value;

fn rehearse(db: &TestDb, extra: &[&str]) -> (i32, Value) {
    let src = conninfo(db.tw().target());
    let mut args = vec!["run", "--source", src.as_str()];
    args.extend_from_slice(extra);
    run_json(&args)
}

fn step<'a>(v: &'a Value, migration: &str, phase: &str) -> &'a Value {
    v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subsystem"] == "core" && m["migration"] == migration && m["phase"] == phase)
        .unwrap_or_else(|| panic!("no {phase} step core/{migration}: {:#}", v["migrations"]))
}

fn holds(step: &Value, table: &str, mode: &str) -> bool {
    step["locks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["table"] == table && l["mode"] == mode && l["held_ms"].is_u64())
}

/// One clean rehearsal (its locks) with 016's data step interrupted on a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_show_their_locks_and_a_cut_016_up_f_reruns_into_double_tildes() {
    let db = fixture_db().await;
    let (code, v) = rehearse(&db, &["--interrupt", "core/016_280_to_300:up_f"]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let s017 = step(&v, "017_300_to_310", "up");
    assert!(
        holds(s017, "upstreams", "AccessExclusiveLock"),
        "{:#}",
        s017["locks"]
    );
    let s019 = step(&v, "019_320_to_330", "up");
    assert!(
        holds(s019, "plugins", "AccessExclusiveLock"),
        "{:#}",
        s019["locks"]
    );
    assert_eq!(v["db_timeout_s"], 60);

    let i = &v["interrupts"][0];
    assert_eq!(i["step"], "core/016_280_to_300:up_f");
    assert!(i["at"].as_str().unwrap().starts_with("row "), "{i:#}");
    assert_eq!(
        i["rerun"],
        serde_json::json!(["kong migrations up", "kong migrations finish"])
    );
    assert_eq!(i["same_as_clean"], false, "{i:#}");
    let doubled: Vec<&str> = i["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .filter(|m| m.starts_with("routes ") && m.contains("\"~~"))
        .collect();
    assert!(!doubled.is_empty(), "no `~~` route named: {i:#}");
    assert!(
        i["recovery"].as_str().unwrap().contains("UPDATE routes"),
        "{i:#}"
    );
    assert_eq!(i["recovery_verified"], true, "{i:#}");
}

/// A DDL command that takes 0.3 s (an event trigger sleeping after each ALTER TABLE)
/// makes 019, whose ten ALTER TABLEs Kong sends as one query, outlast --db-timeout 2, and
/// the 2.8 nodes' plugins reads wait behind its lock on plugins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_019_exceeds_the_db_timeout_and_blocks_2_8_plugin_reads() {
    let db = fixture_db().await;
    db.client()
        .await
        .batch_execute(
            "CREATE FUNCTION slow_ddl() RETURNS event_trigger LANGUAGE plpgsql
               AS $$ BEGIN PERFORM pg_sleep(0.3); END $$;
             CREATE EVENT TRIGGER slow_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
               EXECUTE FUNCTION slow_ddl();",
        )
        .await
        .unwrap();
    let (code, v) = rehearse(&db, &["--db-timeout", "2", "--workload"]);
    assert_eq!(code, 4, "{:#}", v["problems"]);
    let timeouts: Vec<&Value> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "db_timeout")
        .collect();
    let p019 = timeouts
        .iter()
        .find(|p| p["migration"] == "019_320_to_330")
        .unwrap_or_else(|| panic!("019 did not time out: {:#}", v["problems"]));
    assert!(
        p019["fix"].as_str().unwrap().contains("--db-timeout"),
        "{p019:#}"
    );
    assert!(
        p019["message"].as_str().unwrap().contains("would stop"),
        "{p019:#}"
    );

    let plugins = v["workload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == "plugins")
        .unwrap_or_else(|| panic!("no plugins reads: {:#}", v["workload"]));
    assert!(plugins["runs"].as_u64().unwrap() > 1, "{plugins:#}");
    assert!(
        plugins["max_wait_ms"].as_u64().unwrap() >= 1000,
        "{plugins:#}"
    );
    assert!(
        plugins["blocked_by"]
            .as_str()
            .unwrap()
            .contains("019_320_to_330"),
        "{plugins:#}"
    );
    let warned = v["warnings"].as_array().unwrap().iter().any(|w| {
        let w = w.as_str().unwrap();
        w.contains("plugins iterator rebuild") && w.contains("019_320_to_330")
    });
    assert!(warned, "{:#}", v["warnings"]);
    // The workload's one write is rolled back: the end state is still exactly Kong's.
    assert!(
        v["counts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{:#}",
        v["counts"]
    );
}

#[test]
fn an_unknown_interrupt_step_is_a_usage_error() {
    let out = std::process::Command::new(common::bin())
        .args([
            "run",
            "--dump",
            "/nonexistent",
            "--interrupt",
            "core/999_x:up_f",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("core/016_280_to_300:up_f"), "{err}");
}
