//! The declarative-file linter: a Kong 2.x declarative configuration (`kong.yaml` / `kong.json`,
//! as used by DB-less nodes, hybrid data-plane backups and decK) checked for what Kong 3.4 rejects
//! or runs differently. Pure judgement over the text handed in; it must not read files or
//! databases itself, nor put a configuration value that can be a credential (http-log header
//! values, auth plugin secrets) into a finding.
//!
//! It checks the `_format_version`, regex paths without the `~` that 3.x requires, and the route
//! and plugin hazards of [`crate::preflight::runtime`]. Every finding is a
//! [`Finding`] about an [`Entity::File`]: its place in the file (`services[0].routes[2]
//! .paths[0]`) and its 1-based line, from yaml-rust2's marked events. JSON is read as YAML.
//!
//! What Kong 3.4.2 does with such a file (`kong/db/declarative/migrations/route_path.lua`,
//! `kong/db/schema/others/declarative_config.lua`): `_format_version` must be "1.1", "2.1" or
//! "3.0". For "1.1" and "2.1" it runs the 3.0 path migration (`migrate_path_280_300`) over
//! `routes[].paths` and `services[].routes[].paths` in memory, on every load, and treats the
//! result as "3.0"; the file itself stays 2.x. A "3.0" file is taken as it is. decK never applies
//! that migration when it syncs: a 2.x file needs `deck file convert` first, or every regex path
//! becomes a plain prefix.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::kong::transforms;
use crate::preflight::runtime::{
    path_handling_finding, plugin_hazards_in, priority_findings_for, regex_path_findings, show,
    PluginRow, RouteRow, RuleScope,
};
use crate::preflight::{Entity, Finding, Severity};

pub const RULE_FORMAT_VERSION: &str = "declarative-format-version";
pub const RULE_REGEX_WITHOUT_TILDE: &str = "route-regex-path-without-tilde";
pub const RULE_DOUBLE_TILDE: &str = "route-path-double-tilde";
pub const RULE_PATH_UNCONVERTIBLE: &str = "route-path-unconvertible";

const SRC_DECLARATIVE: &str = "kong/db/declarative/migrations/route_path.lua and \
     kong/db/schema/others/declarative_config.lua at 3.4.2; Kong CHANGELOG.md 3.0.0 (#9027, \
     #9078); decK convert/convert.go";
const FIX_DECK_CONVERT: &str = "Convert the file once with `deck file convert --from \
     kong-gateway-2.x --to kong-gateway-3.x` (decK ≥ 1.47: `--from 2.8 --to 3.4`), review the \
     result and use the converted file with 3.4.";

