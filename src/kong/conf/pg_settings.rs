//! Kong's PostgreSQL settings: `pg_*` from kong.conf with the `KONG_PG_*` environment
//! overrides, exactly as Kong combines them, and the database target they name. It reads the
//! settings only; connecting is `pg::conn`'s job, and nothing in pg/ knows these keys.
//!
//! Environment (`overrides` @3.4.2 and @2.8.5): for every key `k` of `kong_defaults.lua`, a set
//! `KONG_<upper(k)>` wins over the file, **even when empty** (`if env ~= nil`), and an empty
//! value then unsets the key. Only the exact uppercase name is read. 3.4.2 takes environment
//! values literally apart from surrounding whitespace (no comment stripping, no number
//! conversion); 2.8.5 escaped and unescaped `#`, which only differs for a literal `\#`.
//!
//! TLS with Kong's meaning (kong/db/strategies/postgres/connector.lua and pgmoon @3.4.2):
//! `pg_ssl = on` asks for TLS, `pg_ssl_verify = on` checks the server certificate against
//! `lua_ssl_trusted_certificate` (files, PEM text, or `system`), never the host name. Kong
//! goes on without TLS when the server does not offer it; kong-rehearse does not (it maps
//! `pg_ssl` to libpq's `require`, `pg_ssl_verify` to `verify-ca`), so a rehearsal never reads
//! production over plaintext that kong.conf meant to be encrypted.
//!
//! Not resolved: `{vault://…}` references (Kong dereferences them; [`pg_settings`] notes them).

use std::fmt;
use std::path::{Path, PathBuf};

use super::lua_number::lua_tonumber;
use super::parser::{load, lua_strip};
use super::{KongConf, REDACTED};
use crate::error::{Error, Result};
use crate::pg::conn::{ConnSpec, Endpoint, RootCert, SslMode, TlsSettings};

/// `kong.vault.is_reference` (kong/pdk/vault.lua @3.4.2): `{vault://…}`.
fn is_vault_reference(v: &str) -> bool {
    v.len() >= 10 && v.starts_with("{vault://") && v.ends_with('}')
}

/// The connection settings Kong takes from kong.conf and `KONG_PG_*`. `None`: not given, or
/// given a value Kong reads as nothing (see [`PgSettings::explicitly_unset`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PgSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub ssl: Option<bool>,
    pub ssl_verify: Option<bool>,
    /// `lua_ssl_trusted_certificate` as given (comma-separated files, PEM text or `system`).
    pub trusted_certificate: Option<String>,
    /// Where each given key came from: (`pg_host`, `KONG_PG_HOST`) or (`pg_host`,
    /// `kong.conf line 12`).
    pub sources: Vec<(&'static str, String)>,
    /// Keys given a value Kong reads as nothing (empty, or a `pg_port` that is not a number).
    /// Kong does not apply its default to them; [`PgSettings::with_kong_defaults`] keeps them
    /// unset.
    pub explicitly_unset: Vec<&'static str>,
    /// What Kong does differently from what one might expect (never contains the password).
    pub notes: Vec<String>,
}

/// The keys read, in the order of [`PgSettings`].
pub const PG_KEYS: [&str; 8] = [
    "pg_host",
    "pg_port",
    "pg_user",
    "pg_password",
    "pg_database",
    "pg_schema",
    "pg_ssl",
    "pg_ssl_verify",
];

/// The CA certificates Kong checks `pg_ssl_verify` against (and every other Lua TLS peer).
pub const TRUSTED_CERTIFICATE_KEY: &str = "lua_ssl_trusted_certificate";

/// The environment variable Kong reads for a key: `"KONG_" .. upper(k)` (`overrides`).
pub fn env_name(key: &str) -> String {
    format!("KONG_{}", key.to_ascii_uppercase())
}

