//! Pre-flight data hazards: rows the real 2.8 → 3.4 migration will choke on or corrupt,
//! found before anything runs, each named by id with the fix; and the read of the route and
//! plugin rows that [`crate::preflight::runtime`] judges. It only reads, through the client it is
//! handed (the caller's read-only snapshot), and it must not write or open connections itself.

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::kong::transforms;
use crate::preflight::{Finding, Severity};
use crate::report::{Kind, Problem};

/// Targets that survive 3.0's de-duplication more than once per cache key: they tie on the
/// newest `created_at` (or have none), so the teardown's `UPDATE targets SET cache_key`
/// violates `targets_cache_key_key` after `vaults_beta` is already dropped.
const TIED_TARGETS: &str = "
WITH kept AS (
  SELECT t1.* FROM targets t1
   WHERE NOT EXISTS (SELECT 1 FROM targets t2
                      WHERE t1.created_at < t2.created_at
                        AND t1.upstream_id = t2.upstream_id AND t1.target = t2.target))
SELECT coalesce(upstream_id::text, ''), target, array_agg(id::text ORDER BY id)
  FROM kept
 GROUP BY CONCAT('targets:', upstream_id, ':', target, '::::', ws_id), upstream_id, target
HAVING count(*) > 1
 ORDER BY 1, 2";

/// How many rows a pre-flight read holds at a time (one page, in id order).
const PAGE: i64 = 500;

/// How many findings (and hazards) of one rule a report lists; the rest are counted, so the
/// lists stay the same size whatever the size of the database.
pub const LISTED_PER_RULE: usize = 200;

/// Reads `first` then `next` (keyset on `id`, a uuid in column 0) page by page through `c`,
/// handing each row to `each`: never more than [`PAGE`] rows in memory.
async fn for_each_row(
    c: &impl GenericClient,
    first: &str,
    next: &str,
    what: &'static str,
    mut each: impl FnMut(&tokio_postgres::Row),
) -> Result<()> {
    let mut last: Option<Uuid> = None;
    loop {
        let rows = match &last {
            None => c.query(first, &[&PAGE]).await,
            Some(id) => c.query(next, &[id, &PAGE]).await,
        }
        .map_err(|e| Error::db(what, e))?;
        for r in &rows {
            each(r);
        }
        if (rows.len() as i64) < PAGE {
            return Ok(());
        }
        last = rows.last().map(|r| r.get(0));
    }
}

/// Hazards of one kind, the first [`LISTED_PER_RULE`] kept, the rest counted into one
/// closing problem.
struct Hazards {
    listed: Vec<Problem>,
    more: usize,
}

impl Hazards {
    fn new() -> Self {
        Hazards {
            listed: vec![],
            more: 0,
        }
    }
    fn push(&mut self, p: Problem) {
        if self.listed.len() < LISTED_PER_RULE {
            self.listed.push(p);
        } else {
            self.more += 1;
        }
    }
    /// The listed hazards, then (when some were not listed) one naming how many more.
    fn into_problems(self, out: &mut Vec<Problem>, what: &str) {
        let more = self.more;
        let template = self.listed.first().cloned();
        out.extend(self.listed);
        if let (Some(t), true) = (template, more > 0) {
            let mut p = Problem::new(
                Kind::Hazard,
                format!(
                    "{more} more {what} (not listed; the first {LISTED_PER_RULE} are): the same \
                     hazard as above"
                ),
            )
            .fix(t.fix);
            p.subsystem = t.subsystem;
            p.migration = t.migration;
            out.push(p);
        }
    }
}

/// The data hazards that judge one row at a time, fed by the same page-by-page reads of
/// routes and plugins as the runtime check: each table is read once for both.
struct RowRules {
    undecodable: Hazards,
    doubled: Hazards,
    raising: Hazards,
}

impl RowRules {
    fn new() -> Self {
        RowRules {
            undecodable: Hazards::new(),
            doubled: Hazards::new(),
            raising: Hazards::new(),
        }
    }

    fn route(&mut self, id: &Uuid, name: Option<&str>, paths: &[String]) {
        let route = match name {
            Some(n) => format!("route {id} ({n})"),
            None => format!("route {id}"),
        };
        for p in paths {
            match transforms::migrate_path_checked(p) {
                Err(e) => self.undecodable.push(
                    Problem::new(
                        Kind::Hazard,
                        format!("{route}: path `{}` cannot be converted by 3.0's path migration: {e}", p.escape_debug()),
                    )
                    .subsystem("core")
                    .migration("016_280_to_300")
                    .object(format!("routes {id}"))
                    .fix("Rewrite the path in 2.8 so it decodes to valid UTF-8 (or drop the percent-encoding), then upgrade."),
                ),
                Ok((np, _)) if np.starts_with("~~") => self.doubled.push(
                    Problem::new(
                        Kind::Hazard,
                        format!(
                            "{route}: path `{p}` already starts with `~` and contains regex \
                             characters; 3.0's path migration prefixes it again (`{np}`), and the \
                             route stops matching"
                        ),
                    )
                    .subsystem("core")
                    .migration("016_280_to_300")
                    .object(format!("routes {id}"))
                    .fix("Remove the leading `~` in 2.8 before upgrading (2.8.0/2.8.1 do not understand it anyway); 3.0 adds it back."),
                ),
                Ok(_) => {}
            }
        }
    }

