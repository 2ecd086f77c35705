//! Route regex compatibility with Kong 3.4.2's `traditional_compatible` router: the expression
//! Kong builds from a 3.x path and whether the `regex` crate version Kong pins accepts it. Pure
//! functions over path strings and [`RouteRow`]s; it must not know about priorities or plugins.
//!
//! # Regex route paths (all at Kong tag 3.4.2)
//!
//! The default `router_flavor = traditional_compatible` turns each route into an ATC expression
//! (`kong/router/compat.lua` `get_expression`). For a path starting with `~`
//! (`kong/router/utils.lua` `is_regex_magic`) the value is `"^" .. p:sub(2):gsub("?<", "?P<")`:
//! strip the `~`, anchor at the start, and rewrite *every* `?<` to `?P<` (a Lua pattern whose `?`
//! is literal here, so also inside escapes, classes and look-behinds). `atc.escape_str` doubles
//! `\` and escapes `"`, and the atc-router grammar (`src/atc_grammar.pest`, `str_esc`) undoes
//! exactly that, so `Regex::new` (atc-router `src/parser.rs`, no builder options) sees the
//! expression byte for byte. The same expression is validated when a route is written through the
//! Admin API (`kong/db/schema/entities/routes.lua` `validate_route`), and when the router is
//! built, a route that fails is logged and skipped (`kong/router/atc.lua` `add_atc_matcher`), so
//! its traffic falls through to other routes or gets 404 (Kong/kong issue 10279 shows the same
//! for a DB-less file on 3.1: the load succeeds, the route is missing).
//!
//! Kong 3.4.2's `.requirements` pins `ATC_ROUTER=b0d5e7e2…` (atc-router 1.2.0), whose `Cargo.lock`
//! pins **regex 1.9.1** (regex-syntax 0.7.3). This crate compiles with whatever regex 1.x Cargo
//! resolved (1.13 when this was written). Between the two, regex-syntax only *added* syntax (read
//! from the regex CHANGELOG and a diff of regex-syntax 0.7.3 and 0.8.12):
//! - 1.10.0: `\<`, `\>`, `\b{start}`, `\b{end}`, `\b{start-half}`, `\b{end-half}`;
//! - 1.10.0: a non-ASCII literal where Unicode mode is off (`(?-u:é)`) is accepted;
//! - 1.11.0: Unicode 16 (15.0 before): scripts Garay, Gurung_Khema, Kirat_Rai, Ol_Onal, Sunuwar,
//!   Todhri, Tulu_Tigalari, the properties IDS_Unary_Operator, ID_Compat_Math_Start,
//!   ID_Compat_Math_Continue, InCB, Modifier_Combining_Mark, and ages 15.1 and 16.0.
//!
//! [`route_regex_check`] therefore compiles with the current crate and then rejects those
//! constructs itself ([`newer_regex_syntax`]), which makes it exact for everything regex 1.9.1
//! rejects as far as the changelog lists syntax changes. Matching semantics differ from 2.8's PCRE
//! even when the expression compiles (Unicode-aware `\d`/`\w`/`.`, `$` not matching before a
//! final newline); those are not reported.

use crate::preflight::{Finding, Severity};

use super::RouteRow;

/// atc-router as pinned by Kong 3.4.2's `.requirements` (`ATC_ROUTER=`).
pub const KONG_ATC_ROUTER: &str = "atc-router 1.2.0 (b0d5e7e2a2ca59bb051959385d3e42d96c93bb98)";
/// The `regex` crate version atc-router 1.2.0's `Cargo.lock` pins.
pub const KONG_REGEX_CRATE: &str = "regex 1.9.1 (regex-syntax 0.7.3)";

const FIX_REWRITE_REGEX: &str = "Rewrite the regex on 2.8 before upgrading so that the Rust `regex` crate accepts it (no look-around, backreferences, atomic groups, `\\Z` or other PCRE-only escapes; `(?<name>…)` is fine), and check that it still matches the same requests.";
const FIX_ROUTER_TRADITIONAL: &str = "Or run Kong 3.4 with `router_flavor = traditional` in kong.conf (PCRE, as in 2.8) until the regex is rewritten.";

pub const RULE_REGEX_INCOMPATIBLE: &str = "route-regex-incompatible";
pub const RULE_REGEX_REWRITTEN: &str = "route-regex-qmark-lt-rewritten";

const SRC_COMPAT: &str =
    "kong/router/compat.lua get_expression at 3.4.2; Kong 3.4.2 .requirements \
     ATC_ROUTER (atc-router 1.2.0, Cargo.lock regex 1.9.1); Kong/kong issues 9495, 12082; decK \
     rule route-paths-look-around-check (covers look-around only)";

