//! Row-level ports of the Kong 2.8.5 → 3.4.2 *data* migrations: what Kong's Lua code does to the
//! contents of `routes.paths` and `plugins.config`, reproduced byte for byte so the rehearsal can
//! predict (and the verifier can check) every rewritten row without a Kong install.
//!
//! Ported code (all at Kong tag 3.4.2):
//! - `kong/db/migrations/migrate_path_280_300.lua` and `kong/tools/uri.lua` (`normalize`), used by
//!   `kong/db/migrations/core/016_280_to_300.lua` `up_f` (`p_migrate_regex_path`);
//! - `kong/plugins/http-log/migrations/001_280_to_300.lua` (teardown), through
//!   `fixup_plugin_config` of `kong/db/migrations/operations/280_to_300.lua`;
//! - `kong/plugins/pre-function/migrations/_001_280_to_300.lua` (`up_f` and teardown, the factory
//!   used by both pre-function and post-function), through `fixup_plugin_config` of
//!   `kong/db/migrations/operations/200_to_210.lua`.
//!
//! Both `fixup_plugin_config`s read the row with pgmoon, which decodes `jsonb` with the global
//! `cjson` module, and write it back as `pgmoon_json.encode_json(config)` = `cjson.encode`. Kong
//! 3.4.2 (OpenResty 1.21.4.1, lua-cjson 2.1.0.10) never changes the global `cjson` instance's
//! settings (`kong/globalpatches.lua` only touches `cjson.safe`; every other caller uses
//! `cjson.new()`), so the defaults apply: `encode_number_precision` 14,
//! `encode_empty_table_as_object` on, `decode_array_with_array_mt` off,
//! `decode_max_depth`/`encode_max_depth` 1000, sparse arrays (ratio 2, safe 10) raise an error.
//! [`cjson_roundtrip`] models that decode + encode and then what PostgreSQL stores for the
//! resulting JSON text (`jsonb` keeps numbers as `numeric`).
//!
//! Where a fact below comes from running code rather than from the Kong fact sheet
//! (`/work/shared/kong-lts-facts.md` §3.2, §3.7), the comment says so: the cjson facts were checked
//! against lua-cjson 2.1.0.10 built from the openresty/lua-cjson tag and run under LuaJIT 2.1, and
//! the `numeric` facts against PostgreSQL 15.

use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Route paths: core/016_280_to_300 up_f
// ---------------------------------------------------------------------------------------------

/// Why a route path cannot be migrated the way Kong would: Kong's `up_f` would produce a value that
/// PostgreSQL refuses, so `kong migrations up` fails on that route.
///
/// Worse than a clean failure (reasoned from `kong/db/init.lua` `DB:run_migrations` and 016's
/// `up_f`): every route the `up_f` reached before this one (`SELECT … FROM routes` has no
/// `ORDER BY`, so which ones is up to PostgreSQL) is already rewritten, one autocommitted `UPDATE`
/// each, but 016 is not recorded. The next `kong migrations up` runs the whole `up_f` again, and
/// every regex path already migrated to `~/…` gets a second tilde (`~~/…`), see [`migrate_path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Percent-decoding produced bytes that are not UTF-8 (e.g. `%FF`). pgmoon sends the bytes as
    /// they are inside `ARRAY['…']`; PostgreSQL answers
    /// `invalid byte sequence for encoding "UTF8"`.
    #[error(
        "route path {path:?} would be rewritten by Kong's core/016_280_to_300 migration to bytes \
         that are not valid UTF-8 ({lossy:?}, raw bytes {hex}); PostgreSQL rejects them with \
         `invalid byte sequence for encoding \"UTF8\"` and `kong migrations up` fails on this \
         route, after rewriting an unpredictable subset of the other routes (a re-run then \
         prefixes their migrated regex paths with a second `~`). Before upgrading, change this \
         path on Kong 2.8 so that its percent-encoded bytes decode to valid UTF-8 (or remove it)."
    )]
    InvalidUtf8 {
        /// The path as stored in 2.8.
        path: String,
        /// What `migrate_path` would produce, bytes not valid UTF-8 replaced by U+FFFD.
        lossy: String,
        /// The produced bytes, as lower-case hex pairs.
        hex: String,
    },
    /// Percent-decoding produced a NUL byte (`%00`). PostgreSQL text cannot hold NUL; inside
    /// pgmoon's simple-Query string the NUL either cuts the statement short (an unterminated
    /// literal) or is refused by the server, so the `UPDATE` fails either way.
    #[error(
        "route path {path:?} contains %00, which Kong's core/016_280_to_300 migration decodes to a \
         NUL byte ({lossy:?}); PostgreSQL cannot store NUL in text and `kong migrations up` fails \
         on this route, after rewriting an unpredictable subset of the other routes (a re-run \
         then prefixes their migrated regex paths with a second `~`). Before upgrading, remove \
         the %00 from this path on Kong 2.8."
    )]
    NulByte {
        /// The path as stored in 2.8.
        path: String,
        /// What `migrate_path` would produce (the NUL shown as `\0`).
        lossy: String,
    },
}

/// The 19 RFC 3986 reserved characters `! * ' ( ) ; : @ & = + $ , / ? % # [ ]`: both
/// `uri.lua` (`RESERVED_CHARS`) and `migrate_path_280_300.lua` (`RESERVED_CHARACTERS`) keep their
/// `%XX` triplets encoded, upper-cased.
const RESERVED: &[u8] = b"!*'();:@&=+$,/?%#[]";

fn is_reserved(b: u8) -> bool {
    RESERVED.contains(&b)
}

