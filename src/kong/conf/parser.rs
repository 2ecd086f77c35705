//! Kong's kong.conf parser: the rules of Penlight's `pl.config.read` with the options Kong
//! passes, and Kong's own comment stripping, quirks included. It only turns text into
//! [`KongConf`]; it must not judge the settings or apply Kong's defaults.
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
//!   stripped. [`Entry::value_2_8`] gives that reading, and `preflight::conf_lint` reports
//!   every value the two versions read differently.
//! * An empty value (also `key =`, or `key = # comment`) means "unset" (`parse_value`: `""` →
//!   `nil`), and Kong then does **not** fall back to its default: the default applies only to
//!   keys that are absent (`overrides`: `file_conf[k] == nil`).
//! * Booleans (`parse_value`, typ `boolean`): only `on` and `true` are true; anything else
//!   (`ON`, `yes`, `1`) is silently false.
//!
//! Not emulated: `{vault://…}` references (Kong dereferences them; `pg_settings` notes them),
//! and the exact rounding of hexadecimal numbers with more than 13 digits (`lua_number`).

use std::path::Path;

use super::lua_number::{is_lua_space, lua_tonumber, lua_tostring};
use super::{
    Entry, Ignored, KongConf, IGNORED_BLANK_DELIM, IGNORED_DANGLING, IGNORED_EMPTY_KEY,
    IGNORED_IN_SECTION, IGNORED_NO_EQUALS, IGNORED_SECTION,
};

impl Entry {
    /// The value as Kong 2.8.5 reads it (its older comment stripping; see the module docs).
    pub fn value_2_8(&self) -> String {
        match penlight_value(&self.raw) {
            PlValue::Num(n) => lua_tostring(n),
            PlValue::Str(s) => lua_strip(&unescape_hash(&strip_comment_2_8(&s))).to_string(),
        }
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

fn is_lua_space_char(c: char) -> bool {
    c.is_ascii() && is_lua_space(c as u8)
}

/// `pl.stringx.strip` / Penlight's `strip`.
pub(crate) fn lua_strip(s: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::super::*;

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
}
