//! Runtime hazards wired into `status`, `plan`, `run` (warnings; `--strict` fails) and
//! `lint-declarative`.

mod common;

use common::{conninfo, fixture_db, repo_file, run_json};

const LOOKAHEAD: &str =
    "UPDATE routes SET paths = ARRAY['/api/(?=v2)[a-z0-9]+'] WHERE name = 'route-3'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcre_only_route_regex_warns_by_default_and_fails_with_strict() {
    let db = fixture_db().await;
    db.client().await.batch_execute(LOOKAHEAD).await.unwrap();
    let url = conninfo(db.tw().target());

    let (code, v) = run_json(&["status", "--db", &url]);
    assert_eq!(code, 0, "{v:#}");
    let hz = v["runtime_hazards"].as_array().unwrap();
    let f = hz
        .iter()
        .find(|f| f["kind"] == "route-regex-incompatible")
        .expect("regex finding");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("/api/(?=v2)[a-z0-9]+") && msg.contains("~/api/(?=v2)"),
        "{msg}"
    );
    assert!(v["mixed_version_note"].as_str().unwrap().contains("2.8.0"));

    let (code, v) = run_json(&["status", "--db", &url, "--strict"]);
    assert_eq!(code, 3);
    assert!(v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "runtime_hazard"
            && p["message"]
                .as_str()
                .unwrap()
                .contains("route-regex-incompatible")));

    let (code, v) = run_json(&["plan", "--db", &url]);
    assert_eq!(code, 0);
    assert!(!v["runtime_hazards"].as_array().unwrap().is_empty());

    let (code, v) = run_json(&["run", "--source", &url]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert!(v["runtime_hazards"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "route-regex-incompatible"));
    assert!(v["warnings"].to_string().contains("mixed-version window"));

    let (code, v) = run_json(&["run", "--source", &url, "--strict"]);
    assert_eq!(code, 3);
    assert!(
        v["migrations"].as_array().unwrap().is_empty(),
        "refused before migrating"
    );
}

#[test]
fn lint_declarative_finds_hazards_with_paths_and_lines_and_passes_a_clean_file() {
    let dirty = repo_file("tests/fixtures/declarative/kong-2x-hazards.yaml");
    let (code, v) = run_json(&["lint-declarative", dirty.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = v["findings"].as_array().unwrap();
    assert!(f
        .iter()
        .any(|x| x["kind"] == "route-regex-path-without-tilde"));
    assert!(f.iter().any(|x| x["kind"] == "route-regex-incompatible"));
    assert!(f
        .iter()
        .all(|x| x["line"].as_u64().unwrap() > 0 && !x["yaml_path"].as_str().unwrap().is_empty()));
    assert_eq!(v["problems"].as_array().unwrap().len(), f.len());

    let clean = repo_file("tests/fixtures/declarative/kong-2x-clean.yaml");
    let (code, v) = run_json(&["lint-declarative", clean.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.yaml");
    std::fs::write(&junk, "- just\n- a list\n").unwrap();
    let (code, _) = run_json(&["lint-declarative", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
}

/// http-log `headers` carry Authorization tokens, and a declarative file holds credentials of
/// every auth plugin: `lint-declarative` names header keys, never a value, in text and JSON.
#[test]
fn lint_declarative_never_prints_header_values_or_credentials() {
    let file = repo_file("tests/fixtures/declarative/kong-2x-secrets.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Authorization: Bearer s3cr3t-token"));
    for format in ["text", "json"] {
        let out = std::process::Command::new(common::bin())
            .args([
                "lint-declarative",
                file.to_str().unwrap(),
                "--format",
                format,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("config.headers.Authorization"),
            "{format}: the header is named: {stdout}"
        );
        for leak in ["s3cr3t", "Bearer s3cr3t-token"] {
            assert!(
                !stdout.contains(leak),
                "{format} stdout shows {leak:?}:\n{stdout}"
            );
            assert!(
                !stderr.contains(leak),
                "{format} stderr shows {leak:?}:\n{stderr}"
            );
        }
    }
}

/// Route headers that cannot be read are a finding that names the route, not skipped; and
/// `--strict` fails on it like on every other runtime hazard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_route_headers_are_a_finding() {
    let db = fixture_db().await;
    let client = db.client().await;
    // jsonb holds the number; serde_json (f64) cannot.
    client
        .batch_execute(
            "UPDATE routes SET headers = '{\"x-tenant\": [1e400]}'::jsonb WHERE name = 'route-3'",
        )
        .await
        .unwrap();
    let id: String = client
        .query_one("SELECT id::text FROM routes WHERE name = 'route-3'", &[])
        .await
        .unwrap()
        .get(0);
    let url = conninfo(db.tw().target());

    let (code, v) = run_json(&["status", "--db", &url]);
    assert_eq!(code, 0, "{v:#}");
    let f = v["runtime_hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "route-headers-unreadable")
        .unwrap_or_else(|| panic!("no route-headers-unreadable finding: {v:#}"));
    assert_eq!(f["entity"], "route");
    assert_eq!(f["id"], id.as_str());
    assert_eq!(f["field"], "headers");
    assert_eq!(f["severity"], "warning");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains(&id) && msg.contains("number out of range"),
        "{msg}"
    );

    let (code, v) = run_json(&["status", "--db", &url, "--strict"]);
    assert_eq!(code, 3, "{v:#}");
    assert!(v["problems"]
        .to_string()
        .contains("route-headers-unreadable"));
}
