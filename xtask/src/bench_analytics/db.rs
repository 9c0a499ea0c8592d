//! `--db`: `guanxi analyze` end to end on a SQLite database holding the benchmark's customers and orders.
//!
//! The database is filled directly with multi-row INSERTs through the store's own connection and SQL builder
//! (not through HTTP, which would measure the API instead), then the release `guanxi analyze` runs as a child
//! process whose wall time, peak RSS and logged phases are reported. Order lines are not loaded, so the
//! cross-sell step finds no baskets; every other model runs on the full data.

use super::data::{self, DataFacts};
use super::run_measured;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use guanxi_store::sql::{Arg, Sql};
use guanxi_store::{Db, DbConfig};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use uuid::Uuid;

/// Rows per INSERT statement (9 values a row stays below SQLite's 32,766 parameters).
const ROWS_PER_STATEMENT: usize = 2_000;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: usize = 200_000;

pub struct AnalyzeDb {
    customers: usize,
    orders: usize,
    load_seconds: f64,
    analyze_seconds: f64,
    peak_rss_mib: f64,
    phases: Vec<(String, f64)>,
    summary: String,
}

impl AnalyzeDb {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "`guanxi analyze` on SQLite, {} contacts and {} paid orders (loaded in {:.0} s by direct multi-row \
             INSERTs; no order lines, so no cross-sell baskets):\n",
            super::report_number(self.customers as f64),
            super::report_number(self.orders as f64),
            self.load_seconds
        );
        let _ = writeln!(s, "| metric | value | target | met? |\n| --- | --- | --- | --- |");
        let ok = self.analyze_seconds < 30.0;
        let _ = writeln!(
            s,
            "| `guanxi analyze`, whole process | {:.1} s | < 30 s | {} |",
            self.analyze_seconds,
            if ok { "yes" } else { "**no**" }
        );
        let mut previous = 0.0;
        for (name, at) in &self.phases {
            let _ = writeln!(s, "| … {name} | {:.1} s (at {:.1} s) | | |", at - previous, at);
            previous = *at;
        }
        let _ = writeln!(s, "| peak RSS of `guanxi analyze` | {:.0} MiB | (information) | |", self.peak_rss_mib);
        let _ = writeln!(s, "\n```\n{}\n```", self.summary.trim_end());
        s
    }
}

fn ts(day: i32) -> DateTime<Utc> {
    data::date_of(day).and_then(|d| d.and_hms_opt(12, 0, 0)).map(|t| t.and_utc()).unwrap_or_else(Utc::now)
}

async fn load(db: &Db, dir: &Path) -> Result<(usize, usize)> {
    let customers = data::read_u32(dir, "orders.customer.u32")?;
    let days = data::read_i32(dir, "orders.day.i32")?;
    let amounts = data::read_i64(dir, "orders.amount.i64")?;
    let contact_count = customers.iter().copied().max().map_or(0, |m| m as usize + 1);
    let now = Utc::now();
    let ids: Vec<Uuid> = (0..contact_count).map(|_| guanxi_core::ids::new_id()).collect();
    for block in (0..contact_count).collect::<Vec<_>>().chunks(ROWS_PER_TRANSACTION) {
        let mut tx = db.begin().await?;
        for rows in block.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                tx.dialect(),
                "INSERT INTO contacts (id, display_name, source, visibility, version, created_at, updated_at) VALUES ",
            );
            for (i, &k) in rows.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(").bind(Arg::Uuid(ids[k])).push(", ").bind(Arg::Text(format!("Customer {k}")));
                sql.push(", 'import', 'public', 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
            }
            tx.execute(sql).await?;
        }
        tx.commit().await?;
    }
    let n = customers.len();
    for start in (0..n).step_by(ROWS_PER_TRANSACTION) {
        let end = (start + ROWS_PER_TRANSACTION).min(n);
        let mut tx = db.begin().await?;
        for s in (start..end).step_by(ROWS_PER_STATEMENT) {
            let e = (s + ROWS_PER_STATEMENT).min(end);
            let mut sql = Sql::new(
                tx.dialect(),
                "INSERT INTO orders (id, contact_id, status, currency, total_minor, ordered_at, version, created_at, \
                 updated_at) VALUES ",
            );
            for i in s..e {
                if i > s {
                    sql.push(", ");
                }
                let at = ts(days[i]);
                sql.push("(").bind(Arg::Uuid(guanxi_core::ids::new_id())).push(", ");
                sql.bind(Arg::Uuid(ids[customers[i] as usize])).push(", 'paid', 'CNY', ").bind(Arg::I64(amounts[i]));
                sql.push(", ").bind(Arg::Ts(at)).push(", 1, ").bind(Arg::Ts(at)).push(", ").bind(Arg::Ts(at)).push(")");
            }
            tx.execute(sql).await?;
        }
        tx.commit().await?;
        if (start / ROWS_PER_TRANSACTION) % 10 == 9 {
            eprintln!("  loaded {end} of {n} orders");
        }
    }
    Ok((contact_count, n))
}

/// Child side of --db: creates the database in `db_dir` and loads the generated customers and orders.
pub fn load_database(dir: &Path, db_dir: &Path) -> Result<serde_json::Value> {
    let _ = std::fs::remove_dir_all(db_dir);
    std::fs::create_dir_all(db_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (customers, orders) = rt.block_on(async {
        let db = Db::connect(&DbConfig::Sqlite { path: db_dir.join("guanxi.db") }).await?;
        db.migrate().await?;
        let counts = load(&db, dir).await;
        db.close().await;
        counts
    })?;
    Ok(serde_json::json!({"customers": customers, "orders": orders}))
}

pub fn bench_analyze(bin: &Path, dir: &Path, facts: &DataFacts) -> Result<AnalyzeDb> {
    let data_dir = dir.join("db");
    let (loaded, load_seconds) = super::run_child(&[
        "load-db".into(),
        "--data".into(),
        dir.display().to_string(),
        "--db".into(),
        data_dir.display().to_string(),
    ])?;
    let customers = loaded["customers"].as_u64().context("load-db output")? as usize;
    let orders = loaded["orders"].as_u64().context("load-db output")? as usize;
    eprintln!(
        "loaded {customers} contacts and {orders} orders into SQLite in {load_seconds:.1} s; running guanxi analyze"
    );
    let log = dir.join("analyze.log");
    let (summary, analyze_seconds, peak_rss_mib) = run_measured(
        Command::new(bin)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["analyze", "--as-of", &facts.as_of.to_string()])
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .stderr(std::fs::File::create(&log)?),
    )
    .context("guanxi analyze")?;
    // The log goes to stdout with the summary (tracing's default) or to stderr: read both. The job logs
    // "analysis: data read elapsed_ms=…" and the like.
    let log_text = format!("{}\n{summary}", std::fs::read_to_string(&log).unwrap_or_default());
    let summary = summary.lines().skip_while(|l| !l.starts_with("analysis ")).collect::<Vec<_>>().join("\n");
    let phases = log_text
        .lines()
        .filter_map(|l| {
            let name = l.split("analysis: ").nth(1)?.split(" elapsed_ms").next()?.trim().to_string();
            let ms: f64 = l.split("elapsed_ms=").nth(1)?.split_whitespace().next()?.parse().ok()?;
            if !l.contains("INFO") {
                return None;
            }
            Some((name, ms / 1000.0))
        })
        .collect();
    Ok(AnalyzeDb { customers, orders, load_seconds, analyze_seconds, peak_rss_mib, phases, summary })
}
