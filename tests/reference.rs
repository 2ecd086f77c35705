//! The reference schemas (`schema.sql`) equal Kong's migrations replayed on whatever
//! PostgreSQL major runs the tests, and the committed catalogs (`catalog.json`) are those
//! schemas as PostgreSQL 15 renders them. Regenerate them with
//! `KONG_REHEARSE_REGEN=1 cargo test --test reference`.

mod common;

use common::{repo_file, TestDb};
use kong_rehearse::kong::lts::LtsCatalog;
use kong_rehearse::kong::release::Release;
use kong_rehearse::kong::runner::builtin::Builtin;
use kong_rehearse::pg::catalog::{self, Catalog};
use kong_rehearse::report::Progress;

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
    let sql =
        std::fs::read_to_string(repo_file(&format!("schemas/kong-{version}/schema.sql"))).unwrap();
    client.batch_execute(&sql).await.unwrap();
    let got = catalog::read(&client, "public").await.unwrap();

    // On any major: the reference schema, rendered by this server as `run` renders it, equals
    // Kong's own migrations replayed on this same server.
    let replayed = db.tw().target().with_dbname("replayed");
    client
        .batch_execute("CREATE DATABASE replayed")
        .await
        .unwrap();
    let r = replayed.connect().await.unwrap();
    let release = Release::kong_285().unwrap();
    kong_rehearse::kong::bootstrap::bootstrap(&r, &release)
        .await
        .unwrap();
    if version == "3.4.2" {
        let cat = LtsCatalog::load().unwrap();
        let runner = Builtin {
            catalog: &cat,
            progress: Progress { quiet: true },
        };
        runner.up(&r).await.unwrap();
        runner.finish(&r).await.unwrap();
    }
    let mut from_migrations = catalog::read(&r, "public").await.unwrap();
    from_migrations.schema = got.schema.clone();
    let d = catalog::diff(&got, &from_migrations);
    assert!(
        d.is_empty(),
        "schema.sql of {version} differs from Kong's migrations replayed on PostgreSQL {major}: {:#?}",
        d.iter().map(|c| c.describe()).collect::<Vec<_>>()
    );

    // catalog.json is PostgreSQL 15's rendering; other majors render some defaults and
    // expressions differently, which the replay above already covers.
    if major != 15 {
        eprintln!("note: catalog.json is rendered by PostgreSQL 15 and this server is {major}: compared with the replay only");
        return;
    }
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
