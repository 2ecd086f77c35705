//! The names the report gives to what Kong's config rewrites did to a row (an `[]` turned `{}`,
//! a number rounded, `functions` copied to `access`, …), found by comparing before and after.
//! Only compares values: it computes no rewrite of its own beyond cjson's re-encode.

use serde_json::Value;

use super::cjson::cjson_roundtrip;

/// An empty JSON array came back as `{}` (lua-cjson without the array metatable).
pub const QUIRK_EMPTY_ARRAY_BECAME_OBJECT: &str = "empty_array_became_object";
/// A number lost digits in `%.14g` (e.g. `123456789012345678` → `123456789012350000`).
pub const QUIRK_NUMBER_ROUNDED: &str = "number_rounded_to_14_digits";
/// A number kept its value but not its JSON text (e.g. `1.0` → `1`, `1.50` → `1.5`).
pub const QUIRK_NUMBER_REFORMATTED: &str = "number_reformatted";
/// The config keeps `"functions": {}`, which pre/post-function's teardown does not remove.
pub const QUIRK_RESIDUAL_EMPTY_FUNCTIONS: &str = "residual_empty_functions_key";
/// pre/post-function `up_f` copied `functions` into `access`.
pub const QUIRK_FUNCTIONS_COPIED_TO_ACCESS: &str = "functions_copied_to_access";
/// pre/post-function `up_f` replaced a non-empty `access` with `functions` (the old code is lost).
pub const QUIRK_ACCESS_OVERWRITTEN: &str = "access_overwritten_by_functions";
/// pre/post-function teardown removed `functions`.
pub const QUIRK_FUNCTIONS_REMOVED: &str = "functions_removed";
/// http-log: a header's array of values became one `", "`-joined string.
pub const QUIRK_HEADER_VALUES_JOINED: &str = "header_values_joined";
/// http-log: a header with an empty array of values was deleted.
pub const QUIRK_EMPTY_HEADER_REMOVED: &str = "empty_header_removed";
/// http-log: no header remained, so `headers` became `null`.
pub const QUIRK_HEADERS_BECAME_NULL: &str = "headers_became_null";
/// http-log: a header's value was a non-empty JSON object, and `table.concat` made it `""`.
pub const QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING: &str = "header_object_became_empty_string";

/// Every name [`quirks`] can return, in the order it reports them.
pub const ALL_QUIRKS: &[&str] = &[
    QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
    QUIRK_NUMBER_ROUNDED,
    QUIRK_NUMBER_REFORMATTED,
    QUIRK_RESIDUAL_EMPTY_FUNCTIONS,
    QUIRK_FUNCTIONS_COPIED_TO_ACCESS,
    QUIRK_ACCESS_OVERWRITTEN,
    QUIRK_FUNCTIONS_REMOVED,
    QUIRK_HEADER_VALUES_JOINED,
    QUIRK_EMPTY_HEADER_REMOVED,
    QUIRK_HEADERS_BECAME_NULL,
    QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING,
];

#[derive(Default)]
struct Found {
    empty_array: bool,
    rounded: bool,
    reformatted: bool,
}

fn int_value(n: &serde_json::Number) -> Option<i128> {
    n.as_u64()
        .map(i128::from)
        .or_else(|| n.as_i64().map(i128::from))
}

fn walk(before: &Value, after: &Value, found: &mut Found) {
    match (before, after) {
        (Value::Array(b), Value::Object(a)) if b.is_empty() && a.is_empty() => {
            found.empty_array = true;
        }
        (Value::Array(b), Value::Array(a)) => {
            for (x, y) in b.iter().zip(a) {
                walk(x, y, found);
            }
        }
        (Value::Object(b), Value::Object(a)) => {
            for (k, x) in b {
                if let Some(y) = a.get(k) {
                    walk(x, y, found);
                }
            }
        }
        (Value::Number(b), Value::Number(a)) if b != a => {
            let same = match (int_value(b), int_value(a)) {
                (Some(x), Some(y)) => x == y,
                _ => b.as_f64() == a.as_f64(),
            };
            if same {
                found.reformatted = true;
            } else {
                found.rounded = true;
            }
        }
        _ => {}
    }
}

