//! Runtime hazards: what migrates cleanly from Kong 2.8 but breaks, or behaves differently, once
//! Kong 3.4 serves it. Pure logic: callers hand in route and plugin rows (from a database or a
//! declarative file, see [`crate::preflight::declarative`]) and get [`Finding`]s back.
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
//!
//! # `regex_priority` in 3.4.2
//!
//! `compat.lua` `get_priority` builds a 64-bit priority, but its helper `lshift_uint64` assigns
//! the Lua number to the upvalue instead of a `uint64_t` cdata, so `bit.lshift` works on 32 bits:
//! `match_weight << 61` is `<< 29`, `headers_count << 52` is `<< 20`, `regex_priority << 19`
//! wraps modulo 2^32. The pieces are OR-ed, so they overlap. Run with the LuaJIT Kong 3.4.2
//! bundles (OpenResty luajit2 v2.1-20220411) on the real `compat.lua`:
//! - `regex_priority` 1024 gives the same priority as 0 on a paths-only route (bit 29 is the
//!   match-weight bit), 2 the same as 0 on a route with one header, 8192 the same as 0;
//! - a negative value, or one with bit 12 set (4096..8191, …), makes a negative 32-bit number,
//!   which `bit.bor` with a `uint64_t` turns into a priority ≥ 2^63 (the piece becomes exactly
//!   2^63 in the interpreter, and is sign-extended once the JIT has compiled the function), i.e.
//!   above every route without such an overflow.
//!
//! Kong 2.8.5 (`kong/router.lua` `sort_routes`) orders routes of the same category, sub-weight and
//! header count by `regex_priority` (higher first), and categories by match weight.
//! [`route_hazards`] reports the orderings 3.4.2 provably breaks: a route with a higher
//! `regex_priority` that no longer comes before the routes it came before (same matching fields),
//! and a route pushed above routes with more matching fields or with a higher `regex_priority`.
//! Whether that changes where a request goes depends on the requests (both routes must match);
//! the finding says so.
//!
//! # Plugins
//!
//! Plugin rules are data: `schemas/runtime-rules/plugin-rules.json`, documented in
//! `schemas/runtime-rules/README.md`, embedded at build time.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kong::transforms;
use crate::report::{Kind, Problem};

/// The problem kind these findings are reported under (the lead maps it to a report kind).
pub const KIND: &str = "runtime_hazard";

/// atc-router as pinned by Kong 3.4.2's `.requirements` (`ATC_ROUTER=`).
pub const KONG_ATC_ROUTER: &str = "atc-router 1.2.0 (b0d5e7e2a2ca59bb051959385d3e42d96c93bb98)";
/// The `regex` crate version atc-router 1.2.0's `Cargo.lock` pins.
pub const KONG_REGEX_CRATE: &str = "regex 1.9.1 (regex-syntax 0.7.3)";

const FIX_REWRITE_REGEX: &str = "Rewrite the regex on 2.8 before upgrading so that the Rust `regex` crate accepts it (no look-around, backreferences, atomic groups, `\\Z` or other PCRE-only escapes; `(?<name>…)` is fine), and check that it still matches the same requests.";
const FIX_ROUTER_TRADITIONAL: &str = "Or run Kong 3.4 with `router_flavor = traditional` in kong.conf (PCRE, as in 2.8) until the regex is rewritten.";
const FIX_PRIORITY_TRADITIONAL: &str = "Or run Kong 3.4 with `router_flavor = traditional` in kong.conf (2.8's route ordering) until the priorities are changed.";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops working or is rejected by Kong 3.4.
    Error,
    /// Works, differently.
    Warning,
    /// Worth a look; no change when the defaults match your intent.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What kind of entity a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Route,
    Plugin,
}

/// One runtime hazard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id (`route-regex-incompatible`, `http-log-headers-array`, …).
    pub kind: &'static str,
    pub severity: Severity,
    pub entity: Entity,
    /// The route or plugin id (for a declarative entity without an id, whatever the caller gave).
    pub id: String,
    /// The route name, or the plugin name.
    pub name: Option<String>,
    /// The route's service, or for a plugin where it is attached (`service <id>`, `global`, …).
    pub scope: Option<String>,
    /// Where in the entity (`paths[2]`, `path_handling`, `config.headers.X-Trace`).
    pub field: Option<String>,
    pub message: String,
    /// One or more alternative fixes.
    pub fixes: Vec<String>,
    /// Where the rule comes from (Kong source, CHANGELOG entry, decK ruleset).
    pub source: String,
}

