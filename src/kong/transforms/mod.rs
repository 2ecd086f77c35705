//! Row-level ports of the Kong 2.8.5 → 3.4.2 *data* migrations, as pure functions that never touch
//! a database: what Kong's Lua code does to the contents of `routes.paths` and `plugins.config`,
//! reproduced byte for byte so the rehearsal can predict (and the verifier can check) every
//! rewritten row without a Kong install.
//!
//! Ported code (all at Kong tag 3.4.2):
//! - `kong/db/migrations/migrate_path_280_300.lua` and `kong/tools/uri.lua` (`normalize`), used by
//!   `kong/db/migrations/core/016_280_to_300.lua` `up_f` (`p_migrate_regex_path`);
//! - `kong/plugins/http-log/migrations/001_280_to_300.lua` (teardown), through
//!   `fixup_plugin_config` of `kong/db/migrations/operations/280_to_300.lua`;
//! - `kong/plugins/pre-function/migrations/_001_280_to_300.lua` (`up_f` and teardown, the factory
//!   used by both pre-function and post-function), through `fixup_plugin_config` of
//!   `kong/db/migrations/operations/200_to_210.lua`.
//!
//! Both `fixup_plugin_config`s read the row with pgmoon, which decodes `jsonb` with the global
//! `cjson` module, and write it back as `pgmoon_json.encode_json(config)` = `cjson.encode`. Kong
//! 3.4.2 (OpenResty 1.21.4.1, lua-cjson 2.1.0.10) never changes the global `cjson` instance's
//! settings (`kong/globalpatches.lua` only touches `cjson.safe`; every other caller uses
//! `cjson.new()`), so the defaults apply: `encode_number_precision` 14,
//! `encode_empty_table_as_object` on, `decode_array_with_array_mt` off,
//! `decode_max_depth`/`encode_max_depth` 1000, sparse arrays (ratio 2, safe 10) raise an error.
//! [`cjson_roundtrip`] models that decode + encode and then what PostgreSQL stores for the
//! resulting JSON text (`jsonb` keeps numbers as `numeric`).
//!
//! Where a fact below comes from running code rather than from the Kong fact sheet
//! (`/work/shared/kong-lts-facts.md` §3.2, §3.7), the comment says so: the cjson facts were checked
//! against lua-cjson 2.1.0.10 built from the openresty/lua-cjson tag and run under LuaJIT 2.1, and
//! the `numeric` facts against PostgreSQL 15.
//!
//! Pure functions of a stored value: nothing here talks to a database or spawns a program. The
//! rooms: [`paths`] (route paths), [`cjson`] (lua-cjson and `jsonb` numbers), [`plugin_configs`]
//! (pre-/post-function and http-log config rewrites), [`quirks`] (names for the report). Callers
//! use the re-exports below, `crate::kong::transforms::X`.

mod cjson;
mod paths;
mod plugin_configs;
mod quirks;

pub use cjson::{
    cjson_decode_check, cjson_number_to_string, cjson_roundtrip, cjson_roundtrip_checked,
    lua_number_to_string, CJSON_MAX_DEPTH,
};
pub use paths::{
    is_regex_path, migrate_path, migrate_path_bytes, migrate_path_checked, migrate_route_paths,
    migrate_route_paths_checked, PathError,
};
pub use plugin_configs::{
    http_log_headers, http_log_headers_checked, pre_post_function_teardown,
    pre_post_function_teardown_checked, pre_post_function_up, pre_post_function_up_checked,
};
pub use quirks::*;

/// A row on which Kong's plugin migration itself raises a Lua error, so `kong migrations up` /
/// `finish` fails instead of rewriting it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// pgmoon's `cjson.decode` (or `cjson.encode`) refuses the nesting. pgmoon decodes the config
    /// of **every** plugins row (`SELECT id, name, config FROM plugins`), before filtering on the
    /// plugin name, so one such row anywhere fails the http-log, pre-function and post-function
    /// migrations.
    #[error(
        "a plugins.config value nests {depth} arrays/objects deep; lua-cjson (used by pgmoon, \
         limit {CJSON_MAX_DEPTH}) raises `Found too many nested data structures`, so Kong's \
         plugin migrations that read the plugins table fail. Flatten or remove that config \
         before upgrading."
    )]
    TooDeep {
        /// The nesting depth found (the top-level array/object counts as 1).
        depth: usize,
    },
    /// lua-cjson refuses to encode a Lua array with too many holes (`encode_sparse_array`
    /// defaults: more than 10 slots and more than twice as many slots as values).
    #[error(
        "lua-cjson raises `Cannot serialise table: excessively sparse array` while re-encoding \
         this plugin config ({detail}), so Kong's migration fails on it"
    )]
    ExcessivelySparseArray {
        /// Where the array is.
        detail: String,
    },
    /// The migration's Lua code raises on the value (message as LuaJIT words it, minus the
    /// `file:line:` prefix).
    #[error(
        "Kong's {migration} migration raises a Lua error on this plugin config: {message}; \
         `kong migrations` fails on it. Fix the row's config before upgrading."
    )]
    Lua {
        /// Which migration step.
        migration: &'static str,
        /// LuaJIT's error message.
        message: String,
    },
}