/// `migrate_path_280_300.lua` `REGEX_META_CHARACTERS`: a decoded metacharacter is escaped so the
/// regex keeps matching the literal character. (`$ * + ? ( ) [ ]` are reserved, so never decoded.)
fn regex_meta_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b'.' => Some(br"\."),
        b'^' => Some(br"\^"),
        b'-' => Some(br"\-"),
        b'{' => Some(br"\{"),
        b'}' => Some(br"\}"),
        b'\\' => Some(br"\\"),
        b'|' => Some(br"\|"),
        _ => None,
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `ngx.re.gsub(s, "%([\\dA-F]{2})", fun, "joi")`: a left-to-right scan for non-overlapping `%XX`
/// (hex digits, case-insensitive thanks to the `i` flag; no `u` flag, so PCRE works on bytes).
/// `fun` gets the decoded byte and the whole triplet and returns the replacement. Invalid triplets
/// (`%zz`, a trailing `%`) are left alone, and replacements are never re-scanned
/// (`%2541` → `%2541`).
fn gsub_percent(s: &[u8], fun: impl Fn(u8, &[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex_val(s[i + 1]), hex_val(s[i + 2])) {
                out.extend_from_slice(&fun(h * 16 + l, &s[i..i + 3]));
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `kong/tools/uri.lua` `normalize(uri, true)` (the only way 016 calls it), on bytes.
///
/// 1. `""` and `"/"` are returned as they are.
/// 2. If there is a `%`, every `%XX` is decoded (`normalize_decode`) unless the byte is reserved,
///    in which case the triplet is kept and upper-cased.
/// 3. If the result has no `.` and no `//`, it is returned as is.
/// 4. Otherwise the RFC 3986 §5.2.4 `remove_dot_segments` loop runs, with `//` merged to `/`.
// The branches mirror the Lua one for one, so two identical bodies stay separate.
#[allow(clippy::if_same_then_else)]
fn uri_normalize(uri: &[u8]) -> Vec<u8> {
    if uri.is_empty() || uri == b"/" {
        return uri.to_vec();
    }
    let decoded;
    let mut uri: &[u8] = if uri.contains(&b'%') {
        decoded = gsub_percent(uri, |b, triplet| {
            if is_reserved(b) {
                triplet.to_ascii_uppercase()
            } else {
                vec![b]
            }
        });
        &decoded
    } else {
        uri
    };
    if !uri.contains(&b'.') && !contains(uri, b"//") {
        return uri.to_vec();
    }

    // The Lua keeps `output_n` segments in a reused table; popping is `output_n - 1`.
    let mut output: Vec<&[u8]> = Vec::new();
    while !uri.is_empty() {
        let at = |i: usize| uri.get(i).copied();
        let (first, second, third, fourth) = (at(0), at(1), at(2), at(3));
        if uri == b"/." {
            uri = b"/";
        } else if uri == b"/.." {
            uri = b"/";
            output.pop();
        } else if uri == b"." || uri == b".." {
            uri = b"";
        } else if first == Some(b'.') && second == Some(b'.') && third == Some(b'/') {
            uri = &uri[3..];
        } else if first == Some(b'.') && second == Some(b'/') {
            uri = &uri[2..];
        } else if first == Some(b'/') && second == Some(b'.') && third == Some(b'/') {
            uri = &uri[2..];
        } else if first == Some(b'/')
            && second == Some(b'.')
            && third == Some(b'.')
            && fourth == Some(b'/')
        {
            uri = &uri[3..];
            output.pop();
        } else if first == Some(b'/') && second == Some(b'/') {
            // merge_slashes is always true here
            uri = &uri[1..];
        } else {
            // string.find(uri, "/", 2, true): the next slash after the first byte.
            match uri[1..].iter().position(|&b| b == b'/') {
                Some(p) => {
                    output.push(&uri[..p + 1]);
                    uri = &uri[p + 1..];
                }
                None => {
                    output.push(uri);
                    uri = b"";
                }
            }
        }
    }
    output.concat()
}

/// `migrate_path_280_300.lua` `normalize_regex`: for a regex path, decode `%XX` one last time
/// (3.x no longer percent-decodes paths): reserved bytes stay encoded (upper-cased), regex
/// metacharacters are escaped, anything else becomes the raw byte. No dot-segment removal and no
/// slash merging.
fn normalize_regex(regex: &[u8]) -> Vec<u8> {
    if !regex.contains(&b'%') {
        return regex.to_vec();
    }
    gsub_percent(regex, |b, triplet| {
        if is_reserved(b) {
            triplet.to_ascii_uppercase()
        } else if let Some(esc) = regex_meta_escape(b) {
            esc.to_vec()
        } else {
            vec![b]
        }
    })
}

/// The plain-path character class of `is_not_regex`: `[a-zA-Z0-9\.\-_~/%]`.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'/' | b'%')
}

/// `is_not_regex` on bytes: `ngx.re.find(path, [[[a-zA-Z0-9\.\-_~/%]*$]], "ajo")`. The `a` flag
/// anchors at the start; PCRE's `$` (no `D` flag, no multiline) matches at the very end *or just
/// before a final `\n`*, so a single trailing newline does not make a path a regex. Non-ASCII
/// bytes are outside the class (no `u` flag), so any non-ASCII path is a regex.
fn is_plain_path_bytes(path: &[u8]) -> bool {
    let body = match path.split_last() {
        Some((b'\n', rest)) => rest,
        _ => path,
    };
    body.iter().all(|&b| is_plain_byte(b))
}

/// Whether Kong 2.8→3.0 treats the path as a regex: the inverse of `is_not_regex` in
/// `kong/db/migrations/migrate_path_280_300.lua`, i.e. the path has a byte outside
/// `[a-zA-Z0-9.\-_~/%]`, with PCRE `$` semantics for a final `"\n"` (`"/foo\n"` is *not* a regex,
/// `"/foo\n\n"` is). `~` is in the class, so an already-migrated `~/foo` counts as plain.
pub fn is_regex_path(path: &str) -> bool {
    !is_plain_path_bytes(path.as_bytes())
}

/// Kong's `migrate_path` (`kong/db/migrations/migrate_path_280_300.lua`) on raw bytes: the exact
/// bytes Kong would send to PostgreSQL, and whether Kong counts the path as changed.
///
/// - Plain path → `normalize(path, true)` (`kong/tools/uri.lua`); changed iff the result differs.
/// - Regex path → `"~" .. normalize_regex(path)`; always changed. This is not idempotent: running
///   016's `up_f` twice (`--force`) turns `~/users/\d+` into `~~/users/\d+`.
pub fn migrate_path_bytes(path: &[u8]) -> (Vec<u8>, bool) {
    if is_plain_path_bytes(path) {
        let normalized = uri_normalize(path);
        let changed = normalized != path;
        (normalized, changed)
    } else {
        let mut migrated = Vec::with_capacity(path.len() + 1);
        migrated.push(b'~');
        migrated.extend_from_slice(&normalize_regex(path));
        (migrated, true)
    }
}

/// Kong's `migrate_path` (`kong/db/migrations/migrate_path_280_300.lua`): returns
/// `(new_path, changed)`.
///
/// For display and the common case only: when percent-decoding produces bytes that are not UTF-8
/// the result is lossy (U+FFFD), and a decoded `%00` is returned as a NUL character, although Kong
/// would fail on both. Use [`migrate_path_checked`] to decide what happens to a real row.
pub fn migrate_path(path: &str) -> (String, bool) {
    let (bytes, changed) = migrate_path_bytes(path.as_bytes());
    let s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    (s, changed)
}

/// [`migrate_path`] as the real migration experiences it: `Err` when the rewritten path cannot be
/// stored in a PostgreSQL `text[]` column, so 016's `up_f` would fail on this route. This is the
/// variant to use for rows.
///
/// Reasoned from the Lua source and pgmoon, not from the fact sheet: `p_migrate_regex_path` writes
/// `UPDATE routes SET paths = ARRAY['…']` with the bytes as produced (pgmoon `escape_literal` only
/// doubles quotes); PostgreSQL rejects invalid UTF-8 in the query text (checked on PostgreSQL 15)
/// and text cannot contain NUL. Kong only writes the route when some element changed, but an
/// element that decodes to such bytes is always changed.
pub fn migrate_path_checked(path: &str) -> Result<(String, bool), PathError> {
    let (bytes, changed) = migrate_path_bytes(path.as_bytes());
    match String::from_utf8(bytes) {
        Ok(s) if s.contains('\0') => Err(PathError::NulByte {
            path: path.to_string(),
            lossy: s.replace('\0', "\\0"),
        }),
        Ok(s) => Ok((s, changed)),
        Err(e) => {
            let bytes = e.into_bytes();
            Err(PathError::InvalidUtf8 {
                path: path.to_string(),
                lossy: String::from_utf8_lossy(&bytes).into_owned(),
                hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            })
        }
    }
}

/// A route's `paths` array through `migrate_path`, as `p_migrate_regex_path` in
/// `kong/db/migrations/core/016_280_to_300.lua` does it: `Some(new array)` only when any element
/// changed (Kong then rewrites the row with the whole array; unchanged elements stay as they are),
/// `None` when Kong leaves the row alone. Lossy for undecodable bytes, see
/// [`migrate_route_paths_checked`].
pub fn migrate_route_paths(paths: &[String]) -> Option<Vec<String>> {
    let mut changed = false;
    let out: Vec<String> = paths
        .iter()
        .map(|p| {
            let (np, c) = migrate_path(p);
            changed |= c;
            if c {
                np
            } else {
                p.clone()
            }
        })
        .collect();
    changed.then_some(out)
}

/// [`migrate_route_paths`] with the failure Kong would hit: the first element whose rewrite cannot
/// be stored makes the route's `UPDATE` (and so `kong migrations up`) fail.
pub fn migrate_route_paths_checked(paths: &[String]) -> Result<Option<Vec<String>>, PathError> {
    let mut changed = false;
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let (np, c) = migrate_path_checked(p)?;
        changed |= c;
        out.push(if c { np } else { p.clone() });
    }
    Ok(changed.then_some(out))
}

// ---------------------------------------------------------------------------------------------
// lua-cjson decode + encode, and what PostgreSQL's jsonb keeps
// ---------------------------------------------------------------------------------------------

/// lua-cjson's `decode_max_depth` and `encode_max_depth` default: nesting arrays/objects deeper
/// than this raises `Found too many nested data structures (1001)` (checked with lua-cjson
/// 2.1.0.10: 1000 levels decode, 1001 fail).
pub const CJSON_MAX_DEPTH: usize = 1000;

/// A row on which Kong's plugin migration itself raises a Lua error, so `kong migrations up` /
/// `finish` fails instead of rewriting it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// pgmoon's `cjson.decode` (or `cjson.encode`) refuses the nesting. pgmoon decodes the config
    /// of **every** plugins row (`SELECT id, name, config FROM plugins`), before filtering on the
    /// plugin name, so one such row anywhere fails the http-log, pre-function and post-function
    /// migrations.
    #[error(
        "a plugins.config value nests {depth} arrays/objects deep; lua-cjson (used by pgmoon, \
         limit {CJSON_MAX_DEPTH}) raises `Found too many nested data structures`, so Kong's \
         plugin migrations that read the plugins table fail. Flatten or remove that config \
         before upgrading."
    )]
    TooDeep {
        /// The nesting depth found (the top-level array/object counts as 1).
        depth: usize,
    },
    /// lua-cjson refuses to encode a Lua array with too many holes (`encode_sparse_array`
    /// defaults: more than 10 slots and more than twice as many slots as values).
    #[error(
        "lua-cjson raises `Cannot serialise table: excessively sparse array` while re-encoding \
         this plugin config ({detail}), so Kong's migration fails on it"
    )]
    ExcessivelySparseArray {
        /// Where the array is.
        detail: String,
    },
    /// The migration's Lua code raises on the value (message as LuaJIT words it, minus the
    /// `file:line:` prefix).
    #[error(
        "Kong's {migration} migration raises a Lua error on this plugin config: {message}; \
         `kong migrations` fails on it. Fix the row's config before upgrading."
    )]
    Lua {
        /// Which migration step.
        migration: &'static str,
        /// LuaJIT's error message.
        message: String,
    },
}

