//! RFM: recency, frequency and monetary value per customer, quintile scores and the named segments.
//!
//! # Measures
//! As of a date D, over paid orders on or before D, with same-day orders of a customer merged into one:
//! - **recency**: days from the last order to D;
//! - **frequency**: number of orders (order-days);
//! - **monetary**: total paid, and the mean order value (total / frequency), in minor units.
//!
//! # Scores
//! Each measure gets a score 1–5 (5 = best: most recent, most frequent, highest total spend):
//! `score = 1 + min(4, floor(5 × w / (n − 1)))`, where n is the number of customers and w the number of *other*
//! customers with a strictly worse value (so w / (n − 1) is the share of the others this customer beats; a lone
//! customer scores 3). Equal values therefore always get the same score, the best customer always gets 5, and
//! the result depends neither on the input order nor on customer keys. With heavy ties (most customers bought
//! once) the scores are uneven quintiles: everyone with one order gets F = 1 and the next value up may jump
//! straight to F = 4.
//!
//! The **FM score** is the mean of F and M rounded half up: `(F + M + 1) / 2` in integers.
//!
//! # Segments
//! The widely used R × F grid of RFM segment names (as popularised by Putler and in many RFM notebooks), read
//! with the FM score on the vertical axis, and with its bottom-left corner (R = 1, FM = 1) split off from
//! Hibernating as Lost:
//!
//! | FM \ R | 1 | 2 | 3 | 4 | 5 |
//! | --- | --- | --- | --- | --- | --- |
//! | **5** | Cannot lose | Cannot lose | Loyal | Loyal | Champions |
//! | **4** | At risk | At risk | Loyal | Loyal | Champions |
//! | **3** | At risk | At risk | Need attention | Potential loyalists | Potential loyalists |
//! | **2** | Hibernating | Hibernating | About to sleep | Potential loyalists | Potential loyalists |
//! | **1** | Lost | Hibernating | About to sleep | Promising | New customers |

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result};
use crate::orders::{CustomerKey, OrderHistory};

/// The named RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    /// Bought recently, buy often and spend the most.
    Champions,
    /// Spend well and often, responsive to promotions.
    Loyal,
    /// Recent customers with average frequency and spend.
    PotentialLoyalists,
    /// Bought most recently, but not often.
    NewCustomers,
    /// Recent shoppers who have not spent much.
    Promising,
    /// Above-average recency, frequency and value, but slipping.
    NeedAttention,
    /// Below-average recency and frequency; will be lost if not reactivated.
    AboutToSleep,
    /// Spent well and often, but long ago.
    AtRisk,
    /// Made the biggest and most frequent purchases, but have not returned for a long time.
    CannotLose,
    /// Last purchase long ago, low spend and few orders.
    Hibernating,
    /// Lowest recency, frequency and spend.
    Lost,
}

impl RfmSegment {
    /// Every segment, best first.
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalists,
        RfmSegment::NewCustomers,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CannotLose,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    /// The segment of an R score and an FM score (each 1–5), per the grid in the module docs.
    ///
    /// ```
    /// use guanxi_analytics::rfm::RfmSegment;
    /// assert_eq!(RfmSegment::from_scores(5, 5), RfmSegment::Champions);
    /// assert_eq!(RfmSegment::from_scores(1, 5), RfmSegment::CannotLose);
    /// assert_eq!(RfmSegment::from_scores(1, 1), RfmSegment::Lost);
    /// ```
    pub fn from_scores(r: u8, fm: u8) -> Self {
        use RfmSegment::*;
        match (r.clamp(1, 5), fm.clamp(1, 5)) {
            (5, 4..=5) => Champions,
            (3..=4, 4..=5) => Loyal,
            (1..=2, 5) => CannotLose,
            (1..=2, 3..=4) => AtRisk,
            (3, 3) => NeedAttention,
            (4..=5, 2..=3) => PotentialLoyalists,
            (3, 1..=2) => AboutToSleep,
            (4, 1) => Promising,
            (5, 1) => NewCustomers,
            (1, 1) => Lost,
            _ => Hibernating,
        }
    }

