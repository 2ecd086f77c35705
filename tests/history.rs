//! Databases born on older Kong releases (1.0.3, 1.5.1, 2.0.5, 2.5.1) and upgraded to 2.8.5 by
//! replaying Kong's own migrations (`kong::history::build`: the old release's bootstrap, then
//! 2.8.5's `up` and `finish` with Kong's bookkeeping). Each must leave exactly the schema_meta
//! Kong leaves (schemas/kong-history/<tag>/expected_schema_meta_after_2.8.5.json), be judged
//! eligible by `status`, and pass `run` with no problem, keeping the leftovers of its history.

mod common;

use common::{conninfo, run_json, TestDb};
use kong_rehearse::kong::history;
use kong_rehearse::kong::schema_meta;
use serde_json::Value;

/// A 1.x leftover row, so the end state must keep the table's contents, not only its shape.
const API_ROW: &str = "INSERT INTO apis (id, name, upstream_url, preserve_host, hosts)
    VALUES ('00000000-0000-4000-8000-0000000000a1', 'legacy', 'http://upstream', false, '[\"a.example\"]')";

async fn born_on(tag: &str) -> TestDb {
    let db = TestDb::local().await;
    let client = db.client().await;
    let replay = history::build(&client, tag)
        .await
        .unwrap_or_else(|e| panic!("replay of {tag}: {e}"));
    assert!(!replay.up.is_empty(), "{tag}: 2.8.5's up ran nothing");
    let mut rows = schema_meta::read(&client).await.unwrap();
    rows.sort_by(|a, b| a.subsystem.cmp(&b.subsystem));
    assert_eq!(
        rows,
        history::expected_schema_meta_after_285(tag).unwrap(),
        "{tag}: schema_meta after 2.8.5's up + finish"
    );
    db
}

fn kept_whole(v: &Value, table: &str) -> bool {
    v["counts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["table"] == table && c["ok"] == true && c["after"] == c["before"])
}

async fn check(tag: &str, leftovers: bool) {
    let db = born_on(tag).await;
    let client = db.client().await;
    if leftovers {
        client.batch_execute(API_ROW).await.unwrap();
    }
    let src = conninfo(db.tw().target());

    let (code, v) = run_json(&["status", "--db", &src]);
    assert_eq!(code, 0, "{tag}: status {:#}", v["problems"]);
    let history_names: usize = v["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["history"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        history_names,
        if leftovers { 13 } else { 0 },
        "{tag}: names from earlier releases are listed as history"
    );

    let (code, v) = run_json(&["run", "--source", &src]);
    assert_eq!(code, 0, "{tag}: run {:#}", v["problems"]);
    assert_eq!(
        v["problems"].as_array().unwrap().len(),
        0,
        "{tag}: 0 false problems"
    );
    assert!(
        v["reference_diff"].is_null(),
        "{tag}: {}",
        v["reference_diff"]
    );

    // What Kong 3.4.2 leaves in place stays: no change of the source removed it.
    let changes = v["schema_changes"].as_array().unwrap();
    let removed = |object: &str, name: &str| {
        changes
            .iter()
            .any(|c| c["change"] == "removed" && c["object"] == object && c["name"] == name)
    };
    if leftovers {
        assert!(kept_whole(&v, "apis"), "{tag}: apis and its row kept");
        assert!(!removed("table", "apis"));
        assert!(!removed("column", "api_id"));
        assert!(!removed("index", "plugins_api_id_idx"));
        assert!(!removed("constraint", "plugins_api_id_fkey"));
        let warnings: Vec<&str> = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("held unchanged") && w.contains("plugins.api_id")),
            "{tag}: {warnings:#?}"
        );
        // Kong 3.4.2 itself keeps them on this database.
        let kept: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                  WHERE table_name = 'plugins' AND column_name = 'api_id')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(kept, "the source is only read");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn born_on_103() {
    check("1.0.3", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn born_on_151() {
    check("1.5.1", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn born_on_205() {
    check("2.0.5", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn born_on_251() {
    check("2.5.1", false).await;
}
