//! The plugins Kong 3.4.2 loads, from kong.conf's `plugins` and `KONG_PLUGINS`, exactly as
//! `kong/conf_loader/init.lua` @3.4.2 reads them; and which migration subsystems that makes
//! Kong run (`kong/db/migrations/state.lua` loads one subsystem per loaded plugin). It only
//! interprets the setting: no database, no judgement.
//!
//! Kong's rules: `plugins` is an array setting (comma-separated, each item stripped), default
//! `bundled`. A set `KONG_PLUGINS` wins over the file even when empty. If the first item is
//! `off`, nothing is loaded; otherwise every item is a plugin name, except `off` (skipped) and
//! `bundled` (every plugin in `BUNDLED_PLUGINS` of kong/constants.lua). A plugin that is not
//! loaded gets neither migrations nor state, and a `plugins` row naming it makes 3.4 nodes
//! refuse to start ("error building initial plugins: <name> plugin is in use but not
//! enabled", kong/runloop/plugins_iterator.lua).

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::conf::{env_name, load, KongConf};
use crate::error::{Error, Result};

/// `BUNDLED_PLUGINS` of kong/constants.lua @3.4.2 (every 2.8.5 bundled plugin, plus
/// opentelemetry).
pub const BUNDLED_342: &[&str] = &[
    "jwt",
    "acl",
    "correlation-id",
    "cors",
    "oauth2",
    "tcp-log",
    "udp-log",
    "file-log",
    "http-log",
    "key-auth",
    "hmac-auth",
    "basic-auth",
    "ip-restriction",
    "request-transformer",
    "response-transformer",
    "request-size-limiting",
    "rate-limiting",
    "response-ratelimiting",
    "syslog",
    "loggly",
    "datadog",
    "ldap-auth",
    "statsd",
    "bot-detection",
    "aws-lambda",
    "request-termination",
    "prometheus",
    "proxy-cache",
    "session",
    "acme",
    "grpc-gateway",
    "grpc-web",
    "pre-function",
    "post-function",
    "azure-functions",
    "zipkin",
    "opentelemetry",
];

/// What Kong 3.4.2 would load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plugins {
    /// The loaded plugin names (Kong's `loaded_plugins`).
    pub loaded: BTreeSet<String>,
    /// The setting as given (`bundled`, `off`, `bundled,my-plugin`, ...).
    pub setting: String,
    /// Where it came from: `KONG_PLUGINS`, `kong.conf line N`, or Kong's default.
    pub origin: String,
    /// False when neither kong.conf nor KONG_PLUGINS set it: Kong's default `bundled` is then
    /// an assumption about production, not a fact.
    pub explicit: bool,
}

impl Default for Plugins {
    fn default() -> Self {
        Self::kong_default()
    }
}

impl Plugins {
    /// Kong's default, `plugins = bundled`, assumed because nothing said otherwise.
    pub fn kong_default() -> Self {
        let mut p = Self::parse("bundled", "Kong's default (plugins = bundled)");
        p.explicit = false;
        p
    }

    /// `plugins` from kong.conf (if any), overridden by `KONG_PLUGINS` as Kong's `overrides`
    /// does: a set variable wins even when empty.
    pub fn from_settings(conf: Option<&KongConf>, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let var = env_name("plugins");
        if let Some(v) = env(&var) {
            return Self::parse(&v, &var);
        }
        match conf.and_then(|c| c.get("plugins")) {
            // An empty value in the file is unset for Kong: the default applies.
            Some(e) if !e.value.trim().is_empty() => {
                Self::parse(&e.value, &format!("kong.conf line {}", e.line))
            }
            _ => Self::kong_default(),
        }
    }

    /// What the production kong.conf at `path` (if given) and the process environment
    /// (`KONG_PLUGINS`) say, as Kong reads them.
    pub fn from_kong_conf(path: Option<&Path>) -> Result<Self> {
        let conf = path
            .map(|p| load(p).map_err(|e| Error::io("cannot read the kong.conf", p, e)))
            .transpose()?;
        Ok(Self::from_settings(conf.as_ref(), &|k| {
            std::env::var(k).ok()
        }))
    }

    /// Kong's merge of the array setting into `loaded_plugins`.
    pub fn parse(setting: &str, origin: &str) -> Self {
        // Penlight's split: "" gives no items; each item is stripped.
        let items: Vec<&str> = if setting.trim().is_empty() {
            vec![]
        } else {
            setting.split(',').map(str::trim).collect()
        };
        let mut loaded = BTreeSet::new();
        if items.first().is_some_and(|f| *f != "off") {
            for name in items {
                match name {
                    "off" | "" => {}
                    "bundled" => loaded.extend(BUNDLED_342.iter().map(|s| s.to_string())),
                    other => {
                        loaded.insert(other.to_string());
                    }
                }
            }
        }
        Plugins {
            loaded,
            setting: setting.trim().to_string(),
            origin: origin.to_string(),
            explicit: true,
        }
    }

    pub fn loads(&self, plugin: &str) -> bool {
        self.loaded.contains(plugin)
    }

    /// Whether Kong runs the migrations of `subsystem` (core always; a plugin's only when
    /// it is loaded).
    pub fn loads_subsystem(&self, subsystem: &str) -> bool {
        subsystem == "core" || self.loads(subsystem)
    }

    /// `plugins = bundled,my-plugin (KONG_PLUGINS)`, for messages.
    pub fn describe(&self) -> String {
        format!("plugins = {} ({})", self.setting, self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &Plugins) -> Vec<&str> {
        p.loaded.iter().map(String::as_str).collect()
    }

    #[test]
    fn kongs_merge_rules() {
        assert_eq!(Plugins::parse("bundled", "t").loaded.len(), 37);
        assert!(Plugins::parse("off", "t").loaded.is_empty());
        assert!(Plugins::parse("off, key-auth", "t").loaded.is_empty());
        assert_eq!(names(&Plugins::parse("key-auth, off", "t")), ["key-auth"]);
        assert!(Plugins::parse("", "t").loaded.is_empty());
        let p = Plugins::parse("bundled, my-plugin", "t");
        assert!(p.loads("my-plugin") && p.loads("oauth2") && p.loads_subsystem("core"));
        let p = Plugins::parse("key-auth,acl", "t");
        assert!(!p.loads_subsystem("oauth2"));
        assert!(p.loads_subsystem("core"));
    }

    #[test]
    fn the_environment_wins_even_when_empty() {
        let conf = crate::kong::conf::parse("plugins = key-auth\n");
        let none = |_: &str| None;
        let p = Plugins::from_settings(Some(&conf), &none);
        assert_eq!(names(&p), ["key-auth"]);
        assert!(p.explicit);
        assert_eq!(p.origin, "kong.conf line 1");
        let empty = |k: &str| (k == "KONG_PLUGINS").then(String::new);
        let p = Plugins::from_settings(Some(&conf), &empty);
        assert!(p.loaded.is_empty());
        assert_eq!(p.origin, "KONG_PLUGINS");
        let d = Plugins::from_settings(None, &none);
        assert!(!d.explicit);
        assert!(d.loads("session"));
    }
}
