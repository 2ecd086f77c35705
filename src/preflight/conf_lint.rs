//! The 2.8 → 3.4 lint of a kong.conf: which settings Kong 3.4.2 removed, renamed or refuses,
//! which values it reads differently, and which defaults changed under a file that leaves
//! them unset, as [`Finding`]s about [`Entity::Setting`]s. Pure judgement over a parsed file
//! (`kong::conf`); it reads no file and no environment, and never shows a secret value.

use crate::kong::conf::{self, Entry, KongConf};
use crate::preflight::{Entity, Finding, Severity};

/// A key 3.4 no longer reads (or refuses).
pub const RULE_REMOVED: &str = "conf-removed-parameter";
/// `database = cassandra`: 3.4 refuses to start.
pub const RULE_CASSANDRA: &str = "conf-database-cassandra";
/// A key 3.4 renamed.
pub const RULE_DEPRECATED: &str = "conf-deprecated-parameter";
/// A key the file does not set whose default changed in a way that alters behaviour.
pub const RULE_DEFAULT_CHANGED: &str = "conf-default-changed";
/// A value 3.4 deprecates (it still works).
pub const RULE_DEPRECATED_VALUE: &str = "conf-deprecated-value";
/// A value that no longer means the same in 3.4.
pub const RULE_VALUE_CHANGED: &str = "conf-value-changed-meaning";
/// A value Kong 2.8.5 and 3.4.2 read differently because their comment stripping differs.
pub const RULE_COMMENT_PARSING: &str = "conf-comment-parsing-changed";
/// `plugins` names prometheus, whose high-cardinality metrics are off by default in 3.x.
pub const RULE_PROMETHEUS: &str = "conf-prometheus-high-cardinality-metrics";

/// How bad a rule's finding is. Errors: Kong 3.4 refuses the file or stops doing what 2.8 did
/// (Cassandra, a value whose meaning changed). Warnings: settings 3.4 removed or renamed, and
/// values the two versions read differently; Kong starts, without them. Notices (info):
/// defaults that change under a file that leaves them unset, values that are deprecated but
/// still honoured, and plugin defaults kong.conf cannot set; nothing to edit when 3.4's
/// behaviour suits you.
pub fn severity_of(rule: &str) -> Severity {
    match rule {
        RULE_CASSANDRA | RULE_VALUE_CHANGED => Severity::Error,
        RULE_REMOVED | RULE_DEPRECATED | RULE_COMMENT_PARSING => Severity::Warning,
        _ => Severity::Info,
    }
}

const SRC_DEFAULTS: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_CASSANDRA: &str = "kong/templates/kong_defaults.lua @2.8.5 (cassandra_*) vs @3.4.2 \
     (none); kong/conf_loader/init.lua @3.4.2 (keys absent from kong_defaults.lua are dropped)";
const SRC_CASSANDRA_DB: &str =
    "kong/conf_loader/init.lua @3.4.2, check_and_parse (`conf.database == \"cassandra\"`)";
const SRC_GUIDE: &str =
    "Kong Gateway LTS upgrade guide 2.8 → 3.4, table \"kong.conf changes\" (Kong Enterprise)";
const SRC_CLIENT_MAX_BODY: &str = "kong/conf_loader/init.lua @2.8.5 (client_max_body_size: \
     deprecated alias of nginx_http_client_max_body_size); kong/templates/kong_defaults.lua \
     @2.8.5 vs @3.4.2";
const SRC_NGINX_OPT: &str = "kong/conf_loader/init.lua @2.8.5 (nginx_optimizations: deprecated, \
     no replacement); kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_KEEPALIVE: &str = "kong/conf_loader/init.lua @2.8.5 \
     (upstream_keepalive_deprecated_properties) and @3.4.2 (DYNAMIC_KEY_NAMESPACES); \
     kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2";
const SRC_GO: &str = "CHANGELOG.md @3.4.2, 3.0.0 Deprecations (#8552); \
     kong/runloop/plugin_servers/process.lua @2.8.5; kong/templates/kong_defaults.lua @2.8.5 vs \
     @3.4.2";
const SRC_TRACING: &str = "kong/conf_loader/init.lua @3.4.2 (CONF_PARSERS: deprecated, alias); \
     kong.conf.default @3.4.2";
const SRC_ROUTER_CONSISTENCY: &str = "kong/conf_loader/init.lua @2.8.5 and @3.4.2 \
     (router_consistency alias; load() keeps only keys of kong_defaults.lua); \
     kong/templates/kong_defaults.lua @2.0.0 vs @2.1.0";
const SRC_WORKER_CONSISTENCY: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; \
     kong.conf.default @3.4.2; kong/conf_loader/init.lua @3.4.2 (deprecated value `strict`)";