impl Finding {
    /// The finding as a report problem. For now under [`Kind::Hazard`]; the kind name to use is
    /// [`KIND`].
    pub fn to_problem(&self) -> Problem {
        let entity = match self.entity {
            Entity::Route => "routes",
            Entity::Plugin => "plugins",
        };
        let fix = match self.fixes.len() {
            0 => String::new(),
            1 => self.fixes[0].clone(),
            _ => self
                .fixes
                .iter()
                .enumerate()
                .map(|(i, f)| format!("({}) {f}", i + 1))
                .collect::<Vec<_>>()
                .join(" "),
        };
        Problem::new(
            Kind::RuntimeHazard,
            format!(
                "[{} {}] {}",
                self.severity.as_str(),
                self.kind,
                self.message
            ),
        )
        .object(format!("{entity} {}", self.id))
        .fix(fix)
    }
}

// ---------------------------------------------------------------------------------------------
// Regex paths
// ---------------------------------------------------------------------------------------------

/// The expression Kong 3.4.2's `traditional_compatible` router hands to the `regex` crate for a
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
    if let Err(e) = regex::Regex::new(&expr) {
        return Err(e.to_string());
    }
    if let Some(why) = newer_regex_syntax(&expr) {
        return Err(format!(
            "regex parse error: {why}, which this tool's regex crate accepts but Kong 3.4.2's \
             {KONG_REGEX_CRATE}, used by {KONG_ATC_ROUTER}, rejects"
        ));
    }
    Ok(expr)
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

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// A 2.8 route as read from `routes` (or a declarative file). `paths` are 2.8 paths.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RouteRow {
    pub id: String,
    pub name: Option<String>,
    pub service_id: Option<String>,
    pub paths: Option<Vec<String>>,
    pub path_handling: Option<String>,
    pub regex_priority: Option<i64>,
    /// The fields below only feed the `regex_priority` ordering check; leave them `None` when
    /// unknown (the check then treats the route as matching on paths only).
    pub hosts: Option<Vec<String>>,
    pub methods: Option<Vec<String>>,
    /// `routes.headers` (a JSON object of name → array of values).
    pub headers: Option<Value>,
    pub snis: Option<Vec<String>>,
}

impl RouteRow {
    fn label(&self) -> String {
        let mut s = format!("route {}", self.id);
        if let Some(n) = self.name.as_ref().filter(|n| **n != self.id) {
            s.push_str(&format!(" ({n})"));
        }
        if let Some(svc) = &self.service_id {
            s.push_str(&format!(" of service {svc}"));
        }
        s
    }

    fn finding(
        &self,
        kind: &'static str,
        severity: Severity,
        field: Option<String>,
        message: String,
        fixes: Vec<String>,
        source: &str,
    ) -> Finding {
        Finding {
            kind,
            severity,
            entity: Entity::Route,
            id: self.id.clone(),
            name: self.name.clone(),
            scope: self.service_id.as_ref().map(|s| format!("service {s}")),
            field,
            message,
            fixes,
            source: source.to_string(),
        }
    }

    /// Whether any path is a regex after the 3.0 migration.
    fn has_regex_path(&self) -> bool {
        self.migrated_paths()
            .iter()
            .any(|(_, _, p)| atc_regex_expression(p).is_some())
    }

    /// `(index, 2.8 path, 3.x path)` for every path, the 3.x path as Kong's 016 migration writes
    /// it; paths the migration cannot convert are left out (`hazards` reports those).
    fn migrated_paths(&self) -> Vec<(usize, &str, String)> {
        self.paths
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, p)| {
                let (np, changed) = transforms::migrate_path_checked(p).ok()?;
                Some((i, p.as_str(), if changed { np } else { p.clone() }))
            })
            .collect()
    }
}

pub const RULE_REGEX_INCOMPATIBLE: &str = "route-regex-incompatible";
pub const RULE_REGEX_REWRITTEN: &str = "route-regex-qmark-lt-rewritten";
pub const RULE_PATH_HANDLING_V1: &str = "route-path-handling-v1";
pub const RULE_REGEX_PRIORITY_OVERFLOW: &str = "route-regex-priority-overflow";
pub const RULE_REGEX_PRIORITY_ORDER: &str = "route-regex-priority-order";

const SRC_COMPAT: &str =
    "kong/router/compat.lua get_expression at 3.4.2; Kong 3.4.2 .requirements \
     ATC_ROUTER (atc-router 1.2.0, Cargo.lock regex 1.9.1); Kong/kong issues 9495, 12082; decK \
     rule route-paths-look-around-check (covers look-around only)";
const SRC_PATH_HANDLING: &str = "Kong CHANGELOG.md 3.0.0 Deprecations (#9290); \
     kong/db/schema/entities/routes.lua and kong/router/atc.lua (get_upstream_uri_v0) at 3.4.2; \
     decK rule route-path_handling-check";
