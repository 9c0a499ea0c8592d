//! Machine-readable explanations that also read well in English.
//!
//! Every tier, stage, churn score and recommendation says why. The code and parameters are stable keys so the
//! UI can render the text in Chinese (or any language) from its own templates; `text` is the English rendering.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why a customer got a tier, a stage, a risk or a recommendation.
///
/// ```
/// use guanxi_analytics::reason::Reason;
/// let r = Reason::new("no_purchase_for", "no purchase for 140 days, usual gap 30 days")
///     .with("days", 140)
///     .with("usual_gap_days", 30);
/// assert_eq!(r.params["days"], "140");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable key of the template, e.g. `no_purchase_for`.
    pub code: String,
    /// Template parameters as strings (numbers unformatted, money in minor units).
    pub params: BTreeMap<String, String>,
    /// English rendering.
    pub text: String,
}

impl Reason {
    /// A reason without parameters.
    pub fn new(code: &str, text: impl Into<String>) -> Self {
        Self { code: code.to_owned(), params: BTreeMap::new(), text: text.into() }
    }

    /// Adds a parameter.
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_owned(), value.to_string());
        self
    }
}

/// Renders minor units as a decimal amount, e.g. 12345 with 2 decimals → "123.45".
///
/// ```
/// use guanxi_analytics::reason::format_minor;
/// assert_eq!(format_minor(12_345, 2), "123.45");
/// assert_eq!(format_minor(-5, 2), "-0.05");
/// assert_eq!(format_minor(700, 0), "700");
/// ```
pub fn format_minor(minor: i64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let unit = 10i64.pow(decimals);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / unit as u64, abs % unit as u64, width = decimals as usize)
}
