//! Money as integer cents: floats never touch a price.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An amount in cents. Serialised as a decimal string (`"3.50"`) so JSON readers never see a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }
    pub const fn cents(self) -> i64 {
        self.0
    }
    /// Multiplies by a quantity; `None` on overflow rather than wrapping.
    pub fn times(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).map(Money)
    }
    /// Parses a decimal amount with at most two fractional digits (`"3.5"`, `"4"`, `"12.25"`).
    pub fn parse(text: &str) -> Result<Money, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err("must be a decimal amount such as \"3.50\"".into());
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| format!("{trimmed:?} is not a decimal amount such as \"3.50\""))?;
        if value.scale() > 2 && value.normalize().scale() > 2 {
            return Err(format!("{trimmed} has more than two decimal places"));
        }
        let cents = (value * Decimal::ONE_HUNDRED).normalize();
        if cents.scale() != 0 {
            return Err(format!("{trimmed} has more than two decimal places"));
        }
        i64::try_from(cents)
            .map(Money)
            .map_err(|_| format!("{trimmed} is out of range"))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_cents() {
        assert_eq!(Money::parse("3.5").unwrap().cents(), 350);
        assert_eq!(Money::parse("4").unwrap().cents(), 400);
        assert_eq!(Money::parse("12.25").unwrap().cents(), 1225);
        assert_eq!(Money::parse("3.50").unwrap().to_string(), "3.50");
        assert_eq!(Money::parse("3.500").unwrap().cents(), 350);
        assert_eq!(Money::from_cents(5).to_string(), "0.05");
    }

    #[test]
    fn refuses_sub_cent_and_garbage() {
        assert!(Money::parse("3.555").unwrap_err().contains("two decimal places"));
        assert!(Money::parse("abc").unwrap_err().contains("not a decimal"));
        assert!(Money::parse("").is_err());
        assert!(Money::parse("1e400").is_err());
    }

    #[test]
    fn times_checks_overflow() {
        assert_eq!(Money::from_cents(350).times(2), Some(Money::from_cents(700)));
        assert_eq!(Money::from_cents(i64::MAX).times(2), None);
    }
}
