//! The Lua number emulation kong.conf needs: LuaJIT's `tonumber` on a string and its
//! `tostring` of a number (Penlight converts numeric-looking values and Kong turns them back
//! into strings), and C's whitespace class that both and Penlight use. Pure functions over
//! strings; nothing here knows a kong.conf key.

/// Lua's `%s` (C `isspace`), which is also LuaJIT's `lj_char_isspace` and PCRE's `\s`.
pub(crate) fn is_lua_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// LuaJIT's `tonumber(string)` (`lj_strscan_scan` with `STRSCAN_OPT_TONUM`): optional leading
/// whitespace and sign, `inf`/`infinity`/`nan`, decimal with fraction and exponent, `0x` hex
/// (with fraction and `p` exponent), `0b` binary, trailing whitespace; anything else is nil.
pub(crate) fn lua_tonumber(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let n = b.len();
    let at = |i: usize| if i < n { b[i] } else { 0 };
    let ci = |i: usize, word: &[u8]| word.iter().enumerate().all(|(k, c)| at(i + k) | 0x20 == *c);
    let mut p = 0;
    let mut neg = false;
    if !at(p).is_ascii_digit() {
        while is_lua_space(at(p)) {
            p += 1;
        }
        if at(p) == b'+' || at(p) == b'-' {
            neg = at(p) == b'-';
            p += 1;
        }
        if at(p) >= b'A' {
            let mut v = f64::NAN;
            if ci(p, b"inf") {
                v = if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                p += 3;
                if ci(p, b"inity") {
                    p += 5;
                }
            } else if ci(p, b"nan") {
                p += 3;
            }
            while is_lua_space(at(p)) {
                p += 1;
            }
            return if p < n { None } else { Some(v) };
        }
    }

    let mant_start = p;
    let mut base = 10;
    let mut dp: Option<usize> = None;
    let mut hasdig = false;
    if at(p) <= b'0' {
        if at(p) == b'0' {
            match at(p + 1) | 0x20 {
                b'x' => {
                    base = 16;
                    p += 2;
                }
                b'b' => {
                    base = 2;
                    p += 2;
                }
                _ => {}
            }
        }
        loop {
            match at(p) {
                b'0' => hasdig = true,
                b'.' => {
                    if dp.is_some() {
                        return None;
                    }
                    dp = Some(p);
                }
                _ => break,
            }
            p += 1;
        }
    }
    let digits_start = p;
    let mut dig = 0usize;
    loop {
        let c = at(p);
        let is_digit = if base == 16 {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        };
        if is_digit {
            dig += 1;
        } else if c == b'.' {
            if dp.is_some() {
                return None;
            }
            dp = Some(p);
        } else {
            break;
        }
        p += 1;
    }
    if !hasdig && dig == 0 {
        return None;
    }
    if dp.is_some() && base == 2 {
        return None;
    }
    let mant_end = p;
    let mut exp: i64 = 0;
    if base >= 10 && at(p) | 0x20 == if base == 16 { b'p' } else { b'e' } {
        p += 1;
        let mut negx = false;
        if at(p) == b'+' || at(p) == b'-' {
            negx = at(p) == b'-';
            p += 1;
        }
        if !at(p).is_ascii_digit() {
            return None;
        }
        let mut xx = u32::from(at(p) & 15);
        p += 1;
        while at(p).is_ascii_digit() {
            xx = xx * 10 + u32::from(at(p) & 15);
            if xx >= 1 << 20 {
                return None;
            }
            p += 1;
        }
        exp = if negx { -i64::from(xx) } else { i64::from(xx) };
    }
    // Any suffix (`i`, `u`, `ll`, …) is an error without the FFI options; whitespace is not.
    while is_lua_space(at(p)) {
        p += 1;
    }
    if p < n {
        return None;
    }

    let v = match base {
        10 => {
            let text = format!("{}e{}", &s[mant_start..mant_end], exp);
            text.parse::<f64>().ok()?
        }
        16 => {
            let mut m = 0f64;
            let mut frac = 0i64;
            for (i, c) in b[digits_start..mant_end].iter().enumerate() {
                if *c == b'.' {
                    continue;
                }
                m = m * 16.0 + f64::from((*c as char).to_digit(16)?);
                if dp.is_some_and(|d| digits_start + i > d) {
                    frac += 1;
                }
            }
            // Digits after the point written before `digits_start` are all zeros.
            if let Some(d) = dp {
                if d < digits_start {
                    frac += (digits_start - d - 1) as i64;
                }
            }
            m * 2f64.powi(i32::try_from(exp - 4 * frac).ok()?)
        }
        _ => {
            if dig > 64 {
                return None;
            }
            let mut m = 0f64;
            for c in &b[digits_start..mant_end] {
                match c {
                    b'0' => m *= 2.0,
                    b'1' => m = m * 2.0 + 1.0,
                    _ => return None,
                }
            }
            m
        }
    };
    Some(if neg { -v } else { v })
}

/// LuaJIT's `tostring(number)`: `%.14g`, with `inf`, `-inf`, `nan` and `-0`.
pub(crate) fn lua_tostring(n: f64) -> String {
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let e = format!("{n:.13e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..14).contains(&exp) {
        format!(
            "{}e{}{:02}",
            trim(mant),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        trim(&format!("{:.*}", (13 - exp) as usize, n))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn numbers_are_converted_like_penlight_and_luajit() {
        let cases = [
            ("5432", "5432"),
            ("0123", "123"),
            ("1e3", "1000"),
            ("0x1F", "31"),
            ("0b101", "5"),
            ("1.50", "1.5"),
            ("+5", "5"),
            ("-0", "-0"),
            ("5.", "5"),
            ("12345678901234567", "1.2345678901235e+16"),
            ("0.00001", "1e-05"),
            ("-inf", "-inf"),
            ("128 kB", "128"),
            ("5432 # port", "5432"),
            ("10.0.0.5", "10.0.0.5"),
            ("1e", "1e"),
            ("12ab", "12ab"),
            ("1ll", "1ll"),
            ("-", "-"),
            ("0x", "0x"),
            ("0b102", "0b102"),
        ];
        for (raw, want) in cases {
            let c = parse(&format!("k = {raw}\n"));
            assert_eq!(c.value("k"), Some(want), "value {raw:?}");
        }
    }
}