/// Kong's PostgreSQL settings from kong.conf (if any) and the environment, exactly as
/// `overrides` and `parse_value` in kong/conf_loader/init.lua @3.4.2 (and @2.8.5) combine
/// them: a set `KONG_PG_*` variable wins even when empty (and then unsets the key); values are
/// trimmed; an empty value is unset; `pg_port` goes through `tonumber`; `pg_ssl` and
/// `pg_ssl_verify` are true only for `on` or `true`. Kong's defaults are not applied here:
/// see [`PgSettings::with_kong_defaults`].
pub fn pg_settings(conf: Option<&KongConf>, env: &dyn Fn(&str) -> Option<String>) -> PgSettings {
    let mut s = PgSettings::default();
    for key in PG_KEYS.into_iter().chain([TRUSTED_CERTIFICATE_KEY]) {
        let var = env_name(key);
        let file = conf.and_then(|c| c.get(key));
        let (value, origin) = match env(&var) {
            Some(v) => {
                let origin = match file {
                    Some(e) => format!("{var}, over kong.conf line {}", e.line),
                    None => var.clone(),
                };
                (v, origin)
            }
            None => match file {
                Some(e) => (e.value.clone(), format!("kong.conf line {}", e.line)),
                None => continue,
            },
        };
        s.sources.push((key, origin.clone()));
        let v = lua_strip(&value);
        if v.is_empty() {
            s.explicitly_unset.push(key);
            s.notes.push(format!(
                "{key} is set to an empty value ({origin}): Kong treats it as unset and does not \
                 fall back to its default"
            ));
            continue;
        }
        if is_vault_reference(v) {
            s.notes.push(format!(
                "{key} ({origin}) is a Kong vault reference, which kong-rehearse does not resolve: \
                 give the value itself (for example in {var})"
            ));
        }
        match key {
            "pg_port" => match lua_tonumber(v) {
                Some(p) if p.fract() == 0.0 && (1.0..=65535.0).contains(&p) => {
                    s.port = Some(p as u16);
                }
                Some(_) => s.notes.push(format!(
                    "pg_port ({origin}) is {v:?}, which is not a TCP port: Kong would fail to connect"
                )),
                None => {
                    s.explicitly_unset.push(key);
                    s.notes.push(format!(
                        "pg_port ({origin}) is {v:?}, not a number: Kong reads it as no value \
                         (without an error) and its driver uses port 5432"
                    ));
                }
            },
            "pg_ssl" | "pg_ssl_verify" => {
                let on = v == "on" || v == "true";
                if !on && v != "off" && v != "false" {
                    s.notes.push(format!(
                        "{key} ({origin}) is {v:?}, which Kong reads as off: only `on` and `true` \
                         mean on"
                    ));
                }
                if key == "pg_ssl" {
                    s.ssl = Some(on);
                } else {
                    s.ssl_verify = Some(on);
                }
            }
            _ => {
                let slot = match key {
                    "pg_host" => &mut s.host,
                    "pg_user" => &mut s.user,
                    "pg_password" => &mut s.password,
                    "pg_database" => &mut s.database,
                    TRUSTED_CERTIFICATE_KEY => &mut s.trusted_certificate,
                    _ => &mut s.schema,
                };
                *slot = Some(v.to_string());
            }
        }
    }
    s
}

/// The database Kong would use, and its `pg_schema`, from `--kong-conf` (if given) and the
/// process's `KONG_PG_*` variables as Kong resolves them (the environment overrides the file).
/// `None` when neither is given: the caller then falls back to libpq's environment.
pub fn pg_target(conf_path: Option<&Path>) -> Result<Option<(ConnSpec, Option<String>)>> {
    // Any KONG_PG_* (not only the keys read here) means "configured the Kong way"; names only,
    // so a value that is not UTF-8 cannot make the check fail.
    let kong_env = std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("KONG_PG_"));
    if conf_path.is_none() && !kong_env {
        return Ok(None);
    }
    let conf = match conf_path {
        Some(p) => Some(load(p).map_err(|e| Error::io("cannot read the kong.conf", p, e))?),
        None => None,
    };
    let pg = pg_settings(conf.as_ref(), &|k| std::env::var(k).ok());
    Ok(Some((pg.conn_spec()?, pg.schema.clone())))
}

