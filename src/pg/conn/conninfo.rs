//! libpq's connection-string grammar: `postgres://` URLs, `key = value` strings, the service
//! file (PGSERVICE / pg_service.conf), the libpq environment and `.pgpass`, each read with
//! libpq's rules (https://www.postgresql.org/docs/current/libpq-connect.html). It only reads
//! and never connects; an error names the keyword or the position, never a value, so a
//! password cannot leak through a typo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Keyword → value, as libpq's option array holds them.
pub type Values = BTreeMap<&'static str, String>;

/// Every connection keyword of libpq (PostgreSQL 17) and the environment variable that gives
/// its default, in libpq's order.
pub const KEYWORDS: &[(&str, Option<&str>)] = &[
    ("service", Some("PGSERVICE")),
    ("user", Some("PGUSER")),
    ("password", Some("PGPASSWORD")),
    ("passfile", Some("PGPASSFILE")),
    ("channel_binding", Some("PGCHANNELBINDING")),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("dbname", Some("PGDATABASE")),
    ("host", Some("PGHOST")),
    ("hostaddr", Some("PGHOSTADDR")),
    ("port", Some("PGPORT")),
    ("client_encoding", Some("PGCLIENTENCODING")),
    ("options", Some("PGOPTIONS")),
    ("application_name", Some("PGAPPNAME")),
    ("fallback_application_name", None),
    ("keepalives", None),
    ("keepalives_idle", None),
    ("keepalives_interval", None),
    ("keepalives_count", None),
    ("tcp_user_timeout", None),
    ("sslmode", Some("PGSSLMODE")),
    ("sslnegotiation", Some("PGSSLNEGOTIATION")),
    ("sslcompression", Some("PGSSLCOMPRESSION")),
    ("sslcert", Some("PGSSLCERT")),
    ("sslkey", Some("PGSSLKEY")),
    ("sslcertmode", Some("PGSSLCERTMODE")),
    ("sslpassword", None),
    ("sslrootcert", Some("PGSSLROOTCERT")),
    ("sslcrl", Some("PGSSLCRL")),
    ("sslcrldir", Some("PGSSLCRLDIR")),
    ("sslsni", Some("PGSSLSNI")),
    ("requirepeer", Some("PGREQUIREPEER")),
    ("require_auth", Some("PGREQUIREAUTH")),
    ("ssl_min_protocol_version", Some("PGSSLMINPROTOCOLVERSION")),
    ("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION")),
    ("gssencmode", Some("PGGSSENCMODE")),
    ("krbsrvname", Some("PGKRBSRVNAME")),
    ("gsslib", Some("PGGSSLIB")),
    ("gssdelegation", Some("PGGSSDELEGATION")),
    ("replication", None),
    ("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
    // Deprecated, still read by libpq: requiressl=1 means sslmode=require.
    ("requiressl", Some("PGREQUIRESSL")),
];

/// Variables libpq reads that are not keywords of their own.
pub const EXTRA_ENV: &[&str] = &["PGSERVICEFILE", "PGSYSCONFDIR", "PGTZ", "PGDATESTYLE"];

fn keyword(name: &str) -> Option<&'static str> {
    KEYWORDS.iter().map(|(k, _)| *k).find(|k| *k == name)
}

/// Where a string came from, for error messages.
fn is_url(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// A URL or a `key = value` string, parsed as libpq does (`conninfo_parse` /
/// `conninfo_uri_parse`). Errors never quote a value.
pub fn parse(s: &str) -> Result<Values, String> {
    if is_url(s) {
        parse_url(s)
    } else {
        parse_keywords(s)
    }
}

fn store(v: &mut Values, key: &str, value: String) -> Result<(), String> {
    let k = keyword(key).ok_or_else(|| format!("invalid connection option `{key}`"))?;
    v.insert(k, value);
    Ok(())
}

/// `key = value` pairs separated by white space; a value may be single-quoted, and a backslash
/// takes the next character literally (inside or outside quotes).
fn parse_keywords(s: &str) -> Result<Values, String> {
    let mut v = Values::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(if keyword(&key).is_some() {
                format!("missing `=` after `{key}`")
            } else {
                // A word that is not a keyword may be a stray value: not quoted back.
                "missing `=` after a word that is not a connection keyword (give key=value \
                 pairs, or a postgres:// URL)"
                    .into()
            });
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(format!("unterminated quoted value for `{key}`"));
                    }
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        store(&mut v, &key, value)?;
    }
    Ok(v)
}

