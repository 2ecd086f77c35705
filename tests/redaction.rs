//! No password ever shows: every form a password can be given in (URL userinfo, `?password=`,
//! a `key = value` conninfo with spaces or quotes, PGPASSWORD, a PGPASSFILE, kong.conf's
//! `pg_password`, KONG_PG_PASSWORD), through every command that takes a connection (status,
//! plan, run --source, snapshot, verify-backup --against, fixture --into), against a reachable
//! server, the same server with a wrong password, and a port where nothing listens. stdout,
//! stderr (with -v) and every report or manifest written are searched for the secret.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, TestDb};
use kong_rehearse::throwaway::Backend;

/// Where the secret goes: a `--db`-style value, extra environment, or a kong.conf.
struct Form {
    name: &'static str,
    conn: Option<String>,
    env: Vec<(String, String)>,
    kong_conf: Option<PathBuf>,
}

struct Server {
    port: u16,
    user: String,
    dbname: String,
    secret: String,
}

fn forms(s: &Server, dir: &Path) -> Vec<Form> {
    let (p, u, d, pw) = (s.port, &s.user, &s.dbname, &s.secret);
    let plain = format!("host=127.0.0.1 port={p} user={u} dbname={d}");
    let pgpass = dir.join("pgpass");
    std::fs::write(&pgpass, format!("127.0.0.1:{p}:*:{u}:{pw}\n")).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let conf = dir.join("kong.conf");
    std::fs::write(
        &conf,
        format!(
            "pg_host = 127.0.0.1\npg_port = {p}\npg_user = {u}\npg_password = {pw}\n\
             pg_database = {d}\n"
        ),
    )
    .unwrap();
    let conf_nopw = dir.join("kong-nopw.conf");
    std::fs::write(
        &conf_nopw,
        format!("pg_host = 127.0.0.1\npg_port = {p}\npg_user = {u}\npg_database = {d}\n"),
    )
    .unwrap();
    let conn = |name, c: String| Form {
        name,
        conn: Some(c),
        env: vec![],
        kong_conf: None,
    };
    vec![
        conn(
            "URL userinfo",
            format!("postgres://{u}:{pw}@127.0.0.1:{p}/{d}"),
        ),
        conn(
            "URL ?password=",
            format!("postgresql://{u}@127.0.0.1:{p}/{d}?sslmode=prefer&password={pw}"),
        ),
        conn(
            "conninfo with spaces",
            format!("host = 127.0.0.1 port = {p} user = {u} password = {pw} dbname = {d}"),
        ),
        conn(
            "conninfo quoted",
            format!("host=127.0.0.1 port={p} user={u} password='{pw}' dbname={d}"),
        ),
        Form {
            name: "PGPASSWORD",
            conn: Some(plain.clone()),
            env: vec![("PGPASSWORD".into(), pw.clone())],
            kong_conf: None,
        },
        Form {
            name: "PGPASSFILE",
            conn: Some(plain),
            env: vec![("PGPASSFILE".into(), pgpass.display().to_string())],
            kong_conf: None,
        },
        Form {
            name: "kong.conf pg_password",
            conn: None,
            env: vec![],
            kong_conf: Some(conf),
        },
        Form {
            name: "KONG_PG_PASSWORD",
            conn: None,
            env: vec![("KONG_PG_PASSWORD".into(), pw.clone())],
            kong_conf: Some(conf_nopw),
        },
    ]
}

/// A command's arguments for a connection value; None when the command cannot take the form
/// (only status, plan and snapshot read kong.conf).
type Args = Box<dyn Fn(Option<&str>, &Path) -> Option<Vec<String>>>;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn commands(backup: PathBuf) -> Vec<(&'static str, Args)> {
    vec![
        (
            "status",
            Box::new(|c: Option<&str>, _: &Path| {
                Some(match c {
                    Some(c) => s(&["status", "--db", c]),
                    None => s(&["status"]),
                })
            }),
        ),
        (
            "plan",
            Box::new(|c: Option<&str>, _: &Path| {
                Some(match c {
                    Some(c) => s(&["plan", "--db", c]),
                    None => s(&["plan"]),
                })
            }),
        ),
        (
            "snapshot",
            Box::new(|c: Option<&str>, dir: &Path| {
                let out = dir.join("snap");
                let _ = std::fs::remove_dir_all(&out);
                let mut v = s(&["snapshot", "--out", out.to_str().unwrap()]);
                if let Some(c) = c {
                    v.extend(s(&["--source", c]));
                }
                Some(v)
            }),
        ),
        (
            "run --source",
            Box::new(|c: Option<&str>, dir: &Path| {
                let c = c?;
                let d = |f: &str| dir.join(f).display().to_string();
                Some(s(&[
                    "run",
                    "--source",
                    c,
                    "--report-json",
                    &d("r.json"),
                    "--junit",
                    &d("r.xml"),
                    "--markdown",
                    &d("r.md"),
                ]))
            }),
        ),
        (
            "verify-backup --against",
            Box::new(move |c: Option<&str>, _: &Path| {
                Some(s(&[
                    "verify-backup",
                    backup.to_str().unwrap(),
                    "--against",
                    c?,
                ]))
            }),
        ),
        (
            "fixture --into",
            Box::new(|c: Option<&str>, _: &Path| Some(s(&["fixture", "--into", c?]))),
        ),
    ]
}

/// Every text file under `p` (reports, manifests); dumps are binary and hold no credentials.
fn text_files(p: &Path, out: &mut Vec<(PathBuf, String)>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            text_files(&e.path(), out);
        }
    } else if let Ok(t) = std::fs::read_to_string(p) {
        out.push((p.to_path_buf(), t));
    }
}

