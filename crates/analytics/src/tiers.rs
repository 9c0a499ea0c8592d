//! Customer tiers: VIP, Important (重要), Ordinary (普通), from an ordered list of configurable rules.
//!
//! Rules are tried in order and the first that matches decides; customers no rule matches are Ordinary. The
//! defaults ([`TierRules::default`]):
//! 1. VIP: top 5 % of customers by predicted value (e.g. 12-month CLV);
//! 2. VIP: in the RFM Champions segment;
//! 3. Important: top 25 % by predicted value (that is, the next 20 % after the VIPs);
//! 4. Important: in the RFM Loyal or Cannot-lose segments;
//! 5. otherwise Ordinary.
//!
//! "Top share" ranks the customers that have a positive value on the basis by that value, highest first,
//! ties broken by customer key (ascending), and takes the first ⌈share × n⌉. Customers without a predicted
//! value never match a predicted-value rule; [`TierRules::historical_spend`] is a preset for shops that have no
//! fitted model yet.

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::orders::CustomerKey;
use crate::reason::{Reason, format_minor};
use crate::rfm::{CustomerRfm, RfmSegment};

/// The tier of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerTier {
    /// The most valuable customers.
    Vip,
    /// 重要: valuable customers worth special attention.
    Important,
    /// 普通: everyone else.
    Ordinary,
}

impl CustomerTier {
    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            CustomerTier::Vip => "vip",
            CustomerTier::Important => "important",
            CustomerTier::Ordinary => "ordinary",
        }
    }
}

/// What the tier rules need to know about a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierInput<K> {
    /// Who.
    pub customer: K,
    /// Total paid so far, minor units.
    pub total_spend_minor: i64,
    /// Number of orders.
    pub orders: u32,
    /// RFM segment, if the customer has bought.
    pub rfm_segment: Option<RfmSegment>,
    /// RFM R score and FM score (1–5), if the customer has bought.
    pub rfm_scores: Option<(u8, u8)>,
    /// Predicted future value (e.g. 12-month CLV), minor units, if a model is fitted.
    pub predicted_value_minor: Option<f64>,
}

impl<K: Clone> TierInput<K> {
    /// The input for a customer with RFM measures and, if fitted, a predicted value.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use guanxi_analytics::orders::{OrderHistory, Transaction};
    /// use guanxi_analytics::rfm::rfm_scores;
    /// use guanxi_analytics::tiers::TierInput;
    /// let d = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    /// let rfm = rfm_scores(&OrderHistory::from_transactions(&[Transaction::paid(1u64, d, 500)]), d).unwrap();
    /// let input = TierInput::from_rfm(&rfm[0], Some(1_200.0));
    /// assert_eq!((input.orders, input.total_spend_minor), (1, 500));
    /// ```
    pub fn from_rfm(rfm: &CustomerRfm<K>, predicted_value_minor: Option<f64>) -> Self {
        Self {
            customer: rfm.customer.clone(),
            total_spend_minor: rfm.monetary_total_minor,
            orders: rfm.frequency,
            rfm_segment: Some(rfm.segment),
            rfm_scores: Some((rfm.r_score, rfm.fm_score)),
            predicted_value_minor,
        }
    }
}

/// Which value a value rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueBasis {
    /// Predicted future value.
    PredictedValue,
    /// Total spend so far.
    HistoricalSpend,
}

impl ValueBasis {
    fn of<K>(self, c: &TierInput<K>) -> Option<f64> {
        match self {
            ValueBasis::PredictedValue => c.predicted_value_minor,
            ValueBasis::HistoricalSpend => Some(c.total_spend_minor as f64),
        }
    }

    fn words(self) -> &'static str {
        match self {
            ValueBasis::PredictedValue => "predicted value",
            ValueBasis::HistoricalSpend => "total spend",
        }
    }

    fn code(self) -> &'static str {
        match self {
            ValueBasis::PredictedValue => "predicted_value",
            ValueBasis::HistoricalSpend => "historical_spend",
        }
    }
}

