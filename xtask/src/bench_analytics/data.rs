//! The benchmark's data: generated once from fixed seeds by `guanxi_analytics::synthetic`, written as raw
//! little-endian column files that the Rust workers and the Python script both read in well under a second
//! (`numpy.fromfile`), so neither side's timing or memory includes parsing text.
//!
//! | file | what |
//! | --- | --- |
//! | `orders.customer.u32`, `orders.day.i32`, `orders.amount.i64` | paid orders sorted by customer and day (days since 1970-01-01, amounts in minor units) |
//! | `summary.{frequency,recency,age,monetary}.f64` | per customer x, t_x, T (weeks) and mean repeat value at the end of the data |
//! | `kmeans.f64` | customers × 3 standardised (ln recency, ln frequency, ln spend), row-major |
//! | `logistic.x.f64`, `logistic.y.u8` | 1M × 10 features (row-major) and labels of a known logistic model |
//! | `baskets.offsets.u32`, `baskets.items.u32` | baskets as offsets into one item array (CSR) |

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use guanxi_analytics::bgnbd::BgNbdParams;
use guanxi_analytics::gamma_gamma::GammaGammaParams;
use guanxi_analytics::orders::{OrderHistory, OrderStatus, TimeUnit, Transaction, repeat_summaries};
use guanxi_analytics::rng::SplitMix64;
use guanxi_analytics::synthetic::{SyntheticSettings, generate};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Customers generated per call of the synthetic generator (bounds the generator's memory).
const CHUNK: usize = 50_000;

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_FROM_CE: i32 = 719_163;

pub fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_FROM_CE
}

pub fn date_of(day: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(day + EPOCH_FROM_CE)
}

use chrono::Datelike as _;

/// Everything the tasks share.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct DataSpec {
    pub customers: usize,
    pub logistic_rows: usize,
    pub baskets: usize,
    pub items: u32,
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DataFacts {
    pub spec: DataSpec,
    pub orders: usize,
    pub customers: usize,
    pub repeat_customers: usize,
    pub first_day: NaiveDate,
    pub as_of: NaiveDate,
    pub basket_items: usize,
}

pub fn order_settings(customers: usize, seed: u64) -> SyntheticSettings {
    SyntheticSettings {
        customers,
        seed,
        start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
        end: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default(),
        acquisition_days: 365,
        // About ten paid orders per customer over three years (CDNOW-like shape, busier buyers).
        purchases: BgNbdParams { r: 0.86, alpha: 38.0, a: 0.7, b: 7.0 },
        spend: GammaGammaParams { p: 6.0, q: 3.8, gamma: 1_500.0 },
        products: 1_000,
        family_size: 5,
        unpaid_share: 0.03,
    }
}

fn writer(dir: &Path, name: &str) -> Result<BufWriter<std::fs::File>> {
    let path = dir.join(name);
    Ok(BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?))
}

pub fn generate_all(dir: &Path, spec: DataSpec) -> Result<DataFacts> {
    let settings = order_settings(CHUNK, 0);
    let as_of = settings.end;
    // Orders, chunk by chunk; customer ids continue across chunks.
    let (mut cust, mut day, mut amount) =
        (writer(dir, "orders.customer.u32")?, writer(dir, "orders.day.i32")?, writer(dir, "orders.amount.i64")?);
    let mut transactions: Vec<Transaction<u32>> = Vec::new();
    let mut done = 0usize;
    let mut chunk_no = 0u64;
    while done < spec.customers {
        let n = CHUNK.min(spec.customers - done);
        let data = generate(&order_settings(n, 1_000 + chunk_no));
        for t in data.transactions.iter().filter(|t| t.status == OrderStatus::Paid) {
            let id = (done as u64 + t.customer) as u32;
            cust.write_all(&id.to_le_bytes())?;
            day.write_all(&day_number(t.date).to_le_bytes())?;
            amount.write_all(&t.amount_minor.to_le_bytes())?;
            transactions.push(Transaction::paid(id, t.date, t.amount_minor));
        }
        done += n;
        chunk_no += 1;
    }
    for w in [&mut cust, &mut day, &mut amount] {
        w.flush()?;
    }
    let orders = transactions.len();
    let first_day = transactions.iter().map(|t| t.date).min().context("no orders generated")?;

    // Per-customer summaries (the input of BG/NBD and Gamma-Gamma) and the k-means features.
    let history = OrderHistory::from_transactions(&transactions);
    drop(transactions);
    let summaries = repeat_summaries(&history, as_of, TimeUnit::Weeks)?;
    let mut cols = [
        writer(dir, "summary.frequency.f64")?,
        writer(dir, "summary.recency.f64")?,
        writer(dir, "summary.age.f64")?,
        writer(dir, "summary.monetary.f64")?,
    ];
    let mut features: Vec<[f64; 3]> = Vec::with_capacity(summaries.len());
    for (s, (_, orders)) in summaries.iter().zip(history.iter()) {
        for (w, v) in cols.iter_mut().zip([s.frequency as f64, s.recency, s.age, s.mean_repeat_value_minor]) {
            w.write_all(&v.to_le_bytes())?;
        }
        let last = orders.last().map(|o| o.date).unwrap_or(as_of);
        let total: i64 = orders.iter().map(|o| o.amount_minor).sum();
        features.push([
            (((as_of - last).num_days() + 1) as f64).ln(),
            (orders.len() as f64).ln(),
            ((total + 1) as f64).ln(),
        ]);
    }
    for w in &mut cols {
        w.flush()?;
    }
    write_standardised(dir, &features)?;
    let repeat_customers = summaries.iter().filter(|s| s.frequency > 0).count();
    let customers = summaries.len();
    drop(summaries);
    drop(history);

    write_logistic(dir, spec.logistic_rows)?;
    let basket_items = write_baskets(dir, spec.baskets, spec.items)?;
    Ok(DataFacts { spec, orders, customers, repeat_customers, first_day, as_of, basket_items })
}

