//! Transactions as the store hands them over, and per-customer order histories built from them.
//!
//! Every model in the crate starts from an [`OrderHistory`]: paid orders only, one order per customer and day
//! (several same-day orders are one shopping trip and would otherwise inflate frequency), sorted by customer
//! and date, in flat arrays so that ten million orders cost no per-customer allocation.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result};

/// Anything that identifies a customer: `u64`, a UUID's bytes, a string... It must be totally ordered so
/// that results come out in a deterministic order.
pub trait CustomerKey: Ord + Clone + std::fmt::Debug {}
impl<T: Ord + Clone + std::fmt::Debug> CustomerKey for T {}

/// Payment state of an order. Only [`OrderStatus::Paid`] orders count as purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid: counts.
    Paid,
    /// Placed but not paid yet.
    Pending,
    /// Cancelled before payment.
    Cancelled,
    /// Paid and then refunded in full.
    Refunded,
}

/// One order of a customer, as the store reads it.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::orders::{OrderStatus, Transaction};
/// let t = Transaction::paid(42u64, NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(), 12_50);
/// assert_eq!(t.status, OrderStatus::Paid);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction<K> {
    /// Who bought.
    pub customer: K,
    /// Day of the order (in the shop's time zone).
    pub date: NaiveDate,
    /// Order value in integer minor units (cents, fen).
    pub amount_minor: i64,
    /// Payment state.
    pub status: OrderStatus,
}

impl<K> Transaction<K> {
    /// A paid order.
    pub fn paid(customer: K, date: NaiveDate, amount_minor: i64) -> Self {
        Self { customer, date, amount_minor, status: OrderStatus::Paid }
    }
}

/// One customer-day of paid orders (same-day orders merged, amounts added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOrder {
    /// The day.
    pub date: NaiveDate,
    /// Total paid that day, minor units.
    pub amount_minor: i64,
}

/// Paid orders of every customer, merged by day and sorted by customer then date.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::orders::{OrderHistory, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let history = OrderHistory::from_transactions(&[
///     Transaction::paid(2u64, d(1, 5), 300),
///     Transaction::paid(1, d(1, 1), 100),
///     Transaction::paid(1, d(1, 1), 50), // same day: one order of 150
///     Transaction::paid(1, d(2, 1), 200),
/// ]);
/// assert_eq!(history.customer_count(), 2);
/// let (who, orders) = history.iter().next().unwrap();
/// assert_eq!((*who, orders.len(), orders[0].amount_minor), (1, 2, 150));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderHistory<K> {
    customers: Vec<K>,
    /// `starts[i]..starts[i + 1]` are the orders of `customers[i]`; one extra entry at the end.
    starts: Vec<usize>,
    orders: Vec<DayOrder>,
}

impl<K: CustomerKey> OrderHistory<K> {
    /// Builds the history from raw transactions (any order; a sorted input skips the sort).
    pub fn from_transactions(transactions: &[Transaction<K>]) -> Self {
        let paid = |t: &&Transaction<K>| t.status == OrderStatus::Paid;
        // Stores usually read with ORDER BY customer, date: then this check is all the sorting costs, and the
        // history is built straight from the input without an intermediate copy (ten million orders would
        // otherwise allocate and fill a few hundred megabytes for nothing).
        if transactions.iter().filter(paid).is_sorted_by(|a, b| (&a.customer, a.date) <= (&b.customer, b.date)) {
            let paid_count = transactions.iter().filter(paid).count();
            return Self::from_sorted(
                transactions.iter().filter(paid).map(|t| (t.customer.clone(), t.date, t.amount_minor)),
                paid_count,
            );
        }
        // Owned keys rather than references: sorting then touches one contiguous array instead of chasing
        // pointers into the input, which is several times faster on millions of orders.
        let mut rows: Vec<(K, NaiveDate, i64)> =
            transactions.iter().filter(paid).map(|t| (t.customer.clone(), t.date, t.amount_minor)).collect();
        rows.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let count = rows.len();
        Self::from_sorted(rows.into_iter(), count)
    }

    /// Builds the history from paid orders sorted by customer and date (`count` of them, for the allocation).
    fn from_sorted(rows: impl Iterator<Item = (K, NaiveDate, i64)>, count: usize) -> Self {
        let mut history = Self { customers: Vec::new(), starts: vec![0], orders: Vec::with_capacity(count) };
        for (customer, date, amount) in rows {
            let same_customer = history.customers.last() == Some(&customer);
            if !same_customer {
                if !history.customers.is_empty() {
                    history.starts.push(history.orders.len());
                }
                history.customers.push(customer);
            } else if let Some(last) = history.orders.last_mut()
                && last.date == date
            {
                last.amount_minor += amount;
                continue;
            }
            history.orders.push(DayOrder { date, amount_minor: amount });
        }
        if !history.customers.is_empty() {
            history.starts.push(history.orders.len());
        }
        history
    }