/// A condition a rule tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TierCondition {
    /// Among the top `share` (0–1] of customers by the value.
    TopShare {
        /// Which value.
        basis: ValueBasis,
        /// Share of customers, e.g. 0.05.
        share: f64,
    },
    /// Value at least `minor`.
    ValueAtLeast {
        /// Which value.
        basis: ValueBasis,
        /// Threshold in minor units.
        minor: f64,
    },
    /// At least this many orders.
    OrdersAtLeast {
        /// Threshold.
        orders: u32,
    },
    /// R score and FM score both at least these.
    RfmScoresAtLeast {
        /// Minimum R score.
        r: u8,
        /// Minimum FM score.
        fm: u8,
    },
    /// In one of these RFM segments.
    SegmentIn {
        /// The segments.
        segments: Vec<RfmSegment>,
    },
}

/// One rule: customers meeting `condition` get `tier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierRule {
    /// Tier given.
    pub tier: CustomerTier,
    /// Condition tested.
    pub condition: TierCondition,
}

/// The ordered rule list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierRules {
    /// Rules, first match wins.
    pub rules: Vec<TierRule>,
}

impl Default for TierRules {
    fn default() -> Self {
        Self::by_basis(ValueBasis::PredictedValue)
    }
}

impl TierRules {
    /// The default rules with total spend so far in place of predicted value.
    pub fn historical_spend() -> Self {
        Self::by_basis(ValueBasis::HistoricalSpend)
    }

    fn by_basis(basis: ValueBasis) -> Self {
        use CustomerTier::*;
        let rule = |tier, condition| TierRule { tier, condition };
        Self {
            rules: vec![
                rule(Vip, TierCondition::TopShare { basis, share: 0.05 }),
                rule(Vip, TierCondition::SegmentIn { segments: vec![RfmSegment::Champions] }),
                rule(Important, TierCondition::TopShare { basis, share: 0.25 }),
                rule(Important, TierCondition::SegmentIn { segments: vec![RfmSegment::Loyal, RfmSegment::CannotLose] }),
            ],
        }
    }
}

/// A customer's tier with the rule that placed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierAssignment<K> {
    /// Who.
    pub customer: K,
    /// The tier.
    pub tier: CustomerTier,
    /// Index of the matching rule in [`TierRules::rules`], `None` for the Ordinary fallback.
    pub rule: Option<usize>,
    /// Why, in words and as a code.
    pub reason: Reason,
}

