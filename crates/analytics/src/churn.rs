//! Churn risk: who is likely to stop buying, and why, in words.
//!
//! Features come from each customer's history up to a cut-off date; the label is "no purchase in the following
//! holdout window". A logistic regression ([`crate::logistic`]) is trained on a calibration/holdout split of
//! the past, evaluated on customers it did not see (AUC, reliability table, Brier score), and then scores
//! today's customers from features computed as of today. Each score lists its three largest contributions
//! (coefficient × standardised value) rendered from templates, with a code and parameters for translation.
//!
//! Features: days since the last order; days overdue relative to the customer's usual gap; number of orders
//! (log); mean order value (log); tenure in days; spend trend (last window vs the window before); complaints and
//! support tickets when the CRM has them (constant features, such as absent counts, get a zero coefficient).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result};
use crate::logistic::{LogisticModel, ReliabilityBin, calibration, fit_logistic, roc_auc};
use crate::orders::{CustomerKey, OrderHistory};
use crate::reason::{Reason, format_minor};
use crate::rng::SplitMix64;

/// Complaint and ticket counts of a customer, as the CRM's service module records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportCounts<K> {
    /// Who.
    pub customer: K,
    /// Complaints in the feature window.
    pub complaints: u32,
    /// Support tickets in the feature window.
    pub tickets: u32,
}

/// Settings of the churn analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnSettings {
    /// Length of the two windows compared by the spend-trend feature (default 90 days).
    pub trend_window_days: u32,
    /// L2 penalty of the logistic regression (default 1.0).
    pub l2: f64,
    /// Share of customers held out for evaluation (default 0.3).
    pub test_share: f64,
    /// Seed of the train/test split.
    pub seed: u64,
    /// Bins of the reliability table (default 10).
    pub calibration_bins: usize,
    /// Decimals of the currency for rendering amounts (default 2).
    pub currency_decimals: u32,
}

impl Default for ChurnSettings {
    fn default() -> Self {
        Self { trend_window_days: 90, l2: 1.0, test_share: 0.3, seed: 7, calibration_bins: 10, currency_decimals: 2 }
    }
}

/// The features of one customer at a cut-off date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnFeatures<K> {
    /// Who.
    pub customer: K,
    /// Days since the last order.
    pub recency_days: f64,
    /// Orders (order-days) so far.
    pub orders: u32,
    /// Mean order value, minor units.
    pub mean_order_value_minor: f64,
    /// Days since the first order.
    pub tenure_days: f64,
    /// Mean days between orders (the base-wide median for one-order customers).
    pub usual_gap_days: f64,
    /// Spend in the last trend window, minor units.
    pub recent_spend_minor: i64,
    /// Spend in the window before, minor units.
    pub previous_spend_minor: i64,
    /// Complaints (0 when unknown).
    pub complaints: u32,
    /// Support tickets (0 when unknown).
    pub tickets: u32,
}

/// The model's features, in column order.
const FEATURE_NAMES: [&str; 8] = [
    "recency_days",
    "days_overdue",
    "log_orders",
    "log_mean_order_value",
    "tenure_days",
    "spend_trend",
    "complaints",
    "tickets",
];

impl<K> ChurnFeatures<K> {
    fn row(&self) -> [f64; 8] {
        let (r, p) = (self.recent_spend_minor as f64, self.previous_spend_minor as f64);
        [
            self.recency_days,
            self.recency_days - self.usual_gap_days,
            (self.orders as f64).ln_1p(),
            self.mean_order_value_minor.max(0.0).ln_1p(),
            self.tenure_days,
            if r + p > 0.0 { (r - p) / (r + p) } else { 0.0 },
            self.complaints as f64,
            self.tickets as f64,
        ]
    }
}