fn write_standardised(dir: &Path, rows: &[[f64; 3]]) -> Result<()> {
    let n = rows.len().max(1) as f64;
    let mut w = writer(dir, "kmeans.f64")?;
    let mut mean = [0.0; 3];
    let mut sd = [0.0; 3];
    for j in 0..3 {
        mean[j] = rows.iter().map(|r| r[j]).sum::<f64>() / n;
        sd[j] = (rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt().max(1e-12);
    }
    for r in rows {
        for j in 0..3 {
            w.write_all(&((r[j] - mean[j]) / sd[j]).to_le_bytes())?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Ten correlated standard-normal features and labels drawn from a fixed logistic model.
fn write_logistic(dir: &Path, rows: usize) -> Result<()> {
    const BETA: [f64; 10] = [0.8, -0.5, 0.3, 0.0, 1.2, -0.9, 0.05, 0.4, -0.2, 0.6];
    let mut rng = SplitMix64::new(2026);
    let (mut xw, mut yw) = (writer(dir, "logistic.x.f64")?, writer(dir, "logistic.y.u8")?);
    let mut x = [0.0; 10];
    for _ in 0..rows {
        let common = rng.normal();
        let mut eta = -0.7;
        for j in 0..10 {
            // Unit variance either way, so the Rust side's standardisation changes little and the coefficients
            // of both sides are comparable; odd columns share a common factor (correlated features).
            x[j] = if j % 2 == 1 { 0.8 * rng.normal() + 0.6 * common } else { rng.normal() };
            eta += BETA[j] * x[j];
            xw.write_all(&x[j].to_le_bytes())?;
        }
        let y = rng.next_f64() < 1.0 / (1.0 + (-eta).exp());
        yw.write_all(&[y as u8])?;
    }
    xw.flush()?;
    yw.flush()?;
    Ok(())
}

/// The first `count` baskets of a synthetic shop with `items` products.
fn write_baskets(dir: &Path, count: usize, items: u32) -> Result<usize> {
    let mut baskets: Vec<Vec<u32>> = Vec::with_capacity(count);
    let mut seed = 77;
    while baskets.len() < count {
        let settings = SyntheticSettings { customers: 20_000, seed, products: items, ..SyntheticSettings::default() };
        baskets.extend(generate(&settings).baskets.into_iter().take(count - baskets.len()));
        seed += 1;
    }
    let (mut ow, mut iw) = (writer(dir, "baskets.offsets.u32")?, writer(dir, "baskets.items.u32")?);
    let mut offset = 0u32;
    ow.write_all(&offset.to_le_bytes())?;
    for b in &baskets {
        for item in b {
            iw.write_all(&item.to_le_bytes())?;
        }
        offset += b.len() as u32;
        ow.write_all(&offset.to_le_bytes())?;
    }
    ow.flush()?;
    iw.flush()?;
    Ok(offset as usize)
}

/// Reads a column file of fixed-size little-endian values.
pub fn read_column<T, const N: usize>(dir: &Path, name: &str, decode: fn([u8; N]) -> T) -> Result<Vec<T>> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() % N != 0 {
        bail!("{} is not a whole number of {N}-byte values", path.display());
    }
    Ok(bytes.chunks_exact(N).map(|c| decode(c.try_into().unwrap_or([0; N]))).collect())
}

pub fn read_u32(dir: &Path, name: &str) -> Result<Vec<u32>> {
    read_column(dir, name, u32::from_le_bytes)
}
pub fn read_i32(dir: &Path, name: &str) -> Result<Vec<i32>> {
    read_column(dir, name, i32::from_le_bytes)
}
pub fn read_i64(dir: &Path, name: &str) -> Result<Vec<i64>> {
    read_column(dir, name, i64::from_le_bytes)
}
pub fn read_f64(dir: &Path, name: &str) -> Result<Vec<f64>> {
    read_column(dir, name, f64::from_le_bytes)
}
pub fn read_u8(dir: &Path, name: &str) -> Result<Vec<u8>> {
    read_column(dir, name, |b: [u8; 1]| b[0])
}