/// 3.x route path, or `None` when the path is not a regex in 3.x (no leading `~`).
pub fn atc_regex_expression(path_3x: &str) -> Option<String> {
    // `p:sub(2)` drops the first byte, which is the `~` here.
    let body = path_3x.strip_prefix('~')?;
    Some(format!("^{}", body.replace("?<", "?P<")))
}

/// Build the expression Kong 3.4.2 builds for this 3.x regex path (`~…`) and compile it as
/// atc-router 1.2.0 would: `Ok(expression)` when it compiles, `Err(engine error)` otherwise. A
/// path without the leading `~` is a plain prefix in 3.x and gives an `Err` saying so.
pub fn route_regex_check(path_3x: &str) -> Result<String, String> {
    let Some(expr) = atc_regex_expression(path_3x) else {
        return Err(format!(
            "{path_3x:?} is not a regex path in Kong 3.x (no leading `~`): it is matched as a plain prefix"
        ));
    };
    compiles(&expr)?;
    if let Some(why) = newer_regex_syntax(&expr) {
        return Err(format!(
            "regex parse error: {why}, which this tool's regex crate accepts but Kong 3.4.2's \
             {KONG_REGEX_CRATE}, used by {KONG_ATC_ROUTER}, rejects"
        ));
    }
    Ok(expr)
}

/// How many compiled-or-not answers [`compiles`] remembers per thread before it starts over:
/// enough for the distinct regexes of any real route table, few enough to keep memory flat.
const COMPILE_MEMO: usize = 4096;

/// Whether `expr` compiles with the regex crate, and the engine's error when not. Compiling
/// costs a few hundred microseconds; route tables repeat the same few regexes over thousands
/// of routes, so each distinct expression is compiled once.
fn compiles(expr: &str) -> Result<(), String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static MEMO: RefCell<HashMap<String, Result<(), String>>> = RefCell::new(HashMap::new());
    }
    MEMO.with(|m| {
        if let Some(r) = m.borrow().get(expr) {
            return r.clone();
        }
        let r = regex::Regex::new(expr).map(drop).map_err(|e| e.to_string());
        let mut m = m.borrow_mut();
        if m.len() >= COMPILE_MEMO {
            m.clear();
        }
        m.insert(expr.to_string(), r.clone());
        r
    })
}

