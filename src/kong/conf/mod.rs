//! kong.conf the way Kong reads it: [`parse`] (Kong's own rules, quirks included), the
//! PostgreSQL connection settings with the `KONG_PG_*` environment overrides
//! ([`pg_settings`]), and a 2.8 → 3.4 lint of the file ([`lint`]).
//!
//! # How Kong reads kong.conf (verified in the sources)
//!
//! `kong/conf_loader/init.lua` (`load_config` @3.4.2, `load_config_file` @2.8.5) hands the file
//! to Penlight's `pl.config.read` with `{ smart = false, list_delim = "_blank_" }` (Penlight
//! 1.12.0 at 2.8.5, 1.13.1 at 3.4.2; `lua/pl/config.lua` is identical in both). So:
//!
//! * Lines are split on `\n` only. A line is skipped when it is blank or its first non-blank
//!   character is `#` **or `;`** (`config.lines`).
//! * A line ending in `\` (plus optional whitespace) is continued: the text before the `\` is
//!   joined, without a separator, to the next non-blank, non-comment line. A continuation still
//!   pending at the end of the file is dropped. [`Entry::line`] is the first physical line.
//! * A line whose first character is `[` is an INI section header: every `key = value` after it
//!   goes into a sub-table that Kong never reads. A line without `=` becomes a list item that
//!   Kong never reads either. Both are listed in [`KongConf::ignored`].
//! * The key is everything before the first `=` (leading and trailing whitespace removed), with
//!   every byte that is not an ASCII letter or digit replaced by `_` (`variabilize`): `pg-host`
//!   and `pg host` both mean `pg_host`, a UTF-8 BOM turns the first key into `___key`. Key case
//!   is kept, and Kong only knows lowercase keys. The value is everything after the `=` and the
//!   whitespace that follows it.
//! * Quotes are **not** special (`trim_quotes` defaults to false, `smart = false`):
//!   `pg_password = "x"` is the three characters `"x"`, and nginx directive values keep the
//!   quotes nginx needs.
//! * `convert_numbers` (default true): a value starting with a digit, `+` or `-` that LuaJIT's
//!   `tonumber` accepts becomes a number, and Kong later turns it back into a string with
//!   `tostring` (`%.14g`). So `0123` reads as `123`, `1e3` as `1000`, `0x1F` as `31`, `1.50` as
//!   `1.5`, and more than 14 significant digits are rounded (`12345678901234567` reads as
//!   `1.2345678901235e+16`). This happens before comments are stripped, so `5432 # port`
//!   stays a string. Values ending in ` kB` get one more try without it (`128 kB` → `128`).
//! * A value containing `_blank_` is split into a list (the `list_delim` Kong sets "to ignore
//!   it"); Kong then reads a meaningless value. Such entries go to [`KongConf::ignored`].
//! * Surrounding whitespace is removed. Duplicate keys: the last one wins (`t[key] = value`).
//! * Inline comments, 3.4.2 (`load_config`, `strip_comments`): `ngx.re.sub(value,
//!   [[\s*(?<!\\)#.*$]], "")` removes the first `#` not preceded by `\`, everything after it and
//!   the whitespace before it; then every `\#` becomes `#`. This is [`Entry::value`].
//! * Inline comments, 2.8.5 (`infer_value`): `string.gsub(value, "[^\\]#.-$", "")` needs a
//!   character before the `#` and removes that character too (`10.0.0.0/12# x` → `10.0.0.0/1`),
//!   and a value that *starts* with `#` is kept as is; then `\#` → `#` and whitespace is
//!   stripped. [`Entry::value_2_8`] gives that reading, and [`lint`] reports every value the two
//!   versions read differently.
//! * An empty value (also `key =`, or `key = # comment`) means "unset" (`parse_value`: `""` →
//!   `nil`), and Kong then does **not** fall back to its default: the default applies only to
//!   keys that are absent (`overrides`: `file_conf[k] == nil`).
//! * Booleans (`parse_value`, typ `boolean`): only `on` and `true` are true; anything else
//!   (`ON`, `yes`, `1`) is silently false.
//!
//! Environment (`overrides` @3.4.2 and @2.8.5): for every key `k` of `kong_defaults.lua`, a set
//! `KONG_<upper(k)>` wins over the file, **even when empty** (`if env ~= nil`), and an empty
//! value then unsets the key. Only the exact uppercase name is read. 3.4.2 takes environment
//! values literally apart from surrounding whitespace (no comment stripping, no number
//! conversion); 2.8.5 escaped and unescaped `#`, which only differs for a literal `\#`.
//!
//! Not emulated: `{vault://…}` references (Kong dereferences them; [`pg_settings`] notes them),
//! and the exact rounding of hexadecimal numbers with more than 13 digits.

use std::fmt;
use std::path::Path;

use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Keys whose values are secrets: `CONF_SENSITIVE` of kong/conf_loader/init.lua @3.4.2, plus
/// `cassandra_password` from @2.8.5. Their values never appear in Debug output or findings.
pub const SENSITIVE_KEYS: &[&str] = &[
    "pg_password",
    "pg_ro_password",
    "cassandra_password",
    "proxy_server",
    "declarative_config_string",
    "cluster_cert_key",
    "ssl_cert_key",
    "client_ssl_cert_key",
    "admin_ssl_cert_key",
    "admin_gui_ssl_cert_key",
    "status_ssl_cert_key",
    "debug_ssl_cert_key",
];

/// Whether Kong treats the value of `key` as a secret.
pub fn is_sensitive(key: &str) -> bool {
    SENSITIVE_KEYS.contains(&key)
}

const REDACTED: &str = "<redacted>";

/// Whether a value is hidden in Debug output and findings: Kong's sensitive keys in any case,
/// and any key that names a password or a private key.
fn hide_value(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    is_sensitive(&k) || k.contains("password") || k.ends_with("cert_key")
}

/// One `key = value` setting Kong reads.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as Kong sees it (after Penlight's `variabilize`).
    pub key: String,
    /// The value as Kong 3.4.2 reads it (numbers re-stringified, comment stripped, `\#` → `#`,
    /// trimmed). Empty means Kong treats the key as unset.
    pub value: String,
    /// 1-based line number (the first line of a `\`-continued setting).
    pub line: usize,
    /// The text after `=` as written (continuations joined), before any processing.
    pub raw: String,
}

impl Entry {
    /// The value as Kong 2.8.5 reads it (its older comment stripping; see the module docs).
    pub fn value_2_8(&self) -> String {
        match penlight_value(&self.raw) {
            PlValue::Num(n) => lua_tostring(n),
            PlValue::Str(s) => lua_strip(&unescape_hash(&strip_comment_2_8(&s))).to_string(),
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = hide_value(&self.key);
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", if secret { &REDACTED } else { &self.value })
            .field("line", &self.line)
            .field("raw", if secret { &REDACTED } else { &self.raw })
            .finish()
    }
}

/// A line Kong reads but never uses as a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub line: usize,
    /// The key, when the line has one.
    pub key: Option<String>,
    pub reason: &'static str,
}

pub const IGNORED_NO_EQUALS: &str =
    "no `=`: Penlight reads the line as a list item, which Kong never uses";
pub const IGNORED_EMPTY_KEY: &str = "nothing before `=`: no key";
pub const IGNORED_SECTION: &str =
    "a `[section]` header: Penlight puts every following setting into a sub-table Kong never reads";
pub const IGNORED_IN_SECTION: &str = "after a `[section]` header: Kong never reads this setting";
pub const IGNORED_BLANK_DELIM: &str = "the value contains `_blank_`, Kong's Penlight list \
     delimiter: it is split into a list and Kong reads a meaningless value";
