//! Grants, the DBA additions a Kong database most often has (a read-only reporting role, a
//! column grant, a revoked function): a snapshot carries them, a restore brings them back
//! whole, and the rehearsal holds them unchanged through `up` and `finish`, and fails when a
//! migration loses one. Every database here is a real throwaway PostgreSQL.

mod common;

use std::path::Path;
use std::process::Command;

use common::{conninfo, fixture_db, kinds, run_json, snapshot_of, TestDb};
use serde_json::Value;

/// What a DBA typically adds to a Kong database, on its own server (roles are cluster-wide).
const DBA_GRANTS: &str = r#"
    CREATE ROLE reader NOLOGIN;
    CREATE ROLE "Odd Role" NOLOGIN;
    CREATE ROLE auditor NOLOGIN;
    CREATE ROLE kong_app NOLOGIN;
    GRANT USAGE ON SCHEMA public TO reader;
    GRANT SELECT ON consumers, routes, services, plugins TO reader;
    GRANT SELECT (username) ON consumers TO "Odd Role";
    GRANT INSERT ON ratelimiting_metrics TO auditor WITH GRANT OPTION;
    REVOKE EXECUTE ON FUNCTION sync_tags() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION sync_tags() TO auditor;
    CREATE VIEW consumer_report AS SELECT id, username FROM consumers;
    GRANT SELECT ON consumer_report TO reader;
    ALTER DEFAULT PRIVILEGES FOR ROLE kong_app IN SCHEMA public GRANT SELECT ON TABLES TO reader;
"#;

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

async fn granted_db() -> TestDb {
    let db = fixture_db().await;
    db.client().await.batch_execute(DBA_GRANTS).await.unwrap();
    db
}

async fn grants_of(client: &tokio_postgres::Client) -> std::collections::BTreeMap<String, String> {
    kong_rehearse::pg::catalog::read(client, "public")
        .await
        .unwrap()
        .grants
}