/// A path or regex for a message: as written, only control characters escaped.
pub(crate) fn show(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The engine error on one line: the `error: …` line of a regex syntax error, with the
/// offending span, or the text as it is.
pub fn compact_engine_error(err: &str) -> String {
    let lines: Vec<&str> = err.lines().collect();
    if lines.len() >= 3 && lines[0].starts_with("regex parse error") {
        let caret = lines
            .iter()
            .find(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'));
        let msg = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map(|l| l.trim_start_matches("error:").trim())
            .unwrap_or(lines[lines.len() - 1].trim());
        if let (Some(pattern), Some(caret)) = (lines.get(1), caret) {
            // The pattern line and the caret line share their 4-space indent.
            let start = caret.find('^').unwrap_or(0).saturating_sub(4);
            let len = caret.trim().len();
            let snippet: String = pattern
                .get(4..)
                .unwrap_or("")
                .chars()
                .skip(start)
                .take(len)
                .collect();
            return format!("{msg} (at `{snippet}`)");
        }
        return msg.to_string();
    }
    err.split('\n').collect::<Vec<_>>().join(" ")
}

/// Syntax that the current `regex` crate accepts but regex 1.9.1 (Kong 3.4.2's atc-router)
/// rejects. Assumes `expr` already compiles with the current crate.
pub fn newer_regex_syntax(expr: &str) -> Option<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut class_depth = 0usize;
    // Unicode flag per open group; index 0 is the whole pattern.
    let mut unicode: Vec<bool> = vec![true];
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&n) = chars.get(i + 1) else { break };
            match n {
                '<' | '>' if class_depth == 0 => {
                    return Some(format!(
                        "`\\{n}` (a word-boundary assertion since regex 1.10.0)"
                    ));
                }
                'b' if class_depth == 0
                    && chars.get(i + 2) == Some(&'{')
                    && chars
                        .get(i + 3)
                        .is_some_and(|c| c.is_ascii_alphabetic() || *c == '-') =>
                {
                    let end = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                    let text: String = chars[i..=end.unwrap_or(chars.len() - 1)].iter().collect();
                    return Some(format!(
                        "`{text}` (a special word-boundary assertion since regex 1.10.0)"
                    ));
                }
                'p' | 'P' if chars.get(i + 2) == Some(&'{') => {
                    let close = chars[i + 2..].iter().position(|&c| c == '}');
                    if let Some(close) = close {
                        let inner: String = chars[i + 3..i + 2 + close].iter().collect();
                        if let Some(name) = unicode16_name(&inner) {
                            return Some(format!(
                                "`\\{n}{{{inner}}}` ({name} is Unicode 15.1/16.0 data, added in \
                                 regex 1.11.0; regex 1.9.1 has Unicode 15.0)"
                            ));
                        }
                        i += 3 + close;
                        continue;
                    }
                }
                _ => {}
            }
            i += 2;
            continue;
        }
        if class_depth > 0 {
            match c {
                '[' => class_depth += 1,
                ']' => class_depth -= 1,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                class_depth = 1;
                i += 1;
                // `[^` and a leading `]` (a literal) do not close the class.
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                continue;
            }
            '(' => {
                let inherited = *unicode.last().unwrap_or(&true);
                if chars.get(i + 1) != Some(&'?') {
                    unicode.push(inherited);
                    i += 1;
                    continue;
                }
                // `(?P<name>`, `(?<name>`: a capture group, flags inherited.
                let rest: String = chars[i + 2..].iter().take(2).collect();
                if rest.starts_with("P<") || rest.starts_with('<') {
                    unicode.push(inherited);
                    let close = chars[i..].iter().position(|&c| c == '>');
                    i += close.map_or(chars.len(), |p| p + 1);
                    continue;
                }
                // Flags: `(?flags)` or `(?flags:`.
                let mut j = i + 2;
                let mut negate = false;
                let mut flag_u = inherited;
                while let Some(&f) = chars.get(j) {
                    match f {
                        '-' => negate = true,
                        'u' => flag_u = !negate,
                        ':' | ')' => break,
                        _ => {}
                    }
                    j += 1;
                }
                match chars.get(j) {
                    Some(':') => unicode.push(flag_u),
                    Some(')') => {
                        if let Some(top) = unicode.last_mut() {
                            *top = flag_u;
                        }
                    }
                    _ => {}
                }
                i = j + 1;
                continue;
            }
            ')' if unicode.len() > 1 => {
                unicode.pop();
            }
            c if !c.is_ascii() && !*unicode.last().unwrap_or(&true) => {
                return Some(format!(
                    "the non-ASCII literal `{c}` where Unicode mode is off (`(?-u)`), accepted \
                     since regex 1.10.0"
                ));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Unicode property names and values regex-syntax 0.8.12 knows and 0.7.3 does not, in
/// regex-syntax's normalized form (lower case, no ` `, `_`, `-`, no leading `is`).
const UNICODE_NEWER_THAN_15_0: &[&str] = &[
    "garay",
    "gara",
    "gurungkhema",
    "gukh",
    "kiratrai",
    "krai",
    "olonal",
    "onao",
    "sunuwar",
    "sunu",
    "todhri",
    "todr",
    "tulutigalari",
    "tutg",
    "idsunaryoperator",
    "idsu",
    "idcompatmathstart",
    "idcompatmathcontinue",
    "incb",
    "indicconjunctbreak",
    "modifiercombiningmark",
    "mcm",
    "15.1",
    "v151",
    "16.0",
    "v160",
];

fn normalize_unicode_name(s: &str) -> String {
    let s = s.trim();
    let body = if s.len() >= 2 && s[..2].eq_ignore_ascii_case("is") {
        &s[2..]
    } else {
        s
    };
    body.chars()
        .filter(|c| c.is_ascii() && !matches!(c, ' ' | '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `Some(name)` when the `\p{…}` body names Unicode data newer than 15.0.
fn unicode16_name(inner: &str) -> Option<String> {
    let parts: Vec<&str> = inner.splitn(2, ['=', ':']).collect();
    let candidates = if parts.len() == 2 {
        vec![parts[0].trim_end_matches('!'), parts[1]]
    } else {
        vec![parts[0]]
    };
    candidates.into_iter().find_map(|p| {
        let n = normalize_unicode_name(p);
        UNICODE_NEWER_THAN_15_0
            .contains(&n.as_str())
            .then(|| format!("`{}`", p.trim()))
    })
}

/// Byte offsets in `body` (a 3.x regex path without its `~`) where Kong's blanket `?<` → `?P<`
/// rewrite hits something that is not the opening of a named group `(?<name>`: the rewritten
/// regex then matches something else (or does not compile). Look-behinds `(?<=`/`(?<!` are left
/// out: they fail to compile either way.
pub fn qmark_lt_rewrites(body: &str) -> Vec<usize> {
    let b = body.as_bytes();
    // For each byte: is it escaped (odd run of backslashes before it), is it inside a class.
    let mut escaped = vec![false; b.len()];
    let mut in_class = vec![false; b.len()];
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        in_class[i] = depth > 0;
        if b[i] == b'\\' {
            if i + 1 < b.len() {
                escaped[i + 1] = true;
                in_class[i + 1] = depth > 0;
            }
            i += 2;
            continue;
        }
        match b[i] {
            b'[' => depth += 1,
            b']' if depth > 0 => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    let mut out = vec![];
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'?' && b[i + 1] == b'<' {
            // `(?<name>` or a look-behind `(?<=`/`(?<!` (which fails to compile anyway).
            let group_opening = i > 0
                && b[i - 1] == b'('
                && !escaped[i - 1]
                && !in_class[i - 1]
                && !escaped[i]
                && !in_class[i];
            if !group_opening {
                out.push(i);
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}

/// The same check for one path, shared with the declarative linter. `original` is the path as
/// written for 2.8, `path_3x` the path 3.4 will have.
pub(crate) fn regex_path_findings(
    route: &RouteRow,
    index: usize,
    original: &str,
    path_3x: &str,
) -> Vec<Finding> {
    let mut out = vec![];
    let Some(expr) = atc_regex_expression(path_3x) else {
        return out;
    };
    let field = Some(format!("paths[{index}]"));
    let shown_3x = if original == path_3x {
        format!("path `{}`", show(original))
    } else {
        format!(
            "2.8 path `{}` (3.4 path `{}`)",
            show(original),
            show(path_3x)
        )
    };
    match route_regex_check(path_3x) {
        Err(e) => out.push(route.finding(
            RULE_REGEX_INCOMPATIBLE,
            Severity::Error,
            field.clone(),
            format!(
                "{}: {shown_3x} becomes the regex `{}` in 3.4's traditional_compatible router, \
                 which the Rust regex engine rejects: {}. Kong 3.4 skips this route when it builds \
                 the router (logged as `could not add route`), so its requests fall through to \
                 other routes or get 404, and the Admin API refuses to create or update it.",
                route.label(),
                show(&expr),
                compact_engine_error(&e)
            ),
            vec![
                FIX_REWRITE_REGEX.to_string(),
                FIX_ROUTER_TRADITIONAL.to_string(),
            ],
            SRC_COMPAT,
        )),
        Ok(_) => {
            let body = &path_3x[1..];
            let hits = qmark_lt_rewrites(body);
            if !hits.is_empty() {
                out.push(route.finding(
                    RULE_REGEX_REWRITTEN,
                    Severity::Warning,
                    field,
                    format!(
                        "{}: Kong 3.4.2 rewrites every `?<` of {shown_3x} to `?P<` (meant for \
                         named groups), also at {} where it is no named group, so 3.4 matches \
                         `{}` instead: a different pattern.",
                        route.label(),
                        hits.iter()
                            .map(|h| format!("byte {}", h + 1))
                            .collect::<Vec<_>>()
                            .join(", "),
                        show(&expr)
                    ),
                    vec![
                        "Rewrite the regex so that `?` is never directly followed by `<` except \
                         in `(?<name>`, e.g. write a literal `<` as `\\x3C`."
                            .to_string(),
                        FIX_ROUTER_TRADITIONAL.to_string(),
                    ],
                    SRC_COMPAT,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::route_hazards;
    use super::super::test_support::{kinds, route};
    use super::*;
    use crate::kong::transforms;

    #[test]
    fn expression_is_kongs() {
        assert_eq!(
            atc_regex_expression("~/users/\\d+").unwrap(),
            "^/users/\\d+"
        );
        assert_eq!(
            atc_regex_expression("~/v1/(?<id>[a-z]+)").unwrap(),
            "^/v1/(?P<id>[a-z]+)"
        );
        // Every `?<`, as Lua's gsub does.
        assert_eq!(atc_regex_expression("~/a(?<=b)").unwrap(), "^/a(?P<=b)");
        assert_eq!(atc_regex_expression("/plain"), None);
        assert!(route_regex_check("/plain").is_err());
    }

    #[test]
    fn pcre_only_regexes_are_flagged() {
        for p in [
            r"/api/(?=v1)\w+",       // look-ahead
            r"/api/(?!internal)\w+", // negative look-ahead
            r"/files/(?<=x)y",       // look-behind (after Kong's rewrite: `(?P<=`)
            r"/files/(?<!x)y",       // negative look-behind
            r"/(a)/\1",              // backreference
            r"/(?>atomic)+",         // atomic group
            r"/end\Z",               // \Z
        ] {
            let (p3, _) = transforms::migrate_path_checked(p).unwrap();
            assert!(p3.starts_with('~'), "{p} is a regex path");
            let r = route_regex_check(&p3);
            assert!(r.is_err(), "{p} should fail, got {r:?}");
            let f = route_hazards(&[route("r1", &[p])]);
            assert_eq!(kinds(&f), vec![RULE_REGEX_INCOMPATIBLE], "{p}");
            assert_eq!(f[0].fixes.len(), 2);
            assert!(f[0].message.contains(p), "{}", f[0].message);
            assert!(f[0].message.contains(&p3), "{}", f[0].message);
            assert_eq!(f[0].entity.field(), Some("paths[0]"));
            assert_eq!(f[0].severity, Severity::Error);
        }
        let f = route_hazards(&[route("r1", &[r"/end\Z"])]);
        assert!(
            f[0].message.contains("unrecognized escape"),
            "{}",
            f[0].message
        );
        let f = route_hazards(&[route("r1", &[r"/(a)/\1"])]);
        assert!(f[0].message.contains("backreferences"), "{}", f[0].message);
    }

    #[test]
    fn rust_compatible_regexes_pass() {
        assert_eq!(route_regex_check(r"~/users/\d+").unwrap(), r"^/users/\d+");
        assert_eq!(
            route_regex_check(r"~/v1/(?<id>[a-z]+)").unwrap(),
            r"^/v1/(?P<id>[a-z]+)"
        );
        let routes = [
            route("r1", &[r"/users/\d+", "/plain"]),
            route("r2", &[r"/v1/(?<id>[a-z]+)"]),
        ];
        assert!(route_hazards(&routes).is_empty());
    }

    #[test]
    fn newer_regex_syntax_is_rejected_like_regex_1_9_1() {
        for p in [
            r"~/a\<b",
            r"~/word\>",
            r"~/x\b{start}y",
            r"~/\p{Garay}",
            r"~/\p{sc=Tulu_Tigalari}",
            r"~/(?-u:é)",
        ] {
            // The current crate accepts them …
            let expr = atc_regex_expression(p).unwrap();
            assert!(regex::Regex::new(&expr).is_ok(), "{p}");
            // … but Kong 3.4.2's regex 1.9.1 does not.
            let e = route_regex_check(p).unwrap_err();
            assert!(e.contains("regex 1.9.1"), "{e}");
        }
        for p in [
            r"~/a\b{2}",
            r"~/[<>]",
            r"~/\p{Greek}",
            r"~/(?-u:a)é",
            r"~/\\<",
        ] {
            assert!(
                route_regex_check(p).is_ok(),
                "{p}: {:?}",
                route_regex_check(p)
            );
        }
    }

    #[test]
    fn qmark_lt_outside_named_groups_is_reported() {
        // `a?<` is "optional a, then <"; Kong turns it into "optional a, then P<".
        let f = route_hazards(&[route("r1", &[r"/a?<b"])]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_REWRITTEN]);
        assert!(f[0].message.contains("^/a?P<b"), "{}", f[0].message);
        assert_eq!(qmark_lt_rewrites(r"/(?<id>x)"), Vec::<usize>::new());
        assert_eq!(qmark_lt_rewrites(r"/\(?<x"), vec![3]);
        assert_eq!(qmark_lt_rewrites(r"/[(?<]"), vec![3]);
    }

    #[test]
    fn remembered_answers_are_the_compilers_answers() {
        // Asked again, and again after the memo has started over, the answer is the same.
        for round in 0..2 {
            assert!(route_regex_check("~/users/\\d+").is_ok(), "round {round}");
            let e = route_regex_check("~/(?=look)ahead").unwrap_err();
            assert!(e.contains("look-around"), "round {round}: {e}");
            for i in 0..=COMPILE_MEMO {
                assert!(compiles(&format!("^/r{i}/[0-9]+")).is_ok());
            }
        }
        assert!(compiles("^/(unclosed").is_err());
        assert!(compiles("^/(unclosed").is_err());
    }

    #[test]
    fn engine_error_is_compacted() {
        let e = route_regex_check(r"~/api/(?=v1)x").unwrap_err();
        let c = compact_engine_error(&e);
        assert!(c.contains("look-around"), "{c}");
        assert!(c.contains("`(?=`"), "{c}");
        assert!(!c.contains('\n'));
    }
}
