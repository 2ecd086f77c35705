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

/// Kong 3.4.2's LTS SQL replayed by the test itself, straight from `schemas/` (each `up` as
/// one `BEGIN; … COMMIT;` query, then each teardown query), without the tool's runner: on a
/// database with no entity rows Kong's Lua data steps have nothing to do, so this is what
/// Kong 3.4.2's `up` + `finish` leave on the same history.
async fn replay_342_by_hand(c: &tokio_postgres::Client) {
    let root = common::repo_file("schemas/lts-2.8-to-3.4");
    let seq: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("sequence.json")).unwrap())
            .unwrap();
    let mut teardowns = vec![];
    for sub in seq["subsystems"].as_array().unwrap() {
        for m in sub["sequence"].as_array().unwrap() {
            if let Some(up) = m["up"].as_str() {
                let sql = std::fs::read_to_string(root.join(up)).unwrap();
                let sql = sql.trim();
                if !sql.is_empty() {
                    c.batch_execute(&format!("BEGIN;\n{sql};\nCOMMIT;"))
                        .await
                        .unwrap_or_else(|e| panic!("{up}: {e}"));
                }
            }
            if let Some(td) = m["teardown"].as_str() {
                teardowns.push(td.to_string());
            }
        }
    }
    for td in teardowns {
        let sql = std::fs::read_to_string(root.join(&td)).unwrap();
        // The boundary is a line of its own (the header also names it in quotes).
        let mut queries = vec![String::new()];
        for line in sql.lines() {
            if line.trim() == "-- kong-rehearse: query boundary" {
                queries.push(String::new());
            } else {
                let q = queries.last_mut().unwrap();
                q.push_str(line);
                q.push('\n');
            }
        }
        for q in &queries {
            if !q
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
            {
                c.batch_execute(q)
                    .await
                    .unwrap_or_else(|e| panic!("{td}: {e:?}"));
            }
        }
    }
}

/// `fixture --history-from TAG`: the history with the usual entity data on top. `status`
/// exits 0, `run` passes with no problem, and the schema `run` leaves (kept on a server)
/// equals Kong 3.4.2's SQL replayed by hand on the same history, leftovers included.
async fn fixture_history(tag: &str) {
    let server = TestDb::local().await;
    let admin = server.tw().target().with_dbname("postgres");
    let ac = admin.connect().await.unwrap();
    ac.batch_execute("CREATE DATABASE fx").await.unwrap();
    ac.batch_execute("CREATE DATABASE by_hand").await.unwrap();
    let fx = admin.with_dbname("fx");
    let out = std::process::Command::new(common::bin())
        .args([
            "fixture",
            "--history-from",
            tag,
            "--scale",
            "2",
            "--into",
            &conninfo(&fx),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, v) = run_json(&["status", "--db", &conninfo(&fx)]);
    assert_eq!(code, 0, "{tag}: status {:#}", v["problems"]);
    let (code, v) = run_json(&[
        "run",
        "--source",
        &conninfo(&fx),
        "--target",
        &conninfo(&admin),
        "--keep",
    ]);
    assert_eq!(code, 0, "{tag}: run {:#}", v["problems"]);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{tag}");
    assert!(
        v["counts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{tag}: {:#}",
        v["counts"]
    );
    let kept = v["kept"].as_str().unwrap();
    let names: Vec<String> = kept
        .split("kept on the server: ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .split(", ")
        .map(str::to_string)
        .collect();
    let migrated = admin.with_dbname(&names[0]).connect().await.unwrap();
    let got = kong_rehearse::pg::catalog::read(&migrated, "public")
        .await
        .unwrap();

    let hand = admin.with_dbname("by_hand").connect().await.unwrap();
    history::build(&hand, tag).await.unwrap();
    replay_342_by_hand(&hand).await;
    let want = kong_rehearse::pg::catalog::read(&hand, "public")
        .await
        .unwrap();
    let diff = kong_rehearse::pg::catalog::diff(&want, &got);
    assert!(
        diff.is_empty(),
        "{tag}: {:#?}",
        diff.iter().map(|d| d.describe()).collect::<Vec<_>>()
    );
    // schema_meta: the same executed set per subsystem as Kong's by-hand run records.
    let meta = |rows: Vec<schema_meta::Row>| {
        let mut m: Vec<(String, Vec<String>)> = rows
            .into_iter()
            .map(|r| {
                let mut e: Vec<String> = r.executed.unwrap_or_default();
                e.sort();
                (r.subsystem, e)
            })
            .collect();
        m.sort();
        m
    };
    let got_meta = meta(schema_meta::read(&migrated).await.unwrap());
    let hand_285 = meta(history::expected_schema_meta_after_285(tag).unwrap());
    for (s, before) in &hand_285 {
        let after = got_meta
            .iter()
            .find(|(g, _)| g == s)
            .map(|(_, a)| a)
            .unwrap_or_else(|| panic!("{tag}: subsystem {s} lost from schema_meta"));
        assert!(
            before.iter().all(|m| after.contains(m)),
            "{tag}/{s}: a recorded name was lost: {before:?} -> {after:?}"
        );
    }
    if tag.starts_with("1.") {
        assert!(got.has_table("apis") && got.has_column("plugins", "api_id"));
    }
    drop(migrated);
    for n in &names {
        ac.batch_execute(&format!("DROP DATABASE \"{n}\" WITH (FORCE)"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_born_on_103() {
    fixture_history("1.0.3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_born_on_151() {
    fixture_history("1.5.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_born_on_205() {
    fixture_history("2.0.5").await;
}