fn percent_decode(s: &str, what: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid percent-encoded token in the URL's {what}"))?;
            if hex == 0 {
                return Err(format!("forbidden value %00 in the URL's {what}"));
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URL's {what} is not UTF-8 once decoded"))
}

/// `postgres[ql]://[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`.
fn parse_url(s: &str) -> Result<Values, String> {
    let mut v = Values::new();
    let rest = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
        .unwrap_or(s);
    // Credentials end at the first `@` before any `/` (libpq looks no further).
    let cred_end = rest.find(['@', '/']);
    let rest = match cred_end {
        Some(i) if rest.as_bytes()[i] == b'@' => {
            let userinfo = &rest[..i];
            let (user, password) = match userinfo.find(':') {
                Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                v.insert("user", percent_decode(user, "user name")?);
            }
            if let Some(p) = password.filter(|p| !p.is_empty()) {
                v.insert("password", percent_decode(p, "password")?);
            }
            &rest[i + 1..]
        }
        _ => rest,
    };
    // Hosts, each `[v6]` or a name, with an optional `:port`, separated by commas.
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut hosts: Vec<String> = vec![];
    let mut ports: Vec<String> = vec![];
    let mut any_port = false;
    let mut end_char: Option<u8>;
    loop {
        let host;
        if bytes.get(i) == Some(&b'[') {
            let start = i + 1;
            let close = rest[start..]
                .find(']')
                .map(|c| start + c)
                .ok_or("the URL's IPv6 host address has no closing `]`")?;
            if close == start {
                return Err("the URL's IPv6 host address is empty".into());
            }
            host = rest[start..close].to_string();
            i = close + 1;
            if let Some(&c) = bytes.get(i) {
                if !matches!(c, b':' | b'/' | b'?' | b',') {
                    return Err(format!(
                        "unexpected character at position {} of the URL (expected `:` or `/`)",
                        i + 1
                    ));
                }
            }
        } else {
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b':' | b'/' | b'?' | b',') {
                i += 1;
            }
            host = rest[start..i].to_string();
        }
        end_char = bytes.get(i).copied();
        let mut port = String::new();
        if end_char == Some(b':') {
            i += 1;
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'/' | b'?' | b',') {
                i += 1;
            }
            port = rest[start..i].to_string();
            any_port = true;
            end_char = bytes.get(i).copied();
        }
        hosts.push(host);
        ports.push(port);
        if end_char != Some(b',') {
            break;
        }
        i += 1;
    }
    let host_list = hosts.join(",");
    if !host_list.is_empty() {
        v.insert("host", percent_decode(&host_list, "host")?);
    }
    if any_port {
        v.insert("port", percent_decode(&ports.join(","), "port")?);
    }
    if end_char == Some(b'/') {
        i += 1;
        let start = i;
        while i < bytes.len() && bytes[i] != b'?' {
            i += 1;
        }
        let db = &rest[start..i];
        if !db.is_empty() {
            v.insert("dbname", percent_decode(db, "database name")?);
        }
        end_char = bytes.get(i).copied();
    }
    if end_char == Some(b'?') {
        for param in rest[i + 1..].split('&').filter(|p| !p.is_empty()) {
            let (k, val) = param.split_once('=').ok_or_else(|| {
                "a URL query parameter has no `=` (write ?key=value&key=value)".to_string()
            })?;
            if val.contains('=') {
                return Err(format!(
                    "extra `=` in the URL query parameter `{}`",
                    percent_decode(k, "query")?
                ));
            }
            let k = percent_decode(k, "query")?;
            let val = percent_decode(val, "query")?;
            // JDBC's `ssl=true`, which libpq accepts as sslmode=require.
            if k == "ssl" && val == "true" {
                v.insert("sslmode", "require".into());
                continue;
            }
            let key = keyword(&k).ok_or_else(|| format!("invalid URL query parameter `{k}`"))?;
            v.insert(key, val);
        }
    }
    Ok(v)
}

