//! Connections the way managed PostgreSQL wants them: a real server with `ssl = on` and a
//! `hostssl`-only pg_hba.conf, certificates made by the test (a CA, a server certificate for
//! `localhost` and 127.0.0.1, a client certificate), and the tool's binary against it with
//! every sslmode. Also: a database whose defaults change how values print still snapshots and
//! verifies intact, because every connection pins those settings.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{bin, TestDb};
use kong_rehearse::pg::conn::ConnSpec;
use kong_rehearse::throwaway::Backend;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A CA that can sign server and client certificates.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

/// (certificate PEM, key PEM) signed by `ca`.
fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    cn: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![usage];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_private(path: &Path, text: &str, owner: Option<(u32, u32)>) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

/// A local throwaway turned into a TLS-only server: certificates written into its data
/// directory (owned by the server's user, key 0600), `ssl = on` by ALTER SYSTEM, a pg_hba.conf
/// with `hostssl` lines only (`cert` for the role `certuser`), then a reload.
struct TlsServer {
    /// Keeps the server running for the length of the test.
    _db: TestDb,
    files: tempfile::TempDir,
    port: u16,
    password: String,
}

impl TlsServer {
    async fn start() -> Self {
        let db = TestDb::start(Backend::Local { tcp: true }).await;
        let (dir, _) = db.tw().local_server().unwrap();
        let data = dir.join("data");
        let meta = std::fs::metadata(&data).unwrap();
        let owner = Some((meta.uid(), meta.gid()));

        let ca = ca("kong-rehearse test CA");
        let (server_crt, server_key) = leaf(
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write_private(&data.join("server.crt"), &server_crt, owner);
        write_private(&data.join("server.key"), &server_key, owner);
        write_private(&data.join("root.crt"), &ca.pem(), owner);

        let files = tempfile::tempdir().unwrap();
        let f = files.path();
        write_private(&f.join("ca.pem"), &ca.pem(), None);
        write_private(
            &f.join("wrong-ca.pem"),
            &self::ca("someone else's CA").pem(),
            None,
        );
        let (client_crt, client_key) =
            leaf(&ca, "certuser", &[], ExtendedKeyUsagePurpose::ClientAuth);
        write_private(&f.join("client.crt"), &client_crt, None);
        write_private(&f.join("client.key"), &client_key, None);

        let admin = db.tw().admin().unwrap().clone();
        let c = admin.connect().await.unwrap();
        for stmt in [
            "ALTER SYSTEM SET ssl = on",
            "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
            "ALTER SYSTEM SET ssl_key_file = 'server.key'",
            "ALTER SYSTEM SET ssl_ca_file = 'root.crt'",
            "CREATE ROLE certuser LOGIN SUPERUSER",
        ] {
            c.batch_execute(stmt).await.unwrap();
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            "local   all all                  trust\n\
             hostssl all certuser 127.0.0.1/32 cert\n\
             hostssl all certuser ::1/128      cert\n\
             hostssl all all      127.0.0.1/32 scram-sha-256\n\
             hostssl all all      ::1/128      scram-sha-256\n",
        )
        .unwrap();
        c.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        let t = db.tw().target().clone();
        let server = TlsServer {
            port: t.port,
            password: t.password.clone().unwrap(),
            _db: db,
            files,
        };
        // The reload is asynchronous: wait until plaintext is refused and TLS accepted.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let plain = server.spec("sslmode=disable").connect().await;
            let tls = server.spec("sslmode=require").connect().await;
            if plain.is_err() && tls.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not switch to TLS only: plaintext {:?}, TLS {:?}",
                plain.err(),
                tls.err()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        kong_rehearse::fixture::build(
            &server.spec("sslmode=require").connect().await.unwrap(),
            kong_rehearse::fixture::Spec { scale: 1, seed: 13 },
        )
        .await
        .unwrap();
        server
    }

    fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    /// A conninfo for the Kong database with `extra` settings (no password: PGPASSWORD).
    fn conninfo(&self, host: &str, extra: &str) -> String {
        format!(
            "host={host} port={} user=postgres dbname=kong {extra}",
            self.port
        )
    }

    fn spec(&self, extra: &str) -> ConnSpec {
        let mut s = ConnSpec::parse(&self.conninfo("127.0.0.1", extra)).unwrap();
        s.password = Some(self.password.clone());
        s
    }

    /// `status --db CONNINFO` with the password in PGPASSWORD and `env` added.
    fn status(&self, conninfo: &str, env: &[(&str, &str)]) -> Output {
        Command::new(bin())
            .args(["status", "--format", "json", "--db", conninfo])
            .env("PGPASSWORD", &self.password)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }
}

fn message(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["problems"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_verify_ca_and_verify_full_with_the_right_ca_pass() {
    let s = TlsServer::start().await;
    let ca = s.file("ca.pem");
    let ca = ca.display();
    for (host, extra) in [
        ("127.0.0.1", "sslmode=require".to_string()),
        ("127.0.0.1", format!("sslmode=verify-ca sslrootcert={ca}")),
        ("127.0.0.1", format!("sslmode=verify-full sslrootcert={ca}")),
        ("localhost", format!("sslmode=verify-full sslrootcert={ca}")),
    ] {
        let out = s.status(&s.conninfo(host, &extra), &[]);
        assert_exit(&out, 0);
    }
    // The URL form and `key = value` with spaces around `=` mean the same.
    let url = format!(
        "postgres://postgres@localhost:{}/kong?sslmode=verify-full&sslrootcert={ca}",
        s.port
    );
    assert_exit(&s.status(&url, &[]), 0);
    let spaced = format!(
        "host = localhost port = {} user = postgres dbname = kong sslmode = verify-full sslrootcert = '{ca}'",
        s.port
    );
    assert_exit(&s.status(&spaced, &[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_is_refused_naming_the_certificate_problem_and_the_fix() {
    let s = TlsServer::start().await;
    let wrong = s.file("wrong-ca.pem");
    for mode in ["verify-ca", "verify-full"] {
        let out = s.status(
            &s.conninfo(
                "127.0.0.1",
                &format!("sslmode={mode} sslrootcert={}", wrong.display()),
            ),
            &[],
        );
        assert_exit(&out, 5);
        let m = message(&out);
        assert!(m.contains("not signed by a CA in"), "{m}");
        assert!(m.contains("unknown issuer"), "{m}");
        assert!(m.contains("sslrootcert"), "the fix names the setting: {m}");
    }
    // libpq's `require` with a root certificate file verifies the chain too.
    let out = s.status(
        &s.conninfo(
            "127.0.0.1",
            &format!("sslmode=require sslrootcert={}", wrong.display()),
        ),
        &[],
    );
    assert_exit(&out, 5);
    // verify-full checks the host name (here a name the certificate does not carry, reached
    // through hostaddr); verify-ca checks the CA only and passes.
    let ca = s.file("ca.pem");
    let named = |mode: &str| {
        format!(
            "host=db.wrong.example hostaddr=127.0.0.1 port={} user=postgres dbname=kong \
             sslmode={mode} sslrootcert={}",
            s.port,
            ca.display()
        )
    };
    let out = s.status(&named("verify-full"), &[]);
    assert_exit(&out, 5);
    let m = message(&out);
    assert!(m.contains("does not name the host db.wrong.example"), "{m}");
    assert!(m.contains("verify-ca"), "the fix: {m}");
    assert_exit(&s.status(&named("verify-ca"), &[]), 0);
    // A missing root certificate file is named, with the fix.
    let out = s.status(
        &s.conninfo(
            "127.0.0.1",
            "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
        ),
        &[],
    );
    assert_exit(&out, 5);
    let m = message(&out);
    assert!(
        m.contains("/nonexistent/ca.pem") && m.contains("does not exist"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_disable_is_refused_by_a_tls_only_server_with_a_clear_error() {
    let s = TlsServer::start().await;
    let out = s.status(&s.conninfo("127.0.0.1", "sslmode=disable"), &[]);
    assert_exit(&out, 5);
    let m = message(&out);
    assert!(m.contains("refuses connections without TLS"), "{m}");
    assert!(m.contains("sslmode=verify-full"), "the fix: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgsslmode_and_pgsslrootcert_from_the_environment_are_honoured() {
    let s = TlsServer::start().await;
    let plain = s.conninfo("localhost", "");
    let ca = s.file("ca.pem").display().to_string();
    let wrong = s.file("wrong-ca.pem").display().to_string();
    let ok = s.status(
        &plain,
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    );
    assert_exit(&ok, 0);
    let refused = s.status(
        &plain,
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &wrong)],
    );
    assert_exit(&refused, 5);
    let off = s.status(&plain, &[("PGSSLMODE", "disable")]);
    assert_exit(&off, 5);
    // The connection string wins over the environment, as in libpq.
    let explicit = s.status(
        &s.conninfo(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        &[("PGSSLMODE", "disable"), ("PGSSLROOTCERT", &wrong)],
    );
    assert_exit(&explicit, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_over_tls_works_and_its_pg_dump_child_uses_tls_too() {
    let s = TlsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("snap");
    let ca = s.file("ca.pem");
    let out = Command::new(bin())
        .args(["snapshot", "--format", "json", "--source"])
        .arg(s.conninfo(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={}", ca.display()),
        ))
        .arg("--out")
        .arg(&out_dir)
        // A shell's libpq settings must not reach the child: the tool's own do.
        .env("PGSSLMODE", "disable")
        .env("PGSERVICE", "no-such-service-anywhere")
        .env("PGPASSWORD", &s.password)
        .output()
        .unwrap();
    // PGSERVICE names a missing service: libpq (and the tool) refuse that outright.
    assert_exit(&out, 2);
    let out = Command::new(bin())
        .args(["snapshot", "--format", "json", "--source"])
        .arg(s.conninfo(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={}", ca.display()),
        ))
        .arg("--out")
        .arg(&out_dir)
        .env("PGSSLMODE", "disable")
        .env("PGPASSWORD", &s.password)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(out_dir.join("manifest.json").is_file());
    // The server accepts TLS only, so the pg_dump that wrote these files spoke TLS.
    let verify = Command::new(bin())
        .args(["verify-backup", "--format", "json"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_exit(&verify, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_login_works() {
    let s = TlsServer::start().await;
    let conninfo = format!(
        "host=localhost port={} user=certuser dbname=kong sslmode=verify-full sslrootcert={} \
         sslcert={} sslkey={}",
        s.port,
        s.file("ca.pem").display(),
        s.file("client.crt").display(),
        s.file("client.key").display()
    );
    let out = Command::new(bin())
        .args(["status", "--format", "json", "--db", &conninfo])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    // Without the certificate the `cert` line turns the login down.
    let without = Command::new(bin())
        .args(["status", "--format", "json", "--db"])
        .arg(format!(
            "host=localhost port={} user=certuser dbname=kong sslmode=verify-full sslrootcert={}",
            s.port,
            s.file("ca.pem").display()
        ))
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_exit(&without, 5);
    let m = message(&without);
    assert!(m.contains("certificate"), "{m}");
    // A key others can read is refused, as libpq does.
    std::fs::set_permissions(s.file("client.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = Command::new(bin())
        .args(["status", "--format", "json", "--db", &conninfo])
        .output()
        .unwrap();
    assert_exit(&open, 5);
    assert!(message(&open).contains("chmod 0600"), "{}", message(&open));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_against_a_plaintext_only_server_fails() {
    let db = TestDb::start(Backend::Local { tcp: true }).await;
    let t = db.tw().target().clone();
    let out = Command::new(bin())
        .args(["status", "--format", "json", "--db"])
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=require",
            t.port, t.user, t.dbname
        ))
        .env("PGPASSWORD", t.password.as_deref().unwrap())
        .output()
        .unwrap();
    assert_exit(&out, 5);
    let m = message(&out);
    assert!(m.contains("does not accept TLS connections"), "{m}");
    // prefer (libpq's default) goes on without TLS against the same server.
    let out = Command::new(bin())
        .args(["status", "--format", "json", "--db"])
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=prefer",
            t.port, t.user, t.dbname
        ))
        .env("PGPASSWORD", t.password.as_deref().unwrap())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(5), "{}", message(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kong_conf_pg_ssl_reaches_a_tls_only_server() {
    let s = TlsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("kong.conf");
    std::fs::write(
        &conf,
        format!(
            "pg_host = 127.0.0.1\npg_port = {}\npg_user = postgres\npg_database = kong\n\
             pg_ssl = on\npg_ssl_verify = on\nlua_ssl_trusted_certificate = {}\n",
            s.port,
            s.file("ca.pem").display()
        ),
    )
    .unwrap();
    let run = |envs: &[(&str, &str)]| {
        Command::new(bin())
            .args(["status", "--format", "json", "--kong-conf"])
            .arg(&conf)
            .env("KONG_PG_PASSWORD", &s.password)
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    };
    assert_exit(&run(&[]), 0);
    // The wrong CA through Kong's own override variable: refused.
    let wrong = s.file("wrong-ca.pem").display().to_string();
    let out = run(&[("KONG_LUA_SSL_TRUSTED_CERTIFICATE", &wrong)]);
    assert_exit(&out, 5);
    assert!(
        message(&out).contains("not signed by a CA"),
        "{}",
        message(&out)
    );
    // pg_ssl = off is Kong's plaintext, which this server refuses.
    let out = run(&[("KONG_PG_SSL", "off")]);
    assert_exit(&out, 5);
}

/// Every connection pins TimeZone, DateStyle and the other output settings, so a database
/// whose own defaults differ still gives checksums that match its restore on a UTC server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_utc_database_snapshots_and_verifies_intact() {
    let db = common::fixture_db().await;
    let t = db.tw().target().clone();
    db.client()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {} SET timezone = 'America/New_York';
             ALTER DATABASE {} SET datestyle = 'SQL, DMY';
             ALTER DATABASE {} SET intervalstyle = 'sql_standard';
             ALTER DATABASE {} SET extra_float_digits = 0;
             ALTER DATABASE {} SET bytea_output = 'escape'",
            t.dbname, t.dbname, t.dbname, t.dbname, t.dbname
        ))
        .await
        .unwrap();
    // A new session sees the database's settings only where the tool does not pin them.
    let c = t.connect().await.unwrap();
    let tz: String = c.query_one("SHOW TimeZone", &[]).await.unwrap().get(0);
    assert_eq!(tz, "UTC");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let out = Command::new(bin())
        .args(["snapshot", "--format", "json", "--source"])
        .arg(common::conninfo(&t))
        .arg("--out")
        .arg(&snap)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = Command::new(bin())
        .args(["verify-backup", "--format", "json"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_exit(&out, 0);
}