/// Nesting depth of arrays/objects as lua-cjson counts it (scalars 0, `[]`/`{}` 1).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether pgmoon's `cjson.decode` accepts this stored config: `Err` when it nests deeper than
/// [`CJSON_MAX_DEPTH`]. Applies to every plugins row, whatever the plugin (see
/// [`TransformError::TooDeep`]).
pub fn cjson_decode_check(v: &Value) -> Result<(), TransformError> {
    let d = depth(v);
    if d > CJSON_MAX_DEPTH {
        return Err(TransformError::TooDeep { depth: d });
    }
    Ok(())
}

/// How a 14-significant-digit formatter breaks exact ties (the double's exact decimal expansion is
/// `…d14 5000…`): glibc `printf` (used by lua-cjson) rounds them to even, LuaJIT's own formatter
/// (`lj_strfmt_num.c`, used by `tostring`/`..`/`table.concat`) adds 5 at the 15th digit and
/// truncates, i.e. rounds them away from zero. Found by running both on 176 000 doubles (lua-cjson
/// 2.1.0.10, LuaJIT 2.1; openresty/luajit2 v2.1-20220411, the one in OpenResty 1.21.4.1, has the
/// same `nd_add_m10e(nd, ndhi, 5, …)` rounding): e.g. `2629135684.28125` is `2629135684.2812` in
/// JSON but `2629135684.2813` in a Lua string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ties {
    Even,
    AwayFromZero,
}

/// Digits and decimal exponent of `|x|` rounded to 14 significant digits: the value is
/// `d1.d2d3… × 10^exp`, trailing zeros removed. Rust's `{:e}` formatting is exact and rounds ties
/// to even, like glibc. `None` for zero and non-finite values.
fn round14(x: f64, ties: Ties) -> Option<(Vec<u8>, i32)> {
    if x == 0.0 || !x.is_finite() {
        return None;
    }
    let x = x.abs();
    let s = format!("{x:.13e}");
    let (mant, exp) = s.split_once('e')?;
    let mut exp: i32 = exp.parse().ok()?;
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    if ties == Ties::AwayFromZero {
        // A double has at most 767 significant decimal digits, so 800 shows the exact expansion.
        let exact = format!("{x:.800e}");
        let (emant, eexp) = exact.split_once('e')?;
        let edigits: Vec<u8> = emant.bytes().filter(u8::is_ascii_digit).collect();
        let tie = edigits.get(14) == Some(&b'5') && edigits[15..].iter().all(|&d| d == b'0');
        if tie {
            // Truncate to 14 digits and add one unit in the last place.
            let mut up = edigits[..14].to_vec();
            exp = eexp.parse().ok()?;
            let mut i = up.len();
            loop {
                if i == 0 {
                    up.insert(0, b'1');
                    up.pop();
                    exp += 1;
                    break;
                }
                i -= 1;
                if up[i] == b'9' {
                    up[i] = b'0';
                } else {
                    up[i] += 1;
                    break;
                }
            }
            digits = up;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Some((digits, exp))
}

/// `%.14g` text of `x` with the given tie rule.
fn format_g14(x: f64, ties: Ties) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let Some((digits, exp)) = round14(x, ties) else {
        return format!("{sign}0");
    };
    let digits = String::from_utf8(digits).unwrap_or_default();
    if !(-4..14).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{head}{frac}e{esign}{:02}", exp.unsigned_abs())
    } else {
        format!("{sign}{}", plain_decimal(&digits, exp))
    }
}

/// How lua-cjson encodes a number (`encode_number_precision` 14: `fpconv_g_fmt` = glibc
/// `snprintf("%.14g")`). Examples (checked against lua-cjson 2.1.0.10):
/// `123456789012345678` → `1.2345678901235e+17`, `1e14` → `1e+14`, `2^53` → `9.007199254741e+15`,
/// `0.1` → `0.1`, `3.0` → `3`, `-0.0` → `-0`, `1e-5` → `1e-05`, `10000000000000.5` →
/// `10000000000000` (an exact tie, rounded to even). lua-cjson refuses NaN and infinities (they
/// print here as `nan`/`inf`, but no `serde_json` number is one).
pub fn cjson_number_to_string(x: f64) -> String {
    format_g14(x, Ties::Even)
}

/// How LuaJIT turns a number into a string (`tostring`, `..`, `table.concat`): `%.14g` by
/// LuaJIT's own formatter, which equals [`cjson_number_to_string`] except that exact ties round
/// away from zero (`10000000000000.5` → `10000000000001`, `123456789012345` →
/// `1.2345678901235e+14`, `2629135684.28125` → `2629135684.2813`). Checked against LuaJIT 2.1 on
/// 176 000 doubles. Used for the numbers `table.concat` joins in http-log's header fixup.
pub fn lua_number_to_string(x: f64) -> String {
    format_g14(x, Ties::AwayFromZero)
}

/// `d1.d2d3… × 10^exp` written out without an exponent, no trailing zeros in the fraction.
fn plain_decimal(digits: &str, exp: i32) -> String {
    let n = digits.len() as i64;
    let e = i64::from(exp);
    if e >= 0 {
        if n <= e + 1 {
            format!("{digits}{}", "0".repeat((e + 1 - n) as usize))
        } else {
            let (i, f) = digits.split_at((e + 1) as usize);
            format!("{i}.{f}")
        }
    } else {
        format!("0.{}{digits}", "0".repeat((-e - 1) as usize))
    }
}

/// One number through cjson and back out of PostgreSQL: cjson decodes to a double (`strtod`),
/// encodes it with `%.14g`, PostgreSQL parses that text as `numeric` (exact, `-0` becomes `0`, an
/// exponent is expanded: `1.2345678901235e+17` is stored and printed as `123456789012350000`,
/// checked on PostgreSQL 15), and the crate reads `jsonb` back through `serde_json`. So the result
/// is `serde_json`'s parse of the plain decimal text PostgreSQL prints, i.e. the same
/// `serde_json::Number` a read of the migrated row gives.
fn cjson_number(n: &serde_json::Number) -> Value {
    // serde_json keeps integers exactly; `as f64` rounds to nearest like strtod does on the text.
    let x = if let Some(u) = n.as_u64() {
        u as f64
    } else if let Some(i) = n.as_i64() {
        i as f64
    } else {
        n.as_f64().unwrap_or(0.0)
    };
    let text = match round14(x, Ties::Even) {
        None => "0".to_string(),
        Some((digits, exp)) => {
            let digits = String::from_utf8(digits).unwrap_or_default();
            let sign = if x < 0.0 { "-" } else { "" };
            format!("{sign}{}", plain_decimal(&digits, exp))
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|_| {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    })
}

/// The JSON document as it comes out of pgmoon's `cjson.decode` + `cjson.encode` and back out of
/// PostgreSQL `jsonb`, i.e. what a row rewritten by `fixup_plugin_config`
/// (`kong/db/migrations/operations/280_to_300.lua`, `…/200_to_210.lua`) holds afterwards:
///
/// - every empty array `[]`, at any depth, becomes `{}` (decoded without the array metatable, an
///   empty Lua table encodes as an object); non-empty arrays stay arrays;
/// - every number goes through `%.14g` ([`cjson_number_to_string`]) and `numeric`:
///   `123456789012345678` → `123456789012350000`, `0.30000000000000004` → `0.3`, `1.0` → `1`;
/// - strings, booleans, `null` and object keys come back unchanged (cjson escapes `/` and U+007F on
///   the way out, which `jsonb` undoes; key order is `jsonb`'s own either way).
///
/// Does not check the nesting limit; see [`cjson_roundtrip_checked`].
pub fn cjson_roundtrip(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        Value::Array(a) => Value::Array(a.iter().map(cjson_roundtrip).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), cjson_roundtrip(v)))
                .collect(),
        ),
        Value::Number(n) => cjson_number(n),
        other => other.clone(),
    }
}

