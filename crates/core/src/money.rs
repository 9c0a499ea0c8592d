//! Money as integer minor units with an ISO 4217 currency: never floats.

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code such as `CNY` or `USD`, upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "CNY")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const CNY: Currency = Currency(*b"CNY");

    pub fn parse(s: &str, field: &str) -> Result<Currency, FieldError> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return Err(FieldError::new(field, "invalid_currency", "must be a three-letter ISO 4217 code such as CNY"));
        }
        Ok(Currency([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point for display (ISO 4217 exponent) for the common currencies.
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Currency::parse(&s, "").map_err(|e| e.message)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_string()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats minor units as a decimal string without a currency symbol: `123456` CNY -> `1234.56`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let digits = currency.minor_digits();
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / scale as u64, abs % scale as u64, width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_and_format() {
        let c = Currency::parse("cny", "c").unwrap();
        assert_eq!(c.as_str(), "CNY");
        assert!(Currency::parse("yuan", "c").is_err());
        assert_eq!(format_minor(123456, c), "1234.56");
        assert_eq!(format_minor(-5, c), "-0.05");
        assert_eq!(format_minor(500, Currency::parse("JPY", "c").unwrap()), "500");
    }
}