impl PgSettings {
    /// Fills what is not given with Kong's defaults (kong/templates/kong_defaults.lua, the same
    /// at 2.8.5 and 3.4.2): host 127.0.0.1, port 5432, user kong, database kong, ssl and
    /// ssl_verify off; password and schema have none. Keys in
    /// [`PgSettings::explicitly_unset`] stay unset, as in Kong.
    pub fn with_kong_defaults(&self) -> PgSettings {
        let mut s = self.clone();
        let free = |k: &str| !self.explicitly_unset.contains(&k);
        if s.host.is_none() && free("pg_host") {
            s.host = Some("127.0.0.1".into());
        }
        if s.port.is_none() && free("pg_port") {
            s.port = Some(5432);
        }
        if s.user.is_none() && free("pg_user") {
            s.user = Some("kong".into());
        }
        if s.database.is_none() && free("pg_database") {
            s.database = Some("kong".into());
        }
        if s.ssl.is_none() && free("pg_ssl") {
            s.ssl = Some(false);
        }
        if s.ssl_verify.is_none() && free("pg_ssl_verify") {
            s.ssl_verify = Some(false);
        }
        s
    }

    /// The target Kong connects to with these settings, Kong's defaults filled in (an unset
    /// host is 127.0.0.1, as Kong's driver takes it). TLS: `pg_ssl = off` is sslmode=disable
    /// (Kong never tries TLS then), `pg_ssl = on` is `require` and with `pg_ssl_verify = on`
    /// `verify-ca` against `lua_ssl_trusted_certificate` (Kong 3.4's default `system` when the
    /// file sets none). The password is Kong's only (`.pgpass` does not apply to Kong).
    pub fn conn_spec(&self) -> Result<ConnSpec> {
        let pg = self.with_kong_defaults();
        let host = pg.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        let mut spec = ConnSpec::new(
            if host.starts_with('/') {
                Endpoint::Socket(PathBuf::from(&host))
            } else {
                Endpoint::Tcp(host)
            },
            pg.port.unwrap_or(5432),
            pg.user.as_deref().unwrap_or("kong"),
            pg.password.clone(),
            pg.database.as_deref().unwrap_or("kong"),
        );
        spec.params.tls = match (pg.ssl, pg.ssl_verify) {
            (Some(true), Some(true)) => {
                let (root_cert, bundle) = trusted_roots(pg.trusted_certificate.as_deref())?;
                TlsSettings {
                    mode: Some(SslMode::VerifyCa),
                    root_cert: Some(root_cert),
                    bundle,
                    ..Default::default()
                }
            }
            (Some(true), _) => TlsSettings {
                mode: Some(SslMode::Require),
                ..Default::default()
            },
            _ => TlsSettings {
                mode: Some(SslMode::Disable),
                ..Default::default()
            },
        };
        Ok(spec)
    }

    /// One line for logs and reports, with where each value came from. The password is shown
    /// only as `<set>`.
    pub fn redacted_summary(&self) -> String {
        let src = |k: &str| {
            self.sources
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, o)| format!(" [{o}]"))
                .unwrap_or_default()
        };
        let unset = |k: &str| {
            if self.explicitly_unset.contains(&k) {
                "<empty>"
            } else {
                "<unset>"
            }
        };
        let text = |k: &str, v: &Option<String>| match v {
            Some(v) => format!("{v}{}", src(k)),
            None => format!("{}{}", unset(k), src(k)),
        };
        let flag = |k: &str, v: Option<bool>| match v {
            Some(b) => format!("{}{}", if b { "on" } else { "off" }, src(k)),
            None => format!("{}{}", unset(k), src(k)),
        };
        let port = match self.port {
            Some(p) => format!("{p}{}", src("pg_port")),
            None => format!("{}{}", unset("pg_port"), src("pg_port")),
        };
        let password = match self.password {
            Some(_) => format!("<set>{}", src("pg_password")),
            None => format!("{}{}", unset("pg_password"), src("pg_password")),
        };
        let trusted = match &self.trusted_certificate {
            Some(_) => format!(
                ", lua_ssl_trusted_certificate={}",
                text(TRUSTED_CERTIFICATE_KEY, &self.trusted_certificate)
            ),
            None => String::new(),
        };
        format!(
            "host={}, port={port}, user={}, password={password}, database={}, schema={}, ssl={}, \
             ssl_verify={}{trusted}",
            text("pg_host", &self.host),
            text("pg_user", &self.user),
            text("pg_database", &self.database),
            text("pg_schema", &self.schema),
            flag("pg_ssl", self.ssl),
            flag("pg_ssl_verify", self.ssl_verify),
        )
    }
}