// ---------------------------------------------------------------------------------------------
// A YAML tree with line numbers
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum N {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries: key, the key's line, value.
    Map(Vec<(String, usize, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    line: usize,
    v: N,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            N::Map(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    fn str(&self) -> Option<&str> {
        match &self.v {
            N::Str(s) => Some(s),
            _ => None,
        }
    }
    fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Node::str).map(str::to_string)
    }
    fn seq(&self) -> &[Node] {
        match &self.v {
            N::Seq(v) => v,
            _ => &[],
        }
    }
    fn get_seq(&self, key: &str) -> &[Node] {
        self.get(key).map(Node::seq).unwrap_or(&[])
    }
    fn str_list(&self, key: &str) -> Option<Vec<String>> {
        let n = self.get(key)?;
        match &n.v {
            N::Seq(v) => Some(
                v.iter()
                    .filter_map(|x| x.str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        }
    }
    fn to_json(&self) -> Value {
        match &self.v {
            N::Null => Value::Null,
            N::Bool(b) => Value::Bool(*b),
            N::Int(i) => Value::from(*i),
            N::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            N::Str(s) => Value::String(s.clone()),
            N::Seq(v) => Value::Array(v.iter().map(Node::to_json).collect()),
            N::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A plain scalar as YAML 1.2's core schema resolves it (what yaml-rust2's loader does).
fn resolve_plain(s: &str) -> N {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return N::Null,
        "true" | "True" | "TRUE" => return N::Bool(true),
        "false" | "False" | "FALSE" => return N::Bool(false),
        _ => {}
    }
    if let Some(h) = s.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(h, 16) {
            return N::Int(i);
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(o, 8) {
            return N::Int(i);
        }
    }
    if let Ok(i) = s.strip_prefix('+').unwrap_or(s).parse::<i64>() {
        return N::Int(i);
    }
    let looks_numeric = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && s.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        if let Ok(f) = s.parse::<f64>() {
            return N::Float(f);
        }
    }
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => N::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => N::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => N::Float(f64::NAN),
        _ => N::Str(s.to_string()),
    }
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(String, usize, Node)>, Option<Node>, usize, usize),
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<String>,
}

fn key_string(k: &Node) -> String {
    match &k.v {
        N::Str(s) => s.clone(),
        N::Null => "null".to_string(),
        N::Bool(b) => b.to_string(),
        N::Int(i) => i.to_string(),
        N::Float(f) => f.to_string(),
        _ => k.to_json().to_string(),
    }
}

impl Builder {
    fn insert(&mut self, node: Node) {
        match self.frames.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(v, _, _)) => v.push(node),
            Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(k) => entries.push((key_string(&k), k.line, node)),
            },
        }
    }
    fn anchor(&mut self, id: usize, node: &Node) {
        if id > 0 {
            self.anchors.insert(id, node.clone());
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(s, style, aid, tag) => {
                let v = match (&tag, style) {
                    (Some(t), _) if t.suffix == "str" => N::Str(s),
                    (Some(t), _) if t.suffix == "null" => N::Null,
                    (_, TScalarStyle::Plain) => resolve_plain(&s),
                    (Some(t), _) if matches!(t.suffix.as_str(), "int" | "float" | "bool") => {
                        resolve_plain(&s)
                    }
                    _ => N::Str(s),
                };
                let node = Node { line, v };
                self.anchor(aid, &node);
                self.insert(node);
            }
            Event::SequenceStart(aid, _) => self.frames.push(Frame::Seq(vec![], aid, line)),
            Event::MappingStart(aid, _) => self.frames.push(Frame::Map(vec![], None, aid, line)),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, aid) = match self.frames.pop() {
                    Some(Frame::Seq(v, aid, line)) => (Node { line, v: N::Seq(v) }, aid),
                    Some(Frame::Map(m, _, aid, line)) => (Node { line, v: N::Map(m) }, aid),
                    None => return,
                };
                self.anchor(aid, &node);
                self.insert(node);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(n) => {
                    let n = n.clone();
                    self.insert(n);
                }
                None => {
                    self.error
                        .get_or_insert_with(|| format!("unknown alias at line {line}"));
                    self.insert(Node { line, v: N::Null });
                }
            },
            _ => {}
        }
    }
}

fn parse(text: &str) -> Result<Node, String> {
    let mut b = Builder::default();
    let mut p = Parser::new_from_str(text);
    p.load(&mut b, false).map_err(|e| e.to_string())?;
    if let Some(e) = b.error {
        return Err(e);
    }
    b.root.ok_or_else(|| "the document is empty".to_string())
}

// ---------------------------------------------------------------------------------------------
// The lint
// ---------------------------------------------------------------------------------------------

fn child_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        _ => format!("{parent}[{key:?}]"),
    }
}

/// `routes` field to `paths[0]` etc.: a finding's field, as a path below the entity.
fn field_path(entity_path: &str, field: &str) -> String {
    field.split('.').fold(entity_path.to_string(), |acc, part| {
        match part.split_once('[') {
            Some((k, idx)) => format!("{}[{idx}", child_path(&acc, k)),
            None => child_path(&acc, part),
        }
    })
}

