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
