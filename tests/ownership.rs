//! Table owners, which a restore with `--no-owner` drops: Kong runs its migrations as one
//! role, and a Kong table owned by another role makes the real `kong migrations up` fail
//! with "must be owner of table". The owners are read from the dump itself.

mod common;

use std::process::Command;

use common::{conninfo, fixture_db, kinds, run_json, TestDb};

async fn with_owners(sql: &str) -> TestDb {
    let db = fixture_db().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE ROLE kong NOLOGIN; CREATE ROLE dba NOLOGIN;
         DO $$ DECLARE t text; BEGIN
           FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
             EXECUTE format('ALTER TABLE public.%I OWNER TO kong', t);
           END LOOP; END $$;",
    )
    .await
    .unwrap();
    c.batch_execute(sql).await.unwrap();
    db
}

/// Proof that the failure is real, on the source's own server: as `kong`, one of the ALTERs
/// the 3.x migrations send fails on a table `dba` owns.
async fn alter_as_kong_fails(db: &TestDb) -> String {
    let c = db.client().await;
    let e = c
        .batch_execute(
            "BEGIN; SET ROLE kong;
             ALTER TABLE plugins ADD COLUMN IF NOT EXISTS instance_name text;",
        )
        .await
        .unwrap_err();
    c.batch_execute("ROLLBACK").await.ok();
    e.as_db_error().unwrap().message().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kong_table_owned_by_another_role_is_a_hazard() {
    let db = with_owners("ALTER TABLE plugins OWNER TO dba;").await;
    assert!(alter_as_kong_fails(&db)
        .await
        .contains("must be owner of table plugins"));

    // `status` reads the owners of the live database.
    let (code, v) = run_json(&["status", "--db", &conninfo(db.tw().target())]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(kinds(&v), ["hazard"], "{v:#}");

    let (code, v) = run_json(&["run", "--source", &conninfo(db.tw().target())]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(kinds(&v), ["hazard"], "{v:#}");
    let p = &v["problems"][0];
    let msg = p["message"].as_str().unwrap();
    assert!(msg.contains("plugins") && msg.contains("dba"), "{p:#}");
    assert!(
        p["fix"]
            .as_str()
            .unwrap()
            .contains("ALTER TABLE plugins OWNER TO kong"),
        "{p:#}"
    );

    // A plain SQL dump says the same through its ALTER TABLE … OWNER TO.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("kong.sql");
    let out = Command::new(db.tw().client_tool("pg_dump").unwrap())
        .args(["--format=plain", "-f"])
        .arg(&plain)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, v) = run_json(&["run", "--dump", plain.to_str().unwrap()]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(kinds(&v), ["hazard"], "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owner_passes_and_a_pg_user_that_is_not_it_is_a_warning() {
    let db = with_owners("").await;
    let (code, v) = run_json(&["run", "--source", &conninfo(db.tw().target())]);
    assert_eq!(code, 0, "{:#}", v["problems"]);

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kong.conf");
    std::fs::write(&conf, "database = postgres\npg_user = kong_app\n").unwrap();
    let (code, v) = run_json(&[
        "--kong-conf",
        conf.to_str().unwrap(),
        "run",
        "--source",
        &conninfo(db.tw().target()),
    ]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert!(
        v["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("owned by role kong") && w.contains("Kong connects as kong_app")
        }),
        "{:#}",
        v["warnings"]
    );
}