/// The line of a finding's field below an entity node (`paths[1]`, `config.headers.X`): of its
/// key (or sequence element), or of the deepest enclosing one that exists.
fn field_line(entity: &Node, field: &str) -> usize {
    let mut n = entity;
    let mut line = entity.line;
    for part in field.split('.') {
        let (key, idx) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let entry = match &n.v {
            N::Map(m) => m.iter().find(|(k, _, _)| k == key),
            _ => None,
        };
        match entry {
            Some((_, key_line, c)) => {
                n = c;
                line = *key_line;
            }
            None => return line,
        }
        if let Some(i) = idx {
            match n.seq().get(i) {
                Some(c) => {
                    n = c;
                    line = c.line;
                }
                None => return line,
            }
        }
    }
    line
}

/// An id or name given for a referenced entity (`service: name`, `service: {id: …}`).
fn reference(n: Option<&Node>) -> Option<String> {
    let n = n?;
    match &n.v {
        N::Str(s) => Some(s.clone()),
        N::Map(_) => n.get_str("id").or_else(|| n.get_str("name")),
        _ => None,
    }
}

struct RouteAt<'a> {
    yaml_path: String,
    node: &'a Node,
    row: RouteRow,
}

struct PluginAt<'a> {
    yaml_path: String,
    node: &'a Node,
    row: PluginRow,
}

fn route_row(node: &Node, yaml_path: &str, service: Option<String>) -> RouteRow {
    RouteRow {
        id: node
            .get_str("id")
            .or_else(|| node.get_str("name"))
            .unwrap_or_else(|| yaml_path.to_string()),
        name: node.get_str("name"),
        service_id: service.or_else(|| reference(node.get("service"))),
        paths: node.str_list("paths"),
        path_handling: node.get_str("path_handling"),
        regex_priority: node.get("regex_priority").and_then(|n| match n.v {
            N::Int(i) => Some(i),
            _ => None,
        }),
        hosts: node.str_list("hosts"),
        methods: node.str_list("methods"),
        headers: node
            .get("headers")
            .map(Node::to_json)
            .filter(|v| !v.is_null()),
        snis: node.str_list("snis"),
    }
}

#[derive(Default, Clone)]
struct Attach {
    service: Option<String>,
    route: Option<String>,
    consumer: Option<String>,
}

fn collect_plugins<'a>(
    parent: &'a Node,
    parent_path: &str,
    attach: &Attach,
    out: &mut Vec<PluginAt<'a>>,
) {
    for (i, p) in parent.get_seq("plugins").iter().enumerate() {
        let yaml_path = format!("{}[{i}]", child_path(parent_path, "plugins"));
        let Some(name) = p.get_str("name") else {
            continue;
        };
        out.push(PluginAt {
            row: PluginRow {
                id: p.get_str("id").unwrap_or_else(|| yaml_path.clone()),
                name,
                config: p
                    .get("config")
                    .map(Node::to_json)
                    .filter(|v| !v.is_null())
                    .unwrap_or_else(|| Value::Object(Map::new())),
                service_id: attach
                    .service
                    .clone()
                    .or_else(|| reference(p.get("service"))),
                route_id: attach.route.clone().or_else(|| reference(p.get("route"))),
                consumer_id: attach
                    .consumer
                    .clone()
                    .or_else(|| reference(p.get("consumer"))),
            },
            node: p,
            yaml_path,
        });
    }
}

/// A route or plugin finding moved to its place in the file: the entity's path and line, or
/// those of the finding's field below it.
fn from_finding(f: Finding, file: &str, entity_path: &str, entity: &Node) -> Finding {
    let (yaml_path, line) = match f.entity.field() {
        Some(field) => (field_path(entity_path, field), field_line(entity, field)),
        None => (entity_path.to_string(), entity.line),
    };
    Finding {
        entity: Entity::File {
            file: file.to_string(),
            yaml_path,
            line,
        },
        ..f
    }
}

fn route_label(r: &RouteRow) -> String {
    match &r.name {
        Some(n) => format!("route {n}"),
        None => format!("route {}", r.id),
    }
}

