//! Route paths through Kong's core/016_280_to_300 `up_f`: `migrate_path_280_300.lua` and
//! `kong/tools/uri.lua` `normalize`, byte for byte. Pure functions: no database, no I/O.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
