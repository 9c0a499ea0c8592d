//! Lifecycle stages: Prospect → FirstTime → Repeat → Loyal, and Churned.
//!
//! Rules, applied in this order to a customer's paid order-days on or before the as-of date:
//! 1. **Prospect**: no paid order yet.
//! 2. **Churned**: no order for at least `churn_gap_multiple` × the customer's expected gap between orders
//!    (their own mean gap with two or more orders, else `fallback_gap_days`, which
//!    [`median_gap_days`] can estimate from the whole base), or P(alive) below `churn_max_probability_alive`.
//! 3. **Loyal**: at least `loyal_min_orders` orders and P(alive) at least `loyal_min_probability_alive` (when no
//!    P(alive) is known, the order count alone decides).
//! 4. **FirstTime**: exactly one order.
//! 5. **Repeat**: two or more orders.
//!
//! A churned customer who buys again moves back to Repeat or Loyal; [`stage_change`] records every move as a
//! dated [`StageChange`] event.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::orders::{CustomerKey, DayOrder, OrderHistory};
use crate::reason::Reason;

/// Where a customer is in their relationship with the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Known to us, no purchase yet.
    Prospect,
    /// One purchase.
    FirstTime,
    /// Two or more purchases.
    Repeat,
    /// Many purchases and very likely still active.
    Loyal,
    /// Gone quiet for much longer than their usual rhythm.
    Churned,
}

impl LifecycleStage {
    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            LifecycleStage::Prospect => "prospect",
            LifecycleStage::FirstTime => "first_time",
            LifecycleStage::Repeat => "repeat",
            LifecycleStage::Loyal => "loyal",
            LifecycleStage::Churned => "churned",
        }
    }
}

/// The thresholds of the stage rules (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifecycleRules {
    /// Loyal needs at least this many orders (default 4).
    pub loyal_min_orders: u32,
    /// ... and at least this P(alive) (default 0.7).
    pub loyal_min_probability_alive: f64,
    /// Churned after this many expected gaps without an order (default 3).
    pub churn_gap_multiple: f64,
    /// ... or when P(alive) falls below this (default 0.2).
    pub churn_max_probability_alive: f64,
    /// Expected gap in days for customers with a single order (default 90).
    pub fallback_gap_days: f64,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        Self {
            loyal_min_orders: 4,
            loyal_min_probability_alive: 0.7,
            churn_gap_multiple: 3.0,
            churn_max_probability_alive: 0.2,
            fallback_gap_days: 90.0,
        }
    }
}

impl LifecycleRules {
    fn validate(&self) -> Result<()> {
        for (v, name) in [
            (self.loyal_min_probability_alive, "loyal_min_probability_alive"),
            (self.churn_max_probability_alive, "churn_max_probability_alive"),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(AnalyticsError::InvalidSetting(format!("{name} = {v} is not a probability")));
            }
        }
        ensure_finite(self.churn_gap_multiple, "churn_gap_multiple")?;
        ensure_finite(self.fallback_gap_days, "fallback_gap_days")?;
        if self.churn_gap_multiple <= 0.0 || self.fallback_gap_days <= 0.0 {
            return Err(AnalyticsError::InvalidSetting("gap settings must be positive".into()));
        }
        Ok(())
    }
}

/// A stage with the rule that gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageAssessment<K> {
    /// Who.
    pub customer: K,
    /// The stage.
    pub stage: LifecycleStage,
    /// Why.
    pub reason: Reason,
}

/// The stage of one customer from their day-orders (sorted; orders after `as_of` are ignored).
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::lifecycle::{stage_of, LifecycleRules, LifecycleStage};
/// use guanxi_analytics::orders::DayOrder;
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let o = |date| DayOrder { date, amount_minor: 1000 };
/// let rules = LifecycleRules::default();
/// let monthly = [o(d(1, 1)), o(d(2, 1)), o(d(3, 1)), o(d(4, 1))];
/// assert_eq!(stage_of(&monthly, d(4, 15), Some(0.9), &rules).unwrap().0, LifecycleStage::Loyal);
/// // 30-day rhythm, then silence for more than 3 × 30 days.
/// assert_eq!(stage_of(&monthly, d(8, 1), None, &rules).unwrap().0, LifecycleStage::Churned);
/// assert_eq!(stage_of(&[], d(8, 1), None, &rules).unwrap().0, LifecycleStage::Prospect);
/// ```
pub fn stage_of(
    orders: &[DayOrder],
    as_of: NaiveDate,
    probability_alive: Option<f64>,
    rules: &LifecycleRules,
) -> Result<(LifecycleStage, Reason)> {
    rules.validate()?;
    if let Some(p) = probability_alive
        && !(0.0..=1.0).contains(&p)
    {
        return Err(AnalyticsError::InvalidInput(format!("P(alive) = {p} is not a probability")));
    }
    let orders = &orders[..orders.partition_point(|o| o.date <= as_of)];
    let n = orders.len() as u32;
    let (Some(first), Some(last)) = (orders.first(), orders.last()) else {
        return Ok((LifecycleStage::Prospect, Reason::new("no_purchase", "no purchase yet")));
    };
    let since_last = (as_of - last.date).num_days();
    let (gap, own_gap) = if n >= 2 {
        ((last.date - first.date).num_days() as f64 / (n - 1) as f64, true)
    } else {
        (rules.fallback_gap_days, false)
    };
    let gap_text = if own_gap { "usual gap" } else { "typical gap" };
    if since_last as f64 >= rules.churn_gap_multiple * gap {
        return Ok((
            LifecycleStage::Churned,
            Reason::new(
                "silent_for_gaps",
                format!(
                    "no purchase for {since_last} days, more than {} × the {gap_text} of {:.0} days",
                    rules.churn_gap_multiple, gap
                ),
            )
            .with("days", since_last)
            .with("gap_days", format!("{gap:.1}"))
            .with("multiple", rules.churn_gap_multiple),
        ));
    }
    if let Some(p) = probability_alive
        && p < rules.churn_max_probability_alive
    {
        return Ok((
            LifecycleStage::Churned,
            Reason::new("low_probability_alive", format!("only {:.0}% likely to still be active", p * 100.0))
                .with("probability_alive", format!("{p:.3}")),
        ));
    }
    if n >= rules.loyal_min_orders && probability_alive.is_none_or(|p| p >= rules.loyal_min_probability_alive) {
        let text = match probability_alive {
            Some(p) => format!("{n} orders and {:.0}% likely to still be active", p * 100.0),
            None => format!("{n} orders"),
        };
        let mut reason = Reason::new("many_orders_active", text).with("orders", n);
        if let Some(p) = probability_alive {
            reason = reason.with("probability_alive", format!("{p:.3}"));
        }
        return Ok((LifecycleStage::Loyal, reason));
    }
    if n == 1 {
        return Ok((LifecycleStage::FirstTime, Reason::new("one_order", "one order so far").with("orders", 1)));
    }
    Ok((LifecycleStage::Repeat, Reason::new("repeat_orders", format!("{n} orders")).with("orders", n)))
}

