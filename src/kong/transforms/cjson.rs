//! lua-cjson 2.1.0.10 decode + encode as pgmoon runs it, number formatting (`%.14g`, glibc and
//! LuaJIT tie rules), and what PostgreSQL's `jsonb` keeps of the result. Pure functions: no
//! database, no I/O, no knowledge of any plugin.

use serde_json::{Map, Value};

use super::TransformError;

/// lua-cjson's `decode_max_depth` and `encode_max_depth` default: nesting arrays/objects deeper
/// than this raises `Found too many nested data structures (1001)` (checked with lua-cjson
/// 2.1.0.10: 1000 levels decode, 1001 fail).
pub const CJSON_MAX_DEPTH: usize = 1000;

/// Nesting depth of arrays/objects as lua-cjson counts it (scalars 0, `[]`/`{}` 1).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether pgmoon's `cjson.decode` accepts this stored config: `Err` when it nests deeper than
/// [`CJSON_MAX_DEPTH`]. Applies to every plugins row, whatever the plugin (see
/// [`TransformError::TooDeep`]).
pub fn cjson_decode_check(v: &Value) -> Result<(), TransformError> {
    let d = depth(v);
    if d > CJSON_MAX_DEPTH {
        return Err(TransformError::TooDeep { depth: d });
    }
    Ok(())
}

/// How a 14-significant-digit formatter breaks exact ties (the double's exact decimal expansion is
/// `…d14 5000…`): glibc `printf` (used by lua-cjson) rounds them to even, LuaJIT's own formatter
/// (`lj_strfmt_num.c`, used by `tostring`/`..`/`table.concat`) adds 5 at the 15th digit and
/// truncates, i.e. rounds them away from zero. Found by running both on 176 000 doubles (lua-cjson
/// 2.1.0.10, LuaJIT 2.1; openresty/luajit2 v2.1-20220411, the one in OpenResty 1.21.4.1, has the
/// same `nd_add_m10e(nd, ndhi, 5, …)` rounding): e.g. `2629135684.28125` is `2629135684.2812` in
/// JSON but `2629135684.2813` in a Lua string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ties {
    Even,
    AwayFromZero,
}

/// Digits and decimal exponent of `|x|` rounded to 14 significant digits: the value is
/// `d1.d2d3… × 10^exp`, trailing zeros removed. Rust's `{:e}` formatting is exact and rounds ties
/// to even, like glibc. `None` for zero and non-finite values.
fn round14(x: f64, ties: Ties) -> Option<(Vec<u8>, i32)> {
    if x == 0.0 || !x.is_finite() {
        return None;
    }
    let x = x.abs();
    let s = format!("{x:.13e}");
    let (mant, exp) = s.split_once('e')?;
    let mut exp: i32 = exp.parse().ok()?;
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    if ties == Ties::AwayFromZero {
        // A double has at most 767 significant decimal digits, so 800 shows the exact expansion.
        let exact = format!("{x:.800e}");
        let (emant, eexp) = exact.split_once('e')?;
        let edigits: Vec<u8> = emant.bytes().filter(u8::is_ascii_digit).collect();
        let tie = edigits.get(14) == Some(&b'5') && edigits[15..].iter().all(|&d| d == b'0');
        if tie {
            // Truncate to 14 digits and add one unit in the last place.
            let mut up = edigits[..14].to_vec();
            exp = eexp.parse().ok()?;
            let mut i = up.len();
            loop {
                if i == 0 {
                    up.insert(0, b'1');
                    up.pop();
                    exp += 1;
                    break;
                }
                i -= 1;
                if up[i] == b'9' {
                    up[i] = b'0';
                } else {
                    up[i] += 1;
                    break;
                }
            }
            digits = up;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Some((digits, exp))
}

/// `%.14g` text of `x` with the given tie rule.
fn format_g14(x: f64, ties: Ties) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let Some((digits, exp)) = round14(x, ties) else {
        return format!("{sign}0");
    };
    let digits = String::from_utf8(digits).unwrap_or_default();
    if !(-4..14).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{head}{frac}e{esign}{:02}", exp.unsigned_abs())
    } else {
        format!("{sign}{}", plain_decimal(&digits, exp))
    }
}