pub const IGNORED_DANGLING: &str =
    "continued with `\\` on the last setting of the file: Penlight drops it";

/// A parsed kong.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KongConf {
    /// Every setting in file order, duplicates included.
    pub entries: Vec<Entry>,
    /// Lines Kong reads but never uses (see the `IGNORED_*` reasons).
    pub ignored: Vec<Ignored>,
}

impl KongConf {
    /// The setting Kong uses for `key`: the last one in the file.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// The value Kong 3.4.2 uses for `key` (possibly empty, which Kong treats as unset).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|e| e.value.as_str())
    }

    /// Every setting of `key`, in file order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.key == key)
    }
}

/// Reads and parses a kong.conf (bytes that are not UTF-8 are replaced, as Kong would see
/// unknown keys for them anyway).
pub fn load(path: &Path) -> std::io::Result<KongConf> {
    let bytes = std::fs::read(path)?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}

/// Parses kong.conf text with Kong's rules (see the module documentation).
pub fn parse(text: &str) -> KongConf {
    let mut conf = KongConf::default();
    let mut in_section = false;
    // Penlight's continuation buffer (`config.lines`): text of `\`-ended lines, and where it
    // started. An empty buffer means "no continuation", exactly as in Lua (`line == ''`).
    let mut buf = String::new();
    let mut buf_start = 0;

    for (idx, phys) in text.split('\n').enumerate() {
        let n = idx + 1;
        let b = phys.as_bytes();
        let Some(first) = b.iter().position(|c| !is_lua_space(*c)) else {
            continue; // blank
        };
        if b[first] == b'#' || b[first] == b';' {
            continue; // comment
        }
        let mut end = b.len();
        while end > 0 && is_lua_space(b[end - 1]) {
            end -= 1;
        }
        if b[end - 1] == b'\\' {
            if buf.is_empty() {
                buf_start = n;
            }
            buf.push_str(&phys[..end - 1]);
            continue;
        }
        let (line, logical) = if buf.is_empty() {
            (n, phys.to_string())
        } else {
            let mut l = std::mem::take(&mut buf);
            l.push_str(phys);
            (buf_start, l)
        };
        parse_logical_line(&mut conf, &mut in_section, line, &logical);
    }
    if !buf.is_empty() {
        conf.ignored.push(Ignored {
            line: buf_start,
            key: None,
            reason: IGNORED_DANGLING,
        });
    }
    conf
}

fn parse_logical_line(conf: &mut KongConf, in_section: &mut bool, line: usize, logical: &str) {
    let ignore = |conf: &mut KongConf, key: Option<String>, reason| {
        conf.ignored.push(Ignored { line, key, reason });
    };
    // `line:find('^%[')` looks at the line before its leading whitespace is removed.
    if logical.starts_with('[') {
        *in_section = true;
        ignore(conf, None, IGNORED_SECTION);
        return;
    }
    let s = logical.trim_start_matches(is_lua_space_char);
    let Some(eq) = s.find('=') else {
        ignore(conf, None, IGNORED_NO_EQUALS);
        return;
    };
    let key = variabilize(s[..eq].trim_end_matches(is_lua_space_char));
    let raw = s[eq + 1..].trim_start_matches(is_lua_space_char);
    if key.is_empty() {
        ignore(conf, None, IGNORED_EMPTY_KEY);
    } else if *in_section {
        ignore(conf, Some(key), IGNORED_IN_SECTION);
    } else if raw.contains("_blank_") {
        ignore(conf, Some(key), IGNORED_BLANK_DELIM);
    } else {
        let value = match penlight_value(raw) {
            PlValue::Num(n) => lua_tostring(n),
            PlValue::Str(v) => lua_strip(&unescape_hash(&strip_comment_3_4(&v))).to_string(),
        };
        conf.entries.push(Entry {
            key,
            value,
            line,
            raw: raw.to_string(),
        });
    }
}

/// Lua's `%s` (C `isspace`), which is also LuaJIT's `lj_char_isspace` and PCRE's `\s`.
fn is_lua_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn is_lua_space_char(c: char) -> bool {
    c.is_ascii() && is_lua_space(c as u8)
}

/// `pl.stringx.strip` / Penlight's `strip`.
fn lua_strip(s: &str) -> &str {
    s.trim_matches(is_lua_space_char)
}

/// Penlight's `process_name` with `variabilize`: `key:gsub('[^%w]', '_')`, byte by byte.
fn variabilize(key: &str) -> String {
    key.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c as char
            } else {
                '_'
            }
        })
        .collect()
}

enum PlValue {
    Num(f64),
    Str(String),
}

/// Penlight's `process_value` with Kong's options (`convert_numbers`, `trim_space`).
fn penlight_value(raw: &str) -> PlValue {
    let mut v = raw.to_string();
    if matches!(v.as_bytes().first(), Some(b'0'..=b'9' | b'+' | b'-')) {
        if let Some(n) = lua_tonumber(&v) {
            return PlValue::Num(n);
        }
        if v.ends_with(" kB") {
            v = v.replace(" kB", "");
            if let Some(n) = lua_tonumber(&v) {
                return PlValue::Num(n);
            }
        }
    }
    PlValue::Str(lua_strip(&v).to_string())
}

/// 3.4.2: `ngx.re.sub(value, [[\s*(?<!\\)#.*$]], "")`.
fn strip_comment_3_4(s: &str) -> String {
    let b = s.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'#' && (i == 0 || b[i - 1] != b'\\') {
            let mut j = i;
            while j > 0 && is_lua_space(b[j - 1]) {
                j -= 1;
            }
            return s[..j].to_string();
        }
    }
    s.to_string()
}

/// 2.8.5: `string.gsub(value, "[^\\]#.-$", "")`: the character before the `#` goes too.
fn strip_comment_2_8(s: &str) -> String {
    let b = s.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && b[i - 1] != b'\\' {
            return String::from_utf8_lossy(&b[..i - 1]).into_owned();
        }
    }
    s.to_string()
}

/// `gsub(value, "\\#", "#")`.
fn unescape_hash(s: &str) -> String {
    s.replace("\\#", "#")
}

