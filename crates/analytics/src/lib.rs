//! Guanxi customer analytics: pure functions from plain vectors of customers and orders to the numbers the CRM
//! shows. No IO, no async, no database: the store aggregates in SQL and hands over `Vec`s.
//!
//! | module | what |
//! | --- | --- |
//! | [`orders`] | transactions, per-customer order histories (same-day orders merged), repeat summaries (x, t_x, T, zbar) |
//! | [`rfm`] | recency / frequency / monetary, quintile scores and the named RFM segments |
//! | [`bgnbd`] | BG/NBD: expected purchases and P(alive) |
//! | [`gamma_gamma`] | Gamma-Gamma: expected order value |
//! | [`clv`] | discounted predicted customer lifetime value |
//! | [`bgbb`] | discrete-time BG/BB for subscription- and donation-like data |
//! | [`holdout`] | a fitted BG/NBD model against the purchases of a holdout period |
//! | [`lifecycle`] | Prospect → FirstTime → Repeat → Loyal / Churned, and dated stage-change events |
//! | [`tiers`] | VIP / Important (重要) / Ordinary (普通) from ordered, configurable rules |
//! | [`churn`] | churn risk by logistic regression, held-out AUC and calibration, reasons in words |
//! | [`logistic`] | L2 logistic regression (Newton), ROC AUC with ties, reliability table and Brier score |
//! | [`clusters`] | seeded k-means++ with k chosen by silhouette, clusters described in business terms |
//! | [`cross_sell`] | FP-growth, association rules, per-customer product recommendations |
//! | [`reason`] | explanations with a machine code, parameters and English text |
//! | [`synthetic`] | fixed-seed realistic shop data |
//! | [`special`], [`optimize`], [`rng`] | log-gamma, digamma, Gauss 2F1, BFGS, Nelder–Mead, Hessians, SplitMix64 |
//!
//! # Why so few dependencies
//! Only `serde`, `thiserror` and `chrono`. The numerical pieces (BFGS, Nelder–Mead, k-means++, logistic regression
//! by Newton's method, FP-growth, log-gamma, 2F1) are each a few hundred lines at most here, while `smartcore`,
//! `argmin`, `polars` or `statrs` would each add more compile time to every CI run than this whole crate costs,
//! and none of them has a Gauss hypergeometric function we could trust for large parameters. Own code also
//! lets every randomised step run from a seed with results that never change under us.
//!
//! # Performance
//! Written for a million customers and ten million orders on a small machine:
//! - histories are flat arrays (no per-customer allocation), and a store that reads `ORDER BY customer, date`
//!   skips the sort;
//! - BG/NBD and Gamma-Gamma are maximised by BFGS on analytic gradients in log-parameters (about twenty
//!   likelihood passes), polished by Newton steps on a Hessian from gradient differences, which also gives the
//!   standard errors;
//! - the BG/NBD likelihood merges customers with identical (x, t_x, T), sums the terms that depend on x alone
//!   once per x and takes ln(α + t) once per distinct time; Gamma-Gamma reduces to sufficient statistics plus
//!   one logarithm per customer; both sum with block-wise compensation so that rounding noise does not stall
//!   the optimiser; CLV computes each distinct history's forecast once;
//! - k-means is specialised for the points' width, keeps Hamerly's bounds and updates cluster sums only for
//!   points that move; the logistic regression starts on a row sample, reuses its Hessian near the optimum and
//!   works on column blocks with a vectorised exponential; FP-growth uses arena trees; RFM counts instead of
//!   sorting where the values span a small range;
//! - the likelihood, k-means and logistic passes split large inputs into a *fixed* number of chunks summed in
//!   order on scoped threads, so results are identical on every machine.
//!
//! Figures against the Python stack: `docs/benchmarks.md` ("Analytics").
//!
//! # Example: from orders to value
//! ```
//! use guanxi_analytics::{bgnbd, clv, gamma_gamma, orders, synthetic};
//! let data = synthetic::generate(&synthetic::SyntheticSettings { customers: 3_000, ..Default::default() });
//! let history = orders::OrderHistory::from_transactions(&data.transactions);
//! let summaries = orders::repeat_summaries(&history, data.settings.end, orders::TimeUnit::Weeks).unwrap();
//! let purchases = bgnbd::fit_bgnbd(&summaries).unwrap().params;
//! let spend = gamma_gamma::fit_gamma_gamma(&summaries).unwrap().params;
//! let values = clv::predict_customer_values(&purchases, &spend, &summaries, &clv::ClvSettings::default()).unwrap();
//! assert_eq!(values.len(), summaries.len());
//! ```

pub mod bgbb;
pub mod bgnbd;
pub mod churn;
pub mod clusters;
pub mod clv;
pub mod cross_sell;
mod error;
pub mod gamma_gamma;
pub mod holdout;
pub mod lifecycle;
pub mod logistic;
pub mod optimize;
pub mod orders;
mod parallel;
pub mod reason;
pub mod rfm;
pub mod rng;
pub mod special;
pub mod synthetic;
pub mod tiers;

pub use error::{AnalyticsError, Result};
