//! The plugin config rewrites of Kong's 2.8 → 3.x migrations: pre-/post-function
//! `001_280_to_300` (`functions` → `access`, then removed) and http-log `001_280_to_300` (header
//! arrays joined), each followed by pgmoon's cjson re-encode. Pure functions: no database, no I/O.

use serde_json::{Map, Value};

use super::cjson::{cjson_decode_check, cjson_roundtrip, lua_number_to_string};
use super::TransformError;

// ---------------------------------------------------------------------------------------------
// pre-function / post-function 001_280_to_300
// ---------------------------------------------------------------------------------------------

/// LuaJIT's type name of a decoded JSON value, for error messages (`null` is cjson's
/// lightuserdata).
fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "userdata",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "table",
    }
}

/// `config.functions and #config.functions > 0` from
/// `kong/plugins/pre-function/migrations/_001_280_to_300.lua`, with Lua's semantics:
/// - `config` must be indexable: a table (object or array) or a string (strings index the `string`
///   library, so `("x").functions` is nil); anything else raises "attempt to index";
/// - a missing key or `false` is falsy; JSON `null` is cjson's lightuserdata, truthy, and `#` on it
///   raises;
/// - `#` of a non-empty array is its length; of an object (decoded keys are strings) it is 0; of a
///   string its byte length; of a number/boolean it raises.
fn functions_nonempty(config: &Value, migration: &'static str) -> Result<bool, TransformError> {
    let functions = match config {
        Value::Object(o) => o.get("functions"),
        Value::Array(_) | Value::String(_) => None,
        other => {
            return Err(TransformError::Lua {
                migration,
                message: format!(
                    "attempt to index local 'config' (a {} value)",
                    lua_type(other)
                ),
            })
        }
    };
    match functions {
        None | Some(Value::Bool(false)) => Ok(false),
        Some(Value::Array(a)) => Ok(!a.is_empty()),
        Some(Value::Object(_)) => Ok(false),
        Some(Value::String(s)) => Ok(!s.is_empty()),
        Some(other) => Err(TransformError::Lua {
            migration,
            message: format!(
                "attempt to get length of field 'functions' (a {} value)",
                lua_type(other)
            ),
        }),
    }
}

/// pre-function / post-function `001_280_to_300` `up_f`
/// (`kong/plugins/pre-function/migrations/_001_280_to_300.lua`, run at `kong migrations up`) on
/// one row's config: if `config.functions` is non-empty it is copied to `config.access`,
/// **overwriting** whatever `access` held. The fixup returns `true` unconditionally, so
/// `fixup_plugin_config` (`operations/200_to_210.lua`) rewrites **every** row of the plugin and the
/// result is always the cjson-re-encoded config ([`cjson_roundtrip`]), changed or not.
/// `functions` itself stays, so 2.8 nodes keep working until `finish`.
///
/// On a config Kong's Lua would raise on (see [`pre_post_function_up_checked`]) this returns the
/// config untouched, because the real migration fails there instead of writing the row.
pub fn pre_post_function_up(config: &Value) -> Value {
    pre_post_function_up_checked(config).unwrap_or_else(|_| config.clone())
}

/// [`pre_post_function_up`], with the errors the real migration would raise: nesting beyond the
/// cjson limit, a `config` that cannot be indexed (JSON `null`, number, boolean, SQL NULL), or a
/// `functions` value `#` cannot measure (`null`, number, `true`).
pub fn pre_post_function_up_checked(config: &Value) -> Result<Value, TransformError> {
    const STEP: &str = "pre-function/post-function 001_280_to_300 up";
    cjson_decode_check(config)?;
    let mut config = config.clone();
    if functions_nonempty(&config, STEP)? {
        if let Value::Object(o) = &mut config {
            let functions = o.get("functions").cloned().unwrap_or(Value::Null);
            o.insert("access".to_string(), functions);
        }
    }
    Ok(cjson_roundtrip(&config))
}