/// Features of every customer with an order on or before `as_of`, in customer order.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::churn::{churn_features, ChurnSettings, SupportCounts};
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let h = OrderHistory::from_transactions(&[
///     Transaction::paid(1u64, d(1, 1), 1000), Transaction::paid(1, d(1, 31), 3000),
/// ]);
/// let support = [SupportCounts { customer: 1u64, complaints: 2, tickets: 3 }];
/// let f = &churn_features(&h, &support, d(6, 20), &ChurnSettings::default()).unwrap()[0];
/// assert_eq!((f.recency_days, f.usual_gap_days, f.orders, f.complaints), (140.0, 30.0, 2, 2));
/// ```
pub fn churn_features<K: CustomerKey>(
    history: &OrderHistory<K>,
    support: &[SupportCounts<K>],
    as_of: NaiveDate,
    settings: &ChurnSettings,
) -> Result<Vec<ChurnFeatures<K>>> {
    let mut support: Vec<&SupportCounts<K>> = support.iter().collect();
    support.sort_by(|a, b| a.customer.cmp(&b.customer));
    let window = Days::new(settings.trend_window_days as u64);
    let recent_start = as_of.checked_sub_days(window).unwrap_or(NaiveDate::MIN);
    let previous_start = recent_start.checked_sub_days(window).unwrap_or(NaiveDate::MIN);
    let mut gaps: Vec<f64> = Vec::new();
    let mut out: Vec<ChurnFeatures<K>> = Vec::new();
    for (k, orders) in history.iter() {
        let orders = &orders[..orders.partition_point(|o| o.date <= as_of)];
        let (Some(first), Some(last)) = (orders.first(), orders.last()) else { continue };
        let n = orders.len();
        let total: i64 = orders.iter().map(|o| o.amount_minor).sum();
        let gap = if n >= 2 { (last.date - first.date).num_days() as f64 / (n - 1) as f64 } else { f64::NAN };
        if n >= 2 {
            gaps.push(gap);
        }
        let (mut recent, mut previous) = (0, 0);
        for o in orders.iter().rev() {
            if o.date > recent_start {
                recent += o.amount_minor;
            } else if o.date > previous_start {
                previous += o.amount_minor;
            } else {
                break;
            }
        }
        let s = support.binary_search_by(|s| s.customer.cmp(k)).ok().map(|i| support[i]);
        out.push(ChurnFeatures {
            customer: k.clone(),
            recency_days: (as_of - last.date).num_days() as f64,
            orders: n as u32,
            mean_order_value_minor: total as f64 / n as f64,
            tenure_days: (as_of - first.date).num_days() as f64,
            usual_gap_days: gap,
            recent_spend_minor: recent,
            previous_spend_minor: previous,
            complaints: s.map_or(0, |s| s.complaints),
            tickets: s.map_or(0, |s| s.tickets),
        });
    }
    if out.is_empty() {
        return Err(AnalyticsError::EmptyInput { what: "churn features (no order before the cut-off)" });
    }
    // One-order customers have no gap of their own: use the base's median gap (or their tenure if nobody
    // has repeated yet).
    gaps.sort_by(f64::total_cmp);
    let median = gaps.get(gaps.len() / 2).copied();
    for f in &mut out {
        if f.usual_gap_days.is_nan() {
            f.usual_gap_days = median.unwrap_or(f.tenure_days.max(1.0));
        }
    }
    Ok(out)
}

/// A training example: features at the calibration end, and whether the customer then bought nothing in the
/// holdout window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnExample<K> {
    /// Features at the calibration end.
    pub features: ChurnFeatures<K>,
    /// True if no order followed in the holdout window.
    pub churned: bool,
}

/// Examples for every customer with an order on or before `calibration_end`; label = no order in
/// (`calibration_end`, `holdout_end`].
pub fn churn_examples<K: CustomerKey>(
    history: &OrderHistory<K>,
    support: &[SupportCounts<K>],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    settings: &ChurnSettings,
) -> Result<Vec<ChurnExample<K>>> {
    if holdout_end <= calibration_end {
        return Err(AnalyticsError::InvalidSetting("the holdout window must end after the calibration end".into()));
    }
    let features = churn_features(history, support, calibration_end, settings)?;
    Ok(features
        .into_iter()
        .map(|f| {
            let orders = history.orders_of(&f.customer);
            let bought = orders.iter().any(|o| o.date > calibration_end && o.date <= holdout_end);
            ChurnExample { features: f, churned: !bought }
        })
        .collect())
}

/// A trained churn model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// The logistic regression over [`ChurnFeatures`].
    pub logistic: LogisticModel,
    /// Feature names, in the order of the coefficients.
    pub feature_names: Vec<String>,
    /// Settings used (for rendering).
    pub settings: ChurnSettings,
}