fn pg_dump(db: &TestDb, format: &str, out: &Path) {
    let st = Command::new(db.tw().client_tool("pg_dump").unwrap())
        .arg(format!("--format={format}"))
        .arg("--no-owner")
        .arg("-f")
        .arg(out)
        .envs(db.tw().target().libpq_env())
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_reads_grants_as_differences_from_the_defaults() {
    let db = granted_db().await;
    let g = grants_of(&db.client().await).await;
    let want = [
        ("TABLE consumers to reader", "+SELECT"),
        ("COLUMN consumers.username to \"Odd Role\"", "+SELECT"),
        ("TABLE ratelimiting_metrics to auditor", "+INSERT*"),
        ("FUNCTION sync_tags() to PUBLIC", "-EXECUTE"),
        ("FUNCTION sync_tags() to auditor", "+EXECUTE"),
        ("VIEW consumer_report to reader", "+SELECT"),
        ("SCHEMA to reader", "+USAGE"),
        (
            "DEFAULT PRIVILEGES FOR ROLE kong_app ON TABLES to reader",
            "+SELECT",
        ),
    ];
    for (k, v) in want {
        assert_eq!(g.get(k).map(String::as_str), Some(v), "{k}: {g:#?}");
    }
    // The owner's own privileges are the default and are not listed.
    assert!(!g.keys().any(|k| k.contains("(owner)")), "{g:#?}");
}

/// The whole path an operator relies on: snapshot → verify-backup → run from the snapshot,
/// with the roles created in the throwaway, and every grant held to the source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_survive_snapshot_verify_backup_and_the_upgrade() {
    let db = granted_db().await;
    let source_grants = grants_of(&db.client().await).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    snapshot_of(&db, &snap);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["format_version"], 3);
    assert_eq!(
        m["catalog"]["grants"]["TABLE consumers to reader"],
        "+SELECT"
    );

    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert!(kinds(&v).is_empty(), "{v:#}");
    // A snapshot directory passed as a dump is a usage error that names --snapshot.
    let out = Command::new(common::bin())
        .args(["run", "--dump", snap.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass it with --snapshot"));

    // Kept on a server of the test's own, so the end state can be read.
    let host = TestDb::local().await;
    let admin = host.tw().admin().unwrap().clone();
    let (code, v) = run_json(&[
        "run",
        "--snapshot",
        snap.to_str().unwrap(),
        "--target",
        &conninfo(&admin),
    ]);
    // The roles do not exist on that server: the grants are left out and that is said.
    assert_eq!(code, 0, "{v:#}");
    assert!(
        warnings(&v)
            .iter()
            .any(|w| w.contains("grants were not restored") && w.contains("reader")),
        "{:#?}",
        warnings(&v)
    );

    // With the default local throwaway the roles are made and every grant is held.
    let (code, v) = run_json(&["run", "--snapshot", snap.to_str().unwrap(), "--rollback"]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert!(kinds(&v).is_empty(), "{v:#}");
    let held: Vec<String> = warnings(&v)
        .into_iter()
        .filter(|w| w.starts_with("held unchanged from the source: grant"))
        .collect();
    // PUBLIC's USAGE on `public` is PostgreSQL 15's default, which stock Kong has too.
    for k in source_grants.keys().filter(|k| *k != "SCHEMA to PUBLIC") {
        assert!(
            held.iter().any(|w| w.contains(k.as_str())),
            "{k} not held: {held:#?}"
        );
    }
    for r in v["rollback"].as_array().unwrap() {
        if r["method"] == "recreate" {
            assert_eq!(r["exact"], true, "{r:#}");
        }
    }
}

/// A migration that loses a grant (here an event trigger revokes the reporting role's SELECT
/// on plugins at the first ALTER TABLE of `up`) fails the rehearsal, naming the grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_lost_during_the_upgrade_is_a_schema_mismatch() {
    let db = granted_db().await;
    db.client()
        .await
        .batch_execute(
            "CREATE FUNCTION lose_grant() RETURNS event_trigger LANGUAGE plpgsql
               AS $$ BEGIN REVOKE SELECT ON public.plugins FROM reader; END $$;
             CREATE EVENT TRIGGER lose_grant ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
               EXECUTE FUNCTION lose_grant();",
        )
        .await
        .unwrap();
    let (code, v) = run_json(&["run", "--source", &conninfo(db.tw().target())]);
    assert_eq!(code, 1, "{v:#}");
    let p = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "schema_mismatch")
        .unwrap_or_else(|| panic!("{:#}", v["problems"]));
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("grant TABLE plugins to reader removed"),
        "{p:#}"
    );
    // The source was only read.
    let g = grants_of(&db.client().await).await;
    assert_eq!(
        g.get("TABLE plugins to reader").map(String::as_str),
        Some("+SELECT")
    );
}

/// Plain SQL backups carry their grants too; a manifest whose recorded grants the restore
/// lacks is a schema mismatch; an older manifest (no grants recorded) still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_sql_grants_restore_and_a_missing_grant_is_named() {
    let db = granted_db().await;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("kong.sql");
    pg_dump(&db, "plain", &plain);
    let (code, v) = run_json(&["run", "--dump", plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert!(
        warnings(&v)
            .iter()
            .any(|w| w.contains("grant COLUMN consumers.username to \"Odd Role\"")),
        "{:#?}",
        warnings(&v)
    );

    let snap = dir.path().join("snap");
    snapshot_of(&db, &snap);
    let mpath = snap.join("manifest.json");
    let original = std::fs::read_to_string(&mpath).unwrap();
    let rewrite = |edit: &dyn Fn(&mut kong_rehearse::backup::manifest::Manifest)| {
        let mut m: kong_rehearse::backup::manifest::Manifest =
            serde_json::from_str(&original).unwrap();
        edit(&mut m);
        m.catalog_sha256 = kong_rehearse::backup::manifest::catalog_sha256(&m.catalog).unwrap();
        std::fs::write(&mpath, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    };
    // A grant the source had and the restore does not bring back.
    rewrite(&|m| {
        m.catalog
            .grants
            .insert("TABLE services to auditor".into(), "+SELECT".into());
    });
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "schema_mismatch"
                && p["message"]
                    .as_str()
                    .unwrap()
                    .contains("grant TABLE services to auditor removed")),
        "{v:#}"
    );
    // A format-2 manifest recorded no grants: the restore's are not held against it.
    rewrite(&|m| {
        m.format_version = 2;
        m.catalog.grants.clear();
    });
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
}
