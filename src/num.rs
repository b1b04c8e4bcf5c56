//! Number formatting for the exposition and error messages, through ryu
//! instead of core's float formatting (which links both the shortest and
//! the fixed-precision algorithms, ~20 KB of Wasm).
#![forbid(unsafe_code)]

use std::fmt;

/// Appends `v` (finite) as JavaScript's `String(v)` spells it: the
/// shortest digits that read back as `v` (from ryu), positioned by the
/// ECMAScript Number::toString rules — plain notation from 1e-6 up to 1e21
/// (`3`, `0.1`, `100000000000000000000`), exponent notation outside
/// (`2.5e-7`, `1e+21`). The original module wrote values with template
/// strings, so its exposition used this spelling. `-0` is written `-0`
/// (JavaScript writes `0`; Prometheus reads both).
pub fn push_finite(out: &mut String, v: f64) {
    // Integers below 2^53 (counters, most gauges): plain digits, no
    // allocation. -0 keeps its sign through the general path.
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 && !(v == 0.0 && v.is_sign_negative())
    {
        push_integer(out, v);
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    // ryu writes `d.ddd`, `ddd.d`, `0.000ddd` or `d.ddde-7` / `de21`.
    let (mantissa, exp10) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // All significant digits (ASCII bytes: no char-boundary checks), and
    // `n`: the value is 0.d1d2... * 10^n.
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let mut n = int_part.len() as i32 + exp10;
    let leading = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..leading);
    n -= leading as i32;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if negative {
        out.push('-');
    }
    if digits.is_empty() {
        out.push('0');
        return;
    }
    let push = |out: &mut String, ds: &[u8]| out.extend(ds.iter().map(|&d| char::from(d)));
    let k = digits.len() as i32;
    if k <= n && n <= 21 {
        push(out, &digits);
        out.extend(std::iter::repeat('0').take((n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(n as usize);
        push(out, a);
        out.push('.');
        push(out, b);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat('0').take((-n) as usize));
        push(out, &digits);
    } else {
        let (first, rest) = digits.split_at(1);
        push(out, first);
        if !rest.is_empty() {
            out.push('.');
            push(out, rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        push_integer(out, f64::from((n - 1).unsigned_abs()));
    }
}

/// Appends an integer-valued `v` with `|v| < 2^53` in decimal.
fn push_integer(out: &mut String, v: f64) {
    if v < 0.0 {
        out.push('-');
    }
    push_u64(out, v.abs() as u64);
}

/// Appends `n` in decimal (what `write!(out, "{n}")` does, without core's
/// formatting machinery).
#[inline(never)]
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

/// A number displayed as JavaScript would name it in a message: `NaN`,
/// `Infinity`, `-Infinity`, else the shortest round-trip digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            let mut s = String::new();
            push_finite(&mut s, v);
            f.write_str(&s)
        }
    }
}

/// A string shown in double quotes in a message (names in errors are
/// validated or clipped; quotes inside are shown as they are).
#[derive(Clone, Copy, Debug)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        f.write_str(self.0)?;
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: f64) -> String {
        let mut out = String::new();
        push_finite(&mut out, v);
        out
    }

    #[test]
    fn spelling() {
        assert_eq!(s(3.0), "3");
        assert_eq!(s(-0.0), "-0");
        assert_eq!(s(0.0), "0");
        assert_eq!(s(9007199254740991.0), "9007199254740991");
        assert_eq!(s(-9007199254740991.0), "-9007199254740991");
        assert_eq!(s(-7.0), "-7");
        assert_eq!(s(0.1), "0.1");
        assert_eq!(s(2.5e-7), "2.5e-7");
        assert_eq!(s(1e300), "1e+300");
        assert_eq!(s(123456.75), "123456.75");
        // JavaScript's String(v) for each of these.
        assert_eq!(s(1e20), "100000000000000000000");
        assert_eq!(s(1e21), "1e+21");
        assert_eq!(s(9007199254740992.0), "9007199254740992");
        assert_eq!(s(0.000001), "0.000001");
        assert_eq!(s(0.0000001), "1e-7");
        assert_eq!(s(1.5e-10), "1.5e-10");
        assert_eq!(s(-1234.5678), "-1234.5678");
        assert_eq!(s(5e-324), "5e-324");
        assert_eq!(s(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(Num(f64::NAN).to_string(), "NaN");
        assert_eq!(Num(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(Num(-1.5).to_string(), "-1.5");
        for v in [1e21, 1e16, 9007199254740993.0, 5e-324, f64::MAX, 0.3] {
            assert_eq!(s(v).parse::<f64>().ok(), Some(v), "{}", s(v));
        }
    }
}