/// pre-function / post-function `001_280_to_300` teardown
/// (`kong/plugins/pre-function/migrations/_001_280_to_300.lua`, run at `kong migrations finish`)
/// on one row's config (normally the output of [`pre_post_function_up`]): if `config.functions` is
/// non-empty the key is removed; the row is rewritten either way. A `functions` that was `[]` in
/// 2.8 was already turned into `{}` by `up_f`'s re-encode, `#{}` is 0, so it is *not* removed: the
/// residual `"functions": {}` stays in the row (3.4 drops the unknown key when it reads the
/// entity). Same error convention as [`pre_post_function_up`].
pub fn pre_post_function_teardown(config: &Value) -> Value {
    pre_post_function_teardown_checked(config).unwrap_or_else(|_| config.clone())
}

/// [`pre_post_function_teardown`] with the errors the real migration would raise (same cases as
/// [`pre_post_function_up_checked`]).
pub fn pre_post_function_teardown_checked(config: &Value) -> Result<Value, TransformError> {
    const STEP: &str = "pre-function/post-function 001_280_to_300 teardown";
    cjson_decode_check(config)?;
    let mut config = config.clone();
    if functions_nonempty(&config, STEP)? {
        if let Value::Object(o) = &mut config {
            o.remove("functions");
        }
    }
    Ok(cjson_roundtrip(&config))
}

// ---------------------------------------------------------------------------------------------
// http-log 001_280_to_300
// ---------------------------------------------------------------------------------------------

/// What the http-log fixup does with one header value: `None` = leave it, `Some(None)` = remove it
/// (`headers[name] = nil`), `Some(Some(s))` = replace it with the joined string.
fn http_log_header_value(v: &Value, name: &str) -> Result<Option<Option<Value>>, TransformError> {
    match v {
        // `type(value_array) == "table"` and `not next(value_array)`: empty array or object.
        Value::Array(a) if a.is_empty() => Ok(Some(None)),
        Value::Object(o) if o.is_empty() => Ok(Some(None)),
        // `table.concat(value_array, ", ")`: strings as they are, numbers via `%.14g`, anything
        // else raises (LuaJIT's wording, checked under LuaJIT 2.1).
        Value::Array(a) => {
            let mut parts = Vec::with_capacity(a.len());
            for (i, e) in a.iter().enumerate() {
                match e {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Number(n) => {
                        let x = n
                            .as_u64()
                            .map(|u| u as f64)
                            .or_else(|| n.as_i64().map(|i| i as f64))
                            .or_else(|| n.as_f64())
                            .unwrap_or(0.0);
                        parts.push(lua_number_to_string(x));
                    }
                    other => {
                        return Err(TransformError::Lua {
                            migration: "http-log 001_280_to_300 teardown",
                            message: format!(
                                "invalid value ({}) at index {} in table for 'concat' \
                                 (header {name:?})",
                                lua_type(other),
                                i + 1
                            ),
                        })
                    }
                }
            }
            Ok(Some(Some(Value::String(parts.join(", ")))))
        }
        // A non-empty object: `#t` is 0 (its keys are strings), so `table.concat` gives "".
        // Reasoned from Lua semantics, checked under LuaJIT; the 2.8 schema never stores this.
        Value::Object(_) => Ok(Some(Some(Value::String(String::new())))),
        // Strings (already migrated: the fixup is reentrant), null, numbers, booleans: untouched.
        _ => Ok(None),
    }
}

/// http-log `001_280_to_300` teardown (`kong/plugins/http-log/migrations/001_280_to_300.lua`, run
/// at `kong migrations finish`, through `fixup_plugin_config` of `operations/280_to_300.lua`) on
/// one row's config: `Some(new config)` only when Kong rewrites the row, i.e. when some header
/// value was a table:
/// - an array of values becomes one string joined with `", "` (what 2.8 sent on the wire);
/// - an empty array deletes the header (2.8 did not send it);
/// - when headers changed and none remain, `headers` becomes JSON `null`.
///
/// String values are left alone (the fixup is reentrant), and a row with nothing to change is not
/// rewritten, so its `[]`s and numbers keep their 2.8 form. A rewritten row goes through
/// [`cjson_roundtrip`] as a whole. On a config Kong's Lua would raise on (see
/// [`http_log_headers_checked`]) this returns `None`: the migration fails rather than writing it.
pub fn http_log_headers(config: &Value) -> Option<Value> {
    http_log_headers_checked(config).ok().flatten()
}