/// LuaJIT's `tonumber(string)` (`lj_strscan_scan` with `STRSCAN_OPT_TONUM`): optional leading
/// whitespace and sign, `inf`/`infinity`/`nan`, decimal with fraction and exponent, `0x` hex
/// (with fraction and `p` exponent), `0b` binary, trailing whitespace; anything else is nil.
fn lua_tonumber(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let n = b.len();
    let at = |i: usize| if i < n { b[i] } else { 0 };
    let ci = |i: usize, word: &[u8]| word.iter().enumerate().all(|(k, c)| at(i + k) | 0x20 == *c);
    let mut p = 0;
    let mut neg = false;
    if !at(p).is_ascii_digit() {
        while is_lua_space(at(p)) {
            p += 1;
        }
        if at(p) == b'+' || at(p) == b'-' {
            neg = at(p) == b'-';
            p += 1;
        }
        if at(p) >= b'A' {
            let mut v = f64::NAN;
            if ci(p, b"inf") {
                v = if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                p += 3;
                if ci(p, b"inity") {
                    p += 5;
                }
            } else if ci(p, b"nan") {
                p += 3;
            }
            while is_lua_space(at(p)) {
                p += 1;
            }
            return if p < n { None } else { Some(v) };
        }
    }

    let mant_start = p;
    let mut base = 10;
    let mut dp: Option<usize> = None;
    let mut hasdig = false;
    if at(p) <= b'0' {
        if at(p) == b'0' {
            match at(p + 1) | 0x20 {
                b'x' => {
                    base = 16;
                    p += 2;
                }
                b'b' => {
                    base = 2;
                    p += 2;
                }
                _ => {}
            }
        }
        loop {
            match at(p) {
                b'0' => hasdig = true,
                b'.' => {
                    if dp.is_some() {
                        return None;
                    }
                    dp = Some(p);
                }
                _ => break,
            }
            p += 1;
        }
    }
    let digits_start = p;
    let mut dig = 0usize;
    loop {
        let c = at(p);
        let is_digit = if base == 16 {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        };
        if is_digit {
            dig += 1;
        } else if c == b'.' {
            if dp.is_some() {
                return None;
            }
            dp = Some(p);
        } else {
            break;
        }
        p += 1;
    }
    if !hasdig && dig == 0 {
        return None;
    }
    if dp.is_some() && base == 2 {
        return None;
    }
    let mant_end = p;
    let mut exp: i64 = 0;
    if base >= 10 && at(p) | 0x20 == if base == 16 { b'p' } else { b'e' } {
        p += 1;
        let mut negx = false;
        if at(p) == b'+' || at(p) == b'-' {
            negx = at(p) == b'-';
            p += 1;
        }
        if !at(p).is_ascii_digit() {
            return None;
        }
        let mut xx = u32::from(at(p) & 15);
        p += 1;
        while at(p).is_ascii_digit() {
            xx = xx * 10 + u32::from(at(p) & 15);
            if xx >= 1 << 20 {
                return None;
            }
            p += 1;
        }
        exp = if negx { -i64::from(xx) } else { i64::from(xx) };
    }
    // Any suffix (`i`, `u`, `ll`, …) is an error without the FFI options; whitespace is not.
    while is_lua_space(at(p)) {
        p += 1;
    }
    if p < n {
        return None;
    }

    let v = match base {
        10 => {
            let text = format!("{}e{}", &s[mant_start..mant_end], exp);
            text.parse::<f64>().ok()?
        }
        16 => {
            let mut m = 0f64;
            let mut frac = 0i64;
            for (i, c) in b[digits_start..mant_end].iter().enumerate() {
                if *c == b'.' {
                    continue;
                }
                m = m * 16.0 + f64::from((*c as char).to_digit(16)?);
                if dp.is_some_and(|d| digits_start + i > d) {
                    frac += 1;
                }
            }
            // Digits after the point written before `digits_start` are all zeros.
            if let Some(d) = dp {
                if d < digits_start {
                    frac += (digits_start - d - 1) as i64;
                }
            }
            m * 2f64.powi(i32::try_from(exp - 4 * frac).ok()?)
        }
        _ => {
            if dig > 64 {
                return None;
            }
            let mut m = 0f64;
            for c in &b[digits_start..mant_end] {
                match c {
                    b'0' => m *= 2.0,
                    b'1' => m = m * 2.0 + 1.0,
                    _ => return None,
                }
            }
            m
        }
    };
    Some(if neg { -v } else { v })
}

/// LuaJIT's `tostring(number)`: `%.14g`, with `inf`, `-inf`, `nan` and `-0`.
fn lua_tostring(n: f64) -> String {
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let e = format!("{n:.13e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..14).contains(&exp) {
        format!(
            "{}e{}{:02}",
            trim(mant),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        trim(&format!("{:.*}", (13 - exp) as usize, n))
    }
}

/// `kong.vault.is_reference` (kong/pdk/vault.lua @3.4.2): `{vault://…}`.
fn is_vault_reference(v: &str) -> bool {
    v.len() >= 10 && v.starts_with("{vault://") && v.ends_with('}')
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL settings
// ---------------------------------------------------------------------------------------------

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
    for key in PG_KEYS {
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
                    _ => &mut s.schema,
                };
                *slot = Some(v.to_string());
            }
        }
    }
    s
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
        format!(
            "host={}, port={port}, user={}, password={password}, database={}, schema={}, ssl={}, \
             ssl_verify={}",
            text("pg_host", &self.host),
            text("pg_user", &self.user),
            text("pg_database", &self.database),
            text("pg_schema", &self.schema),
            flag("pg_ssl", self.ssl),
            flag("pg_ssl_verify", self.ssl_verify),
        )
    }
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
            .field("sources", &self.sources)
            .field("explicitly_unset", &self.explicitly_unset)
            .field("notes", &self.notes)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Lint: a 2.8 kong.conf against 3.4
// ---------------------------------------------------------------------------------------------

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line of the setting; `None` when the finding is about a key the file does not set.
    pub line: Option<usize>,
    pub key: String,
    /// What changes between 2.8 and 3.4.
    pub what: String,
    /// What to do.
    pub fix: String,
    /// The rule id (`RULE_*`).
    pub rule: &'static str,
    /// Where the rule comes from (Kong file and tag, or the LTS upgrade guide).
    pub source: &'static str,
}

impl Finding {
    /// `file:line: key: [rule] what`, then `    fix: …` (`file: key: …` without a line).
    pub fn to_text(&self, file: &str) -> String {
        let place = match self.line {
            Some(l) => format!("{file}:{l}"),
            None => file.to_string(),
        };
        format!(
            "{place}: {}: [{}] {}\n    fix: {}",
            self.key, self.rule, self.what, self.fix
        )
    }
}

/// A key 3.4 no longer reads (or refuses).
pub const RULE_REMOVED: &str = "conf-removed-parameter";
/// `database = cassandra`: 3.4 refuses to start.
pub const RULE_CASSANDRA: &str = "conf-database-cassandra";
/// A key 3.4 renamed.
pub const RULE_DEPRECATED: &str = "conf-deprecated-parameter";
/// A key the file does not set whose default changed in a way that alters behaviour.
pub const RULE_DEFAULT_CHANGED: &str = "conf-default-changed";
/// A value 3.4 deprecates (it still works).
pub const RULE_DEPRECATED_VALUE: &str = "conf-deprecated-value";
/// A value that no longer means the same in 3.4.
pub const RULE_VALUE_CHANGED: &str = "conf-value-changed-meaning";
/// A value Kong 2.8.5 and 3.4.2 read differently because their comment stripping differs.
pub const RULE_COMMENT_PARSING: &str = "conf-comment-parsing-changed";
/// `plugins` names prometheus, whose high-cardinality metrics are off by default in 3.x.
pub const RULE_PROMETHEUS: &str = "conf-prometheus-high-cardinality-metrics";

const SRC_DEFAULTS: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_CASSANDRA: &str = "kong/templates/kong_defaults.lua @2.8.5 (cassandra_*) vs @3.4.2 \
     (none); kong/conf_loader/init.lua @3.4.2 (keys absent from kong_defaults.lua are dropped)";
const SRC_CASSANDRA_DB: &str =
    "kong/conf_loader/init.lua @3.4.2, check_and_parse (`conf.database == \"cassandra\"`)";
const SRC_GUIDE: &str =
    "Kong Gateway LTS upgrade guide 2.8 → 3.4, table \"kong.conf changes\" (Kong Enterprise)";
const SRC_CLIENT_MAX_BODY: &str = "kong/conf_loader/init.lua @2.8.5 (client_max_body_size: \
     deprecated alias of nginx_http_client_max_body_size); kong/templates/kong_defaults.lua \
     @2.8.5 vs @3.4.2";
