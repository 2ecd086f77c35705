//! The plugin rule engine: plugin settings that Kong 2.8 accepted and Kong 3.4 rejects or runs
//! differently, as data in `schemas/runtime-rules/plugin-rules.json` (documented in
//! `schemas/runtime-rules/README.md`, embedded at build time), applied to [`PluginRow`]s. It must
//! not print a configuration value that can be a credential: `{value}` of a header or of a
//! secret-named key is never shown ([`value_is_secret`]).

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use crate::preflight::{Entity, Finding, Severity};

use super::PluginRow;

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

/// Key words that mark a configuration value as a possible credential (matched against the
/// `_`/`-`-separated words of each key on the path, case-insensitively).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "secrets",
    "token",
    "tokens",
    "key",
    "keys",
    "apikey",
    "authorization",
    "credential",
    "credentials",
    "private",
    "signature",
    "salt",
];

fn key_is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    // `headers`: http-log and friends send them verbatim, Authorization and API keys included.
    key == "headers" || key == "auth" || key.split(['_', '-']).any(|w| SECRET_WORDS.contains(&w))
}

fn holds_secret_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| key_is_secret(k) || holds_secret_key(x)),
        Value::Array(a) => a.iter().any(holds_secret_key),
        _ => false,
    }
}

/// Whether the value at `path` (`config.headers.Authorization`, `config.aws_secret`) may be a
/// credential, or holds one below it: such a value is never put into a message.
pub fn value_is_secret(path: &str, value: Option<&Value>) -> bool {
    path.split('.').any(key_is_secret) || value.is_some_and(holds_secret_key)
}

/// `{path}` and `{value}` of a rule message. A value that may be a credential is named, never
/// shown: findings end up in CI logs and reports.
fn render(template: &str, path: &str, value: Option<&Value>) -> String {
    let shown = match value {
        _ if value_is_secret(path, value) => {
            "(value not shown: it may hold a credential)".to_string()
        }
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
                entity: Entity::Plugin {
                    id: p.id.clone(),
                    name: Some(p.name.clone()),
                    scope: Some(p.scope()),
                    field: at,
                },
                message: format!("plugin {} {} ({}): {msg}", p.name, p.id, p.scope()),
                fixes: vec![rule.fix.clone()],
                source: rule.source.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::plugin_hazards;
    use super::super::test_support::kinds;
    use super::*;
    use serde_json::json;

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
            assert_eq!(hit.entity.id(), Some(p.id.as_str()));
            assert!(matches!(hit.entity, Entity::Plugin { .. }));
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
        assert_eq!(f[0].entity.field(), Some("config.headers.X-B"));
        // The header is named; its values (Authorization tokens, API keys) never appear.
        assert!(
            f[0].message
                .contains("`config.headers.X-B` is given as an array of values"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains(r#"["1","2"]"#), "{}", f[0].message);

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
        assert!(matches!(
            &plugin_hazards(&[g])[0].entity,
            Entity::Plugin { scope: Some(s), .. } if s == "global"
        ));
    }

    #[test]
    fn credentials_are_named_never_shown() {
        let p = plugin(
            "http-log",
            json!({"headers": {"Authorization": ["Bearer s3cr3t-token"], "X-A": "s3cr3t-token"}}),
        );
        let f = plugin_hazards_in(&[p], RuleScope::Declarative);
        assert_eq!(kinds(&f), vec!["http-log-headers-array"]);
        assert_eq!(f[0].entity.field(), Some("config.headers.Authorization"));
        assert!(f[0].message.contains("`config.headers.Authorization`"));
        let everything = format!(
            "{}\n{}\n{:?}",
            serde_json::to_string(&f).unwrap(),
            f[0].to_text(),
            f[0].to_problem(crate::report::Kind::RuntimeHazard)
        );
        assert!(!everything.contains("s3cr3t"), "{everything}");

        // The guard behind every `{value}`, for rules to come.
        for (path, v) in [
            ("config.headers.X-Trace", json!("t")),
            ("config.headers", json!({"Authorization": "Bearer t"})),
            ("config.aws_secret", json!("t")),
            ("config.aws_key", json!("t")),
            ("config.provision_key", json!("t")),
            ("config.client_secret", json!("t")),
            ("config.storage_config.redis.auth", json!("t")),
            ("config.storage_config.vault.token", json!("t")),
            (
                "config.storage_config.vault",
                json!({"host": "v", "token": "t"}),
            ),
            ("config.password", json!("t")),
        ] {
            let m = render("is {value}", path, Some(&v));
            assert_eq!(
                m, "is (value not shown: it may hold a credential)",
                "{path}"
            );
        }
        for (path, v, shown) in [
            (
                "config.storage_config.vault.auth_method",
                json!("approle"),
                r#""approle""#,
            ),
            (
                "config.host",
                json!("lambda.internal"),
                r#""lambda.internal""#,
            ),
            ("config.retry_count", json!(3), "3"),
        ] {
            assert_eq!(render("{value}", path, Some(&v)), shown, "{path}");
        }
    }
}
