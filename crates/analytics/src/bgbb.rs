//! The discrete-time BG/BB model (Fader, Hardie and Shang 2010, "Customer-base analysis in a discrete-time
//! noncontractual setting") for subscription renewals, yearly donations, event attendance: each period a
//! customer either transacts or not.
//!
//! While alive, a customer transacts in each period with probability p ~ Beta(α, β); before each period they
//! drop out with probability θ ~ Beta(γ, δ). A history is (x transactions, last one in period t_x, n periods).

use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::optimize::{ModelFit, fit_positive_params};
use crate::orders::{CustomerKey, OrderHistory};
use crate::special::{ln_beta, ln_gamma};

/// BG/BB parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgBbParams {
    /// First shape of the transaction probability.
    pub alpha: f64,
    /// Second shape of the transaction probability.
    pub beta: f64,
    /// First shape of the drop-out probability.
    pub gamma: f64,
    /// Second shape of the drop-out probability.
    pub delta: f64,
}

/// A repeat pattern shared by `weight` customers.
///
/// ```
/// use guanxi_analytics::bgbb::BgBbPattern;
/// // Donated in years 1, 2 and 4 of six.
/// let p = BgBbPattern::from_opportunities(&[true, true, false, true, false, false]);
/// assert_eq!((p.frequency, p.recency, p.periods), (3, 4, 6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgBbPattern {
    /// x: number of periods with a transaction.
    pub frequency: u32,
    /// t_x: the last period with a transaction (0 if none).
    pub recency: u32,
    /// n: number of periods observed.
    pub periods: u32,
    /// How many customers share this pattern.
    pub weight: f64,
}

impl BgBbPattern {
    /// The pattern of one customer from their per-period yes/no record.
    pub fn from_opportunities(transacted: &[bool]) -> Self {
        let frequency = transacted.iter().filter(|t| **t).count() as u32;
        let recency = transacted.iter().rposition(|t| *t).map_or(0, |i| i as u32 + 1);
        Self { frequency, recency, periods: transacted.len() as u32, weight: 1.0 }
    }

    fn validate(&self) -> Result<()> {
        ensure_finite(self.weight, "weight")?;
        if self.weight < 0.0
            || self.frequency > self.recency
            || self.recency > self.periods
            || (self.frequency == 0) != (self.recency == 0)
        {
            return Err(AnalyticsError::InvalidInput(format!("impossible BG/BB pattern {self:?}")));
        }
        Ok(())
    }
}

/// Repeat patterns of a cohort, grouped: customers whose first order falls in `[start, start + period_days)`
/// (period 0), observed for `periods` further periods of `period_days` each (period i covers
/// `[start + i × period_days, start + (i + 1) × period_days)`). Output sorted by (frequency, recency).
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::bgbb::cohort_patterns;
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// let d = |y| NaiveDate::from_ymd_opt(y, 3, 1).unwrap();
/// let history = OrderHistory::from_transactions(&[
///     Transaction::paid(1u64, d(2019), 100), Transaction::paid(1, d(2020), 100), Transaction::paid(1, d(2022), 100),
///     Transaction::paid(2u64, d(2019), 100),
///     Transaction::paid(3u64, d(2020), 100), // not in the 2019 cohort
/// ]);
/// let start = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
/// let patterns = cohort_patterns(&history, start, 365, 4);
/// assert_eq!(patterns.len(), 2);
/// assert_eq!((patterns[1].frequency, patterns[1].recency, patterns[1].periods), (2, 3, 4));
/// ```
pub fn cohort_patterns<K: CustomerKey>(
    history: &OrderHistory<K>,
    start: NaiveDate,
    period_days: u32,
    periods: u32,
) -> Vec<BgBbPattern> {
    let period_days = period_days.max(1) as i64;
    let mut patterns: Vec<BgBbPattern> = Vec::new();
    for (_, orders) in history.iter() {
        let Some(first) = orders.first() else { continue };
        let first_period = (first.date - start).num_days().div_euclid(period_days);
        if first_period != 0 {
            continue;
        }
        let mut seen = vec![false; periods as usize];
        for o in orders {
            let p = (o.date - start).num_days().div_euclid(period_days);
            if p >= 1 && p <= periods as i64 {
                seen[(p - 1) as usize] = true;
            }
        }
        patterns.push(BgBbPattern::from_opportunities(&seen));
    }
    patterns.sort_by_key(|p| (p.frequency, p.recency));
    let mut grouped: Vec<BgBbPattern> = Vec::new();
    for p in patterns {
        match grouped.last_mut() {
            Some(g) if (g.frequency, g.recency) == (p.frequency, p.recency) => g.weight += 1.0,
            _ => grouped.push(p),
        }
    }
    grouped
}

/// ln L for one pattern (FHS 2010, eq. 5), with the sum done by log-sum-exp.
fn ln_likelihood_one(p: &BgBbParams, pat: &BgBbPattern, ln_b_ab: f64, ln_b_gd: f64) -> f64 {
    let BgBbParams { alpha, beta, gamma, delta } = *p;
    let (x, t_x, n) = (pat.frequency as f64, pat.recency as f64, pat.periods as f64);
    let first = ln_beta(alpha + x, beta + n - x) - ln_b_ab + ln_beta(gamma, delta + n) - ln_b_gd;
    let mut terms = Vec::with_capacity((n - t_x) as usize + 1);
    terms.push(first);
    for i in 0..(pat.periods - pat.recency) {
        let i = i as f64;
        terms.push(ln_beta(alpha + x, beta + t_x - x + i) - ln_b_ab + ln_beta(gamma + 1.0, delta + t_x + i) - ln_b_gd);
    }
    let hi = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    hi + terms.iter().map(|t| (t - hi).exp()).sum::<f64>().ln()
}