const SRC_NGINX_OPT: &str = "kong/conf_loader/init.lua @2.8.5 (nginx_optimizations: deprecated, \
     no replacement); kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_KEEPALIVE: &str = "kong/conf_loader/init.lua @2.8.5 \
     (upstream_keepalive_deprecated_properties) and @3.4.2 (DYNAMIC_KEY_NAMESPACES); \
     kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_GO: &str = "CHANGELOG.md @3.4.2, 3.0.0 Deprecations (#8552); \
     kong/runloop/plugin_servers/process.lua @2.8.5; kong/templates/kong_defaults.lua @2.8.5 vs \
     @3.4.2";
const SRC_TRACING: &str = "kong/conf_loader/init.lua @3.4.2 (CONF_PARSERS: deprecated, alias); \
     kong.conf.default @3.4.2";
const SRC_ROUTER_CONSISTENCY: &str = "kong/conf_loader/init.lua @2.8.5 and @3.4.2 \
     (router_consistency alias; load() keeps only keys of kong_defaults.lua); \
     kong/templates/kong_defaults.lua @2.0.0 vs @2.1.0";
const SRC_WORKER_CONSISTENCY: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; \
     kong.conf.default @3.4.2; kong/conf_loader/init.lua @3.4.2 (deprecated value `strict`)";
const SRC_LUA_SSL: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; CHANGELOG.md \
     @3.4.2, 3.0.0 (#8602); kong.conf.default @3.4.2";
const SRC_CLUSTER_PAYLOAD: &str =
    "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; CHANGELOG.md @3.4.2, 3.4.0 (#11090)";
const SRC_VAULTS: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; \
     kong/constants.lua @3.4.2 (BUNDLED_VAULTS); kong/conf_loader/init.lua @3.4.2";
const SRC_ROUTER_FLAVOR: &str = "kong/templates/kong_defaults.lua @3.4.2; kong.conf.default \
     @3.4.2; kong/router/init.lua, kong/router/compat.lua, kong/router/expressions.lua @3.4.2";
const SRC_DEBUG_HEADER: &str = "kong/router.lua @2.8.5 (Kong-Debug always honoured); \
     kong/router/utils.lua @3.4.2 (add_debug_headers); kong/templates/kong_defaults.lua @3.4.2";
const SRC_PG_SSL_VERSION: &str = "Kong Gateway LTS upgrade guide 2.8 → 3.4, table \"kong.conf \
     changes\" (Kong Enterprise; the key is not in Kong OSS); .requirements @2.8.5 (OpenSSL \
     1.1.1o) vs @3.4.2 (OpenSSL 3.1.1)";
const SRC_PROMETHEUS: &str = "CHANGELOG.md @3.4.2, 3.0.0 Prometheus (#9028); Kong Gateway LTS \
     upgrade guide 2.8 → 3.4, table \"kong.conf changes\"";
const SRC_COMMENTS: &str = "kong/conf_loader/init.lua @2.8.5 (infer_value: `[^\\\\]#.-$`) vs \
     @3.4.2 (load_config, strip_comments: `\\s*(?<!\\\\)#.*$`)";

/// Checks a Kong 2.8 kong.conf against Kong 3.4. Findings about lines come first, in line
/// order, then those about keys the file does not set. Decisions:
///
/// * `cluster_max_payload` is reported only when the file sets `role` to `control_plane` or
///   `data_plane`: it has no effect in traditional mode.
/// * `pg_ssl_version` (Kong Enterprise) is reported when unset only if the file sets `pg_ssl`
///   on: without TLS the version does not matter. Environment variables are not seen here.
/// * Prometheus high-cardinality metrics are plugin configuration (in the database), not
///   kong.conf; the database checks cover the plugin instances. This lint reports them only
///   when `plugins` names `prometheus` explicitly (not for `bundled`, which every conf loads).
/// * "Not set" means absent from the file; `key =` (empty) counts as set, on purpose: Kong then
///   uses no value rather than the new default (`lua_ssl_trusted_certificate =` keeps 2.8's "no
///   CA").
pub fn lint(conf: &KongConf) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &conf.entries {
        if let Some(f) = removed_or_deprecated(conf, e) {
            out.push(f);
        }
        let (v28, v34) = (e.value_2_8(), &e.value);
        if &v28 != v34 {
            let what = if hide_value(&e.key) {
                "Kong 2.8.5 and 3.4.2 strip the inline `#` comment of this value differently, so \
                 they read different values (not shown: secret). 2.8.5 also removes the \
                 character before the `#` and keeps a value that starts with `#`."
                    .to_string()
            } else {
                format!(
                    "Kong 2.8.5 reads {v28:?}, Kong 3.4.2 reads {v34:?}: 2.8.5 also removes the \
                     character before an inline `#` and keeps a value that starts with `#`."
                )
            };
            out.push(Finding {
                line: Some(e.line),
                key: e.key.clone(),
                what,
                fix: "If the `#` belongs to the value, write it as `\\#`; if it starts a comment, \
                      put a space before it. Then both versions read the same value."
                    .into(),
                rule: RULE_COMMENT_PARSING,
                source: SRC_COMMENTS,
            });
        }
    }
    value_rules(conf, &mut out);
    out.sort_by_key(|f| (f.line.is_none(), f.line.unwrap_or(0)));
    out
}

fn at(e: &Entry, what: String, fix: String, rule: &'static str, source: &'static str) -> Finding {
    Finding {
        line: Some(e.line),
        key: e.key.clone(),
        what,
        fix,
        rule,
        source,
    }
}