const SRC_PRIORITY: &str = "kong/router/compat.lua get_priority/lshift_uint64 at 3.4.2, run with \
     OpenResty luajit2 v2.1-20220411; kong/router.lua sort_routes/sort_categories at 2.8.5; \
     atc-router 1.2.0 src/router.rs (highest priority first, then highest id)";

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

pub(crate) fn path_handling_finding(route: &RouteRow) -> Option<Finding> {
    (route.path_handling.as_deref() == Some("v1")).then(|| {
        route.finding(
            RULE_PATH_HANDLING_V1,
            Severity::Warning,
            Some("path_handling".to_string()),
            format!(
                "{}: path_handling is v1, which Kong 3.4's traditional_compatible router ignores \
                 (it always builds the upstream path the v0 way): with strip_path and a service \
                 path, the upstream URI of some requests changes (v1 concatenates the service path \
                 and the stripped remainder as they are; v0 inserts or drops the `/` between them).",
                route.label()
            ),
            vec![
                "On 2.8, switch the route to path_handling = v0 and check the upstream URIs it \
                 produces (the service path and strip_path decide them)."
                    .to_string(),
                "Or run Kong 3.4 with `router_flavor = traditional`, where v1 is deprecated but \
                 still honoured."
                    .to_string(),
            ],
            SRC_PATH_HANDLING,
        )
    })
}

/// The 3.4.2 priority of a route's regex part: `Exact(u64)`, or `Top` when a 32-bit piece went
/// negative and the value is ≥ 2^63 (its exact value depends on the JIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priority34 {
    Exact(u64),
    Top,
}

/// `bit.lshift` on a Lua number: to int32 (modulo 2^32), shift by `n & 31`, as int32.
fn lshift32(v: i64, n: u32) -> i32 {
    ((v as i32) as u32).wrapping_shl(n & 31) as i32
}

fn nonempty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

fn header_count(h: &Option<Value>) -> usize {
    match h {
        Some(Value::Object(m)) => m.len().min(255),
        _ => 0,
    }
}

/// What both routers compare before `regex_priority`: which fields match, the header count,
/// plain-hosts-only and (2.8) wildcard-host-with-port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    paths: bool,
    methods: bool,
    hosts: bool,
    headers: usize,
    snis: bool,
    plain_host_only: bool,
    wildcard_host_port: bool,
}

