//! kong.conf the way Kong reads it: the parsed file ([`KongConf`], [`Entry`], [`Ignored`]),
//! read with Kong's own rules (`parser`, on top of the Lua number emulation in `lua_number`),
//! and the PostgreSQL settings Kong takes from it and from `KONG_PG_*` (`pg_settings`). It
//! knows Kong's configuration only: no judgement of the file (that is
//! `preflight::conf_lint`), no connection to a database.

mod lua_number;
mod parser;
mod pg_settings;

use std::fmt;

pub use parser::{load, parse};
pub use pg_settings::{env_name, pg_settings, pg_target, PgSettings, PG_KEYS};

pub(crate) use parser::lua_strip;

/// Keys whose values are secrets: `CONF_SENSITIVE` of kong/conf_loader/init.lua @3.4.2, plus
/// `cassandra_password` from @2.8.5. Their values never appear in Debug output or findings.
pub const SENSITIVE_KEYS: &[&str] = &[
    "pg_password",
    "pg_ro_password",
    "cassandra_password",
    "proxy_server",
    "declarative_config_string",
    "cluster_cert_key",
    "ssl_cert_key",
    "client_ssl_cert_key",
    "admin_ssl_cert_key",
    "admin_gui_ssl_cert_key",
    "status_ssl_cert_key",
    "debug_ssl_cert_key",
];

/// Whether Kong treats the value of `key` as a secret.
pub fn is_sensitive(key: &str) -> bool {
    SENSITIVE_KEYS.contains(&key)
}

pub(crate) const REDACTED: &str = "<redacted>";

/// Whether a value is hidden in Debug output and findings: Kong's sensitive keys in any case,
/// and any key that names a password or a private key.
pub fn hide_value(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    is_sensitive(&k) || k.contains("password") || k.ends_with("cert_key")
}

/// One `key = value` setting Kong reads.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as Kong sees it (after Penlight's `variabilize`).
    pub key: String,
    /// The value as Kong 3.4.2 reads it (numbers re-stringified, comment stripped, `\#` → `#`,
    /// trimmed). Empty means Kong treats the key as unset.
    pub value: String,
    /// 1-based line number (the first line of a `\`-continued setting).
    pub line: usize,
    /// The text after `=` as written (continuations joined), before any processing.
    pub raw: String,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = hide_value(&self.key);
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", if secret { &REDACTED } else { &self.value })
            .field("line", &self.line)
            .field("raw", if secret { &REDACTED } else { &self.raw })
            .finish()
    }
}

/// A line Kong reads but never uses as a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub line: usize,
    /// The key, when the line has one.
    pub key: Option<String>,
    pub reason: &'static str,
}

pub const IGNORED_NO_EQUALS: &str =
    "no `=`: Penlight reads the line as a list item, which Kong never uses";
pub const IGNORED_EMPTY_KEY: &str = "nothing before `=`: no key";
pub const IGNORED_SECTION: &str =
    "a `[section]` header: Penlight puts every following setting into a sub-table Kong never reads";
pub const IGNORED_IN_SECTION: &str = "after a `[section]` header: Kong never reads this setting";
pub const IGNORED_BLANK_DELIM: &str = "the value contains `_blank_`, Kong's Penlight list \
     delimiter: it is split into a list and Kong reads a meaningless value";
pub const IGNORED_DANGLING: &str =
    "continued with `\\` on the last setting of the file: Penlight drops it";

/// A parsed kong.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KongConf {
    /// Every setting in file order, duplicates included.
    pub entries: Vec<Entry>,
    /// Lines Kong reads but never uses (see the `IGNORED_*` reasons).
    pub ignored: Vec<Ignored>,
}

impl KongConf {
    /// The setting Kong uses for `key`: the last one in the file.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// The value Kong 3.4.2 uses for `key` (possibly empty, which Kong treats as unset).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|e| e.value.as_str())
    }

    /// Every setting of `key`, in file order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.key == key)
    }
}
