//! Customer lifetime value: BG/NBD purchases × Gamma-Gamma spend, discounted monthly.
//!
//! Follows `lifetimes`' `customer_lifetime_value`: the horizon is cut into months, each month's expected
//! purchases are the difference of the cumulative BG/NBD forecast, valued at the Gamma-Gamma expected order
//! value times the margin, and discounted by (1 + monthly rate)^month. One difference: a month is 30.4375 days
//! (so 4.348 weeks) rather than 4.345 weeks or 30 days.

use serde::{Deserialize, Serialize};

use crate::bgnbd::BgNbdParams;
use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::gamma_gamma::GammaGammaParams;
use crate::orders::{RepeatSummary, TimeUnit};

/// How to value the future.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvSettings {
    /// Months ahead to value (12 by default).
    pub horizon_months: u32,
    /// Discount rate per month (0.01 by default, about 12.7 % a year).
    pub monthly_discount_rate: f64,
    /// Share of revenue that is profit (1.0 by default: CLV in revenue terms).
    pub margin: f64,
    /// The time unit the models were fitted in.
    pub time_unit: TimeUnit,
}

impl Default for ClvSettings {
    fn default() -> Self {
        Self { horizon_months: 12, monthly_discount_rate: 0.01, margin: 1.0, time_unit: TimeUnit::Weeks }
    }
}

impl ClvSettings {
    fn validate(&self) -> Result<()> {
        ensure_finite(self.monthly_discount_rate, "monthly discount rate")?;
        ensure_finite(self.margin, "margin")?;
        if self.monthly_discount_rate <= -1.0 || self.margin < 0.0 {
            return Err(AnalyticsError::InvalidSetting(format!(
                "discount rate {} must be above -1 and margin {} non-negative",
                self.monthly_discount_rate, self.margin
            )));
        }
        Ok(())
    }
}

/// Discounted value of a customer's next `horizon_months` (in the money unit of the Gamma-Gamma fit).
///
/// ```
/// use guanxi_analytics::bgnbd::BgNbdParams;
/// use guanxi_analytics::clv::{customer_lifetime_value, ClvSettings};
/// use guanxi_analytics::gamma_gamma::GammaGammaParams;
/// let purchases = BgNbdParams { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/// let spend = GammaGammaParams { p: 6.25, q: 3.74, gamma: 15.44 };
/// let clv = customer_lifetime_value(&purchases, &spend, 2, 30.43, 38.86, 22.35, &ClvSettings::default()).unwrap();
/// assert!(clv > 10.0 && clv < 100.0);
/// ```
pub fn customer_lifetime_value(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    x: u32,
    t_x: f64,
    t: f64,
    mean_value: f64,
    settings: &ClvSettings,
) -> Result<f64> {
    settings.validate()?;
    let value = spend.expected_average_value(x, mean_value)? * settings.margin;
    let per_month = settings.time_unit.per_month();
    let mut previous = 0.0;
    let mut total = 0.0;
    for month in 1..=settings.horizon_months {
        let cumulative = purchases.expected_purchases(month as f64 * per_month, x, t_x, t)?;
        total += value * (cumulative - previous) / (1.0 + settings.monthly_discount_rate).powi(month as i32);
        previous = cumulative;
    }
    Ok(total)
}

/// Everything the CRM shows about a customer's future value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerValue<K> {
    /// Who.
    pub customer: K,
    /// Probability the customer is still active (BG/NBD).
    pub probability_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected value of a future order, minor units (Gamma-Gamma).
    pub expected_order_value_minor: f64,
    /// Discounted value over the horizon times the margin, minor units.
    pub predicted_clv_minor: f64,
}

/// (x, t_x bits, T bits): customers with equal keys have equal BG/NBD predictions.
type HistoryKey = (u32, u64, u64);

/// [`CustomerValue`] for every summary (fitted models in, one row per customer out, same order).
///
/// ```
/// use guanxi_analytics::bgnbd::BgNbdParams;
/// use guanxi_analytics::clv::{predict_customer_values, ClvSettings};
/// use guanxi_analytics::gamma_gamma::GammaGammaParams;
/// use guanxi_analytics::orders::RepeatSummary;
/// let purchases = BgNbdParams { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/// let spend = GammaGammaParams { p: 6.25, q: 3.74, gamma: 1544.0 };
/// let s = RepeatSummary { customer: 7u64, frequency: 2, recency: 30.43, age: 38.86, mean_repeat_value_minor: 2235.0 };
/// let v = &predict_customer_values(&purchases, &spend, &[s], &ClvSettings::default()).unwrap()[0];
/// assert!(v.probability_alive > 0.5 && v.predicted_clv_minor > 0.0);
/// ```
pub fn predict_customer_values<K: Clone>(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    summaries: &[RepeatSummary<K>],
    settings: &ClvSettings,
) -> Result<Vec<CustomerValue<K>>> {
    settings.validate()?;
    let months = settings.horizon_months as usize;
    let per_month = settings.time_unit.per_month();
    let discount: Vec<f64> =
        (1..=months).map(|m| (1.0 + settings.monthly_discount_rate).powi(m as i32).recip()).collect();
    // Customers with the same (x, t_x, T) share every BG/NBD number: compute those once per history (with
    // daily or weekly data most customers share theirs with many others), then value each customer.
    let mut order: Vec<usize> = (0..summaries.len()).collect();
    let key = |s: &RepeatSummary<K>| (s.frequency, s.recency.to_bits(), s.age.to_bits());
    order.sort_unstable_by_key(|&i| key(&summaries[i]));
    let mut out: Vec<Option<CustomerValue<K>>> = vec![None; summaries.len()];
    // (history key, P(alive), expected purchases, discounted purchases) of the last history computed.
    let mut cached: Option<(HistoryKey, f64, f64, f64)> = None;
    for i in order {
        let s = &summaries[i];
        let k = key(s);
        let (p_alive, expected, discounted) = match cached {
            Some((ck, p, e, d)) if ck == k => (p, e, d),
            _ => {
                let p = purchases.probability_alive(s.frequency, s.recency, s.age)?;
                // Σ_month discount(month) × (E[purchases by month] − E[purchases by month − 1])
                let (mut previous, mut discounted) = (0.0, 0.0);
                for (m, factor) in discount.iter().enumerate() {
                    let cumulative =
                        purchases.expected_purchases((m + 1) as f64 * per_month, s.frequency, s.recency, s.age)?;
                    discounted += factor * (cumulative - previous);
                    previous = cumulative;
                }
                cached = Some((k, p, previous, discounted));
                (p, previous, discounted)
            }
        };
        let value = spend.expected_average_value(s.frequency, s.mean_repeat_value_minor)?;
        out[i] = Some(CustomerValue {
            customer: s.customer.clone(),
            probability_alive: p_alive,
            expected_purchases: expected,
            expected_order_value_minor: value,
            predicted_clv_minor: value * settings.margin * discounted,
        });
    }
    Ok(out.into_iter().flatten().collect())
}