fn removed_or_deprecated(conf: &KongConf, e: &Entry) -> Option<Finding> {
    let k = e.key.as_str();
    let set_at = |key: &str| conf.get(key).map(|x| x.line);
    let removed =
        |what: String, fix: &str, source| Some(at(e, what, fix.into(), RULE_REMOVED, source));
    if k.starts_with("cassandra_") {
        let fix = if conf.value("database") == Some("cassandra") {
            "Delete the line once the cluster runs on PostgreSQL (see `database`)."
        } else {
            "Delete the line: it has no effect."
        };
        return removed(
            format!(
                "Cassandra support is gone in 3.4: Kong 3.4.2 does not read `{k}` and says \
                 nothing about it."
            ),
            fix,
            SRC_CASSANDRA,
        );
    }
    match k {
        "data_plane_config_cache_mode" | "data_plane_config_cache_path" => removed(
            format!("`{k}` is removed in 3.4 (Kong Enterprise): 3.4 does not read it."),
            "Delete the line.",
            SRC_GUIDE,
        ),
        "client_max_body_size" => {
            let target = "nginx_http_client_max_body_size";
            match set_at(target) {
                Some(l) => removed(
                    format!(
                        "Removed in 3.4 (it was a deprecated alias of `{target}`). `{target}` is \
                         set on line {l} and already won in 2.8, so this line had no effect."
                    ),
                    "Delete the line.",
                    SRC_CLIENT_MAX_BODY,
                ),
                None => removed(
                    format!(
                        "Removed in 3.4 (it was a deprecated alias of `{target}`): 3.4.2 ignores \
                         it, so the proxy's request body limit falls back to `{target}`'s \
                         default 0 (no limit) instead of {:?}.",
                        e.value
                    ),
                    &format!("Replace the line with `{target} = {}`.", e.value),
                    SRC_CLIENT_MAX_BODY,
                ),
            }
        }
        "nginx_optimizations" => removed(
            "Removed in 3.4; it was already deprecated without replacement and had no effect in \
             2.8."
                .into(),
            "Delete the line.",
            SRC_NGINX_OPT,
        ),
        "upstream_keepalive"
        | "nginx_http_upstream_keepalive"
        | "nginx_upstream_keepalive"
        | "nginx_http_upstream_keepalive_requests"
        | "nginx_upstream_keepalive_requests"
        | "nginx_http_upstream_keepalive_timeout"
        | "nginx_upstream_keepalive_timeout" => {
            let (target, default) = if k.ends_with("_requests") {
                (
                    "upstream_keepalive_max_requests",
                    "the 3.4 default 1000 (2.8: 100)",
                )
            } else if k.ends_with("_timeout") {
                ("upstream_keepalive_idle_timeout", "the default 60 seconds")
            } else {
                (
                    "upstream_keepalive_pool_size",
                    "the 3.4 default 512 (2.8: 60)",
                )
            };
            let injected = if k.starts_with("nginx_upstream_") {
                " As an `nginx_upstream_*` key it is still copied verbatim into the `upstream \
                 kong_upstream` block, as in 2.8; only the translation is gone."
            } else {
                ""
            };
            let (state, fix) = match set_at(target) {
                Some(l) => (
                    format!(" `{target}` is set on line {l} and already won in 2.8."),
                    "Delete the line.".to_string(),
                ),
                None => {
                    let value = if k.ends_with("_timeout") {
                        match nginx_time_seconds(&e.value) {
                            Some(n) => format!("{n} (seconds; 2.8 converted {:?})", e.value),
                            None => format!("this value in seconds (2.8 converted {:?})", e.value),
                        }
                    } else if k == "upstream_keepalive" && e.value == "0" {
                        "0 (0 disables upstream keepalive)".to_string()
                    } else {
                        e.value.clone()
                    };
                    (
                        format!(" Without it, `{target}` falls back to {default}."),
                        format!("Set `{target}` to {value} and delete this line."),
                    )
                }
            };
            Some(at(
                e,
                format!(
                    "Deprecated alias of `{target}` in 2.8 (conf_loader translated it); removed \
                     in 3.4, which ignores it.{state}{injected}"
                ),
                fix,
                RULE_REMOVED,
                SRC_KEEPALIVE,
            ))
        }
        "go_plugins_dir" | "go_pluginserver_exe" => {
            let active = conf
                .value("go_plugins_dir")
                .is_some_and(|v| v != "off" && !v.is_empty());
            if active {
                removed(
                    format!(
                        "Removed in 3.0: Kong 3.4 no longer starts the go-pluginserver, so the Go \
                         plugins of `go_plugins_dir` do not load (`{k}` is ignored)."
                    ),
                    "Rebuild each Go plugin with the Go PDK as its own plugin server and declare \
                     it with `pluginserver_names` and `pluginserver_<name>_start_cmd` / \
                     `pluginserver_<name>_query_cmd`; then delete the line.",
                    SRC_GO,
                )
            } else {
                removed(
                    format!(
                        "Removed in 3.0 and ignored by 3.4; with `go_plugins_dir` off it had no \
                         effect in 2.8 either (`{k}`)."
                    ),
                    "Delete the line.",
                    SRC_GO,
                )
            }
        }
        "admin_api_uri"
        | "opentelemetry_tracing"
        | "opentelemetry_tracing_sampling_rate"
        | "router_consistency" => {
            let (target, what, source) = match k {
                "admin_api_uri" => (
                    "admin_gui_api_url",
                    "Deprecated in 3.4 (Kong Enterprise) in favour of `admin_gui_api_url`; Kong \
                     OSS 3.4.2 does not read `admin_api_uri` at all."
                        .to_string(),
                    SRC_GUIDE,
                ),
                "opentelemetry_tracing" => (
                    "tracing_instrumentations",
                    "Deprecated in 3.4 in favour of `tracing_instrumentations`; 3.4.2 still \
                     copies it there when that is unset, with a deprecation warning."
                        .to_string(),
                    SRC_TRACING,
                ),
                "opentelemetry_tracing_sampling_rate" => (
                    "tracing_sampling_rate",
                    "Deprecated in 3.4 in favour of `tracing_sampling_rate`; 3.4.2 still copies \
                     it there when that is unset, with a deprecation warning."
                        .to_string(),
                    SRC_TRACING,
                ),
                _ => (
                    "worker_consistency",
                    "The pre-2.1 name of `worker_consistency`. Neither 2.8.5 nor 3.4.2 reads it: \
                     it is not in kong_defaults.lua, so conf_loader drops it before its alias \
                     runs, and the value here has no effect."
                        .to_string(),
                    SRC_ROUTER_CONSISTENCY,
                ),
            };
            let fix = match set_at(target) {
                Some(l) => format!("`{target}` is already set on line {l}: delete this line."),
                None => format!("Rename the key to `{target}` (same value)."),
            };
            Some(at(e, what, fix, RULE_DEPRECATED, source))
        }
        _ => None,
    }
}

/// An nginx time in seconds, as 2.8.5's `utils.nginx_conf_time_to_seconds` (`ngx_parse_time(str,
/// 1)`) reads it: `<n><unit>` parts (`y M w d h m s`, no unit = seconds), optionally separated by
/// spaces. `None` for anything else (milliseconds are an error in seconds mode).
fn nginx_time_seconds(v: &str) -> Option<u64> {
    let b = v.as_bytes();
    let (mut i, mut total, mut any) = (0, 0u64, false);
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n: u64 = v[start..i].parse().ok()?;
        let unit = match b.get(i) {
            None | Some(b' ') => 1,
            Some(b'y') => 365 * 86400,
            Some(b'M') => 30 * 86400,
            Some(b'w') => 7 * 86400,
            Some(b'd') => 86400,
            Some(b'h') => 3600,
            Some(b'm') if b.get(i + 1) == Some(&b's') => return None,
            Some(b'm') => 60,
            Some(b's') => 1,
            Some(_) => return None,
        };
        if i < b.len() && b[i] != b' ' {
            i += 1;
        }
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    any.then_some(total)
}