/// How lua-cjson encodes a number (`encode_number_precision` 14: `fpconv_g_fmt` = glibc
/// `snprintf("%.14g")`). Examples (checked against lua-cjson 2.1.0.10):
/// `123456789012345678` → `1.2345678901235e+17`, `1e14` → `1e+14`, `2^53` → `9.007199254741e+15`,
/// `0.1` → `0.1`, `3.0` → `3`, `-0.0` → `-0`, `1e-5` → `1e-05`, `10000000000000.5` →
/// `10000000000000` (an exact tie, rounded to even). lua-cjson refuses NaN and infinities (they
/// print here as `nan`/`inf`, but no `serde_json` number is one).
pub fn cjson_number_to_string(x: f64) -> String {
    format_g14(x, Ties::Even)
}

/// How LuaJIT turns a number into a string (`tostring`, `..`, `table.concat`): `%.14g` by
/// LuaJIT's own formatter, which equals [`cjson_number_to_string`] except that exact ties round
/// away from zero (`10000000000000.5` → `10000000000001`, `123456789012345` →
/// `1.2345678901235e+14`, `2629135684.28125` → `2629135684.2813`). Checked against LuaJIT 2.1 on
/// 176 000 doubles. Used for the numbers `table.concat` joins in http-log's header fixup.
pub fn lua_number_to_string(x: f64) -> String {
    format_g14(x, Ties::AwayFromZero)
}

/// `d1.d2d3… × 10^exp` written out without an exponent, no trailing zeros in the fraction.
fn plain_decimal(digits: &str, exp: i32) -> String {
    let n = digits.len() as i64;
    let e = i64::from(exp);
    if e >= 0 {
        if n <= e + 1 {
            format!("{digits}{}", "0".repeat((e + 1 - n) as usize))
        } else {
            let (i, f) = digits.split_at((e + 1) as usize);
            format!("{i}.{f}")
        }
    } else {
        format!("0.{}{digits}", "0".repeat((-e - 1) as usize))
    }
}

/// One number through cjson and back out of PostgreSQL: cjson decodes to a double (`strtod`),
/// encodes it with `%.14g`, PostgreSQL parses that text as `numeric` (exact, `-0` becomes `0`, an
/// exponent is expanded: `1.2345678901235e+17` is stored and printed as `123456789012350000`,
/// checked on PostgreSQL 15), and the crate reads `jsonb` back through `serde_json`. So the result
/// is `serde_json`'s parse of the plain decimal text PostgreSQL prints, i.e. the same
/// `serde_json::Number` a read of the migrated row gives.
fn cjson_number(n: &serde_json::Number) -> Value {
    // serde_json keeps integers exactly; `as f64` rounds to nearest like strtod does on the text.
    let x = if let Some(u) = n.as_u64() {
        u as f64
    } else if let Some(i) = n.as_i64() {
        i as f64
    } else {
        n.as_f64().unwrap_or(0.0)
    };
    let text = match round14(x, Ties::Even) {
        None => "0".to_string(),
        Some((digits, exp)) => {
            let digits = String::from_utf8(digits).unwrap_or_default();
            let sign = if x < 0.0 { "-" } else { "" };
            format!("{sign}{}", plain_decimal(&digits, exp))
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|_| {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    })
}

/// The JSON document as it comes out of pgmoon's `cjson.decode` + `cjson.encode` and back out of
/// PostgreSQL `jsonb`, i.e. what a row rewritten by `fixup_plugin_config`
/// (`kong/db/migrations/operations/280_to_300.lua`, `…/200_to_210.lua`) holds afterwards:
///
/// - every empty array `[]`, at any depth, becomes `{}` (decoded without the array metatable, an
///   empty Lua table encodes as an object); non-empty arrays stay arrays;
/// - every number goes through `%.14g` ([`cjson_number_to_string`]) and `numeric`:
///   `123456789012345678` → `123456789012350000`, `0.30000000000000004` → `0.3`, `1.0` → `1`;
/// - strings, booleans, `null` and object keys come back unchanged (cjson escapes `/` and U+007F on
///   the way out, which `jsonb` undoes; key order is `jsonb`'s own either way).
///
/// Does not check the nesting limit; see [`cjson_roundtrip_checked`].
pub fn cjson_roundtrip(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        Value::Array(a) => Value::Array(a.iter().map(cjson_roundtrip).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), cjson_roundtrip(v)))
                .collect(),
        ),
        Value::Number(n) => cjson_number(n),
        other => other.clone(),
    }
}