/// [`cjson_roundtrip`], failing where lua-cjson would (nesting deeper than [`CJSON_MAX_DEPTH`]).
/// Numbers `serde_json` can hold are always finite, so cjson's "must not be NaN or Infinity" cannot
/// happen here (a `jsonb` number beyond ±1.8e308 already fails to parse into a
/// `serde_json::Value`).
pub fn cjson_roundtrip_checked(v: &Value) -> Result<Value, TransformError> {
    cjson_decode_check(v)?;
    Ok(cjson_roundtrip(v))
}

// ---------------------------------------------------------------------------------------------
// pre-function / post-function 001_280_to_300
// ---------------------------------------------------------------------------------------------

/// LuaJIT's type name of a decoded JSON value, for error messages (`null` is cjson's
/// lightuserdata).
fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "userdata",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "table",
    }
}

/// `config.functions and #config.functions > 0` from
/// `kong/plugins/pre-function/migrations/_001_280_to_300.lua`, with Lua's semantics:
/// - `config` must be indexable: a table (object or array) or a string (strings index the `string`
///   library, so `("x").functions` is nil); anything else raises "attempt to index";
/// - a missing key or `false` is falsy; JSON `null` is cjson's lightuserdata, truthy, and `#` on it
///   raises;
/// - `#` of a non-empty array is its length; of an object (decoded keys are strings) it is 0; of a
///   string its byte length; of a number/boolean it raises.
fn functions_nonempty(config: &Value, migration: &'static str) -> Result<bool, TransformError> {
    let functions = match config {
        Value::Object(o) => o.get("functions"),
        Value::Array(_) | Value::String(_) => None,
        other => {
            return Err(TransformError::Lua {
                migration,
                message: format!(
                    "attempt to index local 'config' (a {} value)",
                    lua_type(other)
                ),
            })
        }
    };
    match functions {
        None | Some(Value::Bool(false)) => Ok(false),
        Some(Value::Array(a)) => Ok(!a.is_empty()),
        Some(Value::Object(_)) => Ok(false),
        Some(Value::String(s)) => Ok(!s.is_empty()),
        Some(other) => Err(TransformError::Lua {
            migration,
            message: format!(
                "attempt to get length of field 'functions' (a {} value)",
                lua_type(other)
            ),
        }),
    }
}

/// pre-function / post-function `001_280_to_300` `up_f`
/// (`kong/plugins/pre-function/migrations/_001_280_to_300.lua`, run at `kong migrations up`) on
/// one row's config: if `config.functions` is non-empty it is copied to `config.access`,
/// **overwriting** whatever `access` held. The fixup returns `true` unconditionally, so
/// `fixup_plugin_config` (`operations/200_to_210.lua`) rewrites **every** row of the plugin and the
/// result is always the cjson-re-encoded config ([`cjson_roundtrip`]), changed or not.
/// `functions` itself stays, so 2.8 nodes keep working until `finish`.
///
/// On a config Kong's Lua would raise on (see [`pre_post_function_up_checked`]) this returns the
/// config untouched, because the real migration fails there instead of writing the row.
pub fn pre_post_function_up(config: &Value) -> Value {
    pre_post_function_up_checked(config).unwrap_or_else(|_| config.clone())
}

/// [`pre_post_function_up`], with the errors the real migration would raise: nesting beyond the
/// cjson limit, a `config` that cannot be indexed (JSON `null`, number, boolean, SQL NULL), or a
/// `functions` value `#` cannot measure (`null`, number, `true`).
pub fn pre_post_function_up_checked(config: &Value) -> Result<Value, TransformError> {
    const STEP: &str = "pre-function/post-function 001_280_to_300 up";
    cjson_decode_check(config)?;
    let mut config = config.clone();
    if functions_nonempty(&config, STEP)? {
        if let Value::Object(o) = &mut config {
            let functions = o.get("functions").cloned().unwrap_or(Value::Null);
            o.insert("access".to_string(), functions);
        }
    }
    Ok(cjson_roundtrip(&config))
}

/// pre-function / post-function `001_280_to_300` teardown
/// (`kong/plugins/pre-function/migrations/_001_280_to_300.lua`, run at `kong migrations finish`)
/// on one row's config (normally the output of [`pre_post_function_up`]): if `config.functions` is
/// non-empty the key is removed; the row is rewritten either way. A `functions` that was `[]` in
/// 2.8 was already turned into `{}` by `up_f`'s re-encode, `#{}` is 0, so it is *not* removed: the
/// residual `"functions": {}` stays in the row (3.4 drops the unknown key when it reads the
/// entity). Same error convention as [`pre_post_function_up`].
pub fn pre_post_function_teardown(config: &Value) -> Value {
    pre_post_function_teardown_checked(config).unwrap_or_else(|_| config.clone())
}

/// [`pre_post_function_teardown`] with the errors the real migration would raise (same cases as
/// [`pre_post_function_up_checked`]).
pub fn pre_post_function_teardown_checked(config: &Value) -> Result<Value, TransformError> {
    const STEP: &str = "pre-function/post-function 001_280_to_300 teardown";
    cjson_decode_check(config)?;
    let mut config = config.clone();
    if functions_nonempty(&config, STEP)? {
        if let Value::Object(o) = &mut config {
            o.remove("functions");
        }
    }
    Ok(cjson_roundtrip(&config))
}

// ---------------------------------------------------------------------------------------------
// http-log 001_280_to_300
// ---------------------------------------------------------------------------------------------

/// What the http-log fixup does with one header value: `None` = leave it, `Some(None)` = remove it
/// (`headers[name] = nil`), `Some(Some(s))` = replace it with the joined string.
fn http_log_header_value(v: &Value, name: &str) -> Result<Option<Option<Value>>, TransformError> {
    match v {
        // `type(value_array) == "table"` and `not next(value_array)`: empty array or object.
        Value::Array(a) if a.is_empty() => Ok(Some(None)),
        Value::Object(o) if o.is_empty() => Ok(Some(None)),
        // `table.concat(value_array, ", ")`: strings as they are, numbers via `%.14g`, anything
        // else raises (LuaJIT's wording, checked under LuaJIT 2.1).
        Value::Array(a) => {
            let mut parts = Vec::with_capacity(a.len());
            for (i, e) in a.iter().enumerate() {
                match e {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Number(n) => {
                        let x = n
                            .as_u64()
                            .map(|u| u as f64)
                            .or_else(|| n.as_i64().map(|i| i as f64))
                            .or_else(|| n.as_f64())
                            .unwrap_or(0.0);
                        parts.push(lua_number_to_string(x));
                    }
                    other => {
                        return Err(TransformError::Lua {
                            migration: "http-log 001_280_to_300 teardown",
                            message: format!(
                                "invalid value ({}) at index {} in table for 'concat' \
                                 (header {name:?})",
                                lua_type(other),
                                i + 1
                            ),
                        })
                    }
                }
            }
            Ok(Some(Some(Value::String(parts.join(", ")))))
        }
        // A non-empty object: `#t` is 0 (its keys are strings), so `table.concat` gives "".
        // Reasoned from Lua semantics, checked under LuaJIT; the 2.8 schema never stores this.
        Value::Object(_) => Ok(Some(Some(Value::String(String::new())))),
        // Strings (already migrated: the fixup is reentrant), null, numbers, booleans: untouched.
        _ => Ok(None),
    }
}

