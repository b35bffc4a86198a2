//! Money as fixed-point ten-thousandths, never `f64`: BrickLink sends amounts as strings with
//! four decimals (`"10.1210"`), BrickOwl with up to three (`"0.113"`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in ten-thousandths of the currency unit (`12_3400` is 12.34).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub i64);

/// Why a money string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an amount of money")]
pub struct BadMoney(pub String);

impl Money {
    /// Units of the smallest step per currency unit.
    pub const SCALE: i64 = 10_000;
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Parses `"13.7240"`, `"-0.5"`, `"7"`, `" 8.81 "`. Digits past the fourth decimal round half
    /// away from zero.
    pub fn parse(input: &str) -> Result<Self, BadMoney> {
        let bad = || BadMoney(input.to_owned());
        let text = input.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || whole.len() > 14
        {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut scaled = 0i64;
        for digit in fraction.bytes().chain(std::iter::repeat(b'0')).take(4) {
            scaled = scaled * 10 + i64::from(digit - b'0');
        }
        if fraction.as_bytes().get(4).is_some_and(|d| *d >= b'5') {
            scaled += 1;
        }
        let units = whole * Self::SCALE + scaled;
        Ok(Self(if negative { -units } else { units }))
    }

    /// The amount from a JSON number BrickOwl sometimes sends instead of a string.
    pub fn from_f64_lossy(value: f64) -> Self {
        Self((value * Self::SCALE as f64).round() as i64)
    }

    /// The four-decimal wire form BrickLink uses: `"13.7240"`.
    pub fn to_wire(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
    }

    /// Rounded to cents for people: `13.72` (half away from zero).
    pub fn cents(self) -> i64 {
        let rounded = (self.0.abs() + 50) / 100;
        if self.0 < 0 { -rounded } else { rounded }
    }

    /// `self × quantity`.
    pub fn times(self, quantity: i64) -> Self {
        Self(self.0.saturating_mul(quantity))
    }

    /// The amount with its currency: `$13.72`, `€8.81`, `£2.50`, `CAD 15.14`.
    pub fn with_currency(self, currency: &str) -> String {
        match currency {
            "USD" => format!("${self}"),
            "EUR" => format!("€{self}"),
            "GBP" => format!("£{self}"),
            "" => self.to_string(),
            other => format!("{other} {self}"),
        }
    }
}

impl std::ops::Add for Money {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, |a, b| a + b)
    }
}

/// Two decimals, as people read prices: `13.72`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.cents();
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_marketplace_amounts() {
        let cases = [
            ("10.1210", 10_1210),
            ("0.0000", 0),
            ("13.7240", 13_7240),
            ("0.113", 1130),
            ("8.81", 8_8100),
            ("7", 7_0000),
            (".5", 5000),
            ("-0.5", -5000),
            (" 2.5 ", 2_5000),
            ("1.00005", 1_0001),
            ("1.00004", 1_0000),
        ];
        for (text, units) in cases {
            assert_eq!(Money::parse(text), Ok(Money(units)), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_money() {
        for text in [
            "",
            "-",
            ".",
            "abc",
            "1.2.3",
            "1,50",
            "1e5",
            "12345678901234567",
        ] {
            assert!(Money::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn prints_wire_and_people_forms() {
        assert_eq!(Money(13_7240).to_wire(), "13.7240");
        assert_eq!(Money(-5000).to_wire(), "-0.5000");
        assert_eq!(Money(13_7250).to_string(), "13.73");
        assert_eq!(Money(-13_7250).to_string(), "-13.73");
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(Money(850).times(20), Money(1_7000));
    }
}
