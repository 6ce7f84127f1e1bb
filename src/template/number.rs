//! Exact decimal numbers with FreeMarker's formatting.
//!
//! NOTE: this first version only stores and prints numbers; arithmetic, rounding and the
//! `DecimalFormat` patterns are added with the rest of the built-ins.

use std::fmt;

/// A number as FreeMarker holds JSON numbers: exact, whatever its size.
#[derive(Debug, Clone)]
pub struct Number(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// An integer that fits an `i64`, the common case for timestamps and counts.
    Int(i64),
    /// Any other number, as its plain decimal text in `computer` format: an optional `-`,
    /// digits, and a fraction without trailing zeros.
    Decimal(Box<str>),
}

impl Number {
    /// Parses a JSON number literal (`-12`, `1.50`, `1e+21`), exactly.
    ///
    /// Returns `None` when `text` is not a JSON number.
    pub fn parse_literal(text: &str) -> Option<Number> {
        if let Ok(i) = text.parse::<i64>() {
            if !text.starts_with('+') {
                return Some(Number(Repr::Int(i)));
            }
        }
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !digits_ok(int_part) || !digits_ok(frac_part) {
            return None;
        }
        if mantissa.contains('.') && frac_part.is_empty() {
            return None;
        }
        if int_part.len() > 1 && int_part.starts_with('0') {
            return None;
        }
        // Shift the decimal point by the exponent over the concatenated digits.
        let digits: String = format!("{int_part}{frac_part}");
        let point = int_part.len() as i64 + exponent;
        if !(-100_000..=100_000).contains(&point) {
            return None;
        }
        let mut whole = String::new();
        let mut fraction = String::new();
        if point <= 0 {
            fraction.push_str(&"0".repeat((-point) as usize));
            fraction.push_str(&digits);
        } else if point as usize >= digits.len() {
            whole.push_str(&digits);
            whole.push_str(&"0".repeat(point as usize - digits.len()));
        } else {
            whole.push_str(&digits[..point as usize]);
            fraction.push_str(&digits[point as usize..]);
        }
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        let mut out = String::new();
        if negative && !(whole.is_empty() && fraction.is_empty()) {
            out.push('-');
        }
        out.push_str(if whole.is_empty() { "0" } else { whole });
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        if let Ok(i) = out.parse::<i64>() {
            return Some(Number(Repr::Int(i)));
        }
        Some(Number(Repr::Decimal(out.into_boxed_str())))
    }

    /// Converts a finite `f64` through its shortest decimal representation.
    pub fn from_f64(value: f64) -> Option<Number> {
        if !value.is_finite() {
            return None;
        }
        Number::parse_literal(&format!("{value:?}"))
    }

    /// Returns the number as an `i64` when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            Repr::Decimal(_) => None,
        }
    }

    /// Appends the number as a JSON number literal.
    pub fn write_json(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number(Repr::Int(i))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        match i64::try_from(u) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number(Repr::Decimal(u.to_string().into_boxed_str())),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Display for Number {
    /// Formats the number in FreeMarker's `computer` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Decimal(text) => f.write_str(text),
        }
    }
}