/// http-log `001_280_to_300` teardown (`kong/plugins/http-log/migrations/001_280_to_300.lua`, run
/// at `kong migrations finish`, through `fixup_plugin_config` of `operations/280_to_300.lua`) on
/// one row's config: `Some(new config)` only when Kong rewrites the row, i.e. when some header
/// value was a table:
/// - an array of values becomes one string joined with `", "` (what 2.8 sent on the wire);
/// - an empty array deletes the header (2.8 did not send it);
/// - when headers changed and none remain, `headers` becomes JSON `null`.
///
/// String values are left alone (the fixup is reentrant), and a row with nothing to change is not
/// rewritten, so its `[]`s and numbers keep their 2.8 form. A rewritten row goes through
/// [`cjson_roundtrip`] as a whole. On a config Kong's Lua would raise on (see
/// [`http_log_headers_checked`]) this returns `None`: the migration fails rather than writing it.
pub fn http_log_headers(config: &Value) -> Option<Value> {
    http_log_headers_checked(config).ok().flatten()
}

/// [`http_log_headers`] with the errors the real teardown would raise: nesting beyond the cjson
/// limit, a header array holding something other than strings and numbers (`table.concat`
/// raises), or (headers stored as a JSON array, never produced by the 2.8 schema) an excessively
/// sparse array left after removing empty entries.
pub fn http_log_headers_checked(config: &Value) -> Result<Option<Value>, TransformError> {
    cjson_decode_check(config)?;
    // `type(config) == "table"`, then `type(config.headers) == "table"`; an array config has no
    // "headers" field.
    let Value::Object(cfg) = config else {
        return Ok(None);
    };
    let mut cfg = cfg.clone();
    let new_headers = match cfg.get("headers") {
        Some(Value::Object(headers)) => {
            let mut updated = false;
            let mut out = Map::new();
            for (name, v) in headers {
                match http_log_header_value(v, name)? {
                    None => {
                        out.insert(name.clone(), v.clone());
                    }
                    Some(None) => updated = true,
                    Some(Some(s)) => {
                        updated = true;
                        out.insert(name.clone(), s);
                    }
                }
            }
            if !updated {
                return Ok(None);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Some(Value::Array(headers)) => {
            // `pairs` over a Lua array: same rules per index; removed entries leave holes, which
            // lua-cjson encodes as `null` up to the highest remaining index, or refuses when the
            // array is excessively sparse. Reasoned from lua_cjson.c `lua_array_length` and
            // checked with lua-cjson 2.1.0.10.
            let mut updated = false;
            let mut slots: Vec<Option<Value>> = Vec::with_capacity(headers.len());
            for (i, v) in headers.iter().enumerate() {
                match http_log_header_value(v, &(i + 1).to_string())? {
                    None => slots.push(Some(v.clone())),
                    Some(None) => {
                        updated = true;
                        slots.push(None);
                    }
                    Some(Some(s)) => {
                        updated = true;
                        slots.push(Some(s));
                    }
                }
            }
            if !updated {
                return Ok(None);
            }
            while matches!(slots.last(), Some(None)) {
                slots.pop();
            }
            let items = slots.iter().filter(|s| s.is_some()).count();
            let max = slots.len();
            if items == 0 {
                Value::Null
            } else if max > items * 2 && max > 10 {
                return Err(TransformError::ExcessivelySparseArray {
                    detail: format!("config.headers has {items} values over {max} slots"),
                });
            } else {
                Value::Array(
                    slots
                        .into_iter()
                        .map(|s| s.unwrap_or(Value::Null))
                        .collect(),
                )
            }
        }
        _ => return Ok(None),
    };
    cfg.insert("headers".to_string(), new_headers);
    Ok(Some(cjson_roundtrip(&Value::Object(cfg))))
}

// ---------------------------------------------------------------------------------------------
// Quirks, for the report
// ---------------------------------------------------------------------------------------------

/// An empty JSON array came back as `{}` (lua-cjson without the array metatable).
pub const QUIRK_EMPTY_ARRAY_BECAME_OBJECT: &str = "empty_array_became_object";
/// A number lost digits in `%.14g` (e.g. `123456789012345678` → `123456789012350000`).
pub const QUIRK_NUMBER_ROUNDED: &str = "number_rounded_to_14_digits";
/// A number kept its value but not its JSON text (e.g. `1.0` → `1`, `1.50` → `1.5`).
pub const QUIRK_NUMBER_REFORMATTED: &str = "number_reformatted";
/// The config keeps `"functions": {}`, which pre/post-function's teardown does not remove.
pub const QUIRK_RESIDUAL_EMPTY_FUNCTIONS: &str = "residual_empty_functions_key";
/// pre/post-function `up_f` copied `functions` into `access`.
pub const QUIRK_FUNCTIONS_COPIED_TO_ACCESS: &str = "functions_copied_to_access";
/// pre/post-function `up_f` replaced a non-empty `access` with `functions` (the old code is lost).
pub const QUIRK_ACCESS_OVERWRITTEN: &str = "access_overwritten_by_functions";
/// pre/post-function teardown removed `functions`.
pub const QUIRK_FUNCTIONS_REMOVED: &str = "functions_removed";
/// http-log: a header's array of values became one `", "`-joined string.
pub const QUIRK_HEADER_VALUES_JOINED: &str = "header_values_joined";
/// http-log: a header with an empty array of values was deleted.
pub const QUIRK_EMPTY_HEADER_REMOVED: &str = "empty_header_removed";
/// http-log: no header remained, so `headers` became `null`.
pub const QUIRK_HEADERS_BECAME_NULL: &str = "headers_became_null";
/// http-log: a header's value was a non-empty JSON object, and `table.concat` made it `""`.
pub const QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING: &str = "header_object_became_empty_string";

/// Every name [`quirks`] can return, in the order it reports them.
pub const ALL_QUIRKS: &[&str] = &[
    QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
    QUIRK_NUMBER_ROUNDED,
    QUIRK_NUMBER_REFORMATTED,
    QUIRK_RESIDUAL_EMPTY_FUNCTIONS,
    QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
    QUIRK_ACCESS_OVERWRITTEN,
    QUIRK_FUNCTIONS_REMOVED,
    QUIRK_HEADER_VALUES_JOINED,
    QUIRK_EMPTY_HEADER_REMOVED,
    QUIRK_HEADERS_BECAME_NULL,
    QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING,
];

#[derive(Default)]
struct Found {
    empty_array: bool,
    rounded: bool,
    reformatted: bool,
}

fn int_value(n: &serde_json::Number) -> Option<i128> {
    n.as_u64()
        .map(i128::from)
        .or_else(|| n.as_i64().map(i128::from))
}

fn walk(before: &Value, after: &Value, found: &mut Found) {
    match (before, after) {
        (Value::Array(b), Value::Object(a)) if b.is_empty() && a.is_empty() => {
            found.empty_array = true;
        }
        (Value::Array(b), Value::Array(a)) => {
            for (x, y) in b.iter().zip(a) {
                walk(x, y, found);
            }
        }
        (Value::Object(b), Value::Object(a)) => {
            for (k, x) in b {
                if let Some(y) = a.get(k) {
                    walk(x, y, found);
                }
            }
        }
        (Value::Number(b), Value::Number(a)) if b != a => {
            let same = match (int_value(b), int_value(a)) {
                (Some(x), Some(y)) => x == y,
                _ => b.as_f64() == a.as_f64(),
            };
            if same {
                found.reformatted = true;
            } else {
                found.rounded = true;
            }
        }
        _ => {}
    }
}

/// Non-empty in the sense of `#v > 0` (array or string).
fn lua_nonempty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    }
}

