//! Runtime hazards: what migrates cleanly from Kong 2.8 but breaks, or behaves differently, once
//! Kong 3.4 serves it. Pure judgement over the route and plugin rows callers hand in (from a
//! database, see [`crate::preflight::data_hazards`], or a declarative file, see
//! [`crate::preflight::declarative`]); it must not read a database or a file itself.
//!
//! This module holds the row types and the entry points; the checks live by concern:
//! - [`regex_compat`]: route regexes against the engine of Kong 3.4.2's
//!   `traditional_compatible` router (regex 1.9.1 through atc-router 1.2.0);
//! - [`priority`]: `regex_priority` orderings that 3.4.2's 32-bit priority arithmetic breaks;
//! - [`plugin_rules`]: the plugin rule engine over `schemas/runtime-rules/plugin-rules.json`.
//!
//! Every finding is a [`crate::preflight::Finding`] about an [`Entity::Route`] or an
//! [`Entity::Plugin`]; the declarative linter re-places them in its file.

pub mod plugin_rules;
pub mod priority;
pub mod regex_compat;

use serde::Deserialize;
use serde_json::Value;

use crate::kong::transforms;
use crate::preflight::{Entity, Finding, Severity};

pub use plugin_rules::{plugin_hazards_in, plugin_rule_ids, RuleScope, PLUGIN_RULES_JSON};
pub(crate) use priority::{priority_findings_for, PriorityCheck};
pub use priority::{RULE_REGEX_PRIORITY_ORDER, RULE_REGEX_PRIORITY_OVERFLOW};
pub use regex_compat::{
    atc_regex_expression, compact_engine_error, newer_regex_syntax, qmark_lt_rewrites,
    route_regex_check, KONG_ATC_ROUTER, KONG_REGEX_CRATE, RULE_REGEX_INCOMPATIBLE,
    RULE_REGEX_REWRITTEN,
};
pub(crate) use regex_compat::{regex_path_findings, show};

pub const RULE_PATH_HANDLING_V1: &str = "route-path-handling-v1";
pub const RULE_ROUTE_HEADERS_UNREADABLE: &str = "route-headers-unreadable";

const SRC_PATH_HANDLING: &str = "Kong CHANGELOG.md 3.0.0 Deprecations (#9290); \
     kong/db/schema/entities/routes.lua and kong/router/atc.lua (get_upstream_uri_v0) at 3.4.2; \
     decK rule route-path_handling-check";
