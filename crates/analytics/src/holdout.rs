//! Checking a fitted BG/NBD model on a holdout period: the purchases the calibration customers actually made
//! after the calibration end against what the model predicted for them, in total and by calibration frequency
//! (the comparison of Fader, Hardie and Lee 2005, figure 4 and table 2).
//!
//! A model that matches the calibration data can still forecast badly (wrong time unit, seasonality, a change in
//! the business); this is the check an analyst runs before trusting the CLV numbers.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::bgnbd::BgNbdParams;
use crate::error::{AnalyticsError, Result};
use crate::orders::{CustomerKey, OrderHistory, RepeatSummary, TimeUnit};

/// Calibration frequencies from this value up share one bucket ("7+", as in the paper).
pub const OPEN_BUCKET: u32 = 7;

/// Actual and predicted holdout purchases of the customers with one calibration frequency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyBucket {
    /// Repeat purchases in the calibration period (x); the last bucket holds x ≥ [`OPEN_BUCKET`].
    pub frequency: u32,
    /// True for the last, open-ended bucket.
    pub or_more: bool,
    /// Customers in the bucket.
    pub customers: usize,
    /// Mean purchases per customer in the holdout period.
    pub actual_mean: f64,
    /// Mean purchases per customer the model predicted.
    pub predicted_mean: f64,
}

/// Holdout purchases of the calibration customers, actual against predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutComparison {
    /// Last day of the calibration period.
    pub calibration_end: NaiveDate,
    /// Last day of the holdout period.
    pub holdout_end: NaiveDate,
    /// Length of the holdout period in the time unit of the model.
    pub length: f64,
    /// Calibration customers (first purchase on or before the calibration end).
    pub customers: usize,
    /// Purchase days of those customers in the holdout period.
    pub actual: u64,
    /// Purchases the model expected of them.
    pub predicted: f64,
    /// The same by calibration frequency.
    pub by_frequency: Vec<FrequencyBucket>,
}

/// One calibration customer's holdout purchases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CustomerHoldout {
    /// Purchase days in the holdout period.
    pub actual: u32,
    /// Expected purchases in the holdout period.
    pub predicted: f64,
}

/// Compares the purchases after `calibration_end` up to `holdout_end` with the model's forecast, for the
/// customers in `summaries` (made by [`crate::orders::repeat_summaries`] at `calibration_end` in `unit`).
/// Returns the comparison and one [`CustomerHoldout`] per summary, in the same order.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::bgnbd::BgNbdParams;
/// use guanxi_analytics::holdout::compare_holdout;
/// use guanxi_analytics::orders::{repeat_summaries, OrderHistory, TimeUnit, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let history = OrderHistory::from_transactions(&[
///     Transaction::paid(1u64, d(1, 1), 100),
///     Transaction::paid(1, d(2, 1), 100),
///     Transaction::paid(1, d(5, 1), 100), // in the holdout
///     Transaction::paid(2, d(1, 15), 100),
/// ]);
/// let summaries = repeat_summaries(&history, d(3, 31), TimeUnit::Weeks).unwrap();
/// let params = BgNbdParams { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/// let (comparison, per_customer) =
///     compare_holdout(&params, &history, &summaries, d(3, 31), d(6, 30), TimeUnit::Weeks).unwrap();
/// assert_eq!((comparison.customers, comparison.actual), (2, 1));
/// assert!(comparison.predicted > 0.0);
/// assert_eq!(per_customer[0].actual, 1);
/// ```
pub fn compare_holdout<K: CustomerKey>(
    params: &BgNbdParams,
    history: &OrderHistory<K>,
    summaries: &[RepeatSummary<K>],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    unit: TimeUnit,
) -> Result<(HoldoutComparison, Vec<CustomerHoldout>)> {
    if holdout_end <= calibration_end {
        return Err(AnalyticsError::InvalidInput(format!(
            "the holdout period must end after the calibration end ({holdout_end} <= {calibration_end})"
        )));
    }
    let length = (holdout_end - calibration_end).num_days() as f64 / unit.days();
    // Customers with the same (x, t_x, T) have the same forecast; with daily data most histories repeat.
    let mut forecasts: HashMap<(u32, u64, u64), f64> = HashMap::new();
    let mut per_customer = Vec::with_capacity(summaries.len());
    let buckets = OPEN_BUCKET as usize + 1;
    let (mut count, mut actual_sum, mut predicted_sum) =
        (vec![0usize; buckets], vec![0.0; buckets], vec![0.0; buckets]);
    for s in summaries {
        let key = (s.frequency, s.recency.to_bits(), s.age.to_bits());
        let predicted = match forecasts.get(&key) {
            Some(v) => *v,
            None => {
                let v = params.expected_purchases(length, s.frequency, s.recency, s.age)?;
                forecasts.insert(key, v);
                v
            }
        };
        let orders = history.orders_of(&s.customer);
        let after = orders.partition_point(|o| o.date <= calibration_end);
        let until = orders.partition_point(|o| o.date <= holdout_end);
        let actual = until.saturating_sub(after) as u32;
        let b = s.frequency.min(OPEN_BUCKET) as usize;
        count[b] += 1;
        actual_sum[b] += actual as f64;
        predicted_sum[b] += predicted;
        per_customer.push(CustomerHoldout { actual, predicted });
    }
    let by_frequency = (0..buckets)
        .filter(|&b| count[b] > 0)
        .map(|b| FrequencyBucket {
            frequency: b as u32,
            or_more: b as u32 == OPEN_BUCKET,
            customers: count[b],
            actual_mean: actual_sum[b] / count[b] as f64,
            predicted_mean: predicted_sum[b] / count[b] as f64,
        })
        .collect();
    let comparison = HoldoutComparison {
        calibration_end,
        holdout_end,
        length,
        customers: summaries.len(),
        actual: per_customer.iter().map(|c| c.actual as u64).sum(),
        predicted: per_customer.iter().map(|c| c.predicted).sum(),
        by_frequency,
    };
    Ok((comparison, per_customer))
}