/// Non-empty in the sense of `#v > 0` (array or string).
fn lua_nonempty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    }
}

/// Names of the quirks that fired between `before` (a stored value) and `after` (what one of the
/// functions above produced for it), for the report. Generic ones come from comparing the two
/// trees position by position (an `[]` now `{}`, a number whose value or text changed); the
/// plugin ones look at the top-level `functions`/`access` (pre/post-function) and `headers`
/// (http-log) keys. The order is [`ALL_QUIRKS`]'s; each name appears at most once.
pub fn quirks(before: &Value, after: &Value) -> Vec<&'static str> {
    let mut found = Found::default();
    walk(before, after, &mut found);
    let mut out = Vec::new();
    if found.empty_array {
        out.push(QUIRK_EMPTY_ARRAY_BECAME_OBJECT);
    }
    if found.rounded {
        out.push(QUIRK_NUMBER_ROUNDED);
    }
    if found.reformatted {
        out.push(QUIRK_NUMBER_REFORMATTED);
    }
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return out;
    };

    // pre-function / post-function
    if matches!(a.get("functions"), Some(Value::Object(o)) if o.is_empty()) {
        out.push(QUIRK_RESIDUAL_EMPTY_FUNCTIONS);
    }
    let before_functions = b.get("functions");
    let before_access = b.get("access").map(cjson_roundtrip);
    let after_access = a.get("access");
    if lua_nonempty(before_functions)
        && after_access.is_some()
        && after_access != before_access.as_ref()
        && after_access == before_functions.map(cjson_roundtrip).as_ref()
    {
        out.push(QUIRK_FUNCTIONS_COPIED_TO_ACCESS);
        if lua_nonempty(b.get("access")) {
            out.push(QUIRK_ACCESS_OVERWRITTEN);
        }
    }
    if lua_nonempty(before_functions) && !a.contains_key("functions") {
        out.push(QUIRK_FUNCTIONS_REMOVED);
    }

    // http-log
    if let Some(Value::Object(bh)) = b.get("headers") {
        let ah = a.get("headers");
        let (mut joined, mut removed, mut emptied) = (false, false, false);
        for (name, v) in bh {
            let now = match ah {
                Some(Value::Object(o)) => o.get(name),
                _ => None,
            };
            match (v, now) {
                (Value::Array(x), Some(Value::String(_))) if !x.is_empty() => joined = true,
                (Value::Object(x), Some(Value::String(s))) if !x.is_empty() && s.is_empty() => {
                    emptied = true
                }
                (Value::Array(x), None) if x.is_empty() => removed = true,
                (Value::Object(x), None) if x.is_empty() => removed = true,
                _ => {}
            }
        }
        if joined {
            out.push(QUIRK_HEADER_VALUES_JOINED);
        }
        if removed {
            out.push(QUIRK_EMPTY_HEADER_REMOVED);
        }
        if matches!(ah, Some(Value::Null)) {
            out.push(QUIRK_HEADERS_BECAME_NULL);
        }
        if emptied {
            out.push(QUIRK_HEADER_OBJECT_BECAME_EMPTY_STRING);
        }
    }
    out.sort_by_key(|q| ALL_QUIRKS.iter().position(|x| x == q));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quirks_on_numbers_and_identity() {
        let v = json!({"a": 1, "b": "s", "c": [1, 2]});
        assert!(quirks(&v, &cjson_roundtrip(&v)).is_empty());
        let f = json!({"x": 1.0, "y": 1.5});
        assert_eq!(
            quirks(&f, &cjson_roundtrip(&f)),
            vec![QUIRK_NUMBER_REFORMATTED]
        );
        let big = json!([100000000000000001u64]);
        assert_eq!(
            quirks(&big, &cjson_roundtrip(&big)),
            vec![QUIRK_NUMBER_ROUNDED]
        );
        for q in quirks(&f, &cjson_roundtrip(&f)) {
            assert!(ALL_QUIRKS.contains(&q));
        }
    }
}
