//! The one error type of the crate.

use thiserror::Error;

/// Why an analysis could not produce a trustworthy answer.
///
/// Every public function returns these instead of panicking on bad input, so the store and HTTP layers can show
/// a helpful message (for example "not enough repeat customers to fit the model yet").
///
/// ```
/// use guanxi_analytics::{AnalyticsError, bgnbd::fit_bgnbd};
/// assert!(matches!(fit_bgnbd::<u64>(&[]), Err(AnalyticsError::EmptyInput { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticsError {
    /// The input had no rows the analysis could use.
    #[error("no usable data for {what}")]
    EmptyInput {
        /// What was empty, e.g. "BG/NBD fit".
        what: &'static str,
    },
    /// An input value was NaN, infinite, negative where it must not be, or otherwise impossible.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A setting was outside its allowed range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// An iterative method did not converge within its budget.
    #[error("{what} did not converge after {iterations} iterations")]
    NotConverged {
        /// Which method.
        what: &'static str,
        /// How many iterations were spent.
        iterations: usize,
    },
    /// A numerical computation would lose all precision or overflow.
    #[error("numerical problem: {0}")]
    Numerical(String),
}

/// Short alias used throughout the crate.
pub type Result<T> = std::result::Result<T, AnalyticsError>;

/// Rejects NaN and infinities with a message naming the field.
pub(crate) fn ensure_finite(value: f64, name: &str) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidInput(format!("{name} is {value}, expected a finite number")))
    }
}