    /// Stable machine code (used in APIs and translations).
    pub fn code(self) -> &'static str {
        use RfmSegment::*;
        match self {
            Champions => "champions",
            Loyal => "loyal",
            PotentialLoyalists => "potential_loyalists",
            NewCustomers => "new_customers",
            Promising => "promising",
            NeedAttention => "need_attention",
            AboutToSleep => "about_to_sleep",
            AtRisk => "at_risk",
            CannotLose => "cannot_lose",
            Hibernating => "hibernating",
            Lost => "lost",
        }
    }

    /// English display name.
    pub fn label(self) -> &'static str {
        use RfmSegment::*;
        match self {
            Champions => "Champions",
            Loyal => "Loyal",
            PotentialLoyalists => "Potential loyalists",
            NewCustomers => "New customers",
            Promising => "Promising",
            NeedAttention => "Need attention",
            AboutToSleep => "About to sleep",
            AtRisk => "At risk",
            CannotLose => "Cannot lose",
            Hibernating => "Hibernating",
            Lost => "Lost",
        }
    }
}

/// A customer's RFM measures, scores and segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRfm<K> {
    /// Who.
    pub customer: K,
    /// First paid order.
    pub first_order: NaiveDate,
    /// Last paid order.
    pub last_order: NaiveDate,
    /// Days from the last order to the as-of date.
    pub recency_days: i64,
    /// Number of orders (order-days).
    pub frequency: u32,
    /// Total paid, minor units.
    pub monetary_total_minor: i64,
    /// Mean order value, minor units (total / frequency, rounded to the nearest unit).
    pub monetary_mean_minor: i64,
    /// R score 1–5.
    pub r_score: u8,
    /// F score 1–5.
    pub f_score: u8,
    /// M score 1–5 (on the total).
    pub m_score: u8,
    /// (F + M) / 2 rounded half up.
    pub fm_score: u8,
    /// The named segment.
    pub segment: RfmSegment,
}

/// RFM for every customer with a paid order on or before `as_of`.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// use guanxi_analytics::rfm::{rfm_scores, RfmSegment};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let history = OrderHistory::from_transactions(&[
///     Transaction::paid(1u64, d(1, 2), 5_000),
///     Transaction::paid(1, d(5, 30), 7_000),
///     Transaction::paid(1, d(6, 20), 9_000),
///     Transaction::paid(2, d(1, 10), 1_000),
/// ]);
/// let rfm = rfm_scores(&history, d(6, 30)).unwrap();
/// assert_eq!((rfm[0].recency_days, rfm[0].frequency, rfm[0].monetary_total_minor), (10, 3, 21_000));
/// assert_eq!(rfm[0].segment, RfmSegment::Champions);
/// assert_eq!((rfm[1].r_score, rfm[1].f_score, rfm[1].m_score), (1, 1, 1));
/// ```
pub fn rfm_scores<K: CustomerKey>(history: &OrderHistory<K>, as_of: NaiveDate) -> Result<Vec<CustomerRfm<K>>> {
    let mut rows: Vec<CustomerRfm<K>> = history
        .iter()
        .filter_map(|(k, orders)| {
            let n = orders.partition_point(|o| o.date <= as_of);
            if n == 0 {
                return None;
            }
            let orders = &orders[..n];
            let total: i64 = orders.iter().map(|o| o.amount_minor).sum();
            Some(CustomerRfm {
                customer: k.clone(),
                first_order: orders[0].date,
                last_order: orders[n - 1].date,
                recency_days: (as_of - orders[n - 1].date).num_days(),
                frequency: n as u32,
                monetary_total_minor: total,
                monetary_mean_minor: (total as f64 / n as f64).round() as i64,
                r_score: 0,
                f_score: 0,
                m_score: 0,
                fm_score: 0,
                segment: RfmSegment::Lost,
            })
        })
        .collect();
    if rows.is_empty() {
        return Err(AnalyticsError::EmptyInput { what: "RFM (no paid order on or before the as-of date)" });
    }
    // Recency: smaller is better, so score on the negated value.
    let r = quintile_scores(&rows.iter().map(|c| -c.recency_days).collect::<Vec<_>>());
    let f = quintile_scores(&rows.iter().map(|c| c.frequency as i64).collect::<Vec<_>>());
    let m = quintile_scores(&rows.iter().map(|c| c.monetary_total_minor).collect::<Vec<_>>());
    for (i, c) in rows.iter_mut().enumerate() {
        c.r_score = r[i];
        c.f_score = f[i];
        c.m_score = m[i];
        c.fm_score = (f[i] + m[i]).div_ceil(2);
        c.segment = RfmSegment::from_scores(c.r_score, c.fm_score);
    }
    Ok(rows)
}