/// [`cjson_roundtrip`], failing where lua-cjson would (nesting deeper than [`CJSON_MAX_DEPTH`]).
/// Numbers `serde_json` can hold are always finite, so cjson's "must not be NaN or Infinity" cannot
/// happen here (a `jsonb` number beyond ±1.8e308 already fails to parse into a
/// `serde_json::Value`).
pub fn cjson_roundtrip_checked(v: &Value) -> Result<Value, TransformError> {
    cjson_decode_check(v)?;
    Ok(cjson_roundtrip(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::transforms::{
        http_log_headers_checked, pre_post_function_up_checked, quirks,
        QUIRK_EMPTY_ARRAY_BECAME_OBJECT,
    };
    use serde_json::json;

    /// `%.14g`, checked against lua-cjson 2.1.0.10 (`cjson.encode`) and LuaJIT 2.1 (`tostring`).
    #[test]
    fn number_formatting() {
        // (x, cjson.encode, tostring)
        for (x, cj, lj) in [
            (
                123456789012345678.0,
                "1.2345678901235e+17",
                "1.2345678901235e+17",
            ),
            (0.1, "0.1", "0.1"),
            (3.0, "3", "3"),
            (-3.0, "-3", "-3"),
            (1e14, "1e+14", "1e+14"),
            (1e15, "1e+15", "1e+15"),
            (99999999999999.0, "99999999999999", "99999999999999"),
            (99999999999999.5, "1e+14", "1e+14"),
            (100000000000000.5, "1e+14", "1e+14"),
            (
                9007199254740992.0,
                "9.007199254741e+15",
                "9.007199254741e+15",
            ),
            (-0.0, "-0", "-0"),
            (0.0, "0", "0"),
            (1e-5, "1e-05", "1e-05"),
            (0.0001, "0.0001", "0.0001"),
            (-1.23456e-5, "-1.23456e-05", "-1.23456e-05"),
            (0.1 + 0.2, "0.3", "0.3"),
            (1.0 / 3.0, "0.33333333333333", "0.33333333333333"),
            (1e300, "1e+300", "1e+300"),
            (-2.5, "-2.5", "-2.5"),
            (1234.5678, "1234.5678", "1234.5678"),
            (5e-324, "4.9406564584125e-324", "4.9406564584125e-324"),
            (f64::MAX, "1.7976931348623e+308", "1.7976931348623e+308"),
            // Exact ties: glibc rounds to even, LuaJIT away from zero.
            (10000000000000.5, "10000000000000", "10000000000001"),
            (-10000000000000.5, "-10000000000000", "-10000000000001"),
            (10000000000001.5, "10000000000002", "10000000000002"),
            (
                123456789012345.0,
                "1.2345678901234e+14",
                "1.2345678901235e+14",
            ),
            (2629135684.28125, "2629135684.2812", "2629135684.2813"),
        ] {
            assert_eq!(cjson_number_to_string(x), cj, "cjson {x:e}");
            assert_eq!(lua_number_to_string(x), lj, "lua {x:e}");
        }
    }

    /// Numbers after cjson + PostgreSQL numeric, as serde_json reads them back.
    #[test]
    fn cjson_numbers() {
        let r = |v: Value| cjson_roundtrip(&v);
        assert_eq!(
            r(json!(123456789012345678u64)),
            json!(123456789012350000u64)
        );
        assert_eq!(
            r(json!(-123456789012345678i64)),
            json!(-123456789012350000i64)
        );
        assert_eq!(r(json!(0.1)), json!(0.1));
        assert_eq!(r(json!(3)), json!(3));
        assert_eq!(r(json!(3.0)), json!(3));
        assert_eq!(r(json!(-7)), json!(-7));
        assert_eq!(r(json!(-2.5)), json!(-2.5));
        // 1e14 prints as "1e+14", PostgreSQL stores 100000000000000.
        assert_eq!(r(json!(100000000000000u64)), json!(100000000000000u64));
        assert_eq!(r(json!(1e14)), json!(100000000000000u64));
        assert_eq!(r(json!(100000000000000.5)), json!(100000000000000u64));
        assert_eq!(r(json!(123456789012345u64)), json!(123456789012340u64));
        assert_eq!(r(json!(9007199254740993u64)), json!(9007199254741000u64));
        assert_eq!(r(json!(0.1 + 0.2)), json!(0.3));
        assert_eq!(r(json!(-0.0)), json!(0));
        assert_eq!(r(json!(1e-5)), json!(0.00001));
        // Beyond u64: PostgreSQL prints all digits and serde_json reads an f64.
        assert_eq!(r(json!(1e20)), json!(1e20));
        // What PostgreSQL prints, parsed the way the crate parses it (serde_json's default float
        // parsing is not always correctly rounded: this gives 1.8446744073710002e19, not the
        // double nearest to 1.844674407371e19).
        assert_eq!(
            r(json!(u64::MAX)),
            serde_json::from_str::<Value>("18446744073710000000").unwrap()
        );
        assert_eq!(
            r(json!(i64::MIN)),
            serde_json::from_str::<Value>("-9223372036854800000").unwrap()
        );
    }

    #[test]
    fn cjson_structure() {
        let before = json!({
            "a": [], "b": {}, "c": [[], [1, null, {}], "x"], "d": "a/b\u{7f}é",
            "e": null, "f": true, "g": {"h": []}
        });
        let after = cjson_roundtrip(&before);
        assert_eq!(
            after,
            json!({
                "a": {}, "b": {}, "c": [{}, [1, null, {}], "x"], "d": "a/b\u{7f}é",
                "e": null, "f": true, "g": {"h": {}}
            })
        );
        assert_eq!(
            quirks(&before, &after),
            vec![QUIRK_EMPTY_ARRAY_BECAME_OBJECT]
        );
        assert_eq!(cjson_roundtrip(&json!([])), json!({}));
        assert_eq!(cjson_roundtrip(&json!("s")), json!("s"));
        assert_eq!(cjson_roundtrip(&Value::Null), Value::Null);
    }

    fn nested(n: usize) -> Value {
        let mut v = json!([]);
        for _ in 1..n {
            v = json!([v]);
        }
        v
    }

    #[test]
    fn cjson_depth_limit() {
        assert!(cjson_roundtrip_checked(&nested(1000)).is_ok());
        assert_eq!(
            cjson_roundtrip_checked(&nested(1001)),
            Err(TransformError::TooDeep { depth: 1001 })
        );
        assert!(cjson_decode_check(&json!({"a": nested(999)})).is_ok());
        assert!(cjson_decode_check(&json!({"a": nested(1000)})).is_err());
        assert!(pre_post_function_up_checked(&json!({"a": nested(1000)})).is_err());
        assert!(http_log_headers_checked(&json!({"a": nested(1000)})).is_err());
    }
}
