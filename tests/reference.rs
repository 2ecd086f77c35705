//! The reference catalogs committed under schemas/ (`catalog.json`) are the catalogs of the
//! reference schemas (`schema.sql`) as PostgreSQL 15 renders them. Regenerate them with
//! `KONG_REHEARSE_REGEN=1 cargo test --test reference`.

mod common;

use common::{repo_file, TestDb};
use kong_rehearse::pg::catalog::{self, Catalog};

async fn check(version: &str) {
    let db = TestDb::local().await;
    let client = db.client().await;
    let major: i32 = client
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if major != 15 {
        eprintln!("SKIPPED: catalog.json is rendered by PostgreSQL 15; this server is {major}");
        return;
    }
    let sql =
        std::fs::read_to_string(repo_file(&format!("schemas/kong-{version}/schema.sql"))).unwrap();
    client.batch_execute(&sql).await.unwrap();
    let got = catalog::read(&client, "public").await.unwrap();
    let path = repo_file(&format!("schemas/kong-{version}/catalog.json"));
    if std::env::var_os("KONG_REHEARSE_REGEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Catalog = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if got != want {
        panic!(
            "{} is stale:\n{}",
            path.display(),
            catalog::unified_diff(&want, &got, "catalog.json", "schema.sql")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kong_285_catalog_json_matches_its_schema() {
    check("2.8.5").await;
    let want: Catalog = serde_json::from_str(
        &std::fs::read_to_string(repo_file("schemas/kong-2.8.5/catalog.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(want.tables.len(), 30);
    assert_eq!(want.functions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kong_342_catalog_json_matches_its_schema() {
    check("3.4.2").await;
    let want: Catalog = serde_json::from_str(
        &std::fs::read_to_string(repo_file("schemas/kong-3.4.2/catalog.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(want.tables.len(), 32);
    assert_eq!(want.functions.len(), 2);
    assert!(want.has_column("targets", "cache_key") && !want.has_table("ttls"));
}