impl Group {
    fn of(r: &RouteRow) -> Group {
        let hosts = r.hosts.as_deref().unwrap_or(&[]);
        let wildcard_host_port = hosts.iter().any(|h| {
            h.contains('*')
                && h.rsplit_once(':')
                    .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        Group {
            paths: nonempty(&r.paths),
            methods: nonempty(&r.methods),
            hosts: nonempty(&r.hosts),
            headers: header_count(&r.headers),
            snis: nonempty(&r.snis),
            // `type(hosts) == "table"` and no `*`: an empty array counts, NULL does not.
            plain_host_only: r.hosts.is_some() && !hosts.iter().any(|h| h.contains('*')),
            wildcard_host_port,
        }
    }

    fn match_weight(&self) -> i64 {
        i64::from(self.paths)
            + i64::from(self.methods)
            + i64::from(self.hosts)
            + i64::from(self.headers > 0)
            + i64::from(self.snis)
    }
}

/// `compat.lua` `get_priority` for the regex split of a route.
fn priority_34(group: &Group, regex_priority: i64) -> Priority34 {
    let mw = lshift32(group.match_weight(), 61);
    let hc = lshift32(group.headers as i64, 52);
    let rp = lshift32(regex_priority, 19);
    if mw < 0 || hc < 0 || rp < 0 {
        return Priority34::Top;
    }
    let low = (mw | hc | rp) as u32 as u64;
    let plain = if group.plain_host_only { 1u64 << 60 } else { 0 };
    Priority34::Exact((1u64 << 51) | plain | low)
}

struct RegexRoute<'a> {
    route: &'a RouteRow,
    group: Group,
    rp: i64,
    prio: Priority34,
}

fn examples(rs: &[&RegexRoute]) -> String {
    let mut s = rs
        .iter()
        .take(3)
        .map(|r| match &r.route.name {
            Some(n) => format!("{} ({n}, regex_priority {})", r.route.id, r.rp),
            None => format!("{} (regex_priority {})", r.route.id, r.rp),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if rs.len() > 3 {
        s.push_str(&format!(" and {} more", rs.len() - 3));
    }
    s
}

/// The `regex_priority` ordering check; `is_regex[i]` says whether `routes[i]` has a regex path
/// in 3.x.
pub(crate) fn priority_findings_for(routes: &[RouteRow], is_regex: &[bool]) -> Vec<Finding> {
    let regex_routes: Vec<RegexRoute> = routes
        .iter()
        .zip(is_regex)
        .filter(|(_, is)| **is)
        .map(|(r, _)| {
            let group = Group::of(r);
            let rp = r.regex_priority.unwrap_or(0);
            let prio = priority_34(&group, rp);
            RegexRoute {
                route: r,
                group,
                rp,
                prio,
            }
        })
        .collect();
    // Every route's match weight, for "routes with more matching fields" (any path kind).
    let weights: Vec<(i64, &RouteRow)> = routes
        .iter()
        .map(|r| (Group::of(r).match_weight(), r))
        .collect();

    let mut out = vec![];
    for a in &regex_routes {
        let same_group: Vec<&RegexRoute> = regex_routes
            .iter()
            .filter(|b| b.group == a.group && b.route.id != a.route.id)
            .collect();
        // The weight piece alone overflows (4+ matching fields): not a regex_priority effect.
        let weight_overflow = lshift32(a.group.match_weight(), 61) < 0;
        if a.prio == Priority34::Top && !weight_overflow {
            let higher_rp: Vec<&RegexRoute> = same_group
                .iter()
                .copied()
                .filter(|b| b.rp > a.rp && b.prio != Priority34::Top)
                .collect();
            let more_fields = weights
                .iter()
                .filter(|(w, r)| *w > a.group.match_weight() && *w <= 3 && r.id != a.route.id)
                .count();
            if higher_rp.is_empty() && more_fields == 0 {
                continue;
            }
            let mut parts = vec![];
            if !higher_rp.is_empty() {
                parts.push(format!(
                    "{} route(s) with the same matching fields and a higher regex_priority that \
                     2.8 tried first: {}",
                    higher_rp.len(),
                    examples(&higher_rp)
                ));
            }
            if more_fields > 0 {
                parts.push(format!(
                    "{more_fields} route(s) with more matching fields (hosts, methods, headers, \
                     snis), which 2.8 always tried first"
                ));
            }
            out.push(a.route.finding(
                RULE_REGEX_PRIORITY_OVERFLOW,
                Severity::Warning,
                Some("regex_priority".to_string()),
                format!(
                    "{}: Kong 3.4.2 computes route priorities in 32-bit arithmetic \
                     (compat.lua lshift_uint64), and regex_priority {} shifted by 19 bits turns \
                     negative, which gives this route a priority of 2^63 or more: 3.4 tries it \
                     before every route without that overflow, among them {}. Requests that \
                     match both now go to this route.",
                    a.route.label(),
                    a.rp,
                    parts.join("; and ")
                ),
                vec![
                    "Give this route a regex_priority between 0 and 4095 that keeps the intended \
                     order (values 1024-2047 and 3072-4095 also collide with the match-weight \
                     bits; smaller is safer), and re-check the order of all regex routes."
                        .to_string(),
                    FIX_PRIORITY_TRADITIONAL.to_string(),
                ],
                SRC_PRIORITY,
            ));
            continue;
        }
        let Priority34::Exact(pa) = a.prio else {
            continue;
        };
        // Same group, lower regex_priority, and 3.4.2 no longer tries `a` first.
        let mut lost: BTreeMap<i64, Vec<&RegexRoute>> = BTreeMap::new();
        for b in &same_group {
            if let Priority34::Exact(pb) = b.prio {
                if a.rp > b.rp && pa <= pb {
                    lost.entry(b.rp).or_default().push(b);
                }
            }
        }
        if lost.is_empty() {
            continue;
        }
        let all: Vec<&RegexRoute> = lost.values().flatten().copied().collect();
        let tie = all
            .iter()
            .any(|b| matches!(b.prio, Priority34::Exact(pb) if pb == pa));
        out.push(a.route.finding(
            RULE_REGEX_PRIORITY_ORDER,
            Severity::Warning,
            Some("regex_priority".to_string()),
            format!(
                "{}: in 2.8 its regex_priority {} put it before {} route(s) with the same \
                 matching fields and a lower regex_priority ({}). Kong 3.4.2 computes priorities \
                 in 32-bit arithmetic (compat.lua lshift_uint64), where regex_priority {} \
                 overlaps other bits and {}; requests that match both can now go to the other \
                 route.",
                a.route.label(),
                a.rp,
                all.len(),
                examples(&all),
                a.rp,
                if tie {
                    "ties with theirs, so the route id decides (highest first)"
                } else {
                    "ends up lower than theirs"
                }
            ),
            vec![
                "Choose regex_priority values below 1024 (on routes with headers, spaced so that \
                 `regex_priority << 19` does not overlap `header_count << 20`) that keep the \
                 intended order, and re-check the order of all regex routes."
                    .to_string(),
                FIX_PRIORITY_TRADITIONAL.to_string(),
            ],
            SRC_PRIORITY,
        ));
    }
    out
}

/// Every runtime hazard of these 2.8 routes under Kong 3.4's default router: regex paths the Rust
/// engine rejects or that Kong's `?<` rewrite changes, `path_handling = v1`, and `regex_priority`
/// orderings that 3.4.2 breaks. Paths are 2.8 paths; they go through
/// [`transforms::migrate_path_checked`] first.
pub fn route_hazards(routes: &[RouteRow]) -> Vec<Finding> {
    let mut out = vec![];
    for r in routes {
        for (i, original, p3) in r.migrated_paths() {
            out.extend(regex_path_findings(r, i, original, &p3));
        }
        out.extend(path_handling_finding(r));
    }
    let is_regex: Vec<bool> = routes.iter().map(RouteRow::has_regex_path).collect();
    out.extend(priority_findings_for(routes, &is_regex));
    out
}

/// The mixed-version note for plan and report: `Some` when any route has a path that is a regex
/// after the 3.0 migration.
pub fn mixed_version_note(routes: &[RouteRow]) -> Option<String> {
    let n = routes.iter().filter(|r| r.has_regex_path()).count();
    (n > 0).then(|| {
        format!(
            "{n} route(s) have regex paths, which `kong migrations up` rewrites to `~/…` \
             (core/016_280_to_300). Between `up` and `finish` the 2.8 nodes keep serving from \
             this database: 2.8.2 to 2.8.5 understand `~` paths, but 2.8.0 and 2.8.1 do not, and \
             on those nodes these routes stop matching from `up` on. Upgrade such nodes to 2.8.5 \
             before `up`, or take them out of traffic for the window."
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Plugins
// ---------------------------------------------------------------------------------------------

/// A 2.8 plugin as read from `plugins` (or a declarative file).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PluginRow {
    pub id: String,
    pub name: String,
    pub config: Value,
    pub route_id: Option<String>,
    pub service_id: Option<String>,
    pub consumer_id: Option<String>,
}

impl PluginRow {
    fn scope(&self) -> String {
        let mut parts = vec![];
        if let Some(s) = &self.service_id {
            parts.push(format!("service {s}"));
        }
        if let Some(r) = &self.route_id {
            parts.push(format!("route {r}"));
        }
        if let Some(c) = &self.consumer_id {
            parts.push(format!("consumer {c}"));
        }
        if parts.is_empty() {
            "global".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Where a plugin configuration comes from; rules say which they apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleScope {
    /// A row of a 2.8 database, after the 3.4 migrations.
    Db,
    /// A 2.x declarative file loaded by Kong 3.4 (or synced by decK).
    Declarative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Missing,
    Null,
    Absent,
    Present,
    Eq,
    Ne,
    In,
    NotIn,
    IsArray,
    AnyValueIsArray,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Condition {
    path: String,
    op: Op,
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginRule {
    id: String,
    plugins: Vec<String>,
    applies_to: Vec<RuleScope>,
    severity: Severity,
    #[serde(default)]
    show: Option<String>,
    when: Vec<Condition>,
    message: String,
    fix: String,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    format: u32,
    #[allow(dead_code)]
    description: String,
    rules: Vec<PluginRule>,
}

/// The rule file, embedded at build time.
pub const PLUGIN_RULES_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schemas/runtime-rules/plugin-rules.json"
));

static RULES: LazyLock<Vec<PluginRule>> = LazyLock::new(|| {
    let f: RuleFile = serde_json::from_str(PLUGIN_RULES_JSON)
        .expect("schemas/runtime-rules/plugin-rules.json is valid (checked by a unit test)");
    assert_eq!(f.format, 1, "plugin-rules.json format");
    f.rules
});

/// The ids of the embedded plugin rules, in file order.
pub fn plugin_rule_ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.id.as_str()).collect()
}

/// The value at a dotted path (`config.storage_config.vault`): `None` when a key is missing.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, k| v.as_object()?.get(k))
}

/// Whether the condition holds, and the path it points at (for `any_value_is_array`, the first
/// member that is an array).
fn eval(cond: &Condition, entity: &Value) -> Option<String> {
    let v = lookup(entity, &cond.path);
    let present = matches!(v, Some(x) if !x.is_null());
    let holds = match cond.op {
        Op::Missing => v.is_none(),
        Op::Null => matches!(v, Some(Value::Null)),
        Op::Absent => !present,
        Op::Present => present,
        Op::Eq => v == Some(&cond.value),
        Op::Ne => present && v != Some(&cond.value),
        Op::In => v.is_some_and(|x| cond.value.as_array().is_some_and(|a| a.contains(x))),
        Op::NotIn => {
            present && v.is_some_and(|x| cond.value.as_array().is_some_and(|a| !a.contains(x)))
        }
        Op::IsArray => matches!(v, Some(Value::Array(_))),
        Op::AnyValueIsArray => {
            let key = v
                .and_then(Value::as_object)
                .and_then(|m| m.iter().find(|(_, x)| x.is_array()).map(|(k, _)| k));
            return key.map(|k| format!("{}.{k}", cond.path));
        }
    };
    holds.then(|| cond.path.clone())
}

fn render(template: &str, path: &str, value: Option<&Value>) -> String {
    let shown = match value {
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
        None => "unset".to_string(),
    };
    template.replace("{path}", path).replace("{value}", &shown)
}

/// The embedded plugin rules applied to plugins from the given source.
pub fn plugin_hazards_in(plugins: &[PluginRow], scope: RuleScope) -> Vec<Finding> {
    let mut out = vec![];
    for p in plugins {
        let entity = serde_json::json!({ "name": p.name, "config": p.config });
        for rule in RULES.iter() {
            if !rule.applies_to.contains(&scope) || !rule.plugins.contains(&p.name) {
                continue;
            }
            let mut matched = vec![];
            let ok = rule.when.iter().all(|c| match eval(c, &entity) {
                Some(at) => {
                    matched.push(at);
                    true
                }
                None => false,
            });
            if !ok {
                continue;
            }
            // `{path}`/`{value}`: `show`, else the first condition that points at something.
            let at = rule.show.clone().or_else(|| {
                matched
                    .iter()
                    .find(|m| lookup(&entity, m).is_some_and(|v| !v.is_null()))
                    .or(matched.first())
                    .cloned()
            });
            let at_str = at.clone().unwrap_or_else(|| "config".to_string());
            let msg = render(&rule.message, &at_str, lookup(&entity, &at_str));
            out.push(Finding {
                kind: rule.id.as_str(),
                severity: rule.severity,
                entity: Entity::Plugin,
                id: p.id.clone(),
                name: Some(p.name.clone()),
                scope: Some(p.scope()),
                field: at,
                message: format!("plugin {} {} ({}): {msg}", p.name, p.id, p.scope()),
                fixes: vec![rule.fix.clone()],
                source: rule.source.clone(),
            });
        }
    }
    out
}

/// The embedded plugin rules that apply to database rows, applied to 2.8 `plugins` rows.
pub fn plugin_hazards(plugins: &[PluginRow]) -> Vec<Finding> {
    plugin_hazards_in(plugins, RuleScope::Db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(id: &str, paths: &[&str]) -> RouteRow {
        RouteRow {
            id: id.to_string(),
            name: Some(format!("r-{id}")),
            service_id: Some("svc-1".to_string()),
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
            ..RouteRow::default()
        }
    }

    fn kinds(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.kind).collect()
    }

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
            assert_eq!(f[0].field.as_deref(), Some("paths[0]"));
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
    fn engine_error_is_compacted() {
        let e = route_regex_check(r"~/api/(?=v1)x").unwrap_err();
        let c = compact_engine_error(&e);
        assert!(c.contains("look-around"), "{c}");
        assert!(c.contains("`(?=`"), "{c}");
        assert!(!c.contains('\n'));
    }

    #[test]
    fn path_handling_v1_is_flagged() {
        let mut r = route("r1", &["/plain"]);
        r.path_handling = Some("v1".to_string());
        let f = route_hazards(&[r.clone()]);
        assert_eq!(kinds(&f), vec![RULE_PATH_HANDLING_V1]);
        r.path_handling = Some("v0".to_string());
        assert!(route_hazards(&[r]).is_empty());
    }

    #[test]
    fn lshift_matches_luajit() {
        // Values printed by the real compat.lua get_priority under luajit2 v2.1-20220411.
        let paths_only = Group::of(&route("x", &["~/a"]));
        assert_eq!(
            priority_34(&paths_only, 0),
            Priority34::Exact(2251800350556160)
        );
        assert_eq!(
            priority_34(&paths_only, 1),
            Priority34::Exact(2251800351080448)
        );
        assert_eq!(
            priority_34(&paths_only, 100),
            Priority34::Exact(2251800402984960)
        );
        assert_eq!(
            priority_34(&paths_only, 1024),
            Priority34::Exact(2251800350556160)
        );
        assert_eq!(priority_34(&paths_only, 4096), Priority34::Top);
        assert_eq!(priority_34(&paths_only, -1), Priority34::Top);
        let mut h = route("x", &["~/a"]);
        h.headers = Some(json!({"x": ["1"]}));
        let g = Group::of(&h);
        assert_eq!(priority_34(&g, 0), Priority34::Exact(2251800888475648));
        assert_eq!(priority_34(&g, 2), Priority34::Exact(2251800888475648));
    }

    #[test]
    fn regex_priority_collisions_are_reported() {
        let mut hi = route("hi", &[r"/api/\d+"]);
        hi.regex_priority = Some(1024);
        let lo = route("lo", &[r"/api/.*"]);
        let f = route_hazards(&[hi.clone(), lo.clone()]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_ORDER]);
        assert_eq!(f[0].id, "hi");
        assert!(f[0].message.contains("ties"), "{}", f[0].message);

        // 10 vs 0 keeps its order.
        hi.regex_priority = Some(10);
        assert!(route_hazards(&[hi.clone(), lo.clone()]).is_empty());

        // A negative regex_priority jumps above everything.
        let mut neg = route("neg", &[r"/.*"]);
        neg.regex_priority = Some(-1);
        let f = route_hazards(&[hi.clone(), neg.clone()]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_OVERFLOW]);
        assert_eq!(f[0].id, "neg");
        assert!(
            f[0].message.contains("hi (r-hi, regex_priority 10)"),
            "{}",
            f[0].message
        );

        // … also above a prefix route with more matching fields.
        let mut host = route("host", &["/plain"]);
        host.hosts = Some(vec!["api.example.com".to_string()]);
        let f = route_hazards(&[neg.clone(), host]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_OVERFLOW]);
        assert!(f[0].message.contains("more matching fields"));

        // A hosts-only route (no paths) has as many matching fields as `neg`: not counted.
        let mut hosts_only = route("hosts-only", &[]);
        hosts_only.paths = None;
        hosts_only.hosts = Some(vec!["api.example.com".to_string()]);
        assert!(route_hazards(&[neg.clone(), hosts_only]).is_empty());

        // Alone, nothing changes order.
        assert!(route_hazards(&[neg]).is_empty());
    }

    #[test]
    fn mixed_version_note_only_with_regex_routes() {
        assert!(mixed_version_note(&[route("a", &["/plain"])]).is_none());
        let n = mixed_version_note(&[route("a", &["/plain"]), route("b", &[r"/u/\d+"])]).unwrap();
        assert!(
            n.contains("1 route(s)") && n.contains("2.8.0 and 2.8.1"),
            "{n}"
        );
    }

    fn plugin(name: &str, config: Value) -> PluginRow {
        PluginRow {
            id: format!("p-{name}"),
            name: name.to_string(),
            config,
            service_id: Some("svc-1".to_string()),
            ..PluginRow::default()
        }
    }

    #[test]
    fn rules_file_is_valid() {
        let ids = plugin_rule_ids();
        assert!(ids.len() >= 16, "{ids:?}");
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "rule ids are unique");
        for r in RULES.iter() {
            assert!(
                !r.plugins.is_empty() && !r.applies_to.is_empty(),
                "{}",
                r.id
            );
            assert!(!r.source.is_empty() && !r.fix.is_empty(), "{}", r.id);
        }
    }

    /// One plugin per rule, with the scope it applies to.
    #[test]
    fn each_plugin_rule_fires() {
        let cases: Vec<(&str, RuleScope, PluginRow)> = vec![
            (
                "http-log-headers-array",
                RuleScope::Declarative,
                plugin(
                    "http-log",
                    json!({"http_endpoint": "http://log", "headers": {"X-A": "1", "X-B": ["1", "2"]}}),
                ),
            ),
            (
                "http-log-retry-count-ignored",
                RuleScope::Db,
                plugin("http-log", json!({"retry_count": 3, "queue_size": 1})),
            ),
            (
                "statsd-advanced-deprecated",
                RuleScope::Db,
                plugin("statsd-advanced", json!({"host": "statsd"})),
            ),
            (
                "statsd-metric-names-changed",
                RuleScope::Db,
                plugin("statsd", json!({"host": "statsd", "port": 8125})),
            ),
            (
                "prometheus-high-cardinality-off",
                RuleScope::Db,
                plugin("prometheus", json!({"per_consumer": false})),
            ),
            (
                "aws-lambda-region-required",
                RuleScope::Db,
                plugin(
                    "aws-lambda",
                    json!({"host": "lambda.internal", "aws_region": null, "function_name": "f"}),
                ),
            ),
            (
                "aws-lambda-proxy-scheme-removed",
                RuleScope::Declarative,
                plugin(
                    "aws-lambda",
                    json!({"aws_region": "eu-west-1", "proxy_scheme": "https"}),
                ),
            ),
            (
                "acme-vault-auth-method-default",
                RuleScope::Db,
                plugin(
                    "acme",
                    json!({"storage": "vault", "storage_config": {"vault": {"auth_method": null}}}),
                ),
            ),
            (
                "acme-vault-auth-method-invalid",
                RuleScope::Db,
                plugin(
                    "acme",
                    json!({"storage": "vault", "storage_config": {"vault": {"auth_method": "approle"}}}),
                ),
            ),
            (
                "serverless-functions-removed",
                RuleScope::Declarative,
                plugin("pre-function", json!({"functions": ["return"]})),
            ),
            (
                "allow-deny-whitelist-removed",
                RuleScope::Declarative,
                plugin("ip-restriction", json!({"whitelist": ["10.0.0.0/8"]})),
            ),
            (
                "allow-deny-blacklist-removed",
                RuleScope::Declarative,
                plugin("bot-detection", json!({"blacklist": ["badbot"]})),
            ),
            (
                "session-lib-v4",
                RuleScope::Db,
                plugin(
                    "session",
                    json!({"cookie_lifetime": 3600, "cookie_idletime": null, "cookie_samesite": "Strict"}),
                ),
            ),
            (
                "session-idle-timeout-default",
                RuleScope::Declarative,
                plugin(
                    "session",
                    json!({"cookie_lifetime": 3600, "cookie_samesite": "Strict"}),
                ),
            ),
            (
                "session-samesite-off",
                RuleScope::Db,
                plugin(
                    "session",
                    json!({"cookie_idletime": null, "cookie_samesite": "off"}),
                ),
            ),
            (
                "rate-limiting-default-policy",
                RuleScope::Declarative,
                plugin("rate-limiting", json!({"minute": 100})),
            ),
        ];
        let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
        for id in plugin_rule_ids() {
            assert!(covered.contains(&id), "no test case for rule {id}");
        }
        for (id, scope, p) in &cases {
            let f = plugin_hazards_in(std::slice::from_ref(p), *scope);
            assert!(
                f.iter().any(|f| f.kind == *id),
                "{id} did not fire on {p:?}: {:?}",
                kinds(&f)
            );
            let hit = f.iter().find(|f| f.kind == *id).unwrap();
            assert_eq!(hit.id, p.id);
            assert_eq!(hit.entity, Entity::Plugin);
            assert!(hit.message.contains("service svc-1"), "{}", hit.message);
        }
    }

    #[test]
    fn plugin_rule_details() {
        let p = plugin(
            "http-log",
            json!({"headers": {"X-A": "1", "X-B": ["1", "2"]}, "retry_count": 10}),
        );
        // Declarative only: a database row is fixed by the http-log migration.
        assert!(plugin_hazards(std::slice::from_ref(&p)).is_empty());
        let f = plugin_hazards_in(&[p], RuleScope::Declarative);
        assert_eq!(kinds(&f), vec!["http-log-headers-array"]);
        assert_eq!(f[0].field.as_deref(), Some("config.headers.X-B"));
        assert!(
            f[0].message
                .contains(r#"`config.headers.X-B` is given as an array (["1","2"])"#),
            "{}",
            f[0].message
        );

        // aws-lambda with a region, or with neither host nor region (2.8 then needed
        // AWS_REGION too): nothing changes.
        for c in [
            json!({"host": "h", "aws_region": "eu-west-1"}),
            json!({"aws_region": null, "host": null}),
        ] {
            assert!(plugin_hazards(&[plugin("aws-lambda", c)]).is_empty());
        }
        let f = plugin_hazards(&[plugin("aws-lambda", json!({"host": "lambda.internal"}))]);
        assert!(
            f[0].message.contains(r#"`host` ("lambda.internal")"#),
            "{}",
            f[0].message
        );

        // The fixture's 2.8 session row: null idletime is not "missing".
        let s = plugin(
            "session",
            json!({"cookie_idletime": null, "cookie_samesite": "Strict"}),
        );
        assert_eq!(
            kinds(&plugin_hazards_in(&[s], RuleScope::Declarative)),
            vec!["session-lib-v4"]
        );

        // acme on kong storage: no vault rules.
        let a = plugin(
            "acme",
            json!({"storage": "kong", "storage_config": {"vault": {"auth_method": null}}}),
        );
        assert!(plugin_hazards(&[a]).is_empty());

        // Global plugin scope.
        let mut g = plugin("prometheus", json!({}));
        g.service_id = None;
        assert_eq!(plugin_hazards(&[g])[0].scope.as_deref(), Some("global"));
    }

    #[test]
    fn to_problem_names_the_entity() {
        let f = route_hazards(&[route("r9", &[r"/x(?=y)"])]);
        let p = f[0].to_problem();
        assert_eq!(p.object.as_deref(), Some("routes r9"));
        assert!(p.fix.starts_with("(1) "), "{}", p.fix);
        assert!(p.message.contains(RULE_REGEX_INCOMPATIBLE));
    }
}