/// Scores 1–5 where higher values are better: `1 + min(4, floor(5 × w / (n − 1)))` with w the number of
/// strictly smaller values (see the module docs).
///
/// ```
/// use guanxi_analytics::rfm::quintile_scores;
/// assert_eq!(quintile_scores(&[10, 20, 30, 40, 50]), vec![1, 2, 3, 4, 5]);
/// // Ties share a score.
/// assert_eq!(quintile_scores(&[1, 1, 1, 1, 9]), vec![1, 1, 1, 1, 5]);
/// // Widely spread values (sorted) and a narrow range (counted) follow the same rule.
/// assert_eq!(quintile_scores(&[-5_000_000_000, 0, 7, 7, 9_000_000_000]), vec![1, 2, 3, 3, 5]);
/// ```
pub fn quintile_scores(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    let score_of = |below: usize| if n == 1 { 3 } else { 1 + ((5 * below) / (n - 1)).min(4) as u8 };
    // Recency in days and order counts span a small range: count each value instead of sorting (a million
    // customers then cost two passes and a table of a few thousand entries).
    if let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max())
        && let Some(span) = max.checked_sub(min)
        && span < 4 * n as i64 + 1024
    {
        let mut below = vec![0usize; span as usize + 2];
        for &v in values {
            below[(v - min) as usize + 1] += 1;
        }
        for i in 1..below.len() {
            below[i] += below[i - 1];
        }
        // below[v − min] = number of values strictly smaller than v.
        return values.iter().map(|&v| score_of(below[(v - min) as usize])).collect();
    }
    // (value, index) pairs sort in one contiguous array, without indirection.
    let mut order: Vec<(i64, u32)> = values.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
    order.sort_unstable();
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let v = order[start].0;
        let mut end = start;
        while end < n && order[end].0 == v {
            end += 1;
        }
        // `start` values are strictly smaller than this block's value.
        let score = score_of(start);
        for &(_, i) in &order[start..end] {
            scores[i as usize] = score;
        }
        start = end;
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grid_cell_has_the_documented_segment() {
        use RfmSegment::*;
        // Rows FM 5..1, columns R 1..5, as in the module docs.
        let grid = [
            [CannotLose, CannotLose, Loyal, Loyal, Champions],
            [AtRisk, AtRisk, Loyal, Loyal, Champions],
            [AtRisk, AtRisk, NeedAttention, PotentialLoyalists, PotentialLoyalists],
            [Hibernating, Hibernating, AboutToSleep, PotentialLoyalists, PotentialLoyalists],
            [Lost, Hibernating, AboutToSleep, Promising, NewCustomers],
        ];
        for (row, fm) in grid.iter().zip([5u8, 4, 3, 2, 1]) {
            for (want, r) in row.iter().zip(1u8..=5) {
                assert_eq!(RfmSegment::from_scores(r, fm), *want, "R {r} FM {fm}");
            }
        }
        let used: std::collections::BTreeSet<_> = grid.iter().flatten().collect();
        assert_eq!(used.len(), RfmSegment::ALL.len());
    }

    #[test]
    fn counted_and_sorted_scores_follow_the_definition() {
        let mut rng = crate::rng::SplitMix64::new(5);
        for (n, spread) in [(1, 3), (2, 1), (50, 4), (3_000, 40), (3_000, 1 << 40), (20_000, 100_000)] {
            let values: Vec<i64> = (0..n).map(|_| rng.below(spread) as i64 - (spread / 3) as i64).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let want: Vec<u8> = values
                .iter()
                .map(|v| {
                    let below = sorted.partition_point(|x| x < v);
                    if n == 1 { 3 } else { 1 + ((5 * below) / (n - 1)).min(4) as u8 }
                })
                .collect();
            assert_eq!(quintile_scores(&values), want, "n {n}, spread {spread}");
        }
    }

    #[test]
    fn scores_do_not_depend_on_input_order() {
        let v = [5, 3, 3, 9, 1, 7, 3, 2, 8, 8];
        let s = quintile_scores(&v);
        let mut rev = v;
        rev.reverse();
        let mut s_rev = quintile_scores(&rev);
        s_rev.reverse();
        assert_eq!(s, s_rev);
        assert_eq!(s, vec![3, 2, 2, 5, 1, 4, 2, 1, 4, 4]);
    }
}