/// Lint a Kong 2.x declarative configuration (YAML or JSON). `Err` when the text is not YAML or
/// not a mapping; otherwise the findings, in document order by kind of check.
pub fn lint_declarative(text: &str, file_name: &str) -> Result<Vec<Finding>, String> {
    let root = parse(text).map_err(|e| format!("{file_name}: not valid YAML/JSON: {e}"))?;
    if !matches!(root.v, N::Map(_)) {
        return Err(format!(
            "{file_name}: the top level is not a mapping, so this is no Kong declarative configuration"
        ));
    }
    let mut out = vec![];
    let finding =
        |kind, severity, yaml_path: String, line, message: String, fixes: Vec<String>| Finding {
            kind,
            severity,
            entity: Entity::File {
                file: file_name.to_string(),
                yaml_path,
                line,
            },
            message,
            fixes,
            source: SRC_DECLARATIVE.to_string(),
        };

    // _format_version
    let version = root.get("_format_version");
    let auto_migrates = matches!(version.and_then(Node::str), Some("1.1" | "2.1"));
    match version {
        None => out.push(finding(
            RULE_FORMAT_VERSION,
            Severity::Error,
            "_format_version".to_string(),
            1,
            "the file has no `_format_version`; Kong 2.8 and 3.4 both reject a declarative \
             configuration without it. A 2.x file says \"1.1\" or \"2.1\": Kong 3.4 then converts \
             its route paths in memory on every load (the 3.0 path migration); decK does not."
                .to_string(),
            vec![
                "Add `_format_version: \"2.1\"` if this is a 2.x file, then lint again."
                    .to_string(),
            ],
        )),
        Some(v) => match &v.v {
            N::Str(s) if s == "1.1" || s == "2.1" => {}
            N::Str(s) if s == "3.0" => out.push(finding(
                RULE_FORMAT_VERSION,
                Severity::Warning,
                "_format_version".to_string(),
                v.line,
                "`_format_version` is \"3.0\": Kong 2.8 rejects this file, and Kong 3.4 takes its \
                 route paths as they are (no path migration), so any regex path below must \
                 already start with `~`."
                    .to_string(),
                vec![
                    "If this is really a 2.x file, set `_format_version: \"2.1\"` or convert it \
                     with decK."
                        .to_string(),
                ],
            )),
            N::Float(_) | N::Int(_) => out.push(finding(
                RULE_FORMAT_VERSION,
                Severity::Error,
                "_format_version".to_string(),
                v.line,
                format!(
                    "`_format_version` is the number {}, not a string; Kong requires the string \
                     \"1.1\", \"2.1\" (2.x) or \"3.0\".",
                    v.to_json()
                ),
                vec!["Quote it: `_format_version: \"2.1\"`.".to_string()],
            )),
            _ => out.push(finding(
                RULE_FORMAT_VERSION,
                Severity::Error,
                "_format_version".to_string(),
                v.line,
                format!(
                    "`_format_version` is {}; Kong 2.8 accepts \"1.1\" or \"2.1\" and Kong 3.4 \
                     \"1.1\", \"2.1\" or \"3.0\" and rejects anything else.",
                    v.to_json()
                ),
                vec!["Set `_format_version: \"2.1\"` for a 2.x file.".to_string()],
            )),
        },
    }
    let version_shown = version
        .map(|v| v.to_json().to_string())
        .unwrap_or_else(|| "missing".to_string());

    // Routes: top level and nested under services.
    let mut routes: Vec<RouteAt> = vec![];
    let mut plugins: Vec<PluginAt> = vec![];
    for (i, r) in root.get_seq("routes").iter().enumerate() {
        let yaml_path = format!("routes[{i}]");
        let row = route_row(r, &yaml_path, None);
        routes.push(RouteAt {
            yaml_path,
            node: r,
            row,
        });
    }
    for (i, s) in root.get_seq("services").iter().enumerate() {
        let spath = format!("services[{i}]");
        let service = s
            .get_str("id")
            .or_else(|| s.get_str("name"))
            .unwrap_or_else(|| spath.clone());
        for (j, r) in s.get_seq("routes").iter().enumerate() {
            let yaml_path = format!("{spath}.routes[{j}]");
            let row = route_row(r, &yaml_path, Some(service.clone()));
            routes.push(RouteAt {
                yaml_path,
                node: r,
                row,
            });
        }
        let attach = Attach {
            service: Some(service.clone()),
            ..Attach::default()
        };
        collect_plugins(s, &spath, &attach, &mut plugins);
        for (j, r) in s.get_seq("routes").iter().enumerate() {
            let rpath = format!("{spath}.routes[{j}]");
            let attach = Attach {
                route: Some(
                    r.get_str("id")
                        .or_else(|| r.get_str("name"))
                        .unwrap_or_else(|| rpath.clone()),
                ),
                ..Attach::default()
            };
            collect_plugins(r, &rpath, &attach, &mut plugins);
        }
    }
    collect_plugins(&root, "", &Attach::default(), &mut plugins);
    for (i, r) in root.get_seq("routes").iter().enumerate() {
        let rpath = format!("routes[{i}]");
        let attach = Attach {
            route: Some(
                r.get_str("id")
                    .or_else(|| r.get_str("name"))
                    .unwrap_or_else(|| rpath.clone()),
            ),
            ..Attach::default()
        };
        collect_plugins(r, &rpath, &attach, &mut plugins);
    }
    for (i, c) in root.get_seq("consumers").iter().enumerate() {
        let cpath = format!("consumers[{i}]");
        let attach = Attach {
            consumer: Some(
                c.get_str("id")
                    .or_else(|| c.get_str("username"))
                    .or_else(|| c.get_str("custom_id"))
                    .unwrap_or_else(|| cpath.clone()),
            ),
            ..Attach::default()
        };
        collect_plugins(c, &cpath, &attach, &mut plugins);
    }

    // Per route: the 3.x path of every path, then the regex and path_handling checks.
    let mut is_regex_route = vec![];
    for r in &routes {
        let mut any_regex = false;
        for (i, p) in r.row.paths.iter().flatten().enumerate() {
            let at = format!("{}.paths[{i}]", r.yaml_path);
            let line = field_line(r.node, &format!("paths[{i}]"));
            let label = route_label(&r.row);
            let regex_chars = transforms::is_regex_path(p);
            // The path 3.4 will use, and the one to check as a regex.
            let checked: Option<String> = if p.starts_with('~') {
                if auto_migrates && regex_chars {
                    let (doubled, _) = transforms::migrate_path(p);
                    out.push(finding(
                        RULE_DOUBLE_TILDE,
                        Severity::Error,
                        at.clone(),
                        line,
                        format!(
                            "{label}: path `{}` already starts with `~` (understood by Kong 2.8.2+), \
                             but with `_format_version` {version_shown} Kong 3.4 runs the 3.0 \
                             path migration over it anyway and gets `{}`, a regex `^~/…` that no \
                             request path matches.",
                            show(p),
                            show(&doubled)
                        ),
                        vec![
                            "Convert the file to `_format_version: \"3.0\"` (keep the single `~`), \
                             or remove the `~` while the file is 2.x."
                                .to_string(),
                        ],
                    ));
                }
                Some(p.clone())
            } else if regex_chars {
                match transforms::migrate_path_checked(p) {
                    Err(e) => {
                        out.push(finding(
                            RULE_PATH_UNCONVERTIBLE,
                            Severity::Error,
                            at.clone(),
                            line,
                            format!("{label}: {e}"),
                            vec![FIX_DECK_CONVERT.to_string()],
                        ));
                        None
                    }
                    Ok((p3, _)) => {
                        let (severity, what) = if auto_migrates {
                            (
                                Severity::Warning,
                                format!(
                                    "Kong 3.4 loading this file itself (DB-less `declarative_config`, \
                                     `kong config db_import`) converts it to `{}` in memory because \
                                     `_format_version` is {version_shown}, but decK (`deck sync`, \
                                     `deck gateway sync`) sends it as written, and 3.x then matches \
                                     it as a plain prefix: the regex never matches.",
                                    show(&p3)
                                ),
                            )
                        } else {
                            (
                                Severity::Error,
                                format!(
                                    "with `_format_version` {version_shown} Kong 3.4 does not convert \
                                     it, so 3.x matches it as a plain prefix and the regex never \
                                     matches; as a 3.x regex path it is `{}`.",
                                    show(&p3)
                                ),
                            )
                        };
                        out.push(finding(
                            RULE_REGEX_WITHOUT_TILDE,
                            severity,
                            at.clone(),
                            line,
                            format!(
                                "{label}: path `{}` is a regex in 2.x, and 3.x requires regex paths \
                                 to start with `~`; {what}",
                                show(p)
                            ),
                            vec![
                                FIX_DECK_CONVERT.to_string(),
                                format!(
                                    "Or write the path as `{}` and set `_format_version: \"3.0\"` \
                                     when the file is only used with 3.x.",
                                    show(&p3)
                                ),
                            ],
                        ));
                        Some(p3)
                    }
                }
            } else {
                None
            };
            if let Some(p3) = checked {
                any_regex = true;
                for f in regex_path_findings(&r.row, i, p, &p3) {
                    out.push(from_finding(f, file_name, &r.yaml_path, r.node));
                }
            }
        }
        is_regex_route.push(any_regex);
        if let Some(f) = path_handling_finding(&r.row) {
            out.push(from_finding(f, file_name, &r.yaml_path, r.node));
        }
    }

    // regex_priority ordering, across all routes of the file; a finding goes to the first route
    // with its id.
    let rows: Vec<RouteRow> = routes.iter().map(|r| r.row.clone()).collect();
    let mut by_id: HashMap<&str, &RouteAt> = HashMap::new();
    for r in &routes {
        by_id.entry(r.row.id.as_str()).or_insert(r);
    }
    for f in priority_findings_for(&rows, &is_regex_route) {
        if let Some(r) = f.entity.id().and_then(|id| by_id.get(id)) {
            out.push(from_finding(f, file_name, &r.yaml_path, r.node));
        }
    }

    // Plugins.
    for p in &plugins {
        for f in plugin_hazards_in(std::slice::from_ref(&p.row), RuleScope::Declarative) {
            out.push(from_finding(f, file_name, &p.yaml_path, p.node));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRTY: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/declarative/kong-2x-hazards.yaml"
    ));
    const CLEAN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/declarative/kong-2x-clean.yaml"
    ));

    /// The place of a finding in its file: (file, yaml_path, line).
    fn place(f: &Finding) -> (&str, &str, usize) {
        match &f.entity {
            Entity::File {
                file,
                yaml_path,
                line,
            } => (file, yaml_path, *line),
            other => panic!("a declarative finding about {other:?}"),
        }
    }
    fn file(f: &Finding) -> &str {
        place(f).0
    }
    fn yaml_path(f: &Finding) -> &str {
        place(f).1
    }
    fn line(f: &Finding) -> usize {
        place(f).2
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in fixture"))
            + 1
    }

    fn find<'a>(f: &'a [Finding], kind: &str, path: &str) -> &'a Finding {
        f.iter()
            .find(|x| x.kind == kind && yaml_path(x) == path)
            .unwrap_or_else(|| {
                panic!(
                    "no {kind} at {path}; got:\n{}",
                    f.iter()
                        .map(|x| format!("{} {} {}", x.kind, yaml_path(x), line(x)))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
    }

    #[test]
    fn clean_file_has_no_findings() {
        let f = lint_declarative(CLEAN, "kong-2x-clean.yaml").unwrap();
        assert!(
            f.is_empty(),
            "{}",
            f.iter()
                .map(Finding::to_text)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn dirty_file_findings_with_paths_and_lines() {
        let f = lint_declarative(DIRTY, "kong-2x-hazards.yaml").unwrap();
        let text = DIRTY;

        // A plain \d+ regex without `~`: 3.4 converts it, decK does not.
        let x = find(
            &f,
            RULE_REGEX_WITHOUT_TILDE,
            "services[0].routes[0].paths[0]",
        );
        assert_eq!(line(x), line_of(text, r"- /users/\d+$"));
        assert_eq!(x.severity, Severity::Warning);
        assert!(x.message.contains(r"`~/users/\d+$`"), "{}", x.message);

        // Look-ahead: no `~`, and the Rust engine rejects it.
        let path = "services[0].routes[1].paths[0]";
        find(&f, RULE_REGEX_WITHOUT_TILDE, path);
        let x = find(&f, "route-regex-incompatible", path);
        assert_eq!(line(x), line_of(text, "(?=v[0-9])"));
        assert!(x.message.contains("look-around"), "{}", x.message);

        // Named capture: fine apart from the missing `~`.
        let path = "services[0].routes[1].paths[1]";
        find(&f, RULE_REGEX_WITHOUT_TILDE, path);
        assert!(!f
            .iter()
            .any(|x| yaml_path(x) == path && x.kind == "route-regex-incompatible"));

        // Backreference on a top-level route, and its path_handling v1.
        let x = find(&f, "route-regex-incompatible", "routes[0].paths[0]");
        assert_eq!(line(x), line_of(text, r"(\d+)/\1"));
        let x = find(&f, "route-path-handling-v1", "routes[0].path_handling");
        assert_eq!(line(x), line_of(text, "path_handling: v1"));

        // Already `~`-prefixed in a 2.1 file: doubled.
        let x = find(&f, RULE_DOUBLE_TILDE, "routes[1].paths[0]");
        assert_eq!(line(x), line_of(text, r"- ~/legacy/\d+"));

        // Atomic group and \Z on the second service.
        let x = find(
            &f,
            "route-regex-incompatible",
            "services[1].routes[0].paths[0]",
        );
        assert_eq!(line(x), line_of(text, "(?>"));
        let x = find(
            &f,
            "route-regex-incompatible",
            "services[1].routes[0].paths[1]",
        );
        assert_eq!(line(x), line_of(text, r"\Z"));

        // regex_priority 1024 ties with 0 in 3.4.2.
        let x = find(
            &f,
            "route-regex-priority-order",
            "services[1].routes[1].regex_priority",
        );
        assert_eq!(line(x), line_of(text, "regex_priority: 1024"));

        // Plugins: nested under a service, a route, a consumer, and global.
        let x = find(
            &f,
            "http-log-headers-array",
            "services[0].plugins[0].config.headers.X-Tenant",
        );
        assert_eq!(line(x), line_of(text, "X-Tenant:"));
        let x = find(
            &f,
            "serverless-functions-removed",
            "services[0].routes[0].plugins[0].config.functions",
        );
        assert_eq!(line(x), line_of(text, "functions:"));
        let x = find(
            &f,
            "aws-lambda-region-required",
            "services[1].plugins[0].config.host",
        );
        assert_eq!(line(x), line_of(text, "host: lambda.internal.example.com"));
        find(
            &f,
            "aws-lambda-proxy-scheme-removed",
            "services[1].plugins[0].config.proxy_scheme",
        );
        let x = find(
            &f,
            "session-idle-timeout-default",
            "consumers[0].plugins[0].config.cookie_idletime",
        );
        // The key is missing: the line of `config:`, where it would go.
        assert_eq!(line(x), line_of(text, "cookie_name: app_session") - 1);
        let x = find(&f, "session-lib-v4", "consumers[0].plugins[0]");
        assert_eq!(line(x), line_of(text, "- name: session"));
        let x = find(
            &f,
            "allow-deny-whitelist-removed",
            "plugins[0].config.whitelist",
        );
        assert_eq!(line(x), line_of(text, "whitelist:"));
        let x = find(
            &f,
            "prometheus-high-cardinality-off",
            "plugins[1].config.status_code_metrics",
        );
        assert_eq!(line(x), line_of(text, "per_consumer: true") - 1);
        find(
            &f,
            "rate-limiting-default-policy",
            "routes[0].plugins[0].config.policy",
        );

        // Credentials are not plugins: nothing reported on them.
        assert!(!f.iter().any(|x| yaml_path(x).contains("credentials")));
        // Every finding names the file.
        assert!(f.iter().all(|x| file(x) == "kong-2x-hazards.yaml"));
    }

    #[test]
    fn format_version_checks() {
        let f = lint_declarative("services: []\n", "k.yaml").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].kind, line(&f[0])), (RULE_FORMAT_VERSION, 1));

        let f = lint_declarative("_format_version: 2.1\n", "k.yaml").unwrap();
        assert!(f[0].message.contains("not a string"), "{}", f[0].message);

        // A 3.0 file: paths taken as written, a regex without `~` is a plain prefix (error).
        let y =
            "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths:\n  - /u/\\d+\n  - ~/ok/\\d+\n";
        let f = lint_declarative(y, "k.yaml").unwrap();
        let kinds: Vec<_> = f.iter().map(|x| (x.kind, yaml_path(x), line(x))).collect();
        assert_eq!(
            kinds,
            vec![
                (RULE_FORMAT_VERSION, "_format_version", 1),
                (RULE_REGEX_WITHOUT_TILDE, "routes[0].paths[0]", 5),
            ]
        );
        assert_eq!(f[1].severity, Severity::Error);
    }

    #[test]
    fn json_is_read_as_yaml() {
        let j = r#"{
  "_format_version": "2.1",
  "services": [
    {
      "name": "s",
      "url": "http://upstream",
      "routes": [
        { "name": "r", "paths": ["/a/(?<=b)c"] }
      ]
    }
  ]
}"#;
        let f = lint_declarative(j, "kong.json").unwrap();
        let x = find(
            &f,
            "route-regex-incompatible",
            "services[0].routes[0].paths[0]",
        );
        assert_eq!(line(x), 8);
        assert!(lint_declarative("[1, 2]", "k.json").is_err());
        assert!(lint_declarative("a: [", "k.yaml").is_err());
    }

    #[test]
    fn anchors_and_aliases_are_followed() {
        let y = "_format_version: \"2.1\"\nx-cfg: &cfg\n  whitelist: [\"10.0.0.0/8\"]\nplugins:\n- name: ip-restriction\n  config: *cfg\n";
        let f = lint_declarative(y, "k.yaml").unwrap();
        let x = find(
            &f,
            "allow-deny-whitelist-removed",
            "plugins[0].config.whitelist",
        );
        assert_eq!(line(x), 3);
    }

    #[test]
    fn credentials_in_the_file_are_never_in_a_finding() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/declarative/kong-2x-secrets.yaml"
        ));
        let f = lint_declarative(text, "kong-2x-secrets.yaml").unwrap();
        // The headers given as arrays are reported by name …
        let x = find(
            &f,
            "http-log-headers-array",
            "services[0].plugins[0].config.headers.Authorization",
        );
        let array_key = text
            .lines()
            .position(|l| l.trim() == "Authorization:")
            .unwrap();
        assert_eq!(line(x), array_key + 1);
        find(
            &f,
            "http-log-headers-array",
            "plugins[0].config.headers.Authorization",
        );
        // … and no token, password, key or secret of the file is anywhere in the findings.
        let everything = format!(
            "{}\n{}",
            serde_json::to_string(&f).unwrap(),
            f.iter()
                .map(Finding::to_text)
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(!everything.contains("s3cr3t"), "{everything}");
    }
}