fn log_likelihood(p: &BgBbParams, patterns: &[BgBbPattern]) -> f64 {
    if !(p.alpha > 0.0 && p.beta > 0.0 && p.gamma > 0.0 && p.delta > 0.0) {
        return f64::NEG_INFINITY;
    }
    let ln_b_ab = ln_beta(p.alpha, p.beta);
    let ln_b_gd = ln_beta(p.gamma, p.delta);
    patterns.iter().map(|pat| pat.weight * ln_likelihood_one(p, pat, ln_b_ab, ln_b_gd)).sum()
}

/// Fits BG/BB by maximum likelihood to weighted repeat patterns.
///
/// ```
/// use guanxi_analytics::bgbb::{fit_bgbb, BgBbPattern};
/// let p = |x, t, w| BgBbPattern { frequency: x, recency: t, periods: 4, weight: w };
/// let fit = fit_bgbb(&[p(0, 0, 40.0), p(1, 1, 10.0), p(2, 3, 12.0), p(4, 4, 20.0), p(3, 4, 15.0)]).unwrap();
/// assert!(fit.params.alpha > 0.0 && fit.log_likelihood < 0.0);
/// ```
pub fn fit_bgbb(patterns: &[BgBbPattern]) -> Result<ModelFit<BgBbParams>> {
    for p in patterns {
        p.validate()?;
    }
    let customers: f64 = patterns.iter().map(|p| p.weight).sum();
    if customers <= 0.0 {
        return Err(AnalyticsError::EmptyInput { what: "BG/BB fit" });
    }
    let (v, se, ll, iterations) = fit_positive_params(
        |v| -log_likelihood(&BgBbParams { alpha: v[0], beta: v[1], gamma: v[2], delta: v[3] }, patterns),
        &[1.0, 1.0, 1.0, 1.0],
    )?;
    Ok(ModelFit {
        params: BgBbParams { alpha: v[0], beta: v[1], gamma: v[2], delta: v[3] },
        standard_errors: se.map(|s| BgBbParams { alpha: s[0], beta: s[1], gamma: s[2], delta: s[3] }),
        log_likelihood: ll,
        iterations,
        customers,
    })
}

impl BgBbParams {
    /// Log-likelihood of weighted patterns under these parameters.
    pub fn log_likelihood(&self, patterns: &[BgBbPattern]) -> Result<f64> {
        for p in patterns {
            p.validate()?;
        }
        Ok(log_likelihood(self, patterns))
    }

    /// Probability that a customer with this pattern is alive in period n + 1.
    ///
    /// ```
    /// use guanxi_analytics::bgbb::{BgBbParams, BgBbPattern};
    /// let m = BgBbParams { alpha: 1.204, beta: 0.750, gamma: 0.657, delta: 2.783 };
    /// let every_year = BgBbPattern { frequency: 6, recency: 6, periods: 6, weight: 1.0 };
    /// let early_only = BgBbPattern { frequency: 1, recency: 1, periods: 6, weight: 1.0 };
    /// assert!(m.probability_alive(&every_year).unwrap() > 0.9);
    /// assert!(m.probability_alive(&early_only).unwrap() < 0.2);
    /// ```
    pub fn probability_alive(&self, pattern: &BgBbPattern) -> Result<f64> {
        pattern.validate()?;
        let BgBbParams { alpha, beta, gamma, delta } = *self;
        let (x, n) = (pattern.frequency as f64, pattern.periods as f64);
        let ln_b_ab = ln_beta(alpha, beta);
        let ln_b_gd = ln_beta(gamma, delta);
        let ln_num = ln_beta(alpha + x, beta + n - x) - ln_b_ab + ln_beta(gamma, delta + n + 1.0) - ln_b_gd;
        Ok((ln_num - ln_likelihood_one(self, pattern, ln_b_ab, ln_b_gd)).exp())
    }

    /// Expected number of transactions in the next `future_periods` periods (FHS 2010, eq. 13).
    ///
    /// ```
    /// use guanxi_analytics::bgbb::{BgBbParams, BgBbPattern};
    /// let m = BgBbParams { alpha: 1.204, beta: 0.750, gamma: 0.657, delta: 2.783 };
    /// let every_year = BgBbPattern { frequency: 6, recency: 6, periods: 6, weight: 1.0 };
    /// let e = m.expected_transactions(&every_year, 5).unwrap();
    /// assert!(e > 3.0 && e < 5.0);
    /// ```
    pub fn expected_transactions(&self, pattern: &BgBbPattern, future_periods: u32) -> Result<f64> {
        pattern.validate()?;
        let BgBbParams { alpha, beta, gamma, delta } = *self;
        if (gamma - 1.0).abs() < 1e-9 {
            return Err(AnalyticsError::Numerical("BG/BB expected transactions need gamma != 1".into()));
        }
        let (x, n, m) = (pattern.frequency as f64, pattern.periods as f64, future_periods as f64);
        let ln_l = ln_likelihood_one(self, pattern, ln_beta(alpha, beta), ln_beta(gamma, delta));
        let p2 = (ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta) - ln_l).exp();
        let p3 = delta / (gamma - 1.0) * (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta)).exp();
        let p4 = (ln_gamma(1.0 + delta + n) - ln_gamma(gamma + delta + n)).exp();
        let p5 = (ln_gamma(1.0 + delta + n + m) - ln_gamma(gamma + delta + n + m)).exp();
        Ok(p2 * p3 * (p4 - p5))
    }
}