/// Stages of all known customers (`customers` includes prospects without orders), in the order given.
/// `probability_alive` looks up a customer's BG/NBD P(alive), if fitted.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::lifecycle::{lifecycle_stages, LifecycleRules, LifecycleStage};
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let history = OrderHistory::from_transactions(&[Transaction::paid(1u64, d(3, 1), 500)]);
/// let stages = lifecycle_stages(&[1, 2], &history, d(3, 10), |_| None, &LifecycleRules::default()).unwrap();
/// assert_eq!(stages[0].stage, LifecycleStage::FirstTime);
/// assert_eq!(stages[1].stage, LifecycleStage::Prospect);
/// ```
pub fn lifecycle_stages<K: CustomerKey>(
    customers: &[K],
    history: &OrderHistory<K>,
    as_of: NaiveDate,
    probability_alive: impl Fn(&K) -> Option<f64>,
    rules: &LifecycleRules,
) -> Result<Vec<StageAssessment<K>>> {
    customers
        .iter()
        .map(|k| {
            let (stage, reason) = stage_of(history.orders_of(k), as_of, probability_alive(k), rules)?;
            Ok(StageAssessment { customer: k.clone(), stage, reason })
        })
        .collect()
}

/// Median gap in days between consecutive orders over all customers with two or more orders: a data-driven
/// `fallback_gap_days`. `None` if nobody has repeated.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::lifecycle::median_gap_days;
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let h = OrderHistory::from_transactions(&[
///     Transaction::paid(1u64, d(1, 1), 1), Transaction::paid(1, d(1, 11), 1), Transaction::paid(1, d(2, 10), 1),
/// ]);
/// assert_eq!(median_gap_days(&h), Some(20.0));
/// ```
pub fn median_gap_days<K: CustomerKey>(history: &OrderHistory<K>) -> Option<f64> {
    let mut gaps: Vec<i64> =
        history.iter().flat_map(|(_, o)| o.windows(2).map(|w| (w[1].date - w[0].date).num_days())).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let m = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 { gaps[m] as f64 } else { (gaps[m - 1] + gaps[m]) as f64 / 2.0 })
}

/// A dated move from one stage to another, for the customer's timeline and for automations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange<K> {
    /// Who.
    pub customer: K,
    /// Previous stage (`None` for a customer seen for the first time).
    pub from: Option<LifecycleStage>,
    /// New stage.
    pub to: LifecycleStage,
    /// When the change was observed.
    pub on: NaiveDate,
    /// Days spent in the previous stage.
    pub days_in_previous_stage: Option<i64>,
}

/// The change event, if the stage changed. `previous` is the stored stage and the date it was entered.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::lifecycle::{stage_change, LifecycleStage};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let change = stage_change(7u64, Some((LifecycleStage::Repeat, d(1, 1))), LifecycleStage::Churned, d(6, 1))
///     .unwrap()
///     .unwrap();
/// assert_eq!(change.days_in_previous_stage, Some(151));
/// assert!(stage_change(7u64, Some((LifecycleStage::Loyal, d(1, 1))), LifecycleStage::Loyal, d(6, 1)).unwrap().is_none());
/// ```
pub fn stage_change<K>(
    customer: K,
    previous: Option<(LifecycleStage, NaiveDate)>,
    current: LifecycleStage,
    on: NaiveDate,
) -> Result<Option<StageChange<K>>> {
    match previous {
        Some((_, since)) if on < since => Err(AnalyticsError::InvalidInput(format!(
            "stage change dated {on} is before the previous stage's start {since}"
        ))),
        Some((stage, _)) if stage == current => Ok(None),
        _ => Ok(Some(StageChange {
            customer,
            from: previous.map(|p| p.0),
            to: current,
            on,
            days_in_previous_stage: previous.map(|p| (on - p.1).num_days()),
        })),
    }
}
