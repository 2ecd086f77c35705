//! Pre-flight data hazards: rows the real 2.8 → 3.4 migration will choke on or corrupt,
//! found before anything runs, each named by id with the fix; and the read of the route and
//! plugin rows that [`crate::preflight::runtime`] judges. It only reads, through the client it is
//! handed (the caller's read-only snapshot), and it must not write or open connections itself.

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

pub async fn find(c: &impl GenericClient) -> Result<Vec<Problem>> {
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

    for r in c
        .query(
            "SELECT id, name, paths FROM routes WHERE paths IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot read routes", e))?
    {
        let (id, name, paths): (Uuid, Option<String>, Vec<String>) = (r.get(0), r.get(1), r.get(2));
        let route = match &name {
            Some(n) => format!("route {id} ({n})"),
            None => format!("route {id}"),
        };
        for p in &paths {
            match transforms::migrate_path_checked(p) {
                Err(e) => out.push(
                    Problem::new(
                        Kind::Hazard,
                        format!("{route}: path `{}` cannot be converted by 3.0's path migration: {e}", p.escape_debug()),
                    )
                    .subsystem("core")
                    .migration("016_280_to_300")
                    .object(format!("routes {id}"))
                    .fix("Rewrite the path in 2.8 so it decodes to valid UTF-8 (or drop the percent-encoding), then upgrade."),
                ),
                Ok((np, _)) if np.starts_with("~~") => out.push(
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
    for r in c
        .query(
            "SELECT id, name, config FROM plugins WHERE name IN ('pre-function', 'post-function', 'http-log') ORDER BY id",
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot read plugins", e))?
    {
        let (id, name, config): (Uuid, String, serde_json::Value) = (r.get(0), r.get(1), r.get(2));
        let result = if name == "http-log" {
            transforms::http_log_headers_checked(&config).map(|_| ())
        } else {
            transforms::pre_post_function_up_checked(&config)
                .and_then(|c| transforms::pre_post_function_teardown_checked(&c))
                .map(|_| ())
        };
        if let Err(e) = result {
            out.push(
                Problem::new(
                    Kind::Hazard,
                    format!("plugin {id} ({name}): Kong's 3.0 data migration raises an error on its config: {e}"),
                )
                .subsystem(&name)
                .migration("001_280_to_300")
                .object(format!("plugins {id}"))
                .fix("Fix the plugin's config through the 2.8 Admin API (a value of the type its schema expects) before upgrading; otherwise the migration stops half-way."),
            );
        }
    }
    Ok(out)
}

/// What migrates cleanly but breaks or changes behaviour on Kong 3.4: route regexes the
/// 3.4 router cannot compile, settings whose meaning changed (see [`crate::preflight::runtime`]).
pub struct Runtime {
    pub findings: Vec<Finding>,
    /// The 2.8.0/2.8.1 mixed-version window note, when regex routes exist.
    pub mixed_version: Option<String>,
}

impl Runtime {
    /// Findings that `--strict` turns into problems (not the informational ones).
    pub fn strict_problems(&self) -> Vec<Problem> {
        self.findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| f.to_problem(Kind::RuntimeHazard))
            .collect()
    }
}

/// Reads the routes and plugins of `schema` through `c` and judges them. Run it inside the
/// caller's read-only snapshot, so the hazards describe the same database state as every other
/// read of the command.
pub async fn runtime(c: &impl GenericClient, schema: &str) -> Result<Runtime> {
    use crate::preflight::runtime::{self as rh, PluginRow, RouteRow};
    let q = |t: &str| format!("{}.{t}", crate::pg::quote_ident(schema));
    let mut routes = vec![];
    let mut unreadable = vec![];
    for r in c
        .query(
            &format!(
                "SELECT id::text, name, service_id::text, paths, path_handling, regex_priority,
                        hosts, methods, headers::text, snis FROM {} ORDER BY id",
                q("routes")
            ),
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot read routes", e))?
    {
        let headers: Option<String> = r.get(8);
        let mut route = RouteRow {
            id: r.get(0),
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
        // Read as text, not as jsonb, so that one row serde_json cannot hold (a number beyond
        // f64) becomes a finding about that route instead of failing the whole read.
        match headers.as_deref().map(route_headers) {
            None => {}
            Some(Ok(h)) => route.headers = h,
            Some(Err(why)) => unreadable.push(rh::route_headers_unreadable(&route, &why)),
        }
        routes.push(route);
    }
    let mut plugins = vec![];
    for r in c
        .query(
            &format!(
                "SELECT id::text, name, config, route_id::text, service_id::text, consumer_id::text FROM {} ORDER BY id",
                q("plugins")
            ),
            &[],
        )
        .await
        .map_err(|e| Error::db("cannot read plugins", e))?
    {
        plugins.push(PluginRow {
            id: r.get(0),
            name: r.get(1),
            config: r.get(2),
            route_id: r.get(3),
            service_id: r.get(4),
            consumer_id: r.get(5),
        });
    }
    let mut findings = unreadable;
    findings.extend(rh::route_hazards(&routes));
    findings.extend(rh::plugin_hazards(&plugins));
    Ok(Runtime {
        findings,
        mixed_version: rh::mixed_version_note(&routes),
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