/// The CA certificates of `lua_ssl_trusted_certificate` as Kong's conf_loader reads them
/// (@3.4.2): a comma-separated list of `system` (the system bundle), files, or certificates
/// given inline (PEM, or base64 of PEM). One file or `system` is used as it is; several are
/// combined into one private bundle, as Kong writes `.ca_combined` into its prefix.
fn trusted_roots(
    value: Option<&str>,
) -> Result<(RootCert, Option<std::sync::Arc<tempfile::TempDir>>)> {
    let entries: Vec<&str> = value
        .unwrap_or("system")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    match entries.as_slice() {
        [] | ["system"] => return Ok((RootCert::System, None)),
        [one] if Path::new(one).is_file() => return Ok((RootCert::File(PathBuf::from(one)), None)),
        _ => {}
    }
    let mut pem = String::new();
    for (i, e) in entries.iter().enumerate() {
        let text = if *e == "system" {
            let bundle = crate::pg::conn::tls::system_bundle().map_err(|err| {
                Error::Usage(format!(
                    "lua_ssl_trusted_certificate names `system`: {}; {}",
                    err.detail, err.fix
                ))
            })?;
            std::fs::read_to_string(&bundle)
                .map_err(|err| Error::io("cannot read the system CA bundle", bundle, err))?
        } else if Path::new(e).is_file() {
            std::fs::read_to_string(e).map_err(|err| {
                Error::io("cannot read lua_ssl_trusted_certificate's file", *e, err)
            })?
        } else if e.contains("-----BEGIN") {
            e.to_string()
        } else {
            match base64_decode(e).and_then(|b| String::from_utf8(b).ok()) {
                Some(t) if t.contains("-----BEGIN") => t,
                _ => {
                    return Err(Error::Usage(format!(
                        "lua_ssl_trusted_certificate entry {} is neither `system`, an existing \
                         file nor a PEM certificate (Kong fails to start with it too): give the \
                         path of the CA file that signed the database's certificate",
                        i + 1
                    )))
                }
            }
        };
        pem.push_str(text.trim_end());
        pem.push('\n');
    }
    let dir = tempfile::Builder::new()
        .prefix("kong-rehearse-ca-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot set mode 0700 on", dir.path(), e))?;
    }
    let path = dir.path().join("lua_ssl_trusted_certificate.pem");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("cannot create", &path, e))?;
        f.write_all(pem.as_bytes())
            .map_err(|e| Error::io("cannot write", &path, e))?;
    }
    Ok((RootCert::File(path), Some(std::sync::Arc::new(dir))))
}

