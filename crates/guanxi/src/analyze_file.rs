//! `guanxi analyze --transactions FILE.csv [--as-of DATE] [--json]`: the purchase models run on a plain
//! transactions file, without any database, so an analyst can check them on their own data before importing it.
//!
//! The file has a header naming (at least) the columns `customer_id`, `date` and `amount`, in any order; other
//! columns are ignored. Dates are `YYYY-MM-DD` (a time after it is ignored) or `YYYYMMDD`; amounts are decimal
//! numbers in any currency unit, kept to the hundredth. Same-day purchases of a customer are one purchase, as in
//! the database analysis. Purchases up to `--as-of` (default: the last date in the file) calibrate the models;
//! purchases after it form a holdout period in which the forecast is compared with what happened.
//!
//! Time is in weeks (the unit of the published BG/NBD results), money in the file's unit.

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Days, NaiveDate};
use guanxi_analytics::bgnbd::fit_bgnbd;
use guanxi_analytics::clv::{ClvSettings, predict_customer_values};
use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
use guanxi_analytics::holdout::compare_holdout;
use guanxi_analytics::orders::{OrderHistory, TimeUnit, Transaction, repeat_summaries};
use guanxi_analytics::rfm::rfm_scores;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// Amounts are kept in hundredths of the file's unit (cents, fen) so the models work on integers.
const MINOR_PER_UNIT: f64 = 100.0;

/// The BG/NBD forecast horizon reported per customer, as in the database analysis.
const FORECAST_DAYS: f64 = 90.0;

/// The parsed file.
pub struct TransactionsFile {
    pub transactions: Vec<Transaction<String>>,
    /// Data rows read (before same-day purchases are merged).
    pub rows: usize,
}