/// Fills what `given` leaves out: first from the service file (when `service` or PGSERVICE
/// names one), then from the environment, as libpq's `conninfo_add_defaults` does. An empty
/// variable counts as not set.
pub fn add_defaults(
    mut given: Values,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Values, String> {
    let service = given
        .get("service")
        .cloned()
        .or_else(|| env("PGSERVICE").filter(|s| !s.is_empty()));
    if let Some(service) = service {
        for (k, val) in service_values(&service, env)? {
            given.entry(k).or_insert(val);
        }
    }
    for (k, var) in KEYWORDS {
        if given.contains_key(k) {
            continue;
        }
        if let Some(val) = var.and_then(env).filter(|s| !s.is_empty()) {
            given.insert(k, val);
        }
    }
    Ok(given)
}

/// The settings of `[service]`: from PGSERVICEFILE (or `~/.pg_service.conf`) when it has the
/// section, else from the system file (PGSYSCONFDIR/pg_service.conf, or where Debian's libpq
/// looks). The first matching section wins; a missing one is an error, as in libpq.
fn service_values(service: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Values, String> {
    let mut files: Vec<PathBuf> = vec![];
    match env("PGSERVICEFILE").filter(|s| !s.is_empty()) {
        Some(f) => files.push(PathBuf::from(f)),
        None => {
            if let Some(h) = env("HOME").filter(|s| !s.is_empty()) {
                files.push(Path::new(&h).join(".pg_service.conf"));
            }
        }
    }
    match env("PGSYSCONFDIR").filter(|s| !s.is_empty()) {
        Some(d) => files.push(Path::new(&d).join("pg_service.conf")),
        None => files.push(PathBuf::from("/etc/postgresql-common/pg_service.conf")),
    }
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        if let Some(v) = service_section(&text, service, f)? {
            return Ok(v);
        }
    }
    Err(format!(
        "definition of service `{service}` not found (looked in {})",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// libpq's `parseServiceFile`: `[name]` sections of `key=value` lines, neither side trimmed
/// except the line's own leading and trailing white space; `#` starts a comment line.
fn service_section(text: &str, service: &str, file: &Path) -> Result<Option<Values>, String> {
    let mut found = false;
    let mut v = Values::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            if found {
                return Ok(Some(v));
            }
            found = name.strip_suffix(']') == Some(service)
                || (name.starts_with(service) && name[service.len()..].starts_with(']'));
            continue;
        }
        if !found {
            continue;
        }
        let (key, val) = line.split_once('=').ok_or_else(|| {
            format!(
                "syntax error in service file {}, line {}",
                file.display(),
                n + 1
            )
        })?;
        if key == "service" {
            return Err(format!(
                "nested service specifications are not supported in service file {}, line {}",
                file.display(),
                n + 1
            ));
        }
        let k = keyword(key).ok_or_else(|| {
            format!(
                "syntax error in service file {}, line {}",
                file.display(),
                n + 1
            )
        })?;
        v.entry(k).or_insert_with(|| val.to_string());
    }
    Ok(found.then_some(v))
}

/// The password `.pgpass` (or `passfile`) holds for this host, port, database and user, read
/// with libpq's rules: `hostname:port:database:username:password` lines, `*` matches anything,
/// `\` escapes `:` and `\`, the first match wins, and a file others can read is ignored (with
/// libpq's warning).
pub fn pgpass_lookup(file: &Path, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() {
        tracing::warn!("password file {} is not a plain file", file.display());
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access; permissions should be u=rw (0600) or \
             less",
            file.display()
        );
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        let mut ok = true;
        for want in [host, port, db, user] {
            match field_matches(rest, want) {
                Some(r) => rest = r,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let mut pw = String::new();
        let mut it = rest.chars();
        while let Some(c) = it.next() {
            match c {
                ':' => break,
                '\\' => match it.next() {
                    Some(n) => pw.push(n),
                    None => pw.push('\\'),
                },
                c => pw.push(c),
            }
        }
        return Some(pw);
    }
    None
}

/// libpq's `pwdfMatchesString`: the rest of the line after a field equal to `want` (or `*`).
fn field_matches<'a>(line: &'a str, want: &str) -> Option<&'a str> {
    if let Some(r) = line.strip_prefix("*:") {
        return Some(r);
    }
    let mut want = want.chars();
    let mut it = line.char_indices();
    while let Some((i, mut c)) = it.next() {
        let mut escaped = false;
        if c == '\\' {
            match it.next() {
                Some((_, n)) => {
                    c = n;
                    escaped = true;
                }
                None => return None,
            }
        }
        if c == ':' && !escaped {
            return want.next().is_none().then(|| &line[i + 1..]);
        }
        if want.next() != Some(c) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_values_follow_libpq_quoting() {
        let v = parse(r"host = db.example  password = 'se cr\'et' user=kong dbname=a\ b").unwrap();
        assert_eq!(v["host"], "db.example");
        assert_eq!(v["password"], "se cr'et");
        assert_eq!(v["user"], "kong");
        assert_eq!(v["dbname"], "a b");
        assert!(parse("host=h bogus=1").unwrap_err().contains("bogus"));
        let e = parse("host=h password='s3cret").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse("host=h s3cret").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn urls_with_several_hosts_and_parameters() {
        let v = parse(
            "postgresql://kong:p%40ss@h1:5433,[::1]:5434,h3/kong%5Fdb?sslmode=verify-full&application_name=x",
        )
        .unwrap();
        assert_eq!(v["user"], "kong");
        assert_eq!(v["password"], "p@ss");
        assert_eq!(v["host"], "h1,::1,h3");
        assert_eq!(v["port"], "5433,5434,");
        assert_eq!(v["dbname"], "kong_db");
        assert_eq!(v["sslmode"], "verify-full");
        let v = parse("postgres://%2Fvar%2Frun%2Fpostgresql/kong?ssl=true").unwrap();
        assert_eq!(v["host"], "/var/run/postgresql");
        assert_eq!(v["sslmode"], "require");
        let v = parse("postgres://u@/db?host=/tmp&password=pw").unwrap();
        assert_eq!(v["host"], "/tmp");
        assert_eq!(v["password"], "pw");
        let e = parse("postgres://u@h/db?passwrd=s3cret").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn service_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("svc.conf");
        std::fs::write(
            &f,
            "# comment\n[other]\nhost=wrong\n[prod]\nhost=pg.prod\nport=6432\nsslmode=verify-full\n[prod]\nhost=second\n",
        )
        .unwrap();
        let fs = f.display().to_string();
        let env = move |k: &str| match k {
            "PGSERVICEFILE" => Some(fs.clone()),
            "PGSYSCONFDIR" => Some("/nonexistent".into()),
            "PGPORT" => Some("7777".into()),
            "PGUSER" => Some("envuser".into()),
            _ => None,
        };
        let given = parse("service=prod dbname=kong").unwrap();
        let v = add_defaults(given, &env).unwrap();
        assert_eq!(v["host"], "pg.prod");
        assert_eq!(
            v["port"], "6432",
            "the service file wins over the environment"
        );
        assert_eq!(v["user"], "envuser");
        assert_eq!(v["sslmode"], "verify-full");
        let e = add_defaults(parse("service=nope").unwrap(), &env).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn pgpass_matches_like_libpq() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(
            &f,
            "# c\nother:*:*:*:no\ndb\\:x:5432:kong:kong:first\n*:*:*:kong:pa\\:ss\\\\w\n",
        )
        .unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            pgpass_lookup(&f, "db:x", "5432", "kong", "kong").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(&f, "h", "1", "d", "kong").as_deref(),
            Some("pa:ss\\w")
        );
        assert_eq!(pgpass_lookup(&f, "h", "1", "d", "nobody"), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(pgpass_lookup(&f, "h", "1", "d", "kong"), None);
    }
}
