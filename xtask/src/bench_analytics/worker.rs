//! The Rust side of each task, run as its own process (`cargo xtask bench analytics-worker --task T --data D`)
//! so that its peak memory is measured exactly as the Python side's is. It loads its input from the column
//! files, times the computation only, and prints one JSON line: seconds and a few result values that the
//! report compares with Python's.

use super::Task;
use super::data::{date_of, read_f64, read_i32, read_i64, read_u8, read_u32};
use anyhow::Result;
use chrono::NaiveDate;
use guanxi_analytics::bgnbd::fit_bgnbd;
use guanxi_analytics::clusters::kmeans;
use guanxi_analytics::cross_sell::frequent_itemsets;
use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
use guanxi_analytics::logistic::fit_logistic;
use guanxi_analytics::orders::{OrderHistory, RepeatSummary, Transaction};
use guanxi_analytics::rfm::rfm_scores;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

fn summaries(dir: &Path) -> Result<Vec<RepeatSummary<u32>>> {
    let f = read_f64(dir, "summary.frequency.f64")?;
    let r = read_f64(dir, "summary.recency.f64")?;
    let t = read_f64(dir, "summary.age.f64")?;
    let m = read_f64(dir, "summary.monetary.f64")?;
    Ok((0..f.len())
        .map(|i| RepeatSummary {
            customer: i as u32,
            frequency: f[i] as u32,
            recency: r[i],
            age: t[i],
            mean_repeat_value_minor: m[i],
        })
        .collect())
}

pub fn run(task: Task, dir: &Path, as_of: NaiveDate) -> Result<Value> {
    let (seconds, check) = match task {
        Task::Rfm => {
            let customers = read_u32(dir, "orders.customer.u32")?;
            let days = read_i32(dir, "orders.day.i32")?;
            let amounts = read_i64(dir, "orders.amount.i64")?;
            // The input in the crate's own form, as the Python side starts from its DataFrame (built before its
            // timer starts too). A few hundred distinct days: look each date up once.
            let first = days.iter().copied().min().unwrap_or(0);
            let last = days.iter().copied().max().unwrap_or(0);
            let dates: Vec<NaiveDate> = (first..=last).map(|d| date_of(d).unwrap_or(as_of)).collect();
            let transactions: Vec<Transaction<u32>> = (0..customers.len())
                .map(|i| Transaction::paid(customers[i], dates[(days[i] - first) as usize], amounts[i]))
                .collect();
            drop((customers, days, amounts));
            let start = Instant::now();
            let history = OrderHistory::from_transactions(&transactions);
            drop(transactions);
            let rfm = rfm_scores(&history, as_of)?;
            let seconds = start.elapsed().as_secs_f64();
            let score_sum: u64 = rfm.iter().map(|r| (r.r_score + r.f_score + r.m_score) as u64).sum();
            (seconds, json!({"customers": rfm.len(), "purchase_days": history.order_count(), "score_sum": score_sum}))
        }
        Task::BgNbd => {
            let s = summaries(dir)?;
            let start = Instant::now();
            let fit = fit_bgnbd(&s)?;
            let p = fit.params;
            (start.elapsed().as_secs_f64(), json!({"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b}))
        }
        Task::GammaGamma => {
            let s = summaries(dir)?;
            let start = Instant::now();
            let fit = fit_gamma_gamma(&s)?;
            let p = fit.params;
            (start.elapsed().as_secs_f64(), json!({"p": p.p, "q": p.q, "gamma": p.gamma, "customers": fit.customers}))
        }
        Task::KMeans => {
            let points = read_f64(dir, "kmeans.f64")?;
            let start = Instant::now();
            let m = kmeans(&points, 3, 8, 0, 1, 300)?;
            (start.elapsed().as_secs_f64(), json!({"inertia": m.inertia, "iterations": m.iterations}))
        }
        Task::Logistic => {
            let x = read_f64(dir, "logistic.x.f64")?;
            let y: Vec<bool> = read_u8(dir, "logistic.y.u8")?.into_iter().map(|v| v != 0).collect();
            let start = Instant::now();
            let m = fit_logistic(&x, 10, &y, 1.0)?;
            (start.elapsed().as_secs_f64(), json!({"coefficients": m.coefficients}))
        }
        Task::FpGrowth01 | Task::FpGrowth001 => {
            let offsets = read_u32(dir, "baskets.offsets.u32")?;
            let items = read_u32(dir, "baskets.items.u32")?;
            let baskets: Vec<Vec<u32>> =
                offsets.windows(2).map(|w| items[w[0] as usize..w[1] as usize].to_vec()).collect();
            let support = if task == Task::FpGrowth01 { 0.01 } else { 0.001 };
            let start = Instant::now();
            let sets = frequent_itemsets(&baskets, support, None)?;
            (start.elapsed().as_secs_f64(), json!({"itemsets": sets.len()}))
        }
    };
    Ok(json!({"seconds": seconds, "check": check}))
}