    /// Number of customers with at least one paid order.
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// Number of customer-days with paid orders.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// True if there is no paid order at all.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Each customer with their day-orders, in customer order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &[DayOrder])> + '_ {
        self.customers.iter().enumerate().map(|(i, k)| (k, &self.orders[self.starts[i]..self.starts[i + 1]]))
    }

    /// The orders of one customer (binary search), empty if none.
    pub fn orders_of(&self, customer: &K) -> &[DayOrder] {
        match self.customers.binary_search(customer) {
            Ok(i) => &self.orders[self.starts[i]..self.starts[i + 1]],
            Err(_) => &[],
        }
    }

    /// The history as it looked at the end of `end` (orders after it dropped; customers whose first order is
    /// later disappear).
    pub fn until(&self, end: NaiveDate) -> Self {
        let mut history = Self { customers: Vec::new(), starts: vec![0], orders: Vec::new() };
        for (k, orders) in self.iter() {
            let n = orders.partition_point(|o| o.date <= end);
            if n > 0 {
                history.customers.push(k.clone());
                history.orders.extend_from_slice(&orders[..n]);
                history.starts.push(history.orders.len());
            }
        }
        history
    }
}

/// Unit of time for the purchase-process models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks of seven days (the unit of the published CDNOW results).
    Weeks,
}

impl TimeUnit {
    /// Length of the unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// How many units make a month (30.4375 days), for monthly discounting of CLV.
    pub fn per_month(self) -> f64 {
        30.4375 / self.days()
    }
}

/// A customer's repeat-purchase summary over a calibration window: the input of BG/NBD and Gamma-Gamma.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatSummary<K> {
    /// Who.
    pub customer: K,
    /// x: number of repeat purchases (purchase days after the first).
    pub frequency: u32,
    /// t_x: time from the first to the last purchase.
    pub recency: f64,
    /// T: time from the first purchase to the end of the calibration window.
    pub age: f64,
    /// zbar: mean value of the repeat purchases in minor units (0 when there are none); the first purchase is
    /// left out because it is usually atypical (a welcome offer, a first big order).
    pub mean_repeat_value_minor: f64,
}

/// x, t_x, T and zbar for every customer whose first purchase is on or before `calibration_end`.
///
/// ```
/// use chrono::NaiveDate;
/// use guanxi_analytics::orders::{repeat_summaries, OrderHistory, TimeUnit, Transaction};
/// let d = |m, day| NaiveDate::from_ymd_opt(1997, m, day).unwrap();
/// let history = OrderHistory::from_transactions(&[
///     Transaction::paid(4u64, d(1, 1), 2933),
///     Transaction::paid(4, d(1, 18), 2973),
///     Transaction::paid(4, d(8, 2), 1496),
/// ]);
/// let s = &repeat_summaries(&history, d(9, 30), TimeUnit::Weeks).unwrap()[0];
/// assert_eq!(s.frequency, 2);
/// assert!((s.recency - 30.428_571).abs() < 1e-6 && (s.age - 38.857_143).abs() < 1e-6);
/// assert_eq!(s.mean_repeat_value_minor, 2234.5);
/// ```
pub fn repeat_summaries<K: CustomerKey>(
    history: &OrderHistory<K>,
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Result<Vec<RepeatSummary<K>>> {
    let per_day = 1.0 / unit.days();
    let out: Vec<RepeatSummary<K>> = history
        .iter()
        .filter_map(|(k, orders)| {
            let n = orders.partition_point(|o| o.date <= calibration_end);
            if n == 0 {
                return None;
            }
            let first = orders[0].date;
            let last = orders[n - 1].date;
            let repeat_total: i64 = orders[1..n].iter().map(|o| o.amount_minor).sum();
            let x = (n - 1) as u32;
            Some(RepeatSummary {
                customer: k.clone(),
                frequency: x,
                recency: (last - first).num_days() as f64 * per_day,
                age: (calibration_end - first).num_days() as f64 * per_day,
                mean_repeat_value_minor: if x > 0 { repeat_total as f64 / x as f64 } else { 0.0 },
            })
        })
        .collect();
    if out.is_empty() {
        return Err(AnalyticsError::EmptyInput { what: "repeat summaries (no purchase before the calibration end)" });
    }
    Ok(out)
}
