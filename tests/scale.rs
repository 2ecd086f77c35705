//! Production sizes on real servers: a table whose text passes PostgreSQL's 1 GB value limit
//! is fingerprinted with flat memory, one changed row among millions is named by its key,
//! the same rows hash the same whatever the server's or the session's settings, collation
//! or physical order, and a failed `snapshot` leaves nothing that looks like a backup.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{conninfo, fixture_db, run_json, TestDb};
use kong_rehearse::pg::fingerprint::{self, Scope};

/// Peak resident memory of this process so far, in kB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

async fn scope(c: &tokio_postgres::Client, table: &str) -> Scope {
    fingerprint::whole_tables(c, "public")
        .await
        .unwrap()
        .remove(table)
        .unwrap_or_else(|| panic!("no table {table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_past_one_gigabyte_of_text_is_fingerprinted_in_flat_memory() {
    let db = TestDb::local().await;
    let c = db.client().await;
    // ~1.1 GB of row text in 1.1 M rows; it compresses on disk, so the test stays quick.
    c.batch_execute(
        "CREATE TABLE wide (id bigint PRIMARY KEY, body text NOT NULL);
         INSERT INTO wide SELECT i, md5(i::text) || repeat('x', 1000) FROM generate_series(1, 1100000) i;",
    )
    .await
    .unwrap();
    let text_bytes: i64 = c
        .query_one(
            "SELECT sum(octet_length(id::text) + 1 + octet_length(body) + 1)::bigint FROM wide",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        text_bytes > 1 << 30,
        "the table's text is past 1 GB ({text_bytes} bytes)"
    );

    let rss0 = peak_rss_kb();
    let s = scope(&c, "wide").await;
    let fps = fingerprint::fingerprint_all(db.tw().target(), None, vec![s], 2)
        .await
        .unwrap();
    let fp = &fps[0];
    assert_eq!(fp.rows, 1_100_000);
    assert!(
        fp.checksum.starts_with(fingerprint::CHECKSUM_PREFIX),
        "{}",
        fp.checksum
    );
    assert!(fp.chunks.list.len() <= fingerprint::MAX_CHUNKS);
    assert_eq!(
        fp.chunks.list.iter().map(|c| c.rows).sum::<u64>(),
        1_100_000
    );
    assert_eq!(fp.chunks.list[0].first, "1");
    assert_eq!(fp.chunks.list.last().unwrap().last, "1100000");
    let grown_mb = (peak_rss_kb().saturating_sub(rss0)) / 1024;
    assert!(
        grown_mb < 64,
        "hashing 1 GB raised peak memory by {grown_mb} MB"
    );

    // The one-connection form gives the same fingerprint.
    assert_eq!(&fingerprint::fingerprint(&c, "wide").await.unwrap(), fp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_row_among_millions_is_named_by_its_key() {
    let db = TestDb::local().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE metrics (identifier text, period text, n bigint, PRIMARY KEY (identifier, period));
         INSERT INTO metrics SELECT 'consumer-' || (i / 4), (ARRAY['second','minute','hour','day'])[i % 4 + 1], i
           FROM generate_series(0, 3999999) i;
         CREATE TABLE copy (LIKE metrics INCLUDING ALL);
         INSERT INTO copy SELECT * FROM metrics;",
    )
    .await
    .unwrap();
    let (a, b) = (scope(&c, "metrics").await, scope(&c, "copy").await);
    let spec = db.tw().target();
    let same = fingerprint::fingerprint_all(spec, None, vec![a.clone(), b.clone()], 2)
        .await
        .unwrap();
    assert_eq!(same[0].rows, 4_000_000);
    assert_eq!(same[0].checksum, same[1].checksum, "a copy hashes the same");

    c.batch_execute(
        "UPDATE copy SET n = -1 WHERE identifier = 'consumer-777777' AND period = 'hour'",
    )
    .await
    .unwrap();
    let fps = fingerprint::fingerprint_all(spec, None, vec![a.clone(), b.clone()], 2)
        .await
        .unwrap();
    assert_eq!(fps[0].rows, fps[1].rows);
    assert_ne!(fps[0].checksum, fps[1].checksum);
    let d = fingerprint::first_difference(&fps[0].chunks, &fps[1].chunks).expect("a difference");
    let w = d.want.clone().unwrap();
    let key = "consumer-777777, hour";
    assert!(
        w.first.as_str() <= key && key <= w.last.as_str(),
        "the first differing chunk holds the changed row: {}",
        d.describe()
    );
    assert!(
        d.describe().contains("identifier, period"),
        "{}",
        d.describe()
    );
    let rows = fingerprint::locate(&c, &a, &c, &b, &d, 10).await.unwrap();
    assert_eq!(
        rows,
        vec![fingerprint::RowDifference {
            key: key.to_string(),
            what: "changed"
        }]
    );

    // A deleted row is named as missing.
    c.batch_execute(
        "UPDATE copy SET n = 3111111 WHERE identifier = 'consumer-777777' AND period = 'hour';
         DELETE FROM copy WHERE identifier = 'consumer-42' AND period = 'day'",
    )
    .await
    .unwrap();
    let fps = fingerprint::fingerprint_all(spec, None, vec![a.clone(), b.clone()], 2)
        .await
        .unwrap();
    assert_eq!(fps[0].rows, fps[1].rows + 1);
    let d = fingerprint::first_difference(&fps[0].chunks, &fps[1].chunks).unwrap();
    let rows = fingerprint::locate(&c, &a, &c, &b, &d, 1).await.unwrap();
    assert_eq!(
        rows,
        vec![fingerprint::RowDifference {
            key: "consumer-42, day".to_string(),
            what: "missing"
        }]
    );
}

const TYPED: &str = "CREATE TABLE typed (
        name text PRIMARY KEY, at timestamptz, day date, span interval, ratio float8,
        blob bytea, amount numeric, doc jsonb, tags text[]);
     INSERT INTO typed VALUES
       ('alpha', '2024-01-02 03:04:05.123456+00', '2024-01-02', '1 day 02:03:04', 0.1,
        '\\x00ff10', 12.50, '{\"b\": 1, \"a\": [1, 2]}', '{x,y}'),
       ('Beta', '1999-12-31 23:59:59+05:30', '1999-12-31', '3 years 2 mons', 1e-300,
        'bytes', 0.000001, '[]', '{}'),
       ('_gamma', NULL, NULL, NULL, 'NaN', NULL, NULL, NULL, NULL),
       ('ähnlich', '2000-02-29 12:00:00-08', '2000-02-29', '-1 day', -0.0,
        '\\x', 1e20, '\"s\"', '{\"with space\",NULL}');";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_rows_hash_the_same_across_servers_settings_and_collations() {
    let (one, two) = tokio::join!(TestDb::local(), TestDb::local());
    // Server one: the database's defaults differ in every setting a row's text depends on,
    // and its default collation sorts `Beta` after `alpha` (ICU), unlike C.
    let admin = one.client().await;
    admin
        .batch_execute(
            "CREATE DATABASE odd TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'",
        )
        .await
        .unwrap();
    admin
        .batch_execute(
            "ALTER DATABASE odd SET TimeZone = 'America/New_York';
             ALTER DATABASE odd SET DateStyle = 'SQL, DMY';
             ALTER DATABASE odd SET IntervalStyle = 'sql_standard';
             ALTER DATABASE odd SET extra_float_digits = 0;
             ALTER DATABASE odd SET bytea_output = 'escape';",
        )
        .await
        .unwrap();
    let odd = one.tw().target().with_dbname("odd");
    let c1 = odd.connect().await.unwrap();
    c1.batch_execute(TYPED).await.unwrap();
    let order: Vec<String> = c1
        .query("SELECT name FROM typed ORDER BY name", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let at = |n: &str| order.iter().position(|x| x == n).unwrap();
    assert!(
        at("alpha") < at("Beta"),
        "ICU order, not bytewise: {order:?}"
    );

    // Server two: stock defaults, and a session whose own settings differ again.
    let c2 = two.client().await;
    c2.batch_execute(TYPED).await.unwrap();
    // Another physical order: the updated rows move to the end of the heap.
    c2.batch_execute("UPDATE typed SET name = name WHERE name IN ('alpha', 'Beta')")
        .await
        .unwrap();
    c2.batch_execute(
        "SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'German'; SET IntervalStyle = 'iso_8601'",
    )
    .await
    .unwrap();

    let parallel = fingerprint::fingerprint_all(&odd, None, vec![scope(&c1, "typed").await], 2)
        .await
        .unwrap()
        .remove(0);
    let session = fingerprint::fingerprint(&c2, "typed").await.unwrap();
    assert_eq!(parallel.rows, 4);
    assert_eq!(parallel, session, "same rows, same fingerprint");
    assert_eq!(
        session.chunks.list[0].first, "Beta",
        "keys compare bytewise"
    );
}

/// A stand-in pg_dump that answers --version like the real one, then writes part of a
/// directory archive and fails, as a pg_dump that loses its server or its disk does.
fn failing_pg_dump(dir: &Path, real: &Path) {
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then exec {real} --version; fi\n\
         for a in \"$@\"; do case \"$a\" in --file=*) out=\"${{a#--file=}}\";; esac; done\n\
         mkdir -p \"$out\" && echo partial > \"$out/toc.dat\" && echo rows > \"$out/3001.dat.gz\"\n\
         echo 'pg_dump: error: connection to server was lost' >&2\n\
         exit 1\n",
        real = real.display()
    );
    let p = dir.join("pg_dump");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_snapshot_leaves_nothing_that_looks_like_a_backup() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    failing_pg_dump(&bin_dir, &db.tw().client_tool("pg_dump").unwrap());
    let src = conninfo(db.tw().target());

    // pg_dump fails after writing part of the archive: the directory it was given goes.
    let snap = dir.path().join("snap");
    let (code, v) = run_json(&[
        "snapshot",
        "--source",
        &src,
        "--out",
        snap.to_str().unwrap(),
        "--pg-bin",
        bin_dir.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{v:#}");
    assert!(
        !snap.exists(),
        "the half-written snapshot directory is removed"
    );

    // Into an empty directory that already existed: the directory stays, empty.
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    let (code, _) = run_json(&[
        "snapshot",
        "--source",
        &src,
        "--out",
        existing.to_str().unwrap(),
        "--pg-bin",
        bin_dir.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert_eq!(
        std::fs::read_dir(&existing).unwrap().count(),
        0,
        "nothing is left in it"
    );

    // A source that is not there (dropped, or its server gone): nothing is left either.
    let gone = db.tw().target().with_dbname("no_such_database");
    let snap = dir.path().join("snap-gone");
    let (code, _) = run_json(&[
        "snapshot",
        "--source",
        &conninfo(&gone),
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(!snap.exists());

    // Killed outright while pg_dump writes (no cleanup can run): what is left says it is
    // incomplete, and verify-backup does not take it for a backup.
    let slow = dir.path().join("slow");
    std::fs::create_dir(&slow).unwrap();
    let pid_file = dir.path().join("pg_dump.pid");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then exec {real} --version; fi\n\
         for a in \"$@\"; do case \"$a\" in --file=*) out=\"${{a#--file=}}\";; esac; done\n\
         mkdir -p \"$out\" && echo partial > \"$out/toc.dat\" && echo $$ > {pid}\n\
         exec sleep 60\n",
        real = db.tw().client_tool("pg_dump").unwrap().display(),
        pid = pid_file.display()
    );
    std::fs::write(slow.join("pg_dump"), script).unwrap();
    std::fs::set_permissions(slow.join("pg_dump"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let killed = dir.path().join("killed");
    let mut child = std::process::Command::new(common::bin())
        .args(["--quiet", "snapshot", "--source", &src, "--out"])
        .arg(&killed)
        .arg("--pg-bin")
        .arg(&slow)
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !pid_file.exists() && t0.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let pg_dump: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::process::Command::new("kill")
        .arg(pg_dump.to_string())
        .status();
    let left: Vec<String> = std::fs::read_dir(&killed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["dump.incomplete"]);
    let (code, v) = run_json(&["verify-backup", killed.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["problems"][0]["kind"], "not_a_dump", "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_backup_against_the_live_source_names_the_changed_row() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let src = conninfo(db.tw().target());
    let (code, v) = run_json(&[
        "snapshot",
        "--source",
        &src,
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v:#}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["format_version"], 3);
    assert!(m["tables"]["services"]["chunks"]["list"]
        .as_array()
        .is_some());
    let id: String = db
        .client()
        .await
        .query_one(
            "UPDATE services SET host = 'moved.example' WHERE name = 'svc-0' RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap(), "--against", &src]);
    assert_eq!(code, 1);
    let p = &v["problems"][0];
    assert_eq!(p["kind"], "content_mismatch");
    let msg = p["message"].as_str().unwrap();
    assert!(msg.contains(&format!("{id} changed")), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_1_manifest_still_reads_and_says_its_contents_cannot_be_compared() {
    let db = fixture_db().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, v) = run_json(&[
        "snapshot",
        "--source",
        &conninfo(db.tw().target()),
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v:#}");
    // What an older kong-rehearse wrote: format 1, md5 checksums, no chunks.
    let path = snap.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["format_version"] = 1.into();
    for (_, t) in m["tables"].as_object_mut().unwrap() {
        t["checksum"] = "d41d8cd98f00b204e9800998ecf8427e".into();
        t.as_object_mut().unwrap().remove("chunks");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (code, v) = run_json(&["verify-backup", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["warnings"].to_string().contains("format 1"), "{v:#}");
    let (code, v) = run_json(&["run", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["problems"]);
    assert!(v["warnings"].to_string().contains("format 1"));
}