/// A customer's churn risk with the three features that pushed it most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnScore<K> {
    /// Who.
    pub customer: K,
    /// Probability of no purchase in a window as long as the training holdout.
    pub probability: f64,
    /// Top three contributions, largest first, in words.
    pub reasons: Vec<Reason>,
}

/// Trains the churn model on examples.
///
/// ```
/// use guanxi_analytics::churn::{churn_examples, train_churn_model, ChurnSettings};
/// use guanxi_analytics::orders::OrderHistory;
/// use guanxi_analytics::synthetic::{generate, SyntheticSettings};
/// let data = generate(&SyntheticSettings { customers: 2_000, ..Default::default() });
/// let history = OrderHistory::from_transactions(&data.transactions);
/// let (cal, hold) = (chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(), data.settings.end);
/// let examples = churn_examples(&history, &[], cal, hold, &ChurnSettings::default()).unwrap();
/// let model = train_churn_model(&examples, &ChurnSettings::default()).unwrap();
/// let score = model.score(&examples[0].features);
/// assert_eq!(score.reasons.len(), 3);
/// ```
pub fn train_churn_model<K>(examples: &[ChurnExample<K>], settings: &ChurnSettings) -> Result<ChurnModel> {
    let rows: Vec<f64> = examples.iter().flat_map(|e| e.features.row()).collect();
    let labels: Vec<bool> = examples.iter().map(|e| e.churned).collect();
    let logistic = fit_logistic(&rows, FEATURE_NAMES.len(), &labels, settings.l2)?;
    Ok(ChurnModel {
        logistic,
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        settings: settings.clone(),
    })
}

impl ChurnModel {
    /// Probability and reasons for one customer's features.
    pub fn score<K: Clone>(&self, f: &ChurnFeatures<K>) -> ChurnScore<K> {
        let row = f.row();
        let probability = self.logistic.probability(&row);
        let contributions = self.logistic.contributions(&row);
        let mut order: Vec<usize> = (0..row.len()).filter(|&j| self.logistic.coefficients[j] != 0.0).collect();
        order.sort_by(|&a, &b| contributions[b].total_cmp(&contributions[a]).then(a.cmp(&b)));
        let mut reasons: Vec<Reason> = Vec::with_capacity(3);
        for j in order {
            let reason = self.render(j, f, contributions[j]);
            // Recency and overdue days read the same in words: show the sentence once.
            if reasons.iter().all(|r| r.code != reason.code) {
                reasons.push(reason);
            }
            if reasons.len() == 3 {
                break;
            }
        }
        ChurnScore { customer: f.customer.clone(), probability, reasons }
    }

    fn render<K>(&self, feature: usize, f: &ChurnFeatures<K>, contribution: f64) -> Reason {
        let days = f.recency_days.round() as i64;
        let gap = f.usual_gap_days.round() as i64;
        let reason = match feature {
            0 | 1 => Reason::new("no_purchase_for", format!("no purchase for {days} days, usual gap {gap} days"))
                .with("days", days)
                .with("usual_gap_days", gap),
            2 => {
                let text = if f.orders == 1 {
                    "only 1 order so far".to_owned()
                } else {
                    format!("{} orders so far", f.orders)
                };
                Reason::new("order_count", text).with("orders", f.orders)
            }
            3 => {
                let v = f.mean_order_value_minor.round() as i64;
                Reason::new(
                    "average_order_value",
                    format!("average order {}", format_minor(v, self.settings.currency_decimals)),
                )
                .with("value_minor", v)
            }
            4 => Reason::new("tenure", format!("customer for {} days", f.tenure_days.round() as i64))
                .with("days", f.tenure_days.round() as i64),
            5 => {
                let w = self.settings.trend_window_days;
                let (r, p) = (f.recent_spend_minor, f.previous_spend_minor);
                let text = match (r, p) {
                    (0, 0) => format!("no spend in the last {} days", 2 * w),
                    (_, 0) => format!("spend only in the last {w} days, none in the {w} before"),
                    _ => {
                        let change = (r - p) as f64 / p as f64 * 100.0;
                        let dir = if change < 0.0 { "down" } else { "up" };
                        format!("spend {dir} {:.0}% in the last {w} days vs the {w} before", change.abs())
                    }
                };
                Reason::new("spend_trend", text)
                    .with("recent_minor", r)
                    .with("previous_minor", p)
                    .with("window_days", w)
            }
            6 => Reason::new("complaints", plural(f.complaints, "complaint")).with("count", f.complaints),
            _ => Reason::new("support_tickets", plural(f.tickets, "support ticket")).with("count", f.tickets),
        };
        reason.with("contribution", format!("{contribution:.3}")).with("feature", FEATURE_NAMES[feature])
    }
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// Held-out quality of a churn model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnEvaluation {
    /// ROC AUC on the held-out customers.
    pub auc: f64,
    /// Brier score (mean squared error of the probabilities).
    pub brier: f64,
    /// Reliability table.
    pub reliability: Vec<ReliabilityBin>,
    /// Share of held-out customers who churned.
    pub base_rate: f64,
    /// Number of held-out customers.
    pub customers: usize,
}