/// [`http_log_headers`] with the errors the real teardown would raise: nesting beyond the cjson
/// limit, a header array holding something other than strings and numbers (`table.concat`
/// raises), or (headers stored as a JSON array, never produced by the 2.8 schema) an excessively
/// sparse array left after removing empty entries.
pub fn http_log_headers_checked(config: &Value) -> Result<Option<Value>, TransformError> {
    cjson_decode_check(config)?;
    // `type(config) == "table"`, then `type(config.headers) == "table"`; an array config has no
    // "headers" field.
    let Value::Object(cfg) = config else {
        return Ok(None);
    };
    let mut cfg = cfg.clone();
    let new_headers = match cfg.get("headers") {
        Some(Value::Object(headers)) => {
            let mut updated = false;
            let mut out = Map::new();
            for (name, v) in headers {
                match http_log_header_value(v, name)? {
                    None => {
                        out.insert(name.clone(), v.clone());
                    }
                    Some(None) => updated = true,
                    Some(Some(s)) => {
                        updated = true;
                        out.insert(name.clone(), s);
                    }
                }
            }
            if !updated {
                return Ok(None);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Some(Value::Array(headers)) => {
            // `pairs` over a Lua array: same rules per index; removed entries leave holes, which
            // lua-cjson encodes as `null` up to the highest remaining index, or refuses when the
            // array is excessively sparse. Reasoned from lua_cjson.c `lua_array_length` and
            // checked with lua-cjson 2.1.0.10.
            let mut updated = false;
            let mut slots: Vec<Option<Value>> = Vec::with_capacity(headers.len());
            for (i, v) in headers.iter().enumerate() {
                match http_log_header_value(v, &(i + 1).to_string())? {
                    None => slots.push(Some(v.clone())),
                    Some(None) => {
                        updated = true;
                        slots.push(None);
                    }
                    Some(Some(s)) => {
                        updated = true;
                        slots.push(Some(s));
                    }
                }
            }
            if !updated {
                return Ok(None);
            }
            while matches!(slots.last(), Some(None)) {
                slots.pop();
            }
            let items = slots.iter().filter(|s| s.is_some()).count();
            let max = slots.len();
            if items == 0 {
                Value::Null
            } else if max > items * 2 && max > 10 {
                return Err(TransformError::ExcessivelySparseArray {
                    detail: format!("config.headers has {items} values over {max} slots"),
                });
            } else {
                Value::Array(
                    slots
                        .into_iter()
                        .map(|s| s.unwrap_or(Value::Null))
                        .collect(),
                )
            }
        }
        _ => return Ok(None),
    };
    cfg.insert("headers".to_string(), new_headers);
    Ok(Some(cjson_roundtrip(&Value::Object(cfg))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::transforms::quirks::*;
    use serde_json::json;

    #[test]
    fn pre_post_function_up_copies_functions() {
        let before = json!({
            "functions": ["return 1"], "access": ["old()"], "log": [],
            "certificate": [], "rewrite": [], "header_filter": [], "body_filter": []
        });
        let up = pre_post_function_up(&before);
        assert_eq!(
            up,
            json!({
                "functions": ["return 1"], "access": ["return 1"], "log": {},
                "certificate": {}, "rewrite": {}, "header_filter": {}, "body_filter": {}
            })
        );
        assert_eq!(
            quirks(&before, &up),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
                QUIRK_ACCESS_OVERWRITTEN
            ]
        );
        let down = pre_post_function_teardown(&up);
        assert_eq!(
            down,
            json!({
                "access": ["return 1"], "log": {},
                "certificate": {}, "rewrite": {}, "header_filter": {}, "body_filter": {}
            })
        );
        assert_eq!(
            quirks(&before, &down),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
                QUIRK_ACCESS_OVERWRITTEN,
                QUIRK_FUNCTIONS_REMOVED
            ]
        );
        // No prior access: copied, nothing overwritten.
        let b = json!({"functions": ["f()"]});
        let u = pre_post_function_up(&b);
        assert_eq!(u, json!({"functions": ["f()"], "access": ["f()"]}));
        assert_eq!(quirks(&b, &u), vec![QUIRK_FUNCTIONS_COPIED_TO_ACCESS]);
    }

    /// The 2.8 default `functions: []`: `access` is left alone, the row is still rewritten, and
    /// the residual `functions: {}` survives the teardown.
    #[test]
    fn pre_post_function_empty_functions_residue() {
        let before = json!({"functions": [], "access": ["a()"], "log": []});
        let up = pre_post_function_up(&before);
        assert_eq!(up, json!({"functions": {}, "access": ["a()"], "log": {}}));
        let down = pre_post_function_teardown(&up);
        assert_eq!(down, json!({"functions": {}, "access": ["a()"], "log": {}}));
        assert_eq!(
            quirks(&before, &down),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_RESIDUAL_EMPTY_FUNCTIONS
            ]
        );
        // Every row is rewritten: even an untouched config comes back re-encoded.
        let n = json!({"access": ["x = 123456789012345678"], "n": 123456789012345678u64});
        let up = pre_post_function_up(&n);
        assert_eq!(
            up,
            json!({"access": ["x = 123456789012345678"], "n": 123456789012350000u64})
        );
        assert_eq!(quirks(&n, &up), vec![QUIRK_NUMBER_ROUNDED]);
        assert_eq!(pre_post_function_teardown(&up), up);
    }

    /// Reasoned from Lua semantics and checked under LuaJIT: what `config.functions and
    /// #config.functions > 0` does with odd values.
    #[test]
    fn pre_post_function_lua_semantics() {
        // A string has a length: copied.
        assert_eq!(
            pre_post_function_up(&json!({"functions": "abc"})),
            json!({"functions": "abc", "access": "abc"})
        );
        assert_eq!(
            pre_post_function_teardown(&json!({"functions": "abc"})),
            json!({})
        );
        // An object has length 0: not copied, not removed.
        assert_eq!(
            pre_post_function_up(&json!({"functions": {"a": "b"}})),
            json!({"functions": {"a": "b"}})
        );
        assert_eq!(
            pre_post_function_up(&json!({"functions": false})),
            json!({"functions": false})
        );
        // A string or array config passes through.
        assert_eq!(pre_post_function_up(&json!("s")), json!("s"));
        assert_eq!(pre_post_function_up(&json!([[]])), json!([{}]));
        // Lua errors: the migration fails, the unchecked variant leaves the row alone.
        for (cfg, msg) in [
            (
                json!({"functions": null}),
                "attempt to get length of field 'functions' (a userdata value)",
            ),
            (
                json!({"functions": 5}),
                "attempt to get length of field 'functions' (a number value)",
            ),
            (
                json!({"functions": true}),
                "attempt to get length of field 'functions' (a boolean value)",
            ),
            (
                json!(null),
                "attempt to index local 'config' (a userdata value)",
            ),
            (json!(5), "attempt to index local 'config' (a number value)"),
        ] {
            match pre_post_function_up_checked(&cfg) {
                Err(TransformError::Lua { message, .. }) => assert_eq!(message, msg),
                other => panic!("{cfg}: {other:?}"),
            }
            assert!(pre_post_function_teardown_checked(&cfg).is_err());
            assert_eq!(pre_post_function_up(&cfg), cfg);
        }
    }

    #[test]
    fn http_log_headers_joined_and_removed() {
        let before = json!({
            "http_endpoint": "http://x/", "timeout": 10000,
            "headers": {"X-A": ["a", "b"], "X-B": [], "X-C": ["c"], "X-D": "d"},
            "custom_fields_by_lua": []
        });
        let after = http_log_headers(&before).expect("rewritten");
        assert_eq!(
            after,
            json!({
                "http_endpoint": "http://x/", "timeout": 10000,
                "headers": {"X-A": "a, b", "X-C": "c", "X-D": "d"},
                "custom_fields_by_lua": {}
            })
        );
        assert_eq!(
            quirks(&before, &after),
            vec![
                QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
                QUIRK_HEADER_VALUES_JOINED,
                QUIRK_EMPTY_HEADER_REMOVED
            ]
        );
        // Reentrant: a second run changes nothing.
        assert_eq!(http_log_headers(&after), None);
    }

    #[test]
    fn http_log_no_headers_left_is_null() {
        let before = json!({"headers": {"X-B": []}, "n": 0.30000000000000004});
        let after = http_log_headers(&before).expect("rewritten");
        assert_eq!(after, json!({"headers": null, "n": 0.3}));
        assert_eq!(
            quirks(&before, &after),
            vec![
                QUIRK_NUMBER_ROUNDED,
                QUIRK_EMPTY_HEADER_REMOVED,
                QUIRK_HEADERS_BECAME_NULL
            ]
        );
    }

    #[test]
    fn http_log_untouched_rows() {
        for cfg in [
            json!({"headers": {"X": "v"}, "keep": []}),
            json!({"headers": null, "keep": []}),
            json!({"headers": {}}),
            json!({"headers": []}),
            json!({"headers": "x"}),
            json!({"http_endpoint": "http://x/"}),
            json!([1]),
            json!(null),
            json!("s"),
        ] {
            assert_eq!(http_log_headers(&cfg), None, "{cfg}");
            assert_eq!(http_log_headers_checked(&cfg), Ok(None), "{cfg}");
        }
    }

    /// Reasoned from Lua semantics and checked under LuaJIT + lua-cjson 2.1.0.10.
    #[test]
    fn http_log_lua_semantics() {
        // Numbers are joined with %.14g; an empty object counts as empty; a non-empty object
        // concatenates to "".
        assert_eq!(
            http_log_headers(&json!({"headers": {
                "N": [1, 0.1, 123456789012345678u64], "E": {}, "O": {"k": "v"}
            }})),
            Some(json!({"headers": {"N": "1, 0.1, 1.2345678901235e+17", "O": ""}}))
        );
        // table.concat raises on tables, booleans and null.
        match http_log_headers_checked(&json!({"headers": {"X": ["a", true]}})) {
            Err(TransformError::Lua { message, .. }) => {
                assert!(
                    message.starts_with("invalid value (boolean) at index 2"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(http_log_headers_checked(&json!({"headers": {"X": [null]}})).is_err());
        assert!(http_log_headers_checked(&json!({"headers": {"X": [["a"]]}})).is_err());
        assert_eq!(http_log_headers(&json!({"headers": {"X": [null]}})), None);
        // headers stored as an array (never by the 2.8 schema): holes encode as null, trailing
        // holes vanish, an empty result is null, an excessively sparse one raises.
        assert_eq!(
            http_log_headers(&json!({"headers": [[], ["x"], []]})),
            Some(json!({"headers": [null, "x"]}))
        );
        assert_eq!(
            http_log_headers(&json!({"headers": [[]]})),
            Some(json!({"headers": null}))
        );
        let mut sparse = vec![json!([]); 11];
        sparse.push(json!(["x"]));
        assert!(matches!(
            http_log_headers_checked(&json!({ "headers": sparse })),
            Err(TransformError::ExcessivelySparseArray { .. })
        ));
        let mut ok = vec![json!([]); 6];
        ok.extend(vec![json!(["x"]); 6]);
        let got = http_log_headers(&json!({ "headers": ok })).unwrap();
        assert_eq!(got["headers"].as_array().unwrap().len(), 12);
        assert_eq!(got["headers"][0], Value::Null);
        assert_eq!(got["headers"][6], json!("x"));
    }
}