/// Tiers for all customers, in input order.
///
/// ```
/// use guanxi_analytics::rfm::RfmSegment;
/// use guanxi_analytics::tiers::{assign_tiers, CustomerTier, TierInput, TierRules};
/// let c = |id: u64, clv: f64, seg| TierInput {
///     customer: id, total_spend_minor: 10_000, orders: 3, rfm_segment: Some(seg), rfm_scores: None,
///     predicted_value_minor: Some(clv),
/// };
/// let mut customers: Vec<_> = (0..40).map(|i| c(i, 100.0 * i as f64, RfmSegment::Hibernating)).collect();
/// customers.push(c(99, 1.0, RfmSegment::Champions));
/// let tiers = assign_tiers(&customers, &TierRules::default()).unwrap();
/// assert_eq!(tiers[39].tier, CustomerTier::Vip); // highest predicted value
/// assert_eq!(tiers[39].reason.code, "top_share");
/// assert_eq!(tiers[40].tier, CustomerTier::Vip); // a champion
/// assert_eq!(tiers[30].tier, CustomerTier::Important);
/// assert_eq!(tiers[0].tier, CustomerTier::Ordinary);
/// ```
pub fn assign_tiers<K: CustomerKey>(customers: &[TierInput<K>], rules: &TierRules) -> Result<Vec<TierAssignment<K>>> {
    for c in customers {
        if let Some(v) = c.predicted_value_minor {
            ensure_finite(v, "predicted value")?;
        }
    }
    // Rank per top-share rule once: rank[rule][customer] = Some(position) if the customer has a positive value.
    let mut ranks: Vec<Option<(Vec<Option<usize>>, usize)>> = Vec::with_capacity(rules.rules.len());
    for rule in &rules.rules {
        ranks.push(match &rule.condition {
            TierCondition::TopShare { basis, share } => {
                if !(*share > 0.0 && *share <= 1.0) {
                    return Err(AnalyticsError::InvalidSetting(format!("top share {share} must be in (0, 1]")));
                }
                let mut order: Vec<usize> =
                    (0..customers.len()).filter(|&i| basis.of(&customers[i]).is_some_and(|v| v > 0.0)).collect();
                order.sort_by(|&i, &j| {
                    let (vi, vj) = (basis.of(&customers[i]).unwrap_or(0.0), basis.of(&customers[j]).unwrap_or(0.0));
                    vj.total_cmp(&vi).then_with(|| customers[i].customer.cmp(&customers[j].customer))
                });
                let mut rank = vec![None; customers.len()];
                for (pos, &i) in order.iter().enumerate() {
                    rank[i] = Some(pos);
                }
                Some((rank, order.len()))
            }
            _ => None,
        });
    }
    Ok(customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            for (r, rule) in rules.rules.iter().enumerate() {
                if let Some(reason) = matches(rule, c, ranks[r].as_ref().map(|(rank, n)| (rank[i], *n))) {
                    return TierAssignment { customer: c.customer.clone(), tier: rule.tier, rule: Some(r), reason };
                }
            }
            TierAssignment {
                customer: c.customer.clone(),
                tier: CustomerTier::Ordinary,
                rule: None,
                reason: Reason::new("no_rule_matched", "no VIP or Important rule applies"),
            }
        })
        .collect())
}

fn matches<K>(rule: &TierRule, c: &TierInput<K>, rank: Option<(Option<usize>, usize)>) -> Option<Reason> {
    match &rule.condition {
        TierCondition::TopShare { basis, share } => {
            let (Some(pos), n) = rank? else { return None };
            let cutoff = (share * n as f64).ceil() as usize;
            (pos < cutoff).then(|| {
                Reason::new(
                    "top_share",
                    format!("top {}% by {} (rank {} of {n})", trim_percent(share * 100.0), basis.words(), pos + 1),
                )
                .with("basis", basis.code())
                .with("share", share)
                .with("rank", pos + 1)
                .with("of", n)
            })
        }
        TierCondition::ValueAtLeast { basis, minor } => {
            let v = basis.of(c)?;
            (v >= *minor).then(|| {
                Reason::new(
                    "value_at_least",
                    format!(
                        "{} {} is at least {}",
                        basis.words(),
                        format_minor(v.round() as i64, 2),
                        format_minor(minor.round() as i64, 2)
                    ),
                )
                .with("basis", basis.code())
                .with("value_minor", v.round() as i64)
                .with("threshold_minor", minor.round() as i64)
            })
        }
        TierCondition::OrdersAtLeast { orders } => (c.orders >= *orders).then(|| {
            Reason::new("orders_at_least", format!("{} orders (at least {orders})", c.orders))
                .with("orders", c.orders)
                .with("threshold", orders)
        }),
        TierCondition::RfmScoresAtLeast { r, fm } => {
            let (cr, cfm) = c.rfm_scores?;
            (cr >= *r && cfm >= *fm).then(|| {
                Reason::new("rfm_scores_at_least", format!("RFM scores R {cr}, FM {cfm} (at least R {r}, FM {fm})"))
                    .with("r", cr)
                    .with("fm", cfm)
                    .with("min_r", r)
                    .with("min_fm", fm)
            })
        }
        TierCondition::SegmentIn { segments } => {
            let s = c.rfm_segment?;
            segments.contains(&s).then(|| {
                Reason::new("rfm_segment", format!("in the RFM segment {}", s.label())).with("segment", s.code())
            })
        }
    }
}

fn trim_percent(p: f64) -> String {
    let s = format!("{p:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