    /// Only the plugins whose config Kong's 3.0 data steps rewrite are judged.
    fn plugin(&mut self, id: &Uuid, name: &str, config: &serde_json::Value) {
        let result = match name {
            "http-log" => transforms::http_log_headers_checked(config).map(|_| ()),
            "pre-function" | "post-function" => transforms::pre_post_function_up_checked(config)
                .and_then(|c| transforms::pre_post_function_teardown_checked(&c))
                .map(|_| ()),
            _ => return,
        };
        if let Err(e) = result {
            self.raising.push(
                Problem::new(
                    Kind::Hazard,
                    format!("plugin {id} ({name}): Kong's 3.0 data migration raises an error on its config: {e}"),
                )
                .subsystem(name)
                .migration("001_280_to_300")
                .object(format!("plugins {id}"))
                .fix("Fix the plugin's config through the 2.8 Admin API (a value of the type its schema expects) before upgrading; otherwise the migration stops half-way."),
            );
        }
    }

    fn into_problems(self, out: &mut Vec<Problem>) {
        self.undecodable
            .into_problems(out, "route paths that cannot be converted");
        self.doubled
            .into_problems(out, "route paths prefixed twice");
        self.raising.into_problems(
            out,
            "plugin configs Kong's data migration raises an error on",
        );
    }
}

/// The data hazards (rows the migration chokes on or corrupts) and the runtime hazards of
/// `schema`, reading routes and plugins once each, through `c`.
pub async fn find(c: &impl GenericClient, schema: &str) -> Result<(Vec<Problem>, Runtime)> {
    let mut out = vec![];
    for r in c
        .query(TIED_TARGETS, &[])
        .await
        .map_err(|e| Error::db("cannot look for duplicate targets", e))?
    {
        let (upstream, target, ids): (String, String, Vec<String>) = (r.get(0), r.get(1), r.get(2));
        out.push(
            Problem::new(
                Kind::Hazard,
                format!(
                    "targets {} of upstream {upstream} all point at `{target}` and tie on the \
                     newest created_at: core/016_280_to_300's teardown keeps all of them, then \
                     its cache_key UPDATE violates targets_cache_key_key, so `kong migrations \
                     finish` fails after vaults_beta is already dropped",
                    ids.join(", ")
                ),
            )
            .subsystem("core")
            .migration("016_280_to_300")
            .object(format!("targets {}", ids.join(", ")))
            .fix(format!(
                "Before upgrading, in 2.8, delete all but one of them (e.g. `DELETE FROM targets WHERE id IN ('{}')`) or re-add the target through the Admin API.",
                ids[1..].join("', '")
            )),
        );
    }
    let mut rules = RowRules::new();
    let rt = scan(c, schema, Some(&mut rules)).await?;
    rules.into_problems(&mut out);
    Ok((out, rt))
}

/// What migrates cleanly but breaks or changes behaviour on Kong 3.4: route regexes the
/// 3.4 router cannot compile, settings whose meaning changed (see [`crate::preflight::runtime`]).
pub struct Runtime {
    /// The first [`LISTED_PER_RULE`] findings of each rule, in the order they were found.
    pub findings: Vec<Finding>,
    /// The 2.8.0/2.8.1 mixed-version window note, when regex routes exist.
    pub mixed_version: Option<String>,
    /// How many findings each rule produced, listed or not.
    pub counts: BTreeMap<&'static str, usize>,
}

impl Runtime {
    /// Every finding, listed or not.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// How many findings are counted but not in `findings`.
    pub fn unlisted(&self) -> usize {
        self.total() - self.findings.len()
    }

    /// A sentence about the findings not listed (per rule), `None` when every one is.
    pub fn unlisted_note(&self) -> Option<String> {
        if self.unlisted() == 0 {
            return None;
        }
        let per_rule = self
            .counts
            .iter()
            .filter(|(_, &n)| n > LISTED_PER_RULE)
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(format!(
            "{} runtime hazard(s) in all, of which the first {LISTED_PER_RULE} of each rule are \
             listed ({per_rule})",
            self.total()
        ))
    }

    /// Findings that `--strict` turns into problems (not the informational ones); findings
    /// not listed are counted in one more problem.
    pub fn strict_problems(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| f.to_problem(Kind::RuntimeHazard))
            .collect();
        if let Some(note) = self.unlisted_note() {
            out.push(Problem::new(Kind::RuntimeHazard, note));
        }
        out
    }
}

/// Findings as they come, the first [`LISTED_PER_RULE`] of each rule kept, all counted.
struct Bounded {
    kept: Vec<Finding>,
    counts: BTreeMap<&'static str, usize>,
}