/// Scores examples and measures AUC, Brier score and calibration.
pub fn evaluate_churn_model<K: Clone>(model: &ChurnModel, examples: &[ChurnExample<K>]) -> Result<ChurnEvaluation> {
    let probabilities: Vec<f64> = examples.iter().map(|e| model.logistic.probability(&e.features.row())).collect();
    let labels: Vec<bool> = examples.iter().map(|e| e.churned).collect();
    let auc = roc_auc(&probabilities, &labels)?;
    let (reliability, brier) = calibration(&probabilities, &labels, model.settings.calibration_bins)?;
    Ok(ChurnEvaluation {
        auc,
        brier,
        reliability,
        base_rate: labels.iter().filter(|&&y| y).count() as f64 / labels.len() as f64,
        customers: labels.len(),
    })
}

/// A trained model with its held-out evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnStudy {
    /// The model, trained on the training customers.
    pub model: ChurnModel,
    /// Its quality on the held-out customers.
    pub evaluation: ChurnEvaluation,
    /// Number of training customers.
    pub trained_on: usize,
}

/// The whole exercise: examples from the calibration/holdout split, a seeded split of customers into training
/// and test sets, training, and evaluation on the test customers.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::churn::{churn_study, ChurnSettings};
/// use guanxi_analytics::orders::OrderHistory;
/// use guanxi_analytics::synthetic::{generate, SyntheticSettings};
/// let data = generate(&SyntheticSettings { customers: 3_000, ..Default::default() });
/// let history = OrderHistory::from_transactions(&data.transactions);
/// let cal = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
/// let study = churn_study(&history, &[], cal, data.settings.end, &ChurnSettings::default()).unwrap();
/// assert!(study.evaluation.auc > 0.6);
/// ```
pub fn churn_study<K: CustomerKey>(
    history: &OrderHistory<K>,
    support: &[SupportCounts<K>],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    settings: &ChurnSettings,
) -> Result<ChurnStudy> {
    if !(settings.test_share > 0.0 && settings.test_share < 1.0) {
        return Err(AnalyticsError::InvalidSetting(format!("test_share {} must be in (0, 1)", settings.test_share)));
    }
    let examples = churn_examples(history, support, calibration_end, holdout_end, settings)?;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    SplitMix64::new(settings.seed).shuffle(&mut order);
    let test_n = ((examples.len() as f64 * settings.test_share).round() as usize).clamp(1, examples.len() - 1);
    let mut is_test = vec![false; examples.len()];
    for &i in &order[..test_n] {
        is_test[i] = true;
    }
    let (test, train): (Vec<_>, Vec<_>) = examples.into_iter().enumerate().partition(|(i, _)| is_test[*i]);
    let train: Vec<ChurnExample<K>> = train.into_iter().map(|(_, e)| e).collect();
    let test: Vec<ChurnExample<K>> = test.into_iter().map(|(_, e)| e).collect();
    let model = train_churn_model(&train, settings)?;
    let evaluation = evaluate_churn_model(&model, &test)?;
    Ok(ChurnStudy { model, evaluation, trained_on: train.len() })
}