/// Names of the quirks that fired between `before` (a stored value) and `after` (what one of the
/// functions above produced for it), for the report. Generic ones come from comparing the two
/// trees position by position (an `[]` now `{}`, a number whose value or text changed); the
/// plugin ones look at the top-level `functions`/`access` (pre/post-function) and `headers`
/// (http-log) keys. The order is [`ALL_QUIRKS`]'s; each name appears at most once.
pub fn quirks(before: &Value, after: &Value) -> Vec<&'static str> {
    let mut found = Found::default();
    walk(before, after, &mut found);
    let mut out = Vec::new();
    if found.empty_array {
        out.push(QUIRK_EMPTY_ARRAY_BECAME_OBJECT);
    }
    if found.rounded {
        out.push(QUIRK_NUMBER_ROUNDED);
    }
    if found.reformatted {
        out.push(QUIRK_NUMBER_REFORMATTED);
    }
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return out;
    };

    // pre-function / post-function
    if matches!(a.get("functions"), Some(Value::Object(o)) if o.is_empty()) {
        out.push(QUIRK_RESIDUAL_EMPTY_FUNCTIONS);
    }
    let before_functions = b.get("functions");
    let before_access = b.get("access").map(cjson_roundtrip);
    let after_access = a.get("access");
    if lua_nonempty(before_functions)
        && after_access.is_some()
        && after_access != before_access.as_ref()
        && after_access == before_functions.map(cjson_roundtrip).as_ref()
    {
        out.push(QUIRK_FUNCTIONS_COPIED_TO_ACCESS);
        if lua_nonempty(b.get("access")) {
            out.push(QUIRK_ACCESS_OVERWRITTEN);
        }
    }
    if lua_nonempty(before_functions) && !a.contains_key("functions") {
        out.push(QUIRK_FUNCTIONS_REMOVED);
    }

    // http-log
    if let Some(Value::Object(bh)) = b.get("headers") {
        let ah = a.get("headers");
        let (mut joined, mut removed, mut emptied) = (false, false, false);
        for (name, v) in bh {
            let now = match ah {
                Some(Value::Object(o)) => o.get(name),
                _ => None,
            };
            match (v, now) {
                (Value::Array(x), Some(Value::String(_))) if !x.is_empty() => joined = true,
                (Value::Object(x), Some(Value::String(s))) if !x.is_empty() && s.is_empty() => {
                    emptied = true
                }
                (Value::Array(x), None) if x.is_empty() => removed = true,
                (Value::Object(x), None) if x.is_empty() => removed = true,
                _ => {}
            }
        }
        if joined {
            out.push(QUIRK_HEADER_VALUES_JOINED);
        }
        if removed {
            out.push(QUIRK_EMPTY_HEADER_REMOVED);
        }
        if matches!(ah, Some(Value::Null)) {
            out.push(QUIRK_HEADERS_BECAME_NULL);
        }
        if emptied {
            out.push(QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING);
        }
    }
    out.sort_by_key(|q| ALL_QUIRKS.iter().position(|x| x == q));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mp(p: &str) -> (String, bool) {
        migrate_path_checked(p).expect(p)
    }

    /// Fact sheet §3.2, plain paths that stay as they are.
    #[test]
    fn plain_paths_unchanged() {
        for p in [
            "/",
            "/foo",
            "/foo/",
            "/foo%2Fbar",
            "/foo%3Fbar",
            "/foo%zz",
            "/foo%",
            "/api/v1.0",
            "/~user",
            "~/foo",
            "relative",
            "",
        ] {
            assert!(!is_regex_path(p), "{p:?} is plain");
            assert_eq!(mp(p), (p.to_string(), false), "{p:?}");
            assert_eq!(migrate_path(p), (p.to_string(), false), "{p:?}");
        }
    }

    /// Fact sheet §3.2, plain paths that `normalize` rewrites.
    #[test]
    fn plain_paths_normalized() {
        for (p, want) in [
            ("/foo//bar", "/foo/bar"),
            ("/foo/./bar", "/foo/bar"),
            ("/foo/../bar", "/bar"),
            ("/a/b/../../c", "/c"),
            ("/a/./b/../c/", "/a/c/"),
            ("/foo//", "/foo/"),
            ("/%7efoo", "/~foo"),
            ("/foo%41", "/fooA"),
            ("/foo%20bar", "/foo bar"),
            ("/foo%2fbar", "/foo%2Fbar"),
            ("/%2E%2E/x", "/x"),
            ("/a/%2e%2e/b", "/b"),
            ("/%E4%BD%A0", "/你"),
        ] {
            assert!(!is_regex_path(p), "{p:?} is plain");
            assert_eq!(mp(p), (want.to_string(), true), "{p:?}");
        }
    }

    /// Fact sheet §3.2, regex paths: `~` prefix and `normalize_regex`.
    #[test]
    fn regex_paths() {
        for (p, want) in [
            ("/regex.+", "~/regex.+"),
            (r"/users/\d+", r"~/users/\d+"),
            ("/foo$", "~/foo$"),
            ("/(foo|bar)", "~/(foo|bar)"),
            ("/foo?bar", "~/foo?bar"),
            ("/foo#x", "~/foo#x"),
            ("/foo bar", "~/foo bar"),
            (r"/\.well-known", r"~/\.well-known"),
            (r"/(?<name>\w+)", r"~/(?<name>\w+)"),
            ("/x%41%42+", "~/xAB+"),
            (r"/foo%2E+%2f%41%20%5C", r"~/foo\.+%2FA \\"),
            ("/caf%C3%A9+", "~/café+"),
            ("/x%25y*", "~/x%25y*"),
            (r"~/users/\d+", r"~~/users/\d+"),
        ] {
            assert!(is_regex_path(p), "{p:?} is a regex");
            assert_eq!(mp(p), (want.to_string(), true), "{p:?}");
        }
    }

    /// Not idempotent: a second `up_f` adds a second `~` (fact sheet §3.2 item 4).
    #[test]
    fn regex_migration_is_not_idempotent() {
        let (once, _) = mp(r"/users/\d+");
        let (twice, changed) = mp(&once);
        assert_eq!(twice, r"~~/users/\d+");
        assert!(changed);
        // A plain path is stable.
        let (once, _) = mp("/a//b/../c");
        assert_eq!(mp(&once), (once.clone(), false));
    }

    /// Reasoned from the Lua/PCRE source: `$` without the D flag also matches before a final
    /// newline, so exactly one trailing `\n` keeps a path plain.
    #[test]
    fn pcre_dollar_before_final_newline() {
        assert!(!is_regex_path("/foo\n"));
        assert_eq!(mp("/foo\n"), ("/foo\n".to_string(), false));
        assert_eq!(mp("/a/../b\n"), ("/b\n".to_string(), true));
        assert!(!is_regex_path("\n"));
        assert!(is_regex_path("/foo\n\n"));
        assert_eq!(mp("/foo\n\n"), ("~/foo\n\n".to_string(), true));
        assert!(is_regex_path("/fo\no"));
        assert!(is_regex_path("/foo\r"));
    }

    /// Reasoned from the Lua source: dot-segment corner cases of `uri.lua` `normalize`, and the
    /// single-pass, case-insensitive `%XX` scan.
    #[test]
    fn normalize_corner_cases() {
        for (p, want) in [
            ("/a/..", "/"),
            ("/a/b/..", "/a/"),
            ("/..", "/"),
            ("/.", "/"),
            ("/a/.", "/a/"),
            ("/...", "/..."),
            ("/a/.../b", "/a/.../b"),
            ("./a", "a"),
            ("../a", "a"),
            (".", ""),
            ("..", ""),
            ("a/./b", "a/b"),
            ("//", "/"),
            ("///a", "/a"),
            ("/.hidden", "/.hidden"),
            ("/%2e", "/"),
            ("/%%41", "/%A"),
            ("/%2541", "/%2541"),
            ("/%2f%2F%3a", "/%2F%2F%3A"),
            ("/%7E%7e", "/~~"),
            ("/%2e%2", "/.%2"),
        ] {
            let changed = p != want;
            assert_eq!(mp(p), (want.to_string(), changed), "{p:?}");
        }
        // Decoding can itself produce regex characters; the plain/regex choice was made before.
        assert_eq!(mp("/a%2Bb"), ("/a%2Bb".to_string(), false));
        assert_eq!(mp("/a%5Eb"), ("/a^b".to_string(), true));
        assert_eq!(mp(r"/a%5c"), (r"/a\".to_string(), true));
        // Regex paths: lower-case hex, metacharacters escaped, non-ASCII raw.
        assert_eq!(mp("/%e4%bd%a0+"), ("~/你+".to_string(), true));
        assert_eq!(
            mp("/x%7b%7D%7C%5E%2D%7E+"),
            (r"~/x\{\}\|\^\-~+".to_string(), true)
        );
        assert_eq!(mp("/a//./b+"), ("~/a//./b+".to_string(), true));
    }

    /// The byte hazards: Kong would send bytes PostgreSQL refuses.
    #[test]
    fn undecodable_bytes_are_errors() {
        match migrate_path_checked("/foo%FF") {
            Err(PathError::InvalidUtf8 { lossy, hex, .. }) => {
                assert_eq!(lossy, "/foo\u{FFFD}");
                assert_eq!(hex, "2f666f6fff");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            migrate_path_checked("/caf%C3+"),
            Err(PathError::InvalidUtf8 { .. })
        ));
        assert!(matches!(
            migrate_path_checked("/x%00"),
            Err(PathError::NulByte { .. })
        ));
        assert!(matches!(
            migrate_path_checked("/x%00+"),
            Err(PathError::NulByte { .. })
        ));
        let msg = migrate_path_checked("/foo%ff").unwrap_err().to_string();
        assert!(msg.contains("not valid UTF-8"), "{msg}");
        // The unchecked variant still answers, lossily.
        assert_eq!(migrate_path("/foo%FF"), ("/foo\u{FFFD}".to_string(), true));
        // Raw bytes are exact.
        assert_eq!(
            migrate_path_bytes(b"/%ff%FE"),
            (b"/\xff\xfe".to_vec(), true)
        );
        // Still-encoded invalid bytes are fine when they do not decode (%25 is reserved).
        assert_eq!(mp("/foo%25FF"), ("/foo%25FF".to_string(), false));
    }

    #[test]
    fn route_paths_array() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(migrate_route_paths(&v(&["/foo", "/bar/"])), None);
        assert_eq!(migrate_route_paths(&[]), None);
        assert_eq!(
            migrate_route_paths(&v(&["/foo", "/a//b", "/x.+"])),
            Some(v(&["/foo", "/a/b", "~/x.+"]))
        );
        let err = migrate_route_paths_checked(&v(&["/ok", "/foo%FF"])).unwrap_err();
        assert!(err.to_string().contains("/foo%FF"), "{err}");
        assert_eq!(migrate_route_paths_checked(&v(&["/ok/"])).unwrap(), None);
    }

    /// `%.14g`, checked against lua-cjson 2.1.0.10 (`cjson.encode`) and LuaJIT 2.1 (`tostring`).
    #[test]
    fn number_formatting() {
        // (x, cjson.encode, tostring)
        for (x, cj, lj) in [
            (
                123456789012345678.0,
                "1.2345678901235e+17",
                "1.2345678901235e+17",
            ),
            (0.1, "0.1", "0.1"),
            (3.0, "3", "3"),
            (-3.0, "-3", "-3"),
            (1e14, "1e+14", "1e+14"),
            (1e15, "1e+15", "1e+15"),
            (99999999999999.0, "99999999999999", "99999999999999"),
            (99999999999999.5, "1e+14", "1e+14"),
            (100000000000000.5, "1e+14", "1e+14"),
            (
                9007199254740992.0,
                "9.007199254741e+15",
                "9.007199254741e+15",
            ),
            (-0.0, "-0", "-0"),
            (0.0, "0", "0"),
            (1e-5, "1e-05", "1e-05"),
            (0.0001, "0.0001", "0.0001"),
            (-1.23456e-5, "-1.23456e-05", "-1.23456e-05"),
            (0.1 + 0.2, "0.3", "0.3"),
            (1.0 / 3.0, "0.33333333333333", "0.33333333333333"),
            (1e300, "1e+300", "1e+300"),
            (-2.5, "-2.5", "-2.5"),
            (1234.5678, "1234.5678", "1234.5678"),
            (5e-324, "4.9406564584125e-324", "4.9406564584125e-324"),
            (f64::MAX, "1.7976931348623e+308", "1.7976931348623e+308"),
            // Exact ties: glibc rounds to even, LuaJIT away from zero.
            (10000000000000.5, "10000000000000", "10000000000001"),
            (-10000000000000.5, "-10000000000000", "-10000000000001"),
            (10000000000001.5, "10000000000002", "10000000000002"),
            (
                123456789012345.0,
                "1.2345678901234e+14",
                "1.2345678901235e+14",
            ),
            (2629135684.28125, "2629135684.2812", "2629135684.2813"),
        ] {
            assert_eq!(cjson_number_to_string(x), cj, "cjson {x:e}");
            assert_eq!(lua_number_to_string(x), lj, "lua {x:e}");
        }
    }

    /// Numbers after cjson + PostgreSQL numeric, as serde_json reads them back.
    #[test]
    fn cjson_numbers() {
        let r = |v: Value| cjson_roundtrip(&v);
        assert_eq!(
            r(json!(123456789012345678u64)),
            json!(123456789012350000u64)
        );
        assert_eq!(
            r(json!(-123456789012345678i64)),
            json!(-123456789012350000i64)
        );
        assert_eq!(r(json!(0.1)), json!(0.1));
        assert_eq!(r(json!(3)), json!(3));
        assert_eq!(r(json!(3.0)), json!(3));
        assert_eq!(r(json!(-7)), json!(-7));
        assert_eq!(r(json!(-2.5)), json!(-2.5));
        // 1e14 prints as "1e+14", PostgreSQL stores 100000000000000.
        assert_eq!(r(json!(100000000000000u64)), json!(100000000000000u64));
        assert_eq!(r(json!(1e14)), json!(100000000000000u64));
        assert_eq!(r(json!(100000000000000.5)), json!(100000000000000u64));
        assert_eq!(r(json!(123456789012345u64)), json!(123456789012340u64));
        assert_eq!(r(json!(9007199254740993u64)), json!(9007199254741000u64));
        assert_eq!(r(json!(0.1 + 0.2)), json!(0.3));
        assert_eq!(r(json!(-0.0)), json!(0));
        assert_eq!(r(json!(1e-5)), json!(0.00001));
        // Beyond u64: PostgreSQL prints all digits and serde_json reads an f64.
        assert_eq!(r(json!(1e20)), json!(1e20));
        // What PostgreSQL prints, parsed the way the crate parses it (serde_json's default float
        // parsing is not always correctly rounded: this gives 1.8446744073710002e19, not the
        // double nearest to 1.844674407371e19).
        assert_eq!(
            r(json!(u64::MAX)),
            serde_json::from_str::<Value>("18446744073710000000").unwrap()
        );
        assert_eq!(
            r(json!(i64::MIN)),
            serde_json::from_str::<Value>("-9223372036854800000").unwrap()
        );
    }

    #[test]
    fn cjson_structure() {
        let before = json!({
            "a": [], "b": {}, "c": [[], [1, null, {}], "x"], "d": "a/b\u{7f}é",
            "e": null, "f": true, "g": {"h": []}
        });
        let after = cjson_roundtrip(&before);
        assert_eq!(
            after,
            json!({
                "a": {}, "b": {}, "c": [{}, [1, null, {}], "x"], "d": "a/b\u{7f}é",
                "e": null, "f": true, "g": {"h": {}}
            })
        );
        assert_eq!(
            quirks(&before, &after),
            vec![QUIRK_EMPTY_ARRAY_BECAME_OBJECT]
        );
        assert_eq!(cjson_roundtrip(&json!([])), json!({}));
        assert_eq!(cjson_roundtrip(&json!("s")), json!("s"));
        assert_eq!(cjson_roundtrip(&Value::Null), Value::Null);
    }

    fn nested(n: usize) -> Value {
        let mut v = json!([]);
        for _ in 1..n {
            v = json!([v]);
        }
        v
    }

    #[test]
    fn cjson_depth_limit() {
        assert!(cjson_roundtrip_checked(&nested(1000)).is_ok());
        assert_eq!(
            cjson_roundtrip_checked(&nested(1001)),
            Err(TransformError::TooDeep { depth: 1001 })
        );
        assert!(cjson_decode_check(&json!({"a": nested(999)})).is_ok());
        assert!(cjson_decode_check(&json!({"a": nested(1000)})).is_err());
        assert!(pre_post_function_up_checked(&json!({"a": nested(1000)})).is_err());
        assert!(http_log_headers_checked(&json!({"a": nested(1000)})).is_err());
    }

    #[test]
    fn pre_post_function_up_copies_functions() {
        let before = json!({
            "functions": ["return 1"], "access": ["old()"], "log": [],
            "certificate": [], "rewrite": [], "header_filter": [], "body_filter": []
        });
        let up = pre_post_function_up(&before);
        assert_eq!(
            up,
            json!({
                "functions": ["return 1"], "access": ["return 1"], "log": {},
                "certificate": {}, "rewrite": {}, "header_filter": {}, "body_filter": {}
            })
        );
        assert_eq!(
            quirks(&before, &up),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
                QUIRK_ACCESS_OVERWRITTEN
            ]
        );
        let down = pre_post_function_teardown(&up);
        assert_eq!(
            down,
            json!({
                "access": ["return 1"], "log": {},
                "certificate": {}, "rewrite": {}, "header_filter": {}, "body_filter": {}
            })
        );
        assert_eq!(
            quirks(&before, &down),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
                QUIRK_ACCESS_OVERWRITTEN,
                QUIRK_FUNCTIONS_REMOVED
            ]
        );
        // No prior access: copied, nothing overwritten.
        let b = json!({"functions": ["f()"]});
        let u = pre_post_function_up(&b);
        assert_eq!(u, json!({"functions": ["f()"], "access": ["f()"]}));
        assert_eq!(quirks(&b, &u), vec![QUIRK_FUNCTIONS_COPIED_TO_ACCESS]);
    }

    /// The 2.8 default `functions: []`: `access` is left alone, the row is still rewritten, and
    /// the residual `functions: {}` survives the teardown.
    #[test]
    fn pre_post_function_empty_functions_residue() {
        let before = json!({"functions": [], "access": ["a()"], "log": []});
        let up = pre_post_function_up(&before);
        assert_eq!(up, json!({"functions": {}, "access": ["a()"], "log": {}}));
        let down = pre_post_function_teardown(&up);
        assert_eq!(down, json!({"functions": {}, "access": ["a()"], "log": {}}));
        assert_eq!(
            quirks(&before, &down),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_RESIDUAL_EMPTY_FUNCTIONS
            ]
        );
        // Every row is rewritten: even an untouched config comes back re-encoded.
        let n = json!({"access": ["x = 123456789012345678"], "n": 123456789012345678u64});
        let up = pre_post_function_up(&n);
        assert_eq!(
            up,
            json!({"access": ["x = 123456789012345678"], "n": 123456789012350000u64})
        );
        assert_eq!(quirks(&n, &up), vec![QUIRK_NUMBER_ROUNDED]);
        assert_eq!(pre_post_function_teardown(&up), up);
    }

    /// Reasoned from Lua semantics and checked under LuaJIT: what `config.functions and
    /// #config.functions > 0` does with odd values.
    #[test]
    fn pre_post_function_lua_semantics() {
        // A string has a length: copied.
        assert_eq!(
            pre_post_function_up(&json!({"functions": "abc"})),
            json!({"functions": "abc", "access": "abc"})
        );
        assert_eq!(
            pre_post_function_teardown(&json!({"functions": "abc"})),
            json!({})
        );
        // An object has length 0: not copied, not removed.
        assert_eq!(
            pre_post_function_up(&json!({"functions": {"a": "b"}})),
            json!({"functions": {"a": "b"}})
        );
        assert_eq!(
            pre_post_function_up(&json!({"functions": false})),
            json!({"functions": false})
        );
        // A string or array config passes through.
        assert_eq!(pre_post_function_up(&json!("s")), json!("s"));
        assert_eq!(pre_post_function_up(&json!([[]])), json!([{}]));
        // Lua errors: the migration fails, the unchecked variant leaves the row alone.
        for (cfg, msg) in [
            (
                json!({"functions": null}),
                "attempt to get length of field 'functions' (a userdata value)",
            ),
            (
                json!({"functions": 5}),
                "attempt to get length of field 'functions' (a number value)",
            ),
            (
                json!({"functions": true}),
                "attempt to get length of field 'functions' (a boolean value)",
            ),
            (
                json!(null),
                "attempt to index local 'config' (a userdata value)",
            ),
            (json!(5), "attempt to index local 'config' (a number value)"),
        ] {
            match pre_post_function_up_checked(&cfg) {
                Err(TransformError::Lua { message, .. }) => assert_eq!(message, msg),
                other => panic!("{cfg}: {other:?}"),
            }
            assert!(pre_post_function_teardown_checked(&cfg).is_err());
            assert_eq!(pre_post_function_up(&cfg), cfg);
        }
    }

    #[test]
    fn http_log_headers_joined_and_removed() {
        let before = json!({
            "http_endpoint": "http://x/", "timeout": 10000,
            "headers": {"X-A": ["a", "b"], "X-B": [], "X-C": ["c"], "X-D": "d"},
            "custom_fields_by_lua": []
        });
        let after = http_log_headers(&before).expect("rewritten");
        assert_eq!(
            after,
            json!({
                "http_endpoint": "http://x/", "timeout": 10000,
                "headers": {"X-A": "a, b", "X-C": "c", "X-D": "d"},
                "custom_fields_by_lua": {}
            })
        );
        assert_eq!(
            quirks(&before, &after),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_HEADER_VALUES_JOINED,
                QUIRK_EMPTY_HEADER_REMOVED
            ]
        );
        // Reentrant: a second run changes nothing.
        assert_eq!(http_log_headers(&after), None);
    }

    #[test]
    fn http_log_no_headers_left_is_null() {
        let before = json!({"headers": {"X-B": []}, "n": 0.30000000000000004});
        let after = http_log_headers(&before).expect("rewritten");
        assert_eq!(after, json!({"headers": null, "n": 0.3}));
        assert_eq!(
            quirks(&before, &after),
            vec![
                QUIRK_NUMBER_ROUNDED,
                QUIRK_EMPTY_HEADER_REMOVED,
                QUIRK_HEADERS_BECAME_NULL
            ]
        );
    }

    #[test]
    fn http_log_untouched_rows() {
        for cfg in [
            json!({"headers": {"X": "v"}, "keep": []}),
            json!({"headers": null, "keep": []}),
            json!({"headers": {}}),
            json!({"headers": []}),
            json!({"headers": "x"}),
            json!({"http_endpoint": "http://x/"}),
            json!([1]),
            json!(null),
            json!("s"),
        ] {
            assert_eq!(http_log_headers(&cfg), None, "{cfg}");
            assert_eq!(http_log_headers_checked(&cfg), Ok(None), "{cfg}");
        }
    }

    /// Reasoned from Lua semantics and checked under LuaJIT + lua-cjson 2.1.0.10.
    #[test]
    fn http_log_lua_semantics() {
        // Numbers are joined with %.14g; an empty object counts as empty; a non-empty object
        // concatenates to "".
        assert_eq!(
            http_log_headers(&json!({"headers": {
                "N": [1, 0.1, 123456789012345678u64], "E": {}, "O": {"k": "v"}
            }})),
            Some(json!({"headers": {"N": "1, 0.1, 1.2345678901235e+17", "O": ""}}))
        );
        // table.concat raises on tables, booleans and null.
        match http_log_headers_checked(&json!({"headers": {"X": ["a", true]}})) {
            Err(TransformError::Lua { message, .. }) => {
                assert!(
                    message.starts_with("invalid value (boolean) at index 2"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(http_log_headers_checked(&json!({"headers": {"X": [null]}})).is_err());
        assert!(http_log_headers_checked(&json!({"headers": {"X": [["a"]]}})).is_err());
        assert_eq!(http_log_headers(&json!({"headers": {"X": [null]}})), None);
        // headers stored as an array (never by the 2.8 schema): holes encode as null, trailing
        // holes vanish, an empty result is null, an excessively sparse one raises.
        assert_eq!(
            http_log_headers(&json!({"headers": [[], ["x"], []]})),
            Some(json!({"headers": [null, "x"]}))
        );
        assert_eq!(
            http_log_headers(&json!({"headers": [[]]})),
            Some(json!({"headers": null}))
        );
        let mut sparse = vec![json!([]); 11];
        sparse.push(json!(["x"]));
        assert!(matches!(
            http_log_headers_checked(&json!({ "headers": sparse })),
            Err(TransformError::ExcessivelySparseArray { .. })
        ));
        let mut ok = vec![json!([]); 6];
        ok.extend(vec![json!(["x"]); 6]);
        let got = http_log_headers(&json!({ "headers": ok })).unwrap();
        assert_eq!(got["headers"].as_array().unwrap().len(), 12);
        assert_eq!(got["headers"][0], Value::Null);
        assert_eq!(got["headers"][6], json!("x"));
    }

    #[test]
    fn quirks_on_numbers_and_identity() {
        let v = json!({"a": 1, "b": "s", "c": [1, 2]});
        assert!(quirks(&v, &cjson_roundtrip(&v)).is_empty());
        let f = json!({"x": 1.0, "y": 1.5});
        assert_eq!(
            quirks(&f, &cjson_roundtrip(&f)),
            vec![QUIRK_NUMBER_REFORMATTED]
        );
        let big = json!([100000000000000001u64]);
        assert_eq!(
            quirks(&big, &cjson_roundtrip(&big)),
            vec![QUIRK_NUMBER_ROUNDED]
        );
        for q in quirks(&f, &cjson_roundtrip(&f)) {
            assert!(ALL_QUIRKS.contains(&q));
        }
    }
}