const SRC_LUA_SSL: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; CHANGELOG.md \
     @3.4.2, 3.0.0 (#8602); kong.conf.default @3.4.2";
const SRC_CLUSTER_PAYLOAD: &str =
    "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; CHANGELOG.md @3.4.2, 3.4.0 (#11090)";
const SRC_VAULTS: &str = "kong/templates/kong_defaults.lua @2.8.5 vs @3.4.2; \
     kong/constants.lua @3.4.2 (BUNDLED_VAULTS); kong/conf_loader/init.lua @3.4.2";
const SRC_ROUTER_FLAVOR: &str = "kong/templates/kong_defaults.lua @3.4.2; kong.conf.default \
     @3.4.2; kong/router/init.lua, kong/router/compat.lua, kong/router/expressions.lua @3.4.2";
const SRC_DEBUG_HEADER: &str = "kong/router.lua @2.8.5 (Kong-Debug always honoured); \
     kong/router/utils.lua @3.4.2 (add_debug_headers); kong/templates/kong_defaults.lua @3.4.2";
const SRC_PG_SSL_VERSION: &str = "Kong Gateway LTS upgrade guide 2.8 → 3.4, table \"kong.conf \
     changes\" (Kong Enterprise; the key is not in Kong OSS); .requirements @2.8.5 (OpenSSL \
     1.1.1o) vs @3.4.2 (OpenSSL 3.1.1)";
const SRC_PROMETHEUS: &str = "CHANGELOG.md @3.4.2, 3.0.0 Prometheus (#9028); Kong Gateway LTS \
     upgrade guide 2.8 → 3.4, table \"kong.conf changes\"";
const SRC_COMMENTS: &str = "kong/conf_loader/init.lua @2.8.5 (infer_value: `[^\\\\]#.-$`) vs \
     @3.4.2 (load_config, strip_comments: `\\s*(?<!\\\\)#.*$`)";

/// Checks a Kong 2.8 kong.conf (named `file` in the findings) against Kong 3.4. Findings about
/// lines come first, in line order, then those about keys the file does not set. Severities
/// are [`severity_of`] the rule. Decisions:
///
/// * `cluster_max_payload` is reported only when the file sets `role` to `control_plane` or
///   `data_plane`: it has no effect in traditional mode.
/// * `pg_ssl_version` (Kong Enterprise) is reported when unset only if the file sets `pg_ssl`
///   on: without TLS the version does not matter. Environment variables are not seen here.
/// * Prometheus high-cardinality metrics are plugin configuration (in the database), not
///   kong.conf; the database checks cover the plugin instances. This lint reports them only
///   when `plugins` names `prometheus` explicitly (not for `bundled`, which every conf loads).
/// * "Not set" means absent from the file; `key =` (empty) counts as set, on purpose: Kong then
///   uses no value rather than the new default (`lua_ssl_trusted_certificate =` keeps 2.8's "no
///   CA").
pub fn lint(conf: &KongConf, file: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &conf.entries {
        if let Some(f) = removed_or_deprecated(file, conf, e) {
            out.push(f);
        }
        let (v28, v34) = (e.value_2_8(), &e.value);
        if &v28 != v34 {
            let what = if conf::hide_value(&e.key) {
                "Kong 2.8.5 and 3.4.2 strip the inline `#` comment of this value differently, so \
                 they read different values (not shown: secret). 2.8.5 also removes the \
                 character before the `#` and keeps a value that starts with `#`."
                    .to_string()
            } else {
                format!(
                    "Kong 2.8.5 reads {v28:?}, Kong 3.4.2 reads {v34:?}: 2.8.5 also removes the \
                     character before an inline `#` and keeps a value that starts with `#`."
                )
            };
            out.push(at(
                file,
                e,
                what,
                "If the `#` belongs to the value, write it as `\\#`; if it starts a comment, put \
                 a space before it. Then both versions read the same value."
                    .into(),
                RULE_COMMENT_PARSING,
                SRC_COMMENTS,
            ));
        }
    }
    value_rules(file, conf, &mut out);
    out.sort_by_key(|f| {
        let line = setting_line(f);
        (line.is_none(), line.unwrap_or(0))
    });
    out
}

/// The line of a finding about a setting (`None`: a key the file does not set).
fn setting_line(f: &Finding) -> Option<usize> {
    match &f.entity {
        Entity::Setting { line, .. } => *line,
        _ => None,
    }
}

/// A finding of `rule` about `key`, with the severity of the rule.
fn finding(
    file: &str,
    key: &str,
    line: Option<usize>,
    what: String,
    fix: String,
    rule: &'static str,
    source: &str,
) -> Finding {
    Finding {
        kind: rule,
        severity: severity_of(rule),
        entity: Entity::Setting {
            file: file.to_string(),
            key: key.to_string(),
            line,
        },
        message: what,
        fixes: vec![fix],
        source: source.to_string(),
    }
}

/// A finding about the setting `e`.
fn at(
    file: &str,
    e: &Entry,
    what: String,
    fix: String,
    rule: &'static str,
    source: &str,
) -> Finding {
    finding(file, &e.key, Some(e.line), what, fix, rule, source)
}

fn removed_or_deprecated(file: &str, conf: &KongConf, e: &Entry) -> Option<Finding> {
    let k = e.key.as_str();
    let set_at = |key: &str| conf.get(key).map(|x| x.line);
    let removed =
        |what: String, fix: &str, source| Some(at(file, e, what, fix.into(), RULE_REMOVED, source));
    if k.starts_with("cassandra_") {
        let fix = if conf.value("database") == Some("cassandra") {
            "Delete the line once the cluster runs on PostgreSQL (see `database`)."
        } else {
            "Delete the line: it has no effect."
        };
        return removed(
            format!(
                "Cassandra support is gone in 3.4: Kong 3.4.2 does not read `{k}` and says \
                 nothing about it."
            ),
            fix,
            SRC_CASSANDRA,
        );
    }
    match k {
        "data_plane_config_cache_mode" | "data_plane_config_cache_path" => removed(
            format!("`{k}` is removed in 3.4 (Kong Enterprise): 3.4 does not read it."),
            "Delete the line.",
            SRC_GUIDE,
        ),
        "client_max_body_size" => {
            let target = "nginx_http_client_max_body_size";
            match set_at(target) {
                Some(l) => removed(
                    format!(
                        "Removed in 3.4 (it was a deprecated alias of `{target}`). `{target}` is \
                         set on line {l} and already won in 2.8, so this line had no effect."
                    ),
                    "Delete the line.",
                    SRC_CLIENT_MAX_BODY,
                ),
                None => removed(
                    format!(
                        "Removed in 3.4 (it was a deprecated alias of `{target}`): 3.4.2 ignores \
                         it, so the proxy's request body limit falls back to `{target}`'s \
                         default 0 (no limit) instead of {:?}.",
                        e.value
                    ),
                    &format!("Replace the line with `{target} = {}`.", e.value),
                    SRC_CLIENT_MAX_BODY,
                ),
            }
        }
        "nginx_optimizations" => removed(
            "Removed in 3.4; it was already deprecated without replacement and had no effect in \
             2.8."
                .into(),
            "Delete the line.",
            SRC_NGINX_OPT,
        ),
        "upstream_keepalive"
        | "nginx_http_upstream_keepalive"
        | "nginx_upstream_keepalive"
        | "nginx_http_upstream_keepalive_requests"
        | "nginx_upstream_keepalive_requests"
        | "nginx_http_upstream_keepalive_timeout"
        | "nginx_upstream_keepalive_timeout" => {
            let (target, default) = if k.ends_with("_requests") {
                (
                    "upstream_keepalive_max_requests",
                    "the 3.4 default 1000 (2.8: 100)",
                )
            } else if k.ends_with("_timeout") {
                ("upstream_keepalive_idle_timeout", "the default 60 seconds")
            } else {
                (
                    "upstream_keepalive_pool_size",
                    "the 3.4 default 512 (2.8: 60)",
                )
            };
            let injected = if k.starts_with("nginx_upstream_") {
                " As an `nginx_upstream_*` key it is still copied verbatim into the `upstream \
                 kong_upstream` block, as in 2.8; only the translation is gone."
            } else {
                ""
            };
            let (state, fix) = match set_at(target) {
                Some(l) => (
                    format!(" `{target}` is set on line {l} and already won in 2.8."),
                    "Delete the line.".to_string(),
                ),
                None => {
                    let value = if k.ends_with("_timeout") {
                        match nginx_time_seconds(&e.value) {
                            Some(n) => format!("{n} (seconds; 2.8 converted {:?})", e.value),
                            None => format!("this value in seconds (2.8 converted {:?})", e.value),
                        }
                    } else if k == "upstream_keepalive" && e.value == "0" {
                        "0 (0 disables upstream keepalive)".to_string()
                    } else {
                        e.value.clone()
                    };
                    (
                        format!(" Without it, `{target}` falls back to {default}."),
                        format!("Set `{target}` to {value} and delete this line."),
                    )
                }
            };
            Some(at(
                file,
                e,
                format!(
                    "Deprecated alias of `{target}` in 2.8 (conf_loader translated it); removed \
                     in 3.4, which ignores it.{state}{injected}"
                ),
                fix,
                RULE_REMOVED,
                SRC_KEEPALIVE,
            ))
        }
        "go_plugins_dir" | "go_pluginserver_exe" => {
            let active = conf
                .value("go_plugins_dir")
                .is_some_and(|v| v != "off" && !v.is_empty());
            if active {
                removed(
                    format!(
                        "Removed in 3.0: Kong 3.4 no longer starts the go-pluginserver, so the Go \
                         plugins of `go_plugins_dir` do not load (`{k}` is ignored)."
                    ),
                    "Rebuild each Go plugin with the Go PDK as its own plugin server and declare \
                     it with `pluginserver_names` and `pluginserver_<name>_start_cmd` / \
                     `pluginserver_<name>_query_cmd`; then delete the line.",
                    SRC_GO,
                )
                // The plugins stop running: that is more than a setting 3.4 ignores.
                .map(|f| Finding {
                    severity: Severity::Error,
                    ..f
                })
            } else {
                removed(
                    format!(
                        "Removed in 3.0 and ignored by 3.4; with `go_plugins_dir` off it had no \
                         effect in 2.8 either (`{k}`)."
                    ),
                    "Delete the line.",
                    SRC_GO,
                )
            }
        }
        "admin_api_uri"
        | "opentelemetry_tracing"
        | "opentelemetry_tracing_sampling_rate"
        | "router_consistency" => {
            let (target, what, source) = match k {
                "admin_api_uri" => (
                    "admin_gui_api_url",
                    "Deprecated in 3.4 (Kong Enterprise) in favour of `admin_gui_api_url`; Kong \
                     OSS 3.4.2 does not read `admin_api_uri` at all."
                        .to_string(),
                    SRC_GUIDE,
                ),
                "opentelemetry_tracing" => (
                    "tracing_instrumentations",
                    "Deprecated in 3.4 in favour of `tracing_instrumentations`; 3.4.2 still \
                     copies it there when that is unset, with a deprecation warning."
                        .to_string(),
                    SRC_TRACING,
                ),
                "opentelemetry_tracing_sampling_rate" => (
                    "tracing_sampling_rate",
                    "Deprecated in 3.4 in favour of `tracing_sampling_rate`; 3.4.2 still copies \
                     it there when that is unset, with a deprecation warning."
                        .to_string(),
                    SRC_TRACING,
                ),
                _ => (
                    "worker_consistency",
                    "The pre-2.1 name of `worker_consistency`. Neither 2.8.5 nor 3.4.2 reads it: \
                     it is not in kong_defaults.lua, so conf_loader drops it before its alias \
                     runs, and the value here has no effect."
                        .to_string(),
                    SRC_ROUTER_CONSISTENCY,
                ),
            };
            let fix = match set_at(target) {
                Some(l) => format!("`{target}` is already set on line {l}: delete this line."),
                None => format!("Rename the key to `{target}` (same value)."),
            };
            Some(at(file, e, what, fix, RULE_DEPRECATED, source))
        }
        _ => None,
    }
}

/// An nginx time in seconds, as 2.8.5's `utils.nginx_conf_time_to_seconds` (`ngx_parse_time(str,
/// 1)`) reads it: `<n><unit>` parts (`y M w d h m s`, no unit = seconds), optionally separated by
/// spaces. `None` for anything else (milliseconds are an error in seconds mode).
fn nginx_time_seconds(v: &str) -> Option<u64> {
    let b = v.as_bytes();
    let (mut i, mut total, mut any) = (0, 0u64, false);
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n: u64 = v[start..i].parse().ok()?;
        let unit = match b.get(i) {
            None | Some(b' ') => 1,
            Some(b'y') => 365 * 86400,
            Some(b'M') => 30 * 86400,
            Some(b'w') => 7 * 86400,
            Some(b'd') => 86400,
            Some(b'h') => 3600,
            Some(b'm') if b.get(i + 1) == Some(&b's') => return None,
            Some(b'm') => 60,
            Some(b's') => 1,
            Some(_) => return None,
        };
        if i < b.len() && b[i] != b' ' {
            i += 1;
        }
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    any.then_some(total)
}

/// Rules on the value Kong uses (the last setting of a key), or on its absence.
fn value_rules(file: &str, conf: &KongConf, out: &mut Vec<Finding>) {
    let unset = |key: &str, what: String, fix: String, source: &str| {
        let what = format!("Not set in this file. {what}");
        finding(file, key, None, what, fix, RULE_DEFAULT_CHANGED, source)
    };

    if let Some(e) = conf.get("database") {
        if e.value == "cassandra" {
            out.push(at(
                file,
                e,
                "Kong 3.4.2 refuses to start: \"Cassandra as a datastore for Kong is not \
                 supported in versions 3.4 and above. Please use Postgres.\""
                    .into(),
                "Move the 2.8 cluster to PostgreSQL first (for example a 2.8.5 PostgreSQL \
                 database filled with decK dump and sync), set `database = postgres`, then \
                 rehearse the upgrade of that database."
                    .into(),
                RULE_CASSANDRA,
                SRC_CASSANDRA_DB,
            ));
        }
    }

    match conf.get("worker_consistency") {
        None => out.push(unset(
            "worker_consistency",
            "The default changes from `strict` (2.8: every worker rebuilds the router and \
             balancers synchronously, requests wait for it) to `eventual` (3.4: each worker \
             rebuilds them in the background every `worker_state_update_frequency` seconds, \
             default 5, so workers may route differently for a short while after an Admin API \
             change)."
                .into(),
            "Set `worker_consistency = eventual` to accept 3.4's behaviour (recommended), or \
             `strict` to keep 2.8's (deprecated in 3.4). Either way 3.4.2 logs \"the \
             configuration value 'strict' ... is deprecated\": its deprecated_properties warns \
             whenever the key is set, without looking at the value."
                .into(),
            SRC_WORKER_CONSISTENCY,
        )),
        Some(e) if e.value == "strict" => out.push(at(
            file,
            e,
            "`strict` is deprecated in 3.4 (the new default is `eventual`); it still works, and \
             3.4.2 logs a deprecation warning at startup."
                .into(),
            "Keep it for now if you rely on synchronous rebuilds; plan `worker_consistency = \
             eventual`."
                .into(),
            RULE_DEPRECATED_VALUE,
            SRC_WORKER_CONSISTENCY,
        )),
        Some(_) => {}
    }

    if conf.get("lua_ssl_trusted_certificate").is_none() {
        out.push(unset(
            "lua_ssl_trusted_certificate",
            "The default changes from none (2.8: Lua TLS connections such as `pg_ssl_verify` or \
             plugins that verify peers trust no CA) to `system` (3.4: the operating system's CA \
             bundle is loaded and trusted)."
                .into(),
            "Set it explicitly: `system` to accept 3.4's behaviour, the path of your CA bundle \
             to trust only that, or an empty value (`lua_ssl_trusted_certificate =`) to keep \
             2.8's \"no CA\"."
                .into(),
            SRC_LUA_SSL,
        ));
    }

    if conf.get("upstream_keepalive_pool_size").is_none() {
        out.push(unset(
            "upstream_keepalive_pool_size",
            "The default changes from 60 to 512 idle keepalive connections per upstream pool \
             (pools are per destination IP, port and SNI)."
                .into(),
            "Set `upstream_keepalive_pool_size = 512` to accept, or `= 60` to keep 2.8's.".into(),
            SRC_DEFAULTS,
        ));
    }
    if conf.get("upstream_keepalive_max_requests").is_none() {
        out.push(unset(
            "upstream_keepalive_max_requests",
            "The default changes from 100 to 1000 requests per upstream keepalive connection \
             before Kong closes it."
                .into(),
            "Set `upstream_keepalive_max_requests = 1000` to accept, or `= 100` to keep 2.8's."
                .into(),
            SRC_DEFAULTS,
        ));
    }

    let hybrid = conf
        .value("role")
        .is_some_and(|r| r == "control_plane" || r == "data_plane");
    if hybrid && conf.get("cluster_max_payload").is_none() {
        out.push(unset(
            "cluster_max_payload",
            "The default changes from 4194304 (4 MiB) to 16777216 (16 MiB): the largest \
             compressed configuration a control plane sends to its data planes."
                .into(),
            "Set `cluster_max_payload = 16777216` to accept, or `= 4194304` to keep 2.8's (the \
             same value on control and data planes)."
                .into(),
            SRC_CLUSTER_PAYLOAD,
        ));
    }

    if conf.get("vaults").is_none() {
        out.push(unset(
            "vaults",
            "The default changes from `off` to `bundled`: the bundled vaults (Kong OSS 3.4.2: \
             `env`; Enterprise adds others) are loaded, so `{vault://…}` references in \
             referenceable fields are resolved, for example from Kong's environment variables."
                .into(),
            "Set `vaults = bundled` to accept, or `vaults = off` to keep 2.8's.".into(),
            SRC_VAULTS,
        ));
    }

    match conf.get("router_flavor") {
        None => out.push(unset(
            "router_flavor",
            "New in 3.x, default `traditional_compatible` (2.8 has only the traditional \
             router): routes are translated to ATC expressions, so regex paths are compiled by \
             Rust's regex engine (no look-around, backreferences or other PCRE-only syntax; such \
             routes are skipped), `path_handling = v1` is ignored and `regex_priority` ordering \
             changes."
                .into(),
            "Check the routes (`kong-rehearse plan` reports the router hazards), then set \
             `router_flavor = traditional_compatible`, or `router_flavor = traditional` to keep \
             2.8's router (deprecated)."
                .into(),
            SRC_ROUTER_FLAVOR,
        )),
        Some(e) if e.value == "traditional" => out.push(at(
            file,
            e,
            "`traditional` keeps 2.8's router but is deprecated in 3.4 and \"will be removed in \
             the next major release\"."
                .into(),
            "Fix what `kong-rehearse plan` reports for routes, then move to \
             `router_flavor = traditional_compatible`."
                .into(),
            RULE_DEPRECATED_VALUE,
            SRC_ROUTER_FLAVOR,
        )),
        Some(e) if e.value == "expressions" => out.push(at(
            file,
            e,
            "With `expressions`, 3.4 routes only by each route's `expression` field, which no \
             2.8 route has: every 2.8 route is skipped (logged as an error) and stops matching."
                .into(),
            "Use `router_flavor = traditional_compatible` for the upgrade; move routes to \
             expressions later."
                .into(),
            RULE_VALUE_CHANGED,
            SRC_ROUTER_FLAVOR,
        )),
        Some(_) => {}
    }

    if conf.get("allow_debug_header").is_none() {
        out.push(unset(
            "allow_debug_header",
            "New in 3.x, default off: 2.8 always answers a `Kong-Debug: 1` request header with \
             `Kong-Route-Id`, `Kong-Route-Name`, `Kong-Service-Id` and `Kong-Service-Name` \
             response headers; 3.4 does so only with `allow_debug_header = on`."
                .into(),
            "Set `allow_debug_header = off` to accept (internal ids stay hidden), or `on` if \
             clients or tooling rely on those headers."
                .into(),
            SRC_DEBUG_HEADER,
        ));
    }

    let pg_ssl_on = conf
        .value("pg_ssl")
        .is_some_and(|v| v == "on" || v == "true");
    match conf.get("pg_ssl_version") {
        None if pg_ssl_on => out.push(unset(
            "pg_ssl_version",
            "With `pg_ssl` on, Kong Enterprise's default TLS version for PostgreSQL changes from \
             `tlsv1` to `tlsv1_2`: the database server must accept TLS 1.2 or later."
                .into(),
            "Check that PostgreSQL accepts TLS 1.2+, then set `pg_ssl_version = tlsv1_2` (Kong \
             OSS ignores the key)."
                .into(),
            SRC_PG_SSL_VERSION,
        )),
        Some(e) if e.value == "tlsv1" || e.value == "tlsv1_1" => out.push(at(
            file,
            e,
            format!(
                "Kong 3.4 is built with OpenSSL 3.1 (2.8.5: 1.1.1o), which refuses TLS 1.0 and \
                 1.1 at its default security level, so `{}` no longer connects; the 3.4 \
                 Enterprise default is `tlsv1_2`.",
                e.value
            ),
            "Make PostgreSQL accept TLS 1.2+ and set `pg_ssl_version = tlsv1_2`.".into(),
            RULE_VALUE_CHANGED,
            SRC_PG_SSL_VERSION,
        )),
        _ => {}
    }

    if let Some(e) = conf.get("plugins") {
        if e.value
            .split(',')
            .any(|p| conf::lua_strip(p) == "prometheus")
        {
            out.push(at(
                file,
                e,
                "The prometheus plugin no longer exports status code, latency, bandwidth and \
                 upstream health metrics by default (3.0): dashboards and alerts on them go \
                 empty. This is plugin configuration, stored in the database, not kong.conf."
                    .into(),
                "After the upgrade, set `status_code_metrics`, `latency_metrics`, \
                 `bandwidth_metrics` and `upstream_health_metrics` to true on the prometheus \
                 plugin instances that need them (`kong-rehearse plan` lists them)."
                    .into(),
                RULE_PROMETHEUS,
                SRC_PROMETHEUS,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::conf::{parse, pg_settings};

    const REALISTIC: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kong-conf/kong-2.8-realistic.conf"
    ));
    const CLEAN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kong-conf/kong-3.4-clean.conf"
    ));

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn key(f: &Finding) -> &str {
        match &f.entity {
            Entity::Setting { key, .. } => key,
            e => panic!("not a setting: {e:?}"),
        }
    }

    fn keyed(fs: &[Finding]) -> Vec<(Option<usize>, &str, &str)> {
        fs.iter()
            .map(|f| (setting_line(f), key(f), f.kind))
            .collect()
    }

    #[test]
    fn lint_realistic_2_8_conf() {
        let c = parse(REALISTIC);
        let fs = lint(&c, "kong.conf");
        let got = keyed(&fs);
        let want: Vec<(Option<usize>, &str, &str)> = vec![
            (Some(16), "admin_api_uri", RULE_DEPRECATED),
            (Some(19), "plugins", RULE_PROMETHEUS),
            (Some(21), "go_plugins_dir", RULE_REMOVED),
            (Some(22), "go_pluginserver_exe", RULE_REMOVED),
            (Some(25), "trusted_ips", RULE_COMMENT_PARSING),
            (Some(33), "cassandra_contact_points", RULE_REMOVED),
            (Some(34), "cassandra_keyspace", RULE_REMOVED),
            (Some(35), "cassandra_consistency", RULE_REMOVED),
            (Some(36), "cassandra_lb_policy", RULE_REMOVED),
            (Some(37), "cassandra_local_datacenter", RULE_REMOVED),
            (Some(38), "cassandra_password", RULE_REMOVED),
            (Some(54), "client_max_body_size", RULE_REMOVED),
            (Some(55), "nginx_optimizations", RULE_REMOVED),
            (Some(56), "upstream_keepalive", RULE_REMOVED),
            (
                Some(57),
                "nginx_http_upstream_keepalive_timeout",
                RULE_REMOVED,
            ),
            (Some(60), "worker_consistency", RULE_DEPRECATED_VALUE),
            (Some(66), "data_plane_config_cache_mode", RULE_REMOVED),
            (Some(67), "data_plane_config_cache_path", RULE_REMOVED),
            (None, "lua_ssl_trusted_certificate", RULE_DEFAULT_CHANGED),
            (None, "upstream_keepalive_pool_size", RULE_DEFAULT_CHANGED),
            (
                None,
                "upstream_keepalive_max_requests",
                RULE_DEFAULT_CHANGED,
            ),
            (None, "vaults", RULE_DEFAULT_CHANGED),
            (None, "router_flavor", RULE_DEFAULT_CHANGED),
            (None, "allow_debug_header", RULE_DEFAULT_CHANGED),
            (None, "pg_ssl_version", RULE_DEFAULT_CHANGED),
        ];
        assert_eq!(got, want, "{fs:#?}");
        // The cassandra password is a secret: its value is in no finding.
        for f in &fs {
            assert!(!f.message.contains("Cass4ndra") && !f.fix_text().contains("Cass4ndra"));
            assert!(!f.message.is_empty() && !f.fix_text().is_empty() && !f.source.is_empty());
        }
        let trusted = fs.iter().find(|f| key(f) == "trusted_ips").unwrap();
        assert!(
            trusted.message.contains("\"10.0.0.0/8,172.16.0.0/1\""),
            "{}",
            trusted.message
        );
        let cmbs = fs
            .iter()
            .find(|f| key(f) == "client_max_body_size")
            .unwrap();
        assert!(
            cmbs.fix_text()
                .contains("nginx_http_client_max_body_size = 20m"),
            "{}",
            cmbs.fix_text()
        );
        let t = fs
            .iter()
            .find(|f| key(f) == "nginx_http_upstream_keepalive_timeout")
            .unwrap();
        assert!(
            t.fix_text()
                .contains("`upstream_keepalive_idle_timeout` to 30 (seconds"),
            "{}",
            t.fix_text()
        );
        let ka = fs.iter().find(|f| key(f) == "upstream_keepalive").unwrap();
        assert!(
            ka.fix_text()
                .contains("upstream_keepalive_pool_size` to 120"),
            "{}",
            ka.fix_text()
        );
    }

    #[test]
    fn lint_clean_3_4_conf() {
        let c = parse(CLEAN);
        let fs = lint(&c, "kong.conf");
        assert!(fs.is_empty(), "{fs:#?}");
        assert!(c.ignored.is_empty(), "{:?}", c.ignored);
        // It is a real conf: the escaped `#` and the inline comments read the same in both.
        let s = pg_settings(Some(&c), &no_env);
        assert_eq!(s.password.as_deref(), Some("n3w#Pa55-2024"));
        assert_eq!((s.ssl, s.ssl_verify), (Some(true), Some(true)));
    }

    #[test]
    fn lint_value_rules() {
        let base = "worker_consistency = eventual\nlua_ssl_trusted_certificate =\n\
                    upstream_keepalive_pool_size = 60\nupstream_keepalive_max_requests = 100\n\
                    vaults = off\nallow_debug_header = on\n";
        let run = |extra: &str| lint(&parse(&format!("{base}{extra}")), "kong.conf");
        assert_eq!(
            keyed(&run("router_flavor = traditional_compatible\n")),
            vec![]
        );
        assert_eq!(
            keyed(&run("router_flavor = expressions\n")),
            vec![(Some(7), "router_flavor", RULE_VALUE_CHANGED)]
        );
        assert_eq!(
            keyed(&run("router_flavor = traditional\n")),
            vec![(Some(7), "router_flavor", RULE_DEPRECATED_VALUE)]
        );
        let base = format!("{base}router_flavor = traditional_compatible\n");
        let run = |extra: &str| lint(&parse(&format!("{base}{extra}")), "kong.conf");
        assert_eq!(
            keyed(&run("pg_ssl = on\npg_ssl_version = tlsv1\n")),
            vec![(Some(9), "pg_ssl_version", RULE_VALUE_CHANGED)]
        );
        assert_eq!(keyed(&run("pg_ssl = off\n")), vec![]);
        assert_eq!(
            keyed(&run("role = data_plane\n")),
            vec![(None, "cluster_max_payload", RULE_DEFAULT_CHANGED)]
        );
        assert_eq!(
            keyed(&run("role = data_plane\ncluster_max_payload = 4194304\n")),
            vec![]
        );
        assert_eq!(keyed(&run("plugins = bundled\n")), vec![]);
        assert_eq!(
            keyed(&run("database = cassandra\ncassandra_port = 9042\n")),
            vec![
                (Some(8), "database", RULE_CASSANDRA),
                (Some(9), "cassandra_port", RULE_REMOVED)
            ]
        );
        assert_eq!(
            keyed(&run(
                "nginx_http_client_max_body_size = 8m\nclient_max_body_size = 8m\n\
                 router_consistency = strict\nopentelemetry_tracing = all\n"
            )),
            vec![
                (Some(9), "client_max_body_size", RULE_REMOVED),
                (Some(10), "router_consistency", RULE_DEPRECATED),
                (Some(11), "opentelemetry_tracing", RULE_DEPRECATED),
            ]
        );
        let fs = run("nginx_http_client_max_body_size = 8m\nclient_max_body_size = 8m\n");
        assert_eq!(fs[0].fix_text(), "Delete the line.");
        let fs = run("pg_password = Qx7#Zz\n");
        assert_eq!(
            keyed(&fs),
            vec![(Some(8), "pg_password", RULE_COMMENT_PARSING)]
        );
        assert!(!fs[0].message.contains("Qx"), "{}", fs[0].message);
    }

    #[test]
    fn nginx_times() {
        assert_eq!(nginx_time_seconds("30s"), Some(30));
        assert_eq!(nginx_time_seconds("60"), Some(60));
        assert_eq!(nginx_time_seconds("1m 30s"), Some(90));
        assert_eq!(nginx_time_seconds("1h"), Some(3600));
        assert_eq!(nginx_time_seconds("500ms"), None);
        assert_eq!(nginx_time_seconds("soon"), None);
        assert_eq!(nginx_time_seconds(""), None);
    }

    #[test]
    fn severities_separate_findings_from_notices() {
        // A clean 2.8 file: only defaults it leaves unset, all notices.
        let fs = lint(
            &parse("database = postgres\npg_host = db.internal\n"),
            "kong.conf",
        );
        assert_eq!(fs.len(), 7, "{fs:#?}");
        assert!(fs.iter().all(|f| f.severity == Severity::Info), "{fs:#?}");

        let fs = lint(&parse(REALISTIC), "kong.conf");
        let sev = |k: &str| fs.iter().find(|f| key(f) == k).unwrap().severity;
        assert_eq!(sev("go_plugins_dir"), Severity::Error); // the Go plugins stop loading
        assert_eq!(sev("cassandra_keyspace"), Severity::Warning);
        assert_eq!(sev("admin_api_uri"), Severity::Warning);
        assert_eq!(sev("trusted_ips"), Severity::Warning);
        assert_eq!(sev("worker_consistency"), Severity::Info); // `strict` still works
        assert_eq!(sev("plugins"), Severity::Info);
        assert_eq!(sev("vaults"), Severity::Info);

        let fs = lint(
            &parse("database = cassandra\nrouter_flavor = expressions\n"),
            "kong.conf",
        );
        let sev = |k: &str| fs.iter().find(|f| key(f) == k).unwrap().severity;
        assert_eq!(sev("database"), Severity::Error);
        assert_eq!(sev("router_flavor"), Severity::Error);
    }

    #[test]
    fn finding_text() {
        let f = finding(
            "kong.conf",
            "k",
            Some(3),
            "w".into(),
            "f".into(),
            RULE_REMOVED,
            "s",
        );
        assert_eq!(
            f.to_text(),
            "kong.conf:3: k: [warning conf-removed-parameter] w\n    fix: f"
        );
        assert_eq!(f.source, "s");
        let f = finding(
            "kong.conf",
            "vaults",
            None,
            "w".into(),
            "f".into(),
            RULE_DEFAULT_CHANGED,
            "s",
        );
        assert!(f
            .to_text()
            .starts_with("kong.conf: vaults: [info conf-default-changed] w"));
    }
}
