//! Pre-flight data hazards: rows the real 2.8 → 3.4 migration will choke on or corrupt,
//! found before anything runs, each named by id with the fix.

use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::kong::transforms;
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
