//! `--runner kong`, exercised with a STAND-IN for the `kong` binary (examples/kong-standin.rs):
//! it follows the `kong migrations` CLI contract but is not Kong. What is tested here is the
//! plumbing around a real Kong: environment, captured output, exit codes, the golden
//! bootstrap reference, and the same verification as the built-in runner.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{bin, conninfo, fixture_db};
use serde_json::Value;

fn standin() -> PathBuf {
    // target/<profile>/deps/<test> → target/<profile>/examples/kong-standin
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("kong-standin");
    assert!(
        p.exists(),
        "build the stand-in first (cargo test builds examples): {}",
        p.display()
    );
    p
}

fn run_kong(src: &str, envs: &[(&str, &str)]) -> (i32, Value) {
    let out = Command::new(bin())
        .args(["run", "--source", src, "--runner", "kong", "--kong-bin"])
        .arg(standin())
        .args(["--format", "json"])
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kong_binary_rehearses_and_is_verified_against_its_own_bootstrap() {
    let db = fixture_db().await;
    let (code, v) = run_kong(&conninfo(db.tw().target()), &[]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert_eq!(v["runner"], "kong");
    let cmds: Vec<&str> = v["kong_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        cmds,
        [
            "kong migrations bootstrap",
            "kong migrations up",
            "kong migrations finish"
        ]
    );
    let m = v["migrations"].as_array().unwrap();
    assert_eq!(
        m.len(),
        19,
        "Kong's `migrated up to` lines become the step log"
    );
    assert_eq!(m[0]["migration"], "016_280_to_300");
    assert!(v["counts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["ok"] == true));
    let phases: Vec<&str> = v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert!(phases.contains(&"bootstrap_reference"), "{phases:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_kong_command_is_a_failed_migration_with_the_state_left_behind() {
    let db = fixture_db().await;
    let (code, v) = run_kong(
        &conninfo(db.tw().target()),
        &[("KONG_STANDIN_FAIL", "finish")],
    );
    assert_eq!(code, 4, "{:#}", v["problems"]);
    assert_eq!(v["problems"][0]["kind"], "migration_failed");
    let f = &v["failure"];
    assert!(
        f["error"].as_str().unwrap().contains("stand-in failure"),
        "{f:#}"
    );
    assert_eq!(f["phase"], "teardown");
    let core = f["schema_meta"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subsystem"] == "core")
        .unwrap();
    assert_eq!(core["pending"], serde_json::json!(["016_280_to_300"]));
    let outs = v["kong_output"].as_array().unwrap();
    assert_eq!(outs.last().unwrap()["exit_code"], 1);
    assert!(outs.last().unwrap()["stderr"]
        .as_str()
        .unwrap()
        .starts_with("Error:"));
}

#[test]
fn a_missing_kong_binary_is_a_usage_error() {
    let out = Command::new(bin())
        .args([
            "run",
            "--dump",
            "/dev/null",
            "--runner",
            "kong",
            "--kong-bin",
            "/nonexistent/kong",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/kong") && err.contains("--kong-bin"),
        "{err}"
    );
}
