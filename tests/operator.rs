//! Operator-facing contracts: passwords never printed anywhere, progress never on stdout,
//! report files in every format.

mod common;

use std::process::Command;

use common::{bin, TestDb};
use kong_rehearse::throwaway::Backend;

/// A Kong 2.8.5 database reachable only over TCP with a password, as production is.
async fn password_protected_source() -> (TestDb, String, String) {
    let db = TestDb::start(Backend::Local { tcp: true }).await;
    kong_rehearse::fixture::build(
        &db.client().await,
        kong_rehearse::fixture::Spec { scale: 1, seed: 5 },
    )
    .await
    .unwrap();
    let t = db.tw().target().clone();
    let pw = t.password.clone().unwrap();
    let url = format!(
        "postgres://{}:{pw}@127.0.0.1:{}/{}",
        t.user, t.port, t.dbname
    );
    (db, url, pw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_never_appears_in_any_output_or_report() {
    let (_db, url, pw) = password_protected_source().await;
    let dir = tempfile::tempdir().unwrap();
    let (json, junit, md) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("r.md"),
    );
    let snap = dir.path().join("snap");
    let runs: Vec<Vec<String>> = vec![
        vec![
            "run".into(),
            "--source".into(),
            url.clone(),
            "--report-json".into(),
            json.display().to_string(),
            "--junit".into(),
            junit.display().to_string(),
            "--markdown".into(),
            md.display().to_string(),
            "-v".into(),
        ],
        vec![
            "run".into(),
            "--source".into(),
            url.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec!["status".into(), "--db".into(), url.clone()],
        vec![
            "plan".into(),
            "--db".into(),
            url.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "snapshot".into(),
            "--source".into(),
            url.clone(),
            "--out".into(),
            snap.display().to_string(),
        ],
        // A wrong port: the error message names the target, redacted.
        vec![
            "status".into(),
            "--db".into(),
            url.replace("127.0.0.1:", "127.0.0.1:1"),
        ],
    ];
    for args in runs {
        let out = Command::new(bin()).args(&args).output().unwrap();
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(&pw),
                "{what} of {:?} shows the password:\n{text}",
                args[0]
            );
        }
    }
    for f in [&json, &junit, &md, &snap.join("manifest.json")] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(&pw), "{} shows the password", f.display());
        assert!(text.len() > 100, "{} was written", f.display());
    }
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testsuite name=\"verify_finish\""));
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("rehearsal: PASS"));
}

#[test]
fn in_json_mode_progress_goes_to_stderr_and_stdout_holds_one_object() {
    let out = Command::new(bin())
        .args(["demo", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is exactly one JSON object");
    assert_eq!(v["schema_version"], 1);
    assert!(!stdout.contains("kong-rehearse:"), "no progress on stdout");
    assert!(
        stderr.contains("kong-rehearse: restoring"),
        "progress on stderr:\n{stderr}"
    );
    let quiet = Command::new(bin())
        .args(["demo", "--format", "json", "--quiet"])
        .output()
        .unwrap();
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}