fn run_corpus(server: &Server, backup: PathBuf, expect_success: bool) {
    let files = tempfile::tempdir().unwrap();
    let forms = forms(server, files.path());
    let mut ran = 0;
    for (cmd_name, args) in commands(backup) {
        for form in &forms {
            for format in ["text", "json"] {
                // The text rendering of the commands that start a throwaway adds nothing the
                // JSON run does not already check, and costs a server start each.
                if format == "text"
                    && matches!(cmd_name, "run --source" | "verify-backup --against")
                {
                    continue;
                }
                let work = tempfile::tempdir().unwrap();
                let Some(args) = args(form.conn.as_deref(), work.path()) else {
                    continue;
                };
                let mut c = Command::new(bin());
                c.args(&args).args(["--format", format, "-v"]);
                for v in [
                    "PGPASSWORD",
                    "PGPASSFILE",
                    "PGHOST",
                    "PGSERVICE",
                    "KONG_PG_PASSWORD",
                ] {
                    c.env_remove(v);
                }
                c.env("HOME", files.path());
                if let Some(k) = &form.kong_conf {
                    c.arg("--kong-conf").arg(k);
                }
                c.envs(form.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let out: Output = c.output().unwrap();
                ran += 1;
                let what = format!("{cmd_name} with {} ({format})", form.name);
                let code = out.status.code().unwrap_or(-1);
                for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                    let text = String::from_utf8_lossy(text);
                    assert!(
                        !text.contains(&server.secret),
                        "{what}: {stream} shows the password (exit {code}):\n{text}"
                    );
                }
                let mut written = vec![];
                text_files(work.path(), &mut written);
                for (f, t) in written {
                    assert!(
                        !t.contains(&server.secret),
                        "{what}: {} shows the password",
                        f.display()
                    );
                }
                if expect_success && matches!(cmd_name, "status" | "plan") {
                    assert_eq!(
                        code,
                        0,
                        "{what} reaches the server: {}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                if !expect_success {
                    assert_eq!(
                        code,
                        5,
                        "{what} cannot connect: {}",
                        String::from_utf8_lossy(&out.stdout)
                    );
                }
            }
        }
    }
    // 6 commands × 6 connection forms + 3 commands × 2 kong.conf forms in JSON, and the same
    // in text less run and verify-backup.
    assert_eq!(ran, (6 * 6 + 3 * 2) + (4 * 6 + 3 * 2));
}

/// A Kong 2.8.5 database on TCP with a password, and a tiny backup to verify against it.
async fn kong_source() -> (TestDb, PathBuf, tempfile::TempDir) {
    let db = TestDb::start(Backend::Local { tcp: true }).await;
    kong_rehearse::fixture::build(
        &db.client().await,
        kong_rehearse::fixture::Spec { scale: 1, seed: 7 },
    )
    .await
    .unwrap();
    // A small custom-format dump (of another database), quick to restore every time.
    let admin = db.tw().admin().unwrap().clone();
    admin
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE DATABASE tiny")
        .await
        .unwrap();
    let tiny = admin.with_dbname("tiny");
    tiny.connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("tiny.dump");
    let out = Command::new(db.tw().client_tool("pg_dump").unwrap())
        .args(["--format=custom", "-f"])
        .arg(&backup)
        .envs(tiny.libpq_env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (db, backup, dir)
}

fn server_of(db: &TestDb, secret: Option<&str>) -> Server {
    let t = db.tw().target();
    Server {
        port: t.port,
        user: t.user.clone(),
        dbname: t.dbname.clone(),
        secret: secret
            .map(str::to_string)
            .unwrap_or_else(|| t.password.clone().unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reachable_server_never_sees_its_password_printed() {
    let (db, backup, _dir) = kong_source().await;
    run_corpus(&server_of(&db, None), backup, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_not_printed_in_the_authentication_error() {
    let (db, backup, _dir) = kong_source().await;
    let s = server_of(&db, Some("Zq9xK7vR2mW4-not-it"));
    let files = tempfile::tempdir().unwrap();
    // The auth failure is an environment error for every form.
    for form in forms(&s, files.path()) {
        let mut c = Command::new(bin());
        c.args(["status", "--format", "json", "-v"]);
        if let Some(conn) = &form.conn {
            c.args(["--db", conn]);
        }
        if let Some(k) = &form.kong_conf {
            c.arg("--kong-conf").arg(k);
        }
        c.env("HOME", files.path());
        c.envs(form.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(5), "{}", form.name);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("password authentication failed"),
            "{}: {text}",
            form.name
        );
    }
    run_corpus(&s, backup, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_never_sees_its_password_printed() {
    let (_db, backup, _dir) = kong_source().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Server {
        port,
        user: "kong".into(),
        dbname: "kong".into(),
        secret: "Zq9xK7vR2mW4-unreachable".into(),
    };
    run_corpus(&s, backup, false);
}

#[test]
fn a_malformed_connection_string_does_not_echo_its_password() {
    let secret = "Zq9xK7vR2mW4-malformed";
    for bad in [
        format!("host=h password = '{secret}"),
        format!("host=h password={secret} bogus_key=1"),
        format!("host=h {secret}"),
        format!("postgres://kong:{secret}@h:notaport/db"),
        format!("postgres://kong@h/db?password={secret}&nonsense=1"),
        format!("host=h password={secret} sslmode=verify-fool"),
    ] {
        let out = Command::new(bin())
            .args(["status", "--format", "json", "--db", &bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(!text.contains(secret), "{bad} shows the password: {text}");
        }
    }
}