/// Rules on the value Kong uses (the last setting of a key), or on its absence.
fn value_rules(conf: &KongConf, out: &mut Vec<Finding>) {
    let unset = |key: &str, what: String, fix: String, source: &'static str| Finding {
        line: None,
        key: key.to_string(),
        what: format!("Not set in this file. {what}"),
        fix,
        rule: RULE_DEFAULT_CHANGED,
        source,
    };

    if let Some(e) = conf.get("database") {
        if e.value == "cassandra" {
            out.push(at(
                e,
                "Kong 3.4.2 refuses to start: \"Cassandra as a datastore for Kong is not \
                 supported in versions 3.4 and above. Please use Postgres.\""
                    .into(),
                "Move the 2.8 cluster to PostgreSQL first (for example a 2.8.5 PostgreSQL \
                 database filled with decK dump and sync), set `database = postgres`, then \
                 rehearse the upgrade of that database."
                    .into(),
                RULE_CASSANDRA,
                SRC_CASSANDRA_DB,
            ));
        }
    }

    match conf.get("worker_consistency") {
        None => out.push(unset(
            "worker_consistency",
            "The default changes from `strict` (2.8: every worker rebuilds the router and \
             balancers synchronously, requests wait for it) to `eventual` (3.4: each worker \
             rebuilds them in the background every `worker_state_update_frequency` seconds, \
             default 5, so workers may route differently for a short while after an Admin API \
             change)."
                .into(),
            "Set `worker_consistency = eventual` to accept 3.4's behaviour (recommended), or \
             `strict` to keep 2.8's (deprecated in 3.4). Either way 3.4.2 logs \"the \
             configuration value 'strict' ... is deprecated\": its deprecated_properties warns \
             whenever the key is set, without looking at the value."
                .into(),
            SRC_WORKER_CONSISTENCY,
        )),
        Some(e) if e.value == "strict" => out.push(at(
            e,
            "`strict` is deprecated in 3.4 (the new default is `eventual`); it still works, and \
             3.4.2 logs a deprecation warning at startup."
                .into(),
            "Keep it for now if you rely on synchronous rebuilds; plan `worker_consistency = \
             eventual`."
                .into(),
            RULE_DEPRECATED_VALUE,
            SRC_WORKER_CONSISTENCY,
        )),
        Some(_) => {}
    }

    if conf.get("lua_ssl_trusted_certificate").is_none() {
        out.push(unset(
            "lua_ssl_trusted_certificate",
            "The default changes from none (2.8: Lua TLS connections such as `pg_ssl_verify` or \
             plugins that verify peers trust no CA) to `system` (3.4: the operating system's CA \
             bundle is loaded and trusted)."
                .into(),
            "Set it explicitly: `system` to accept 3.4's behaviour, the path of your CA bundle \
             to trust only that, or an empty value (`lua_ssl_trusted_certificate =`) to keep \
             2.8's \"no CA\"."
                .into(),
            SRC_LUA_SSL,
        ));
    }

    if conf.get("upstream_keepalive_pool_size").is_none() {
        out.push(unset(
            "upstream_keepalive_pool_size",
            "The default changes from 60 to 512 idle keepalive connections per upstream pool \
             (pools are per destination IP, port and SNI)."
                .into(),
            "Set `upstream_keepalive_pool_size = 512` to accept, or `= 60` to keep 2.8's.".into(),
            SRC_DEFAULTS,
        ));
    }
    if conf.get("upstream_keepalive_max_requests").is_none() {
        out.push(unset(
            "upstream_keepalive_max_requests",
            "The default changes from 100 to 1000 requests per upstream keepalive connection \
             before Kong closes it."
                .into(),
            "Set `upstream_keepalive_max_requests = 1000` to accept, or `= 100` to keep 2.8's."
                .into(),
            SRC_DEFAULTS,
        ));
    }

    let hybrid = conf
        .value("role")
        .is_some_and(|r| r == "control_plane" || r == "data_plane");
    if hybrid && conf.get("cluster_max_payload").is_none() {
        out.push(unset(
            "cluster_max_payload",
            "The default changes from 4194304 (4 MiB) to 16777216 (16 MiB): the largest \
             compressed configuration a control plane sends to its data planes."
                .into(),
            "Set `cluster_max_payload = 16777216` to accept, or `= 4194304` to keep 2.8's (the \
             same value on control and data planes)."
                .into(),
            SRC_CLUSTER_PAYLOAD,
        ));
    }

    if conf.get("vaults").is_none() {
        out.push(unset(
            "vaults",
            "The default changes from `off` to `bundled`: the bundled vaults (Kong OSS 3.4.2: \
             `env`; Enterprise adds others) are loaded, so `{vault://…}` references in \
             referenceable fields are resolved, for example from Kong's environment variables."
                .into(),
            "Set `vaults = bundled` to accept, or `vaults = off` to keep 2.8's.".into(),
            SRC_VAULTS,
        ));
    }

    match conf.get("router_flavor") {
        None => out.push(unset(
            "router_flavor",
            "New in 3.x, default `traditional_compatible` (2.8 has only the traditional \
             router): routes are translated to ATC expressions, so regex paths are compiled by \
             Rust's regex engine (no look-around, backreferences or other PCRE-only syntax; such \
             routes are skipped), `path_handling = v1` is ignored and `regex_priority` ordering \
             changes."
                .into(),
            "Check the routes (`kong-rehearse plan` reports the router hazards), then set \
             `router_flavor = traditional_compatible`, or `router_flavor = traditional` to keep \
             2.8's router (deprecated)."
                .into(),
            SRC_ROUTER_FLAVOR,
        )),
        Some(e) if e.value == "traditional" => out.push(at(
            e,
            "`traditional` keeps 2.8's router but is deprecated in 3.4 and \"will be removed in \
             the next major release\"."
                .into(),
            "Fix what `kong-rehearse plan` reports for routes, then move to \
             `router_flavor = traditional_compatible`."
                .into(),
            RULE_DEPRECATED_VALUE,
            SRC_ROUTER_FLAVOR,
        )),
        Some(e) if e.value == "expressions" => out.push(at(
            e,
            "With `expressions`, 3.4 routes only by each route's `expression` field, which no \
             2.8 route has: every 2.8 route is skipped (logged as an error) and stops matching."
                .into(),
            "Use `router_flavor = traditional_compatible` for the upgrade; move routes to \
             expressions later."
                .into(),
            RULE_VALUE_CHANGED,
            SRC_ROUTER_FLAVOR,
        )),
        Some(_) => {}
    }

    if conf.get("allow_debug_header").is_none() {
        out.push(unset(
            "allow_debug_header",
            "New in 3.x, default off: 2.8 always answers a `Kong-Debug: 1` request header with \
             `Kong-Route-Id`, `Kong-Route-Name`, `Kong-Service-Id` and `Kong-Service-Name` \
             response headers; 3.4 does so only with `allow_debug_header = on`."
                .into(),
            "Set `allow_debug_header = off` to accept (internal ids stay hidden), or `on` if \
             clients or tooling rely on those headers."
                .into(),
            SRC_DEBUG_HEADER,
        ));
    }

    let pg_ssl_on = conf
        .value("pg_ssl")
        .is_some_and(|v| v == "on" || v == "true");
    match conf.get("pg_ssl_version") {
        None if pg_ssl_on => out.push(unset(
            "pg_ssl_version",
            "With `pg_ssl` on, Kong Enterprise's default TLS version for PostgreSQL changes from \
             `tlsv1` to `tlsv1_2`: the database server must accept TLS 1.2 or later."
                .into(),
            "Check that PostgreSQL accepts TLS 1.2+, then set `pg_ssl_version = tlsv1_2` (Kong \
             OSS ignores the key)."
                .into(),
            SRC_PG_SSL_VERSION,
        )),
        Some(e) if e.value == "tlsv1" || e.value == "tlsv1_1" => out.push(at(
            e,
            format!(
                "Kong 3.4 is built with OpenSSL 3.1 (2.8.5: 1.1.1o), which refuses TLS 1.0 and \
                 1.1 at its default security level, so `{}` no longer connects; the 3.4 \
                 Enterprise default is `tlsv1_2`.",
                e.value
            ),
            "Make PostgreSQL accept TLS 1.2+ and set `pg_ssl_version = tlsv1_2`.".into(),
            RULE_VALUE_CHANGED,
            SRC_PG_SSL_VERSION,
        )),
        _ => {}
    }

    if let Some(e) = conf.get("plugins") {
        if e.value.split(',').any(|p| lua_strip(p) == "prometheus") {
            out.push(at(
                e,
                "The prometheus plugin no longer exports status code, latency, bandwidth and \
                 upstream health metrics by default (3.0): dashboards and alerts on them go \
                 empty. This is plugin configuration, stored in the database, not kong.conf."
                    .into(),
                "After the upgrade, set `status_code_metrics`, `latency_metrics`, \
                 `bandwidth_metrics` and `upstream_health_metrics` to true on the prometheus \
                 plugin instances that need them (`kong-rehearse plan` lists them)."
                    .into(),
                RULE_PROMETHEUS,
                SRC_PROMETHEUS,
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const REALISTIC: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kong-conf/kong-2.8-realistic.conf"
    ));
    const CLEAN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kong-conf/kong-3.4-clean.conf"
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

    // --- parsing -------------------------------------------------------------------------

    #[test]
    fn comments_blank_lines_and_whitespace() {
        let c = parse(
            "# a comment\n\n   # indented comment\n; semicolon comment\n  log_level   =   debug  \n\
             \tprefix=/usr/local/kong/\n",
        );
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.value("log_level"), Some("debug"));
        assert_eq!(c.get("log_level").unwrap().line, 5);
        assert_eq!(c.value("prefix"), Some("/usr/local/kong/"));
        assert_eq!(c.get("prefix").unwrap().line, 6);
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn inline_comments_and_escaped_hash() {
        let c = parse(
            "a = notice   # comment\nb = x#y\nc = p\\#ss # c\nd = # only a comment\n\
             e = \\#start\nf = two\\#\\#hashes\n",
        );
        assert_eq!(c.value("a"), Some("notice"));
        assert_eq!(c.value("b"), Some("x"));
        assert_eq!(c.value("c"), Some("p#ss"));
        assert_eq!(c.value("d"), Some("")); // empty: Kong treats it as unset
        assert_eq!(c.value("e"), Some("#start"));
        assert_eq!(c.value("f"), Some("two##hashes"));
    }

    #[test]
    fn comment_stripping_of_2_8_differs() {
        let c = parse("a = x#y\nb = #lead\nc = p\\#ss # c\nd = 10.0.0.0/12# corp\n");
        let v = |k: &str| c.get(k).unwrap().value_2_8();
        assert_eq!(v("a"), ""); // `[^\\]#` eats the `x`
        assert_eq!(c.value("a"), Some("x"));
        assert_eq!(v("b"), "#lead"); // nothing before the `#`: 2.8 keeps it
        assert_eq!(c.value("b"), Some(""));
        assert_eq!(v("c"), "p#ss"); // the same in both
        assert_eq!(v("d"), "10.0.0.0/1");
        assert_eq!(c.value("d"), Some("10.0.0.0/12"));
    }

    #[test]
    fn quotes_are_not_special() {
        let c = parse(
            "pg_database = \"kong\"\nx = 'single'\nnginx_http_log_format = main '$a \"$b\"'\n",
        );
        assert_eq!(c.value("pg_database"), Some("\"kong\""));
        assert_eq!(c.value("x"), Some("'single'"));
        assert_eq!(c.value("nginx_http_log_format"), Some("main '$a \"$b\"'"));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let c = parse("pg_host = first\npg_host = second\n");
        assert_eq!(c.value("pg_host"), Some("second"));
        assert_eq!(c.get("pg_host").unwrap().line, 2);
        assert_eq!(c.all("pg_host").count(), 2);
    }

    #[test]
    fn keys_are_variabilized_and_split_at_the_first_equals() {
        let c =
            parse("pg-host = a\npg user=b\nnginx_http_foo = x=y = z\nPG_PORT = 1\n\u{feff}k = v\n");
        assert_eq!(c.value("pg_host"), Some("a"));
        assert_eq!(c.value("pg_user"), Some("b"));
        assert_eq!(c.value("nginx_http_foo"), Some("x=y = z"));
        assert_eq!(c.value("PG_PORT"), Some("1")); // case kept: Kong never reads it as pg_port
        assert_eq!(c.value("pg_port"), None);
        assert_eq!(c.value("___k"), Some("v")); // a BOM is three non-alphanumeric bytes
    }

    #[test]
    fn numbers_are_converted_like_penlight_and_luajit() {
        let cases = [
            ("5432", "5432"),
            ("0123", "123"),
            ("1e3", "1000"),
            ("0x1F", "31"),
            ("0b101", "5"),
            ("1.50", "1.5"),
            ("+5", "5"),
            ("-0", "-0"),
            ("5.", "5"),
            ("12345678901234567", "1.2345678901235e+16"),
            ("0.00001", "1e-05"),
            ("-inf", "-inf"),
            ("128 kB", "128"),
            ("5432 # port", "5432"),
            ("10.0.0.5", "10.0.0.5"),
            ("1e", "1e"),
            ("12ab", "12ab"),
            ("1ll", "1ll"),
            ("-", "-"),
            ("0x", "0x"),
            ("0b102", "0b102"),
        ];
        for (raw, want) in cases {
            let c = parse(&format!("k = {raw}\n"));
            assert_eq!(c.value("k"), Some(want), "value {raw:?}");
        }
    }

    #[test]
    fn line_continuation() {
        let c = parse("# c\npg_password = abc\\\n\n# skipped\n   def\nnext = 1\n");
        let e = c.get("pg_password").unwrap();
        assert_eq!(e.value, "abc   def");
        assert_eq!(e.line, 2);
        assert_eq!(c.get("next").unwrap().line, 6);

        // A password ending in `\` swallows the next setting.
        let c = parse("pg_password = abc\\\npg_port = 5432\n");
        assert_eq!(c.value("pg_password"), Some("abcpg_port = 5432"));
        assert_eq!(c.value("pg_port"), None);

        // Pending at the end of the file: dropped.
        let c = parse("a = 1\nb = 2\\\n");
        assert_eq!(c.value("b"), None);
        assert_eq!(c.ignored[0].line, 2);
        assert_eq!(c.ignored[0].reason, IGNORED_DANGLING);
    }

    #[test]
    fn lines_kong_never_uses() {
        let c = parse("a = 1\njust words\n= v\nb = x_blank_y\n[section]\nc = 3\n");
        assert_eq!(c.value("a"), Some("1"));
        assert_eq!(c.value("b"), None);
        assert_eq!(c.value("c"), None);
        let got: Vec<(usize, &str)> = c.ignored.iter().map(|i| (i.line, i.reason)).collect();
        assert_eq!(
            got,
            vec![
                (2, IGNORED_NO_EQUALS),
                (3, IGNORED_EMPTY_KEY),
                (4, IGNORED_BLANK_DELIM),
                (5, IGNORED_SECTION),
                (6, IGNORED_IN_SECTION),
            ]
        );
        // `[` only counts in the first column.
        let c = parse("  [x]\nd = 4\n");
        assert_eq!(c.value("d"), Some("4"));
    }

    #[test]
    fn crlf_line_endings() {
        let c = parse("pg_host = db\r\npg_port = 5433\r\n# c\r\npg_user = kong # u\r\n");
        assert_eq!(c.value("pg_host"), Some("db"));
        assert_eq!(c.value("pg_port"), Some("5433"));
        assert_eq!(c.value("pg_user"), Some("kong"));
    }

    #[test]
    fn debug_of_entries_hides_secrets() {
        let c = parse("pg_password = Hunter2-Secret\nPG_PASSWORD = Other-Secret\npg_user = kong\n");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("Hunter2-Secret"), "{dbg}");
        assert!(!dbg.contains("Other-Secret"), "{dbg}");
        assert!(dbg.contains("kong"));
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

    // --- lint ----------------------------------------------------------------------------

    fn keyed(fs: &[Finding]) -> Vec<(Option<usize>, &str, &str)> {
        fs.iter()
            .map(|f| (f.line, f.key.as_str(), f.rule))
            .collect()
    }

    #[test]
    fn lint_realistic_2_8_conf() {
        let c = parse(REALISTIC);
        let fs = lint(&c);
        let got = keyed(&fs);
        let want: Vec<(Option<usize>, &str, &str)> = vec![
            (Some(16), "admin_api_uri", RULE_DEPRECATED),
            (Some(19), "plugins", RULE_PROMETHEUS),
            (Some(21), "go_plugins_dir", RULE_REMOVED),
            (Some(22), "go_pluginserver_exe", RULE_REMOVED),
            (Some(25), "trusted_ips", RULE_COMMENT_PARSING),
            (Some(33), "cassandra_contact_points", RULE_REMOVED),
            (Some(34), "cassandra_keyspace", RULE_REMOVED),
            (Some(35), "cassandra_consistency", RULE_REMOVED),
            (Some(36), "cassandra_lb_policy", RULE_REMOVED),
            (Some(37), "cassandra_local_datacenter", RULE_REMOVED),
            (Some(38), "cassandra_password", RULE_REMOVED),
            (Some(54), "client_max_body_size", RULE_REMOVED),
            (Some(55), "nginx_optimizations", RULE_REMOVED),
            (Some(56), "upstream_keepalive", RULE_REMOVED),
            (
                Some(57),
                "nginx_http_upstream_keepalive_timeout",
                RULE_REMOVED,
            ),
            (Some(60), "worker_consistency", RULE_DEPRECATED_VALUE),
            (Some(66), "data_plane_config_cache_mode", RULE_REMOVED),
            (Some(67), "data_plane_config_cache_path", RULE_REMOVED),
            (None, "lua_ssl_trusted_certificate", RULE_DEFAULT_CHANGED),
            (None, "upstream_keepalive_pool_size", RULE_DEFAULT_CHANGED),
            (
                None,
                "upstream_keepalive_max_requests",
                RULE_DEFAULT_CHANGED,
            ),
            (None, "vaults", RULE_DEFAULT_CHANGED),
            (None, "router_flavor", RULE_DEFAULT_CHANGED),
            (None, "allow_debug_header", RULE_DEFAULT_CHANGED),
            (None, "pg_ssl_version", RULE_DEFAULT_CHANGED),
        ];
        assert_eq!(got, want, "{fs:#?}");
        // The cassandra password is a secret: its value is in no finding.
        for f in &fs {
            assert!(!f.what.contains("Cass4ndra") && !f.fix.contains("Cass4ndra"));
            assert!(!f.what.is_empty() && !f.fix.is_empty() && !f.source.is_empty());
        }
        let trusted = fs.iter().find(|f| f.key == "trusted_ips").unwrap();
        assert!(
            trusted.what.contains("\"10.0.0.0/8,172.16.0.0/1\""),
            "{}",
            trusted.what
        );
        let cmbs = fs.iter().find(|f| f.key == "client_max_body_size").unwrap();
        assert!(
            cmbs.fix.contains("nginx_http_client_max_body_size = 20m"),
            "{}",
            cmbs.fix
        );
        let t = fs
            .iter()
            .find(|f| f.key == "nginx_http_upstream_keepalive_timeout")
            .unwrap();
        assert!(
            t.fix
                .contains("`upstream_keepalive_idle_timeout` to 30 (seconds"),
            "{}",
            t.fix
        );
        let ka = fs.iter().find(|f| f.key == "upstream_keepalive").unwrap();
        assert!(
            ka.fix.contains("upstream_keepalive_pool_size` to 120"),
            "{}",
            ka.fix
        );
    }

    #[test]
    fn lint_clean_3_4_conf() {
        let c = parse(CLEAN);
        let fs = lint(&c);
        assert!(fs.is_empty(), "{fs:#?}");
        assert!(c.ignored.is_empty(), "{:?}", c.ignored);
        // It is a real conf: the escaped `#` and the inline comments read the same in both.
        let s = pg_settings(Some(&c), &no_env);
        assert_eq!(s.password.as_deref(), Some("n3w#Pa55-2024"));
        assert_eq!((s.ssl, s.ssl_verify), (Some(true), Some(true)));
    }

    #[test]
    fn lint_value_rules() {
        let base = "worker_consistency = eventual\nlua_ssl_trusted_certificate =\n\
                    upstream_keepalive_pool_size = 60\nupstream_keepalive_max_requests = 100\n\
                    vaults = off\nallow_debug_header = on\n";
        let run = |extra: &str| lint(&parse(&format!("{base}{extra}")));
        assert_eq!(
            keyed(&run("router_flavor = traditional_compatible\n")),
            vec![]
        );
        assert_eq!(
            keyed(&run("router_flavor = expressions\n")),
            vec![(Some(7), "router_flavor", RULE_VALUE_CHANGED)]
        );
        assert_eq!(
            keyed(&run("router_flavor = traditional\n")),
            vec![(Some(7), "router_flavor", RULE_DEPRECATED_VALUE)]
        );
        let base = format!("{base}router_flavor = traditional_compatible\n");
        let run = |extra: &str| lint(&parse(&format!("{base}{extra}")));
        assert_eq!(
            keyed(&run("pg_ssl = on\npg_ssl_version = tlsv1\n")),
            vec![(Some(9), "pg_ssl_version", RULE_VALUE_CHANGED)]
        );
        assert_eq!(keyed(&run("pg_ssl = off\n")), vec![]);
        assert_eq!(
            keyed(&run("role = data_plane\n")),
            vec![(None, "cluster_max_payload", RULE_DEFAULT_CHANGED)]
        );
        assert_eq!(
            keyed(&run("role = data_plane\ncluster_max_payload = 4194304\n")),
            vec![]
        );
        assert_eq!(keyed(&run("plugins = bundled\n")), vec![]);
        assert_eq!(
            keyed(&run("database = cassandra\ncassandra_port = 9042\n")),
            vec![
                (Some(8), "database", RULE_CASSANDRA),
                (Some(9), "cassandra_port", RULE_REMOVED)
            ]
        );
        assert_eq!(
            keyed(&run(
                "nginx_http_client_max_body_size = 8m\nclient_max_body_size = 8m\n\
                 router_consistency = strict\nopentelemetry_tracing = all\n"
            )),
            vec![
                (Some(9), "client_max_body_size", RULE_REMOVED),
                (Some(10), "router_consistency", RULE_DEPRECATED),
                (Some(11), "opentelemetry_tracing", RULE_DEPRECATED),
            ]
        );
        let fs = run("nginx_http_client_max_body_size = 8m\nclient_max_body_size = 8m\n");
        assert_eq!(fs[0].fix, "Delete the line.");
        let fs = run("pg_password = Qx7#Zz\n");
        assert_eq!(
            keyed(&fs),
            vec![(Some(8), "pg_password", RULE_COMMENT_PARSING)]
        );
        assert!(!fs[0].what.contains("Qx"), "{}", fs[0].what);
    }

    #[test]
    fn nginx_times() {
        assert_eq!(nginx_time_seconds("30s"), Some(30));
        assert_eq!(nginx_time_seconds("60"), Some(60));
        assert_eq!(nginx_time_seconds("1m 30s"), Some(90));
        assert_eq!(nginx_time_seconds("1h"), Some(3600));
        assert_eq!(nginx_time_seconds("500ms"), None);
        assert_eq!(nginx_time_seconds("soon"), None);
        assert_eq!(nginx_time_seconds(""), None);
    }

    #[test]
    fn finding_text() {
        let f = Finding {
            line: Some(3),
            key: "k".into(),
            what: "w".into(),
            fix: "f".into(),
            rule: RULE_REMOVED,
            source: "s",
        };
        assert_eq!(
            f.to_text("kong.conf"),
            "kong.conf:3: k: [conf-removed-parameter] w\n    fix: f"
        );
    }
}