impl Bounded {
    fn new() -> Self {
        Bounded {
            kept: vec![],
            counts: BTreeMap::new(),
        }
    }
    fn extend(&mut self, fs: impl IntoIterator<Item = Finding>) {
        for f in fs {
            let n = self.counts.entry(f.kind).or_default();
            *n += 1;
            if *n <= LISTED_PER_RULE {
                self.kept.push(f);
            }
        }
    }
}

/// Reads the routes and plugins of `schema` through `c`, page by page, and judges them row by
/// row (the `regex_priority` check keeps compact facts of the regex routes, not rows). Run it
/// inside the caller's read-only snapshot, so the hazards describe the same database state as
/// every other read of the command.
pub async fn runtime(c: &impl GenericClient, schema: &str) -> Result<Runtime> {
    scan(c, schema, None).await
}

/// The one read of routes and plugins behind [`runtime`] and [`find`]: each row goes to the
/// runtime rules and, when given, to the data-hazard `rules`.
async fn scan(
    c: &impl GenericClient,
    schema: &str,
    mut rules: Option<&mut RowRules>,
) -> Result<Runtime> {
    use crate::pg::sql::data_steps as q;
    use crate::preflight::runtime::{self as rh, PluginRow, RouteHazards, RouteRow};
    let mut unreadable = Bounded::new();
    let mut found = Bounded::new();
    let mut judge = RouteHazards::new(true);
    let t0 = std::time::Instant::now();
    for_each_row(
        c,
        &q::runtime_routes(schema, true),
        &q::runtime_routes(schema, false),
        "cannot read routes",
        |r| {
            let id: Uuid = r.get(0);
            let headers: Option<String> = r.get(8);
            let mut route = RouteRow {
                id: id.to_string(),
                name: r.get(1),
                service_id: r.get(2),
                paths: r.get(3),
                path_handling: r.get(4),
                regex_priority: r.get(5),
                hosts: r.get(6),
                methods: r.get(7),
                headers: None,
                snis: r.get(9),
            };
            // Read as text, not as jsonb, so that one row serde_json cannot hold (a number
            // beyond f64) becomes a finding about that route instead of failing the whole read.
            match headers.as_deref().map(route_headers) {
                None => {}
                Some(Ok(h)) => route.headers = h,
                Some(Err(why)) => unreadable.extend([rh::route_headers_unreadable(&route, &why)]),
            }
            if let (Some(rules), Some(paths)) = (rules.as_deref_mut(), &route.paths) {
                rules.route(&id, route.name.as_deref(), paths);
            }
            found.extend(judge.push(&route));
        },
    )
    .await?;
    let t1 = std::time::Instant::now();
    let (priority, mixed_version) = judge.finish();
    found.extend(priority);
    let t2 = std::time::Instant::now();
    for_each_row(
        c,
        &q::runtime_plugins(schema, true),
        &q::runtime_plugins(schema, false),
        "cannot read plugins",
        |r| {
            let id: Uuid = r.get(0);
            let p = PluginRow {
                id: id.to_string(),
                name: r.get(1),
                config: r.get(2),
                route_id: r.get(3),
                service_id: r.get(4),
                consumer_id: r.get(5),
            };
            if let Some(rules) = rules.as_deref_mut() {
                rules.plugin(&id, &p.name, &p.config);
            }
            found.extend(rh::plugin_hazards(std::slice::from_ref(&p)));
        },
    )
    .await?;
    tracing::debug!(
        routes_ms = (t1 - t0).as_millis() as u64,
        priority_ms = (t2 - t1).as_millis() as u64,
        plugins_ms = t2.elapsed().as_millis() as u64,
        "routes and plugins judged"
    );
    let mut findings = unreadable.kept;
    findings.extend(found.kept);
    let mut counts = unreadable.counts;
    for (k, n) in found.counts {
        *counts.entry(k).or_default() += n;
    }
    Ok(Runtime {
        findings,
        mixed_version,
        counts,
    })
}

/// `routes.headers` as the priority check reads it: `Ok(None)` for JSON `null`, `Ok(object)`, or
/// why it is not Kong's map of header name → values. The reason names a position or a type,
/// never the text: header values can be credentials.
fn route_headers(text: &str) -> std::result::Result<Option<serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => Err(format!("not JSON that can be read: {e}")),
        Ok(serde_json::Value::Null) => Ok(None),
        Ok(v @ serde_json::Value::Object(_)) => Ok(Some(v)),
        Ok(v) => Err(format!(
            "a JSON {} instead of an object",
            match v {
                serde_json::Value::Array(_) => "array",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                _ => "boolean",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_headers_are_read_or_say_why_not() {
        assert_eq!(route_headers("null"), Ok(None));
        assert_eq!(
            route_headers(r#"{"x-a": ["1"]}"#),
            Ok(Some(serde_json::json!({"x-a": ["1"]})))
        );
        let e = route_headers(r#"{"authorization": ["Bearer s3cr3t"], "x": [1e400]}"#).unwrap_err();
        assert!(e.contains("number out of range"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        assert_eq!(
            route_headers(r#"["Bearer s3cr3t"]"#).unwrap_err(),
            "a JSON array instead of an object"
        );
    }
}
