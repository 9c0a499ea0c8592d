//! `guanxi analyze` and the scheduled analysis inside `guanxi serve`.
//!
//! `guanxi analyze --transactions FILE.csv` runs the purchase models on a file instead, without a database
//! (see [`crate::analyze_file`]). The database analysis and the scheduled one call the one use case, `guanxi_http::analytics_job::run_analysis`, which reads the orders, fits the
//! models, writes every contact's metrics and records the run.
//!
//! # Schedule
//! `guanxi serve --analyze-every-hours N` (default 24, `0` = off) runs the analysis N hours after start and then
//! every N hours. With several instances on one PostgreSQL database, each run first takes a PostgreSQL advisory
//! lock (`pg_try_advisory_lock`); an instance that does not get it skips that turn, so the work is done once.
//! A run that finds another one going (scheduled, CLI or `POST /api/v1/analytics/run`) is skipped the same way.

use crate::analyze_file;
use anyhow::Result;
use chrono::NaiveDate;
use guanxi_http::analytics_job::{AnalysisError, AnalysisSettings, run_analysis};
use guanxi_store::Db;
use guanxi_store::analytics::ModelRun;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

/// Runs the analysis once and prints what it did (the run record with `json`).
pub async fn run_once(db: &Db, as_of: Option<NaiveDate>, json: bool) -> Result<()> {
    let run = run_analysis(db, &AnalysisSettings { as_of, ..AnalysisSettings::default() }).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print!("{}", summary(&run));
    }
    Ok(())
}

/// `guanxi analyze --transactions FILE.csv`: the models on a file, printed (as JSON with `json`).
pub fn run_on_file(path: &Path, as_of: Option<NaiveDate>, json: bool) -> Result<()> {
    let file = analyze_file::read_transactions(path)?;
    let report = analyze_file::analyse(&file, &path.display().to_string(), as_of)?;
    if json {
        let stdout = std::io::stdout().lock();
        let mut out = std::io::BufWriter::new(stdout);
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        out.flush()?;
    } else {
        print!("{}", analyze_file::summary(&report));
    }
    Ok(())
}

fn summary(run: &ModelRun) -> String {
    let p = &run.params;
    let mut out = format!(
        "analysis {} ({}) as of {}\n  customers: {}\n  orders:    {} (paid, {} to {})\n  duration:  {:.1} s\n",
        run.id,
        run.status,
        p["as_of"].as_str().unwrap_or("?"),
        run.customers,
        run.orders,
        run.data_from.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
        run.data_to.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
        run.duration_ms.unwrap_or(0) as f64 / 1000.0,
    );
    let models = &p["models"];
    let fitted = |name: &str| models[name]["status"].as_str() == Some("fitted");
    let f = |v: &serde_json::Value| v.as_f64().map(|x| format!("{x:.4}")).unwrap_or_else(|| "?".into());
    if fitted("bgnbd") {
        let b = &models["bgnbd"]["fit"]["params"];
        out += &format!(
            "  BG/NBD:       r = {}, alpha = {}, a = {}, b = {} (weeks; log-likelihood {})\n",
            f(&b["r"]),
            f(&b["alpha"]),
            f(&b["a"]),
            f(&b["b"]),
            f(&models["bgnbd"]["fit"]["log_likelihood"])
        );
    }
    if fitted("gamma_gamma") {
        let g = &models["gamma_gamma"]["fit"]["params"];
        // Amounts are integer minor units (fen, cents), and so is gamma.
        out += &format!(
            "  Gamma-Gamma:  p = {}, q = {}, gamma = {} (minor currency units)\n",
            f(&g["p"]),
            f(&g["q"]),
            f(&g["gamma"])
        );
    }
    if fitted("churn") {
        out += &format!("  churn model:  AUC {}, Brier {}\n", f(&models["churn"]["auc"]), f(&models["churn"]["brier"]));
    }
    if fitted("clusters") {
        out += &format!("  clusters:     k = {}\n", models["clusters"]["k"]);
    }
    if fitted("cross_sell") {
        out += &format!(
            "  cross-sell:   {} rules from {} baskets\n",
            models["cross_sell"]["rules"], models["cross_sell"]["baskets"]
        );
    }
    if let Some(all) = models.as_object() {
        if let Some(mean) = all.get("clv_spend").and_then(|c| c["mean_order_value_minor"].as_f64()) {
            out += &format!("  CLV spend:    one common mean order value of {mean:.0} (Gamma-Gamma not identified)\n");
        }
        for (name, m) in all.iter().filter(|(_, m)| m["status"].is_string() && m["status"] != "fitted") {
            out += &format!("  {name}: not fitted ({})\n", m["error"].as_str().unwrap_or("insufficient data"));
        }
    }
    out += &format!("  stages: {}\n  tiers:  {}\n", p["stage_counts"], p["tier_counts"]);
    out
}

/// Starts the periodic analysis (no-op when `every_hours` is 0).
pub fn schedule(db: Db, every_hours: u64) {
    if every_hours == 0 {
        return;
    }
    let period = Duration::from_secs(every_hours * 3600);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run_analysis(&db, &AnalysisSettings::default()).await {
                Ok(run) => tracing::info!(
                    run = %run.id, status = %run.status, customers = run.customers, orders = run.orders,
                    duration_ms = run.duration_ms, "scheduled analysis finished"
                ),
                Err(AnalysisError::AlreadyRunning) => {
                    tracing::info!("scheduled analysis skipped: another run is in progress")
                }
                Err(e) => tracing::error!(error = %e, "scheduled analysis failed"),
            }
        }
    });
}