/// Standard base64 (Kong's `try_decode_base64` of inline certificates); None if it is not.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("ssl", &self.ssl)
            .field("ssl_verify", &self.ssl_verify)
            .field("trusted_certificate", &self.trusted_certificate)
            .field("sources", &self.sources)
            .field("explicitly_unset", &self.explicitly_unset)
            .field("notes", &self.notes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::conf::parse;
    use std::collections::HashMap;

    const REALISTIC: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kong-conf/kong-2.8-realistic.conf"
    ));

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    // --- PostgreSQL settings -------------------------------------------------------------

    #[test]
    fn pg_settings_from_file() {
        let c = parse(REALISTIC);
        let s = pg_settings(Some(&c), &no_env);
        assert_eq!(s.host.as_deref(), Some("pg-kong.prod.example.internal"));
        assert_eq!(s.port, Some(5432));
        assert_eq!(s.user.as_deref(), Some("kong_app"));
        assert_eq!(s.password.as_deref(), Some("Tr0ub4dor#3-prod"));
        assert_eq!(s.database.as_deref(), Some("kong_prod"));
        assert_eq!(s.schema, None);
        assert_eq!(s.ssl, Some(true));
        assert_eq!(s.ssl_verify, Some(false));
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn env_overrides_file() {
        let c = parse("pg_host = file-host\npg_password = from-file\npg_port = 5432\n");
        let env = env_of(&[
            ("KONG_PG_PASSWORD", "from-env"),
            ("KONG_PG_PORT", " 6432 "),
            ("KONG_PG_SSL", "true"),
        ]);
        let s = pg_settings(Some(&c), &env);
        assert_eq!(s.password.as_deref(), Some("from-env"));
        assert_eq!(s.port, Some(6432));
        assert_eq!(s.host.as_deref(), Some("file-host"));
        assert_eq!(s.ssl, Some(true));
        assert!(s.sources.contains(&(
            "pg_password",
            "KONG_PG_PASSWORD, over kong.conf line 2".into()
        )));
        assert!(s.sources.contains(&("pg_host", "kong.conf line 1".into())));
    }

    #[test]
    fn empty_env_value_unsets_and_blocks_the_default() {
        let c = parse("pg_password = from-file\npg_host = db\n");
        let env = env_of(&[("KONG_PG_PASSWORD", ""), ("KONG_PG_HOST", "  ")]);
        let s = pg_settings(Some(&c), &env);
        assert_eq!(s.password, None);
        assert_eq!(s.host, None);
        assert!(s.explicitly_unset.contains(&"pg_password"));
        let d = s.with_kong_defaults();
        assert_eq!(
            d.host, None,
            "Kong does not fall back to 127.0.0.1 for an empty value"
        );
        assert_eq!(d.user.as_deref(), Some("kong"));
        assert_eq!(d.port, Some(5432));
    }

    #[test]
    fn env_names_are_exact_and_values_literal() {
        let env = env_of(&[
            ("kong_pg_host", "lower"),
            ("Kong_Pg_User", "mixed"),
            ("KONG_PG_DATABASE", "db # not a comment"),
            ("KONG_PG_SCHEMA", "0123"),
        ]);
        let s = pg_settings(None, &env);
        assert_eq!(s.host, None);
        assert_eq!(s.user, None);
        assert_eq!(s.database.as_deref(), Some("db # not a comment"));
        assert_eq!(s.schema.as_deref(), Some("0123")); // no number conversion for env values
    }

    #[test]
    fn file_values_are_kong_values() {
        let c = parse("pg_user = 007\npg_ssl = ON\npg_ssl_verify = yes\npg_port = abc\n");
        let s = pg_settings(Some(&c), &no_env);
        assert_eq!(s.user.as_deref(), Some("7")); // Penlight made it a number
        assert_eq!(s.ssl, Some(false));
        assert_eq!(s.ssl_verify, Some(false));
        assert_eq!(s.port, None);
        assert!(s.explicitly_unset.contains(&"pg_port"));
        assert_eq!(s.notes.len(), 3, "{:?}", s.notes);
        assert_eq!(s.with_kong_defaults().port, None);
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        let s = pg_settings(None, &no_env);
        assert_eq!(s, PgSettings::default());
        let d = s.with_kong_defaults();
        assert_eq!(d.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(d.port, Some(5432));
        assert_eq!(d.user.as_deref(), Some("kong"));
        assert_eq!(d.database.as_deref(), Some("kong"));
        assert_eq!(d.password, None);
        assert_eq!(d.schema, None);
        assert_eq!((d.ssl, d.ssl_verify), (Some(false), Some(false)));
    }

    #[test]
    fn password_never_in_summary_debug_or_notes() {
        let secret = "Zq9-very-secret-pw";
        let c = parse(&format!("pg_password = {secret}\npg_host = db.internal\n"));
        let s = pg_settings(Some(&c), &no_env);
        assert_eq!(s.password.as_deref(), Some(secret));
        for text in [s.redacted_summary(), format!("{s:?}"), format!("{s:#?}")] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(s
            .redacted_summary()
            .contains("password=<set> [kong.conf line 1]"));
        assert!(s
            .redacted_summary()
            .contains("host=db.internal [kong.conf line 2]"));

        let env = env_of(&[("KONG_PG_PASSWORD", secret)]);
        let s = pg_settings(None, &env);
        assert!(!s.redacted_summary().contains(secret));
        assert!(!format!("{s:?}").contains(secret));

        let vault = "{vault://env/pg-secret-name}";
        let s = pg_settings(None, &env_of(&[("KONG_PG_PASSWORD", vault)]));
        assert_eq!(s.notes.len(), 1);
        assert!(!s.notes[0].contains(vault));
        assert!(!s.redacted_summary().contains(vault));
    }

    #[test]
    fn conn_spec_fills_kong_defaults_and_maps_tls() {
        let c = parse("pg_host = /run/pg\npg_user = app\n");
        let spec = pg_settings(Some(&c), &no_env).conn_spec().unwrap();
        assert!(spec.endpoint == Endpoint::Socket(PathBuf::from("/run/pg")));
        assert_eq!((spec.port, spec.user.as_str()), (5432, "app"));
        assert_eq!(spec.dbname, "kong");
        // An empty host stays unset in Kong's settings; the driver then uses 127.0.0.1.
        let s = pg_settings(None, &env_of(&[("KONG_PG_HOST", "")]));
        assert!(s.conn_spec().unwrap().endpoint == Endpoint::Tcp("127.0.0.1".into()));
        let tls = |pairs: &[(&str, &str)]| {
            pg_settings(None, &env_of(pairs))
                .conn_spec()
                .unwrap()
                .params
                .tls
        };
        assert_eq!(tls(&[]).effective_mode(), SslMode::Disable);
        // Kong would go on in plaintext if the server offered no TLS; the tool requires it.
        assert_eq!(
            tls(&[("KONG_PG_SSL", "on")]).effective_mode(),
            SslMode::Require
        );
        let t = tls(&[("KONG_PG_SSL", "on"), ("KONG_PG_SSL_VERIFY", "on")]);
        assert_eq!(
            t.effective_mode(),
            SslMode::VerifyCa,
            "Kong never checks the host name"
        );
        assert_eq!(t.root_cert, Some(RootCert::System), "Kong 3.4's default");

        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let ca_s = ca.display().to_string();
        let one = [
            ("KONG_PG_SSL", "on"),
            ("KONG_PG_SSL_VERIFY", "on"),
            ("KONG_LUA_SSL_TRUSTED_CERTIFICATE", ca_s.as_str()),
        ];
        assert_eq!(tls(&one).root_cert, Some(RootCert::File(ca.clone())));
        let inline = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
        let list = format!("{ca_s}, {inline}");
        let c = parse(&format!(
            "pg_ssl = on\npg_ssl_verify = on\nlua_ssl_trusted_certificate = {ca_s}\n"
        ));
        assert_eq!(
            pg_settings(Some(&c), &no_env)
                .conn_spec()
                .unwrap()
                .params
                .tls
                .root_cert,
            Some(RootCert::File(ca.clone()))
        );
        let several = [
            ("KONG_PG_SSL", "on"),
            ("KONG_PG_SSL_VERIFY", "on"),
            ("KONG_LUA_SSL_TRUSTED_CERTIFICATE", list.as_str()),
        ];
        let t = tls(&several);
        let Some(RootCert::File(bundle)) = &t.root_cert else {
            panic!("{:?}", t.root_cert)
        };
        let text = std::fs::read_to_string(bundle).unwrap();
        assert!(text.contains("AAAA") && text.contains("BBBB"), "{text}");
        let bogus = [
            ("KONG_PG_SSL", "on"),
            ("KONG_PG_SSL_VERIFY", "on"),
            (
                "KONG_LUA_SSL_TRUSTED_CERTIFICATE",
                "/no/such/ca.pem,/neither",
            ),
        ];
        assert!(pg_settings(None, &env_of(&bogus)).conn_spec().is_err());
    }
}