/// Reads `customer_id, date, amount` rows; any problem is reported with the file's line number.
pub fn read_transactions(path: &Path) -> Result<TransactionsFile> {
    let name = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot open {name}"))?;
    let headers = reader.headers().map_err(|e| anyhow!("{name}: {}", describe_csv_error(&e)))?.clone();
    let column = |wanted: &str| {
        // A UTF-8 byte-order mark (Excel writes one) sticks to the first column name.
        headers.iter().position(|h| h.trim_start_matches('\u{feff}').trim().eq_ignore_ascii_case(wanted))
    };
    let (Some(customer_col), Some(date_col), Some(amount_col)) =
        (column("customer_id"), column("date"), column("amount"))
    else {
        bail!(
            "{name} line 1: the header must name the columns customer_id, date and amount; it has: {}",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let mut transactions = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => bail!("{name}: {}", describe_csv_error(&e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let customer = field(customer_col);
        if customer.is_empty() {
            bail!("{name} line {line}: customer_id is empty");
        }
        let date = parse_date(field(date_col)).ok_or_else(|| {
            anyhow!("{name} line {line}: date {:?} is not a date (expected YYYY-MM-DD)", field(date_col))
        })?;
        let amount = parse_amount(field(amount_col)).map_err(|why| anyhow!("{name} line {line}: amount {why}"))?;
        transactions.push(Transaction::paid(customer.to_string(), date, amount));
    }
    if transactions.is_empty() {
        bail!("{name}: no transactions after the header");
    }
    Ok(TransactionsFile { rows: transactions.len(), transactions })
}

fn describe_csv_error(e: &csv::Error) -> String {
    let line = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{line}{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => format!("{line}not UTF-8 text (save the file as UTF-8)"),
        _ => format!("{line}{e}"),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    // `2025-03-01`, `2025-03-01 10:30:00`, `2025-03-01T10:30:00Z`: the day is what counts.
    let day = s.split(['T', ' ']).next().unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(day, "%Y%m%d")).ok()
}

fn parse_amount(s: &str) -> std::result::Result<i64, String> {
    let value: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("{s:?} is not a finite number"));
    }
    if value < 0.0 {
        return Err(format!("{s} is negative (leave refunds out of the file)"));
    }
    let minor = (value * MINOR_PER_UNIT).round();
    // Far beyond any real order, and it keeps sums of millions of orders inside i64.
    if minor > 1e15 {
        return Err(format!("{s} is too large"));
    }
    Ok(minor as i64)
}

/// Money in the file's unit.
fn unit(minor: f64) -> f64 {
    minor / MINOR_PER_UNIT
}

/// Fits the models and returns the report described in the module documentation.
pub fn analyse(file: &TransactionsFile, source: &str, as_of: Option<NaiveDate>) -> Result<Value> {
    let history = OrderHistory::from_transactions(&file.transactions);
    let first_date = file.transactions.iter().map(|t| t.date).min().context("no transactions")?;
    let last_date = file.transactions.iter().map(|t| t.date).max().context("no transactions")?;
    let as_of = as_of.unwrap_or(last_date);
    if as_of < first_date {
        bail!("--as-of {as_of} is before the first purchase in the file ({first_date})");
    }
    let time = TimeUnit::Weeks;
    let summaries = repeat_summaries(&history, as_of, time)?;
    let purchases = fit_bgnbd(&summaries).map_err(|e| anyhow!("the BG/NBD model could not be fitted: {e}"))?;
    let spend = fit_gamma_gamma(&summaries);
    let rfm = rfm_scores(&history, as_of)?;
    let clv_settings = ClvSettings { time_unit: time, ..ClvSettings::default() };
    let values = match &spend {
        Ok(spend) => Some(predict_customer_values(&purchases.params, &spend.params, &summaries, &clv_settings)?),
        Err(_) => None,
    };
    let holdout = if last_date > as_of {
        Some(compare_holdout(&purchases.params, &history, &summaries, as_of, last_date, time)?)
    } else {
        None
    };

    let horizon = FORECAST_DAYS / time.days();
    let mut forecasts: HashMap<(u32, u64, u64), (f64, f64)> = HashMap::new();
    let mut customers = Vec::with_capacity(summaries.len());
    for (i, s) in summaries.iter().enumerate() {
        let r = rfm.get(i).filter(|r| r.customer == s.customer).context("RFM and summaries disagree")?;
        let key = (s.frequency, s.recency.to_bits(), s.age.to_bits());
        let (p_alive, expected) = match forecasts.get(&key) {
            Some(v) => *v,
            None => {
                let v = (
                    purchases.params.probability_alive(s.frequency, s.recency, s.age)?,
                    purchases.params.expected_purchases(horizon, s.frequency, s.recency, s.age)?,
                );
                forecasts.insert(key, v);
                v
            }
        };
        let mut c = json!({
            "customer_id": s.customer,
            "first_purchase": r.first_order,
            "last_purchase": r.last_order,
            "frequency": s.frequency,
            "recency": s.recency,
            "T": s.age,
            "monetary_value": unit(s.mean_repeat_value_minor),
            "rfm": {"recency_days": r.recency_days, "purchases": r.frequency, "total": unit(r.monetary_total_minor as f64),
                    "r": r.r_score, "f": r.f_score, "m": r.m_score, "segment": r.segment.code()},
            "p_alive": p_alive,
            "expected_purchases_90d": expected,
            "expected_order_value": values.as_ref().map(|v| unit(v[i].expected_order_value_minor)),
            "clv_12m": values.as_ref().map(|v| unit(v[i].predicted_clv_minor)),
        });
        if let Some((_, per_customer)) = &holdout {
            c["holdout"] = json!({"actual": per_customer[i].actual, "predicted": per_customer[i].predicted});
        }
        customers.push(c);
    }

    let calibrated: std::collections::HashSet<&String> = summaries.iter().map(|s| &s.customer).collect();
    let p = &purchases.params;
    Ok(json!({
        "input": {
            "file": source,
            "rows": file.rows,
            "customers": history.customer_count(),
            "purchase_days": history.order_count(),
            "first_date": first_date,
            "last_date": last_date,
        },
        "as_of": as_of,
        "time_unit": time,
        "calibration": {
            "customers": summaries.len(),
            "repeat_customers": summaries.iter().filter(|s| s.frequency > 0).count(),
        },
        "bgnbd": {
            "r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b,
            "log_likelihood": purchases.log_likelihood,
            "standard_errors": purchases.standard_errors,
            "iterations": purchases.iterations,
            "customers": purchases.customers,
        },
        "gamma_gamma": match &spend {
            Ok(fit) => json!({
                "p": fit.params.p, "q": fit.params.q, "gamma": unit(fit.params.gamma),
                "log_likelihood": fit.log_likelihood,
                "standard_errors": fit.standard_errors.map(|s| json!({"p": s.p, "q": s.q, "gamma": unit(s.gamma)})),
                "customers": fit.customers,
                "population_mean_order_value": fit.params.expected_average_value(0, 0.0).ok().map(unit),
            }),
            Err(e) => json!({"error": e.to_string()}),
        },
        "clv": clv_settings,
        "holdout": holdout.as_ref().map(|(h, _)| json!({
            "from": as_of.checked_add_days(Days::new(1)),
            "to": h.holdout_end,
            "length": h.length,
            "customers": h.customers,
            "actual": h.actual,
            "predicted": h.predicted,
            "new_customers": history.iter().filter(|(k, _)| !calibrated.contains(k)).count(),
            "by_frequency": h.by_frequency,
        })),
        "customers": customers,
    }))
}

/// The few lines a person reads first; `--json` has everything.
pub fn summary(report: &Value) -> String {
    let f = |v: &Value| v.as_f64().map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    let input = &report["input"];
    let b = &report["bgnbd"];
    let g = &report["gamma_gamma"];
    let mut out = format!(
        "{}: {} rows, {} customers, {} purchase days from {} to {}\ncalibration until {}: {} customers, {} with repeat purchases\n",
        input["file"].as_str().unwrap_or("?"),
        input["rows"],
        input["customers"],
        input["purchase_days"],
        input["first_date"].as_str().unwrap_or("?"),
        input["last_date"].as_str().unwrap_or("?"),
        report["as_of"].as_str().unwrap_or("?"),
        report["calibration"]["customers"],
        report["calibration"]["repeat_customers"],
    );
    out += &format!(
        "BG/NBD (weeks): r = {}, alpha = {}, a = {}, b = {}, log-likelihood {}\n",
        f(&b["r"]),
        f(&b["alpha"]),
        f(&b["a"]),
        f(&b["b"]),
        f(&b["log_likelihood"])
    );
    match g["error"].as_str() {
        Some(e) => out += &format!("Gamma-Gamma: not fitted ({e})\n"),
        None => out += &format!("Gamma-Gamma: p = {}, q = {}, gamma = {}\n", f(&g["p"]), f(&g["q"]), f(&g["gamma"])),
    }
    let h = &report["holdout"];
    if !h.is_null() {
        out += &format!(
            "holdout {} to {} ({:.1} weeks): {} repeat purchases, {:.1} predicted\n",
            h["from"].as_str().unwrap_or("?"),
            h["to"].as_str().unwrap_or("?"),
            h["length"].as_f64().unwrap_or(0.0),
            h["actual"],
            h["predicted"].as_f64().unwrap_or(f64::NAN)
        );
    }
    out += "(--json prints every fitted value and each customer's results)\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_amounts_parse_or_say_why() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert_eq!(parse_date("2025-03-01"), Some(d));
        assert_eq!(parse_date("20250301"), Some(d));
        assert_eq!(parse_date("2025-03-01T10:00:00Z"), Some(d));
        assert_eq!(parse_date("2025-03-01 10:00"), Some(d));
        assert_eq!(parse_date("01/03/2025"), None);
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_amount("29.33"), Ok(2933));
        assert_eq!(parse_amount("0"), Ok(0));
        assert!(parse_amount("-5").unwrap_err().contains("negative"));
        assert!(parse_amount("NaN").is_err());
        assert!(parse_amount("inf").is_err());
        assert!(parse_amount("1e300").unwrap_err().contains("too large"));
        assert!(parse_amount("12,50").unwrap_err().contains("not a number"));
    }
}
