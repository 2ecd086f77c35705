//! The production `plugins` list (kong.conf via --kong-conf, or KONG_PLUGINS): Kong migrates
//! only the subsystems of loaded plugins, and 3.4 nodes refuse to start on plugin rows of a
//! plugin they do not load (`plugin_not_loaded`).

mod common;

use std::process::Command;

use common::{bin, conninfo, fixture_db, kinds, TestDb};
use serde_json::Value;

/// Runs the binary with `--format json`, with `env` set (and KONG_PLUGINS cleared unless
/// given, so the test's own environment cannot leak in).
fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .args(["--format", "json"])
        .env_remove("KONG_PLUGINS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn subsystem<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["subsystems"]
        .as_array()
        .or_else(|| v["state"].as_array())
        .unwrap()
        .iter()
        .find(|s| s["subsystem"] == name)
        .unwrap_or_else(|| panic!("no subsystem {name}"))
}

const RESTRICTED: &str = "key-auth, acl, basic-auth";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_list_migrates_only_what_kong_loads() {
    let db = fixture_db().await;
    let src = conninfo(db.tw().target());
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kong.conf");
    std::fs::write(
        &conf,
        format!("database = postgres\nplugins = {RESTRICTED}   # production\n"),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();

    // The fixture has rows of 20 plugins: those not loaded stop 3.4 nodes from starting.
    let (code, v) = cli(&["status", "--db", &src, "--kong-conf", conf], &[]);
    assert_eq!(code, 3, "{v:#}");
    assert!(kinds(&v).iter().all(|k| k == "plugin_not_loaded"), "{v:#}");
    let msgs = v["problems"].to_string();
    assert!(
        msgs.contains("`oauth2`") && msgs.contains("kong.conf line 2"),
        "{msgs}"
    );
    assert!(!msgs.contains("`key-auth`"), "{msgs}");
    assert_eq!(subsystem(&v, "oauth2")["verdict"], "not_loaded");

    db.client()
        .await
        .batch_execute("DELETE FROM plugins WHERE name NOT IN ('key-auth', 'acl', 'basic-auth')")
        .await
        .unwrap();
    let (code, v) = cli(&["status", "--db", &src, "--kong-conf", conf], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["plugins"]["setting"], RESTRICTED);
    let oauth2 = subsystem(&v, "oauth2");
    assert_eq!(oauth2["verdict"], "not_loaded");
    assert_eq!(oauth2["new"].as_array().unwrap().len(), 0);
    assert_eq!(subsystem(&v, "key-auth")["new"][0], "004_320_to_330");

    let (code, v) = cli(&["plan", "--db", &src, "--kong-conf", conf], &[]);
    assert_eq!(code, 0, "{v:#}");
    let steps: Vec<String> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subsystem"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps
            .iter()
            .all(|s| ["core", "key-auth"].contains(&s.as_str())),
        "{steps:?}"
    );

    // KONG_PLUGINS wins over the file, as in Kong.
    let (code, v) = cli(
        &["run", "--source", &src, "--kong-conf", conf],
        &[("KONG_PLUGINS", RESTRICTED)],
    );
    assert_eq!(code, 0, "{:#}", v["problems"]);
    let ran: Vec<String> = v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["subsystem"].as_str().unwrap(),
                m["migration"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        ran.contains(&"key-auth/004_320_to_330".to_string()),
        "{ran:?}"
    );
    assert!(
        ran.iter()
            .all(|m| m.starts_with("core/") || m.starts_with("key-auth/")),
        "only loaded subsystems migrate: {ran:?}"
    );
    // oauth2's tables and rows stay as 2.8 left them, and that is the expected end state.
    let counts = v["counts"].as_array().unwrap();
    assert!(counts.iter().all(|c| c["ok"] == true), "{counts:#?}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("whose plugin is not loaded"),
        "{warnings}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_plus_a_custom_plugin_loads_it() {
    let db = fixture_db().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO plugins (id, name, config, enabled, cache_key, protocols, ws_id)
             SELECT '00000000-0000-4000-8000-00000000c0de', 'my-plugin', '{}', true,
                    'plugins:my-plugin::::' || id, ARRAY['http'], id FROM workspaces",
        )
        .await
        .unwrap();
    let src = conninfo(db.tw().target());
    let status = |env: &[(&str, &str)]| cli(&["status", "--db", &src], env);

    let (code, v) = status(&[("KONG_PLUGINS", "bundled")]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(kinds(&v), ["plugin_not_loaded"]);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("`my-plugin`"));
    assert!(!v["problems"][0]["fix"].as_str().unwrap().is_empty());

    let (code, v) = status(&[("KONG_PLUGINS", "bundled,my-plugin")]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(subsystem(&v, "oauth2")["verdict"], "ok");

    // Nothing given: Kong's default is assumed, and only noted.
    let (code, v) = status(&[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["warnings"].to_string().contains("my-plugin"), "{v:#}");
    assert_eq!(v["plugins"]["explicit"], false);

    let (code, v) = cli(
        &["run", "--source", &src],
        &[("KONG_PLUGINS", "bundled,my-plugin")],
    );
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_off_loads_no_plugin() {
    let db = TestDb::local().await;
    kong_rehearse::fixture::build(
        &db.client().await,
        kong_rehearse::fixture::Spec { scale: 1, seed: 3 },
    )
    .await
    .unwrap();
    db.client()
        .await
        .batch_execute("DELETE FROM plugins")
        .await
        .unwrap();
    let (code, v) = cli(
        &["status", "--db", &conninfo(db.tw().target())],
        &[("KONG_PLUGINS", "off")],
    );
    assert_eq!(code, 0, "{v:#}");
    let loaded: Vec<&Value> = v["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verdict"] != "not_loaded")
        .collect();
    assert_eq!(loaded.len(), 1, "only core: {loaded:#?}");
    assert_eq!(loaded[0]["subsystem"], "core");
}
