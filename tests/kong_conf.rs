//! kong.conf as operators have it: `--kong-conf` with KONG_PG_* overriding it, and
//! `lint-conf` on a realistic 2.8 file, a clean one, and a plain 2.8 file whose only news are
//! notices.

mod common;

use std::process::Command;

use common::{bin, repo_file, run_json, TestDb};
use kong_rehearse::throwaway::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kong_conf_names_the_database_and_kong_pg_variables_override_it() {
    let db = TestDb::start(Backend::Local { tcp: true }).await;
    kong_rehearse::fixture::build(
        &db.client().await,
        kong_rehearse::fixture::Spec { scale: 1, seed: 3 },
    )
    .await
    .unwrap();
    let t = db.tw().target().clone();
    let pw = t.password.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kong.conf");
    std::fs::write(
        &conf,
        format!(
            "# production settings\ndatabase = postgres\npg_host = 127.0.0.1   # inline comment\n\
             pg_port = {}\npg_user = {}\npg_password = not-the-password\npg_database = {}\n",
            t.port, t.user, t.dbname
        ),
    )
    .unwrap();
    let status = |envs: &[(&str, &str)]| {
        let out = Command::new(bin())
            .args(["status", "--format", "json", "--kong-conf"])
            .arg(&conf)
            .env_remove("PGHOST")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = status(&[]);
    assert_eq!(code, 5, "the file's password is wrong: {out}");
    assert!(
        !out.contains("not-the-password"),
        "passwords are never printed"
    );
    let (code, out) = status(&[("KONG_PG_PASSWORD", pw.as_str())]);
    assert_eq!(code, 0, "KONG_PG_PASSWORD overrides kong.conf: {out}");
    assert!(!out.contains(&pw));
    assert!(out.contains(&format!("127.0.0.1:{}", t.port)), "{out}");
}

#[test]
fn a_kong_conf_asking_for_tls_is_never_downgraded() {
    // pg_ssl = on is TLS (libpq's require; the server here does not resolve, hence exit 5).
    let conf = repo_file("tests/fixtures/kong-conf/kong-2.8-realistic.conf");
    let (code, v) = run_json(&["status", "--kong-conf", conf.to_str().unwrap()]);
    assert_eq!(code, 5);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("sslmode=require"));
    assert!(
        !v.to_string().contains("Tr0ub4dor"),
        "the password in the file is never printed"
    );
}

#[test]
fn lint_conf_reports_a_realistic_28_conf_and_passes_a_clean_one() {
    let dirty = repo_file("tests/fixtures/kong-conf/kong-2.8-realistic.conf");
    let (code, v) = run_json(&["lint-conf", dirty.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = v["findings"].as_array().unwrap();
    let rules: Vec<&str> = f.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    for r in [
        "conf-removed-parameter",
        "conf-deprecated-parameter",
        "conf-default-changed",
    ] {
        assert!(rules.contains(&r), "{r} missing: {rules:?}");
    }
    let admin = f
        .iter()
        .find(|x| x["key"] == "admin_api_uri")
        .expect("admin_api_uri");
    assert!(admin["line"].as_u64().unwrap() > 0);
    assert!(admin["fixes"][0]
        .as_str()
        .unwrap()
        .contains("admin_gui_api_url"));
    assert!(f
        .iter()
        .any(|x| x["key"].as_str().unwrap().starts_with("cassandra")));
    assert!(
        !v.to_string().contains("Tr0ub4dor"),
        "secret values are never shown"
    );

    let clean = repo_file("tests/fixtures/kong-conf/kong-3.4-clean.conf");
    let (code, v) = run_json(&["lint-conf", clean.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn lint_conf_passes_a_plain_28_conf_with_notices_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("kong.conf");
    std::fs::write(&plain, "database = postgres\npg_host = db.internal\n").unwrap();
    let plain = plain.to_str().unwrap();

    let out = Command::new(bin())
        .args(["lint-conf", plain])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("[info conf-default-changed]").count(),
        7,
        "the changed defaults are printed as notices: {text}"
    );
    assert!(text.contains("worker_consistency"), "{text}");

    let (code, v) = run_json(&["lint-conf", plain]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{v:#}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 7, "{v:#}");
    assert!(f.iter().all(|x| x["severity"] == "info"), "{v:#}");
    assert!(f
        .iter()
        .all(|x| x["line"].is_null() && x["entity"] == "setting"));

    let (code, v) = run_json(&["lint-conf", "--strict", plain]);
    assert_eq!(code, 1, "--strict fails on notices: {v:#}");
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["problems"].as_array().unwrap().len(), 7, "{v:#}");

    // One removed setting is a finding: exit 1, and it alone is a problem.
    let removed = dir.path().join("removed.conf");
    std::fs::write(
        &removed,
        "database = postgres\npg_host = db.internal\nnginx_optimizations = on\n",
    )
    .unwrap();
    let (code, v) = run_json(&["lint-conf", removed.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v:#}");
    assert_eq!(
        problems[0]["object"],
        format!("{}:3 nginx_optimizations", removed.display())
    );
    let f = v["findings"].as_array().unwrap();
    let opt = f
        .iter()
        .find(|x| x["key"] == "nginx_optimizations")
        .unwrap();
    assert_eq!(opt["kind"], "conf-removed-parameter");
    assert_eq!(opt["severity"], "warning");
    assert_eq!(opt["line"], 3);
}
