//! A fixed-seed generator of realistic shop data, for demos, tests and benchmarks.
//!
//! Each customer is acquired at a random day in the acquisition window, then buys following the BG/NBD story
//! (Poisson purchases at a Gamma-distributed rate, dropping out after each repeat purchase with a
//! Beta-distributed probability) with Gamma-Gamma order values. Each order carries a basket drawn from product
//! "families" (a camera, its lenses, its bag...) so that association rules exist to be found.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::bgnbd::BgNbdParams;
use crate::gamma_gamma::GammaGammaParams;
use crate::orders::{OrderStatus, Transaction};
use crate::rng::SplitMix64;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSettings {
    /// Number of customers (ids 1..=customers).
    pub customers: usize,
    /// Seed: the same settings always give the same data.
    pub seed: u64,
    /// First day of the data.
    pub start: NaiveDate,
    /// Last day of the data.
    pub end: NaiveDate,
    /// Customers make their first purchase uniformly within this many days of `start`.
    pub acquisition_days: u32,
    /// Purchase process, time unit = days.
    pub purchases: BgNbdParams,
    /// Order values in minor units.
    pub spend: GammaGammaParams,
    /// Catalogue size (item ids 0..products).
    pub products: u32,
    /// Items per product family; baskets mostly stay within one family.
    pub family_size: u32,
    /// Share of orders that end up pending, cancelled or refunded.
    pub unpaid_share: f64,
}

impl Default for SyntheticSettings {
    fn default() -> Self {
        Self {
            customers: 10_000,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
            end: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            acquisition_days: 120,
            // CDNOW-like behaviour with time in days.
            purchases: BgNbdParams { r: 0.25, alpha: 30.0, a: 0.8, b: 2.4 },
            spend: GammaGammaParams { p: 6.0, q: 3.8, gamma: 1_500.0 },
            products: 200,
            family_size: 5,
            unpaid_share: 0.03,
        }
    }
}

/// The generated data. `baskets[i]` holds the items of `transactions[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticData {
    /// The settings used.
    pub settings: SyntheticSettings,
    /// Orders sorted by customer then date.
    pub transactions: Vec<Transaction<u64>>,
    /// Item ids of each order (sorted, distinct).
    pub baskets: Vec<Vec<u32>>,
}

/// Generates shop data; deterministic for given settings.
///
/// ```
/// use guanxi_analytics::synthetic::{generate, SyntheticSettings};
/// let s = SyntheticSettings { customers: 100, ..Default::default() };
/// let a = generate(&s);
/// assert_eq!(a, generate(&s));
/// assert!(a.transactions.len() >= 100);
/// assert_eq!(a.transactions.len(), a.baskets.len());
/// ```
pub fn generate(settings: &SyntheticSettings) -> SyntheticData {
    let mut rng = SplitMix64::new(settings.seed);
    let horizon = (settings.end - settings.start).num_days().max(0) as f64;
    let families = (settings.products / settings.family_size.max(1)).max(1);
    let family_weights: Vec<f64> = (0..families).map(|f| 1.0 / (f as f64 + 1.0)).collect();
    let weight_total: f64 = family_weights.iter().sum();
    let BgNbdParams { r, alpha, a, b } = settings.purchases;
    let GammaGammaParams { p, q, gamma } = settings.spend;
    let mut transactions = Vec::new();
    let mut baskets = Vec::new();
    for id in 1..=settings.customers as u64 {
        let rate = rng.gamma(r, 1.0 / alpha);
        let dropout = rng.beta(a, b);
        let spend_rate = rng.gamma(q, 1.0 / gamma);
        let mut day = rng.next_f64() * (settings.acquisition_days as f64).min(horizon);
        // Customers have a favourite family, which makes per-customer recommendations meaningful.
        let favourite = pick_weighted(&mut rng, &family_weights, weight_total);
        let mut first = true;
        loop {
            if !first {
                // Time to the next purchase; a customer still alive past the end simply has no more orders.
                day += rng.exponential(rate);
                if day > horizon {
                    break;
                }
            }
            let amount = rng.gamma(p, 1.0 / spend_rate).round().max(1.0) as i64;
            let status = if rng.next_f64() < settings.unpaid_share {
                [OrderStatus::Pending, OrderStatus::Cancelled, OrderStatus::Refunded][rng.below(3) as usize]
            } else {
                OrderStatus::Paid
            };
            let date = settings.start.checked_add_days(Days::new(day as u64)).unwrap_or(settings.end);
            transactions.push(Transaction { customer: id, date, amount_minor: amount, status });
            baskets.push(basket(&mut rng, settings, favourite, &family_weights, weight_total));
            // BG/NBD: a customer may drop out right after each repeat purchase (not after the first).
            if !first && rng.next_f64() < dropout {
                break;
            }
            first = false;
        }
    }
    SyntheticData { settings: settings.clone(), transactions, baskets }
}

fn pick_weighted(rng: &mut SplitMix64, weights: &[f64], total: f64) -> u32 {
    let mut u = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i as u32;
        }
        u -= w;
    }
    weights.len() as u32 - 1
}

fn basket(rng: &mut SplitMix64, s: &SyntheticSettings, favourite: u32, weights: &[f64], total: f64) -> Vec<u32> {
    let family = if rng.next_f64() < 0.6 { favourite } else { pick_weighted(rng, weights, total) };
    let size = s.family_size.max(1);
    let mut items = Vec::with_capacity(4);
    // The family's first item is its anchor product (the camera): usually bought, pulling accessories along.
    if rng.next_f64() < 0.7 {
        items.push(family * size);
    }
    for k in 1..size {
        if rng.next_f64() < 0.35 / k as f64 {
            items.push(family * size + k);
        }
    }
    if items.is_empty() || rng.next_f64() < 0.1 {
        items.push(rng.below(s.products.max(1) as u64) as u32);
    }
    items.sort_unstable();
    items.dedup();
    items
}