const SRC_ROUTE_HEADERS: &str = "kong/db/schema/entities/routes.lua at 2.8.5 (`headers`: a map of \
     header name to an array of values); kong/router/compat.lua get_priority at 3.4.2 (the header \
     count is part of the priority)";

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
    pub(crate) fn label(&self) -> String {
        let mut s = format!("route {}", self.id);
        if let Some(n) = self.name.as_ref().filter(|n| **n != self.id) {
            s.push_str(&format!(" ({n})"));
        }
        if let Some(svc) = &self.service_id {
            s.push_str(&format!(" of service {svc}"));
        }
        s
    }

    pub(crate) fn finding(
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
            entity: Entity::Route {
                id: self.id.clone(),
                name: self.name.clone(),
                scope: self.service_id.as_ref().map(|s| format!("service {s}")),
                field,
            },
            message,
            fixes,
            source: source.to_string(),
        }
    }

    /// Whether any path is a regex after the 3.0 migration.
    pub(crate) fn has_regex_path(&self) -> bool {
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

/// A route whose `headers` could not be read as Kong's map of header name → values. `why` is
/// the parse error (a position, never the text: header values can be credentials). The route is
/// still judged, as one without headers, so the finding says which check that weakens.
pub fn route_headers_unreadable(route: &RouteRow, why: &str) -> Finding {
    route.finding(
        RULE_ROUTE_HEADERS_UNREADABLE,
        Severity::Warning,
        Some("headers".to_string()),
        format!(
            "{}: its `headers` cannot be read as a JSON object of header name → values ({why}), \
             so the regex_priority check counted it as a route without headers; 3.4's priority \
             for it, and the orderings reported for it, may differ from what is shown.",
            route.label()
        ),
        vec![
            "Look at the route's headers through the 2.8 Admin API (`GET /routes/<id>`) and \
             write them back as an object of header name to an array of strings, then check again."
                .to_string(),
        ],
        SRC_ROUTE_HEADERS,
    )
}

/// Every runtime hazard of these 2.8 routes under Kong 3.4's default router: regex paths the Rust
/// engine rejects or that Kong's `?<` rewrite changes, `path_handling = v1`, and `regex_priority`
/// orderings that 3.4.2 breaks. Paths are 2.8 paths; they go through
/// [`transforms::migrate_path_checked`] first.
pub fn route_hazards(routes: &[RouteRow]) -> Vec<Finding> {
    let mut judge = RouteHazards::new(false);
    let mut out = vec![];
    for r in routes {
        out.extend(judge.push(r));
    }
    out.extend(judge.finish().0);
    out
}

/// [`route_hazards`] fed one route at a time, for routes read page by page: the findings about
/// a route alone come at once, the `regex_priority` orderings (which compare routes) at the end,
/// from the compact facts [`PriorityCheck`] keeps.
pub struct RouteHazards {
    priority: PriorityCheck,
}

impl RouteHazards {
    /// `ids_unique`: no two routes pushed share an id (a database's primary key).
    pub fn new(ids_unique: bool) -> RouteHazards {
        RouteHazards {
            priority: PriorityCheck::new(ids_unique),
        }
    }

    /// The findings about this route alone (its regex paths, `path_handling`).
    pub fn push(&mut self, r: &RouteRow) -> Vec<Finding> {
        let mut out = vec![];
        for (i, original, p3) in r.migrated_paths() {
            out.extend(regex_path_findings(r, i, original, &p3));
        }
        out.extend(path_handling_finding(r));
        self.priority.push(r, r.has_regex_path());
        out
    }

    /// The `regex_priority` findings over every route pushed, in push order, and the
    /// mixed-version note.
    pub fn finish(self) -> (Vec<Finding>, Option<String>) {
        let note = mixed_version_note_of(self.priority.regex_routes());
        (self.priority.findings(), note)
    }
}

/// The mixed-version note for plan and report: `Some` when any route has a path that is a regex
/// after the 3.0 migration.
pub fn mixed_version_note(routes: &[RouteRow]) -> Option<String> {
    mixed_version_note_of(routes.iter().filter(|r| r.has_regex_path()).count())
}

fn mixed_version_note_of(n: usize) -> Option<String> {
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
    pub(crate) fn scope(&self) -> String {
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

/// The embedded plugin rules that apply to database rows, applied to 2.8 `plugins` rows.
pub fn plugin_hazards(plugins: &[PluginRow]) -> Vec<Finding> {
    plugin_hazards_in(plugins, RuleScope::Db)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn route(id: &str, paths: &[&str]) -> RouteRow {
        RouteRow {
            id: id.to_string(),
            name: Some(format!("r-{id}")),
            service_id: Some("svc-1".to_string()),
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
            ..RouteRow::default()
        }
    }

    pub(crate) fn kinds(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{kinds, route};
    use super::*;
    use crate::report::Kind;

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
    fn mixed_version_note_only_with_regex_routes() {
        assert!(mixed_version_note(&[route("a", &["/plain"])]).is_none());
        let n = mixed_version_note(&[route("a", &["/plain"]), route("b", &[r"/u/\d+"])]).unwrap();
        assert!(
            n.contains("1 route(s)") && n.contains("2.8.0 and 2.8.1"),
            "{n}"
        );
    }

    #[test]
    fn to_problem_names_the_entity() {
        let f = route_hazards(&[route("r9", &[r"/x(?=y)"])]);
        let p = f[0].to_problem(Kind::RuntimeHazard);
        assert_eq!(p.object.as_deref(), Some("routes r9"));
        assert!(p.fix.starts_with("(1) "), "{}", p.fix);
        assert!(p.message.contains(RULE_REGEX_INCOMPATIBLE));
    }

    #[test]
    fn unreadable_headers_name_the_route_and_the_error() {
        let r = route("r7", &[r"/u/\d+"]);
        let err = serde_json::from_str::<Value>("{\"x\": [1e400]}").unwrap_err();
        let f = route_headers_unreadable(&r, &err.to_string());
        assert_eq!(f.kind, RULE_ROUTE_HEADERS_UNREADABLE);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.entity.field(), Some("headers"));
        assert!(f.to_text().starts_with("routes r7 headers: [warning route-headers-unreadable] route r7 (r-r7) of service svc-1"), "{}", f.to_text());
        assert!(f.message.contains("number out of range"), "{}", f.message);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            (v["entity"].as_str(), v["id"].as_str()),
            (Some("route"), Some("r7"))
        );
        assert_eq!(v["scope"], "service svc-1");
    }
}
