//! `guanxi analyze --transactions FILE.csv`: the real binary on the CDNOW sample written as a plain CSV file
//! (published estimates reproduced, holdout compared) and on broken files (clear errors with line numbers).

use chrono::NaiveDate;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CDNOW_SAMPLE: &str = include_str!("../../analytics/tests/fixtures/CDNOW_sample.txt");

/// A folder of this test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("guanxi-analyze-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// (sample customer id, day, dollars) from `master_id sample_id YYYYMMDD cds dollars`.
fn cdnow_rows() -> Vec<(String, NaiveDate, String)> {
    CDNOW_SAMPLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap(), f[4].to_string())
        })
        .collect()
}

/// The sample as an analyst would export it: a header, ISO dates, a column the command ignores.
fn cdnow_csv() -> String {
    let mut s = String::from("date,customer_id,amount,channel\n");
    for (customer, day, amount) in cdnow_rows() {
        s += &format!("{day},{customer},{amount},web\n");
    }
    s
}

fn analyze(file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guanxi"))
        .arg("analyze")
        .arg("--transactions")
        .arg(file)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the guanxi binary runs")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "guanxi analyze failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn rounded(v: &Value, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v.as_f64().unwrap_or(f64::NAN) * f).round() / f
}

#[test]
fn the_cdnow_sample_reproduces_the_published_models_and_is_checked_on_its_holdout() {
    let dir = Scratch::new("cdnow");
    let file = dir.file("cdnow.csv", &cdnow_csv());
    let report = json_of(&analyze(&file, &["--as-of", "1997-09-30", "--json"]));

    assert_eq!(report["input"]["rows"], 6919);
    assert_eq!(report["input"]["customers"], 2357);
    assert_eq!(report["calibration"]["customers"], 2357);
    assert_eq!(report["time_unit"], "weeks");
    // Fader, Hardie and Lee (2005), "Counting your customers the easy way".
    let b = &report["bgnbd"];
    assert_eq!(
        [rounded(&b["r"], 3), rounded(&b["alpha"], 3), rounded(&b["a"], 3), rounded(&b["b"], 3)],
        [0.243, 4.414, 0.793, 2.426],
        "{b}"
    );
    assert_eq!(rounded(&b["log_likelihood"], 1), -9582.4);
    // Fader, Hardie and Lee (2005), "RFM and CLV": gamma in dollars, the file's unit.
    let g = &report["gamma_gamma"];
    assert_eq!([rounded(&g["p"], 2), rounded(&g["q"], 2), rounded(&g["gamma"], 2)], [6.25, 3.74, 15.44], "{g}");
    assert_eq!(g["customers"].as_f64(), Some(946.0));

    // The holdout: every purchase day after the calibration end, counted independently here.
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    let holdout_days: BTreeSet<(String, NaiveDate)> =
        cdnow_rows().into_iter().filter(|r| r.1 > end).map(|r| (r.0, r.1)).collect();
    let h = &report["holdout"];
    assert_eq!(h["from"], "1997-10-01");
    assert_eq!(h["to"], "1998-06-30");
    assert_eq!(h["actual"].as_u64(), Some(holdout_days.len() as u64));
    assert_eq!(h["new_customers"], 0);
    let (actual, predicted) = (h["actual"].as_f64().unwrap(), h["predicted"].as_f64().unwrap());
    // 1,882 purchase days happened; the model expects about 1,653 of them (it under-forecasts this cohort's
    // holdout a little, as the conditional-expectation plots of the paper and of `lifetimes` show). A broken
    // forecast (wrong time unit, wrong period length) would be off by a factor, not by 12 %.
    assert!(predicted < actual && predicted > 0.85 * actual, "predicted {predicted}, actual {actual}");
    let buckets = h["by_frequency"].as_array().unwrap();
    assert_eq!(buckets.len(), 8);
    assert_eq!(buckets.iter().map(|b| b["customers"].as_u64().unwrap()).sum::<u64>(), 2357);
    assert_eq!(buckets[0]["frequency"], 0);
    assert_eq!(buckets[7]["or_more"], true);

    // Per customer: the shipped summary's first row (customer 1: x = 2, t_x = 30.43, T = 38.86, zbar 22.35),
    // and totals that add up to the holdout figures.
    let customers = report["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 2357);
    let c1 = customers.iter().find(|c| c["customer_id"] == "0001").expect("customer 0001");
    assert_eq!(c1["frequency"], 2);
    assert_eq!([rounded(&c1["recency"], 2), rounded(&c1["T"], 2)], [30.43, 38.86]);
    assert_eq!(rounded(&c1["monetary_value"], 2), 22.35);
    let p_alive = c1["p_alive"].as_f64().unwrap();
    assert!(p_alive > 0.0 && p_alive <= 1.0);
    assert!(c1["clv_12m"].as_f64().unwrap() > 0.0);
    let sum = |field: &str| customers.iter().map(|c| c["holdout"][field].as_f64().unwrap()).sum::<f64>();
    assert_eq!(sum("actual"), actual);
    assert!((sum("predicted") - predicted).abs() < 1e-6 * predicted);
}

#[test]
fn without_as_of_the_whole_file_calibrates_and_there_is_no_holdout() {
    let dir = Scratch::new("no-holdout");
    let file = dir.file("cdnow.csv", &cdnow_csv());
    let report = json_of(&analyze(&file, &["--json"]));
    assert_eq!(report["as_of"], "1998-06-30");
    assert!(report["holdout"].is_null());
    assert!(report["customers"][0].get("holdout").is_none());
    // The human summary names the parameters.
    let out = analyze(&file, &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BG/NBD (weeks): r = ") && text.contains("Gamma-Gamma: p = "), "{text}");
}

#[test]
fn same_day_purchases_are_one_purchase_and_customers_new_in_the_holdout_are_counted_apart() {
    let dir = Scratch::new("merge");
    // Customer a buys twice on 2025-01-05 (one purchase of 30), customer c only after the calibration end.
    let mut csv = String::from("customer_id,date,amount\n");
    for (c, d, a) in [
        ("a", "2025-01-01", "10"),
        ("a", "2025-01-05", "10"),
        ("a", "2025-01-05", "20"),
        ("a", "2025-02-01", "40"),
        ("b", "2025-01-02", "5"),
        ("b", "2025-01-20", "7.5"),
        ("b", "2025-03-10", "8"),
        ("c", "2025-03-01", "9"),
    ] {
        csv += &format!("{c},{d},{a}\n");
    }
    let file = dir.file("small.csv", &csv);
    let out = analyze(&file, &["--as-of", "2025-02-15", "--json"]);
    // Two customers cannot pin down four parameters: whatever happens, it is an error message, not a panic.
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let report = json_of(&out);
    assert_eq!(report["input"]["rows"], 8);
    assert_eq!(report["input"]["purchase_days"], 7);
    let a = report["customers"].as_array().unwrap().iter().find(|c| c["customer_id"] == "a").unwrap().clone();
    assert_eq!(a["frequency"], 2);
    assert_eq!(a["monetary_value"], 35.0);
    assert_eq!(report["holdout"]["actual"], 1);
    assert_eq!(report["holdout"]["new_customers"], 1);
}

/// Runs the command on `text` and returns its error output, checking it failed cleanly (exit 1, no panic).
fn error_for(name: &str, text: &str) -> String {
    let dir = Scratch::new(name);
    let file = dir.file("bad.csv", text);
    let out = analyze(&file, &["--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "expected a clean failure for {name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing printed on stdout when the file is bad");
    stderr
}

#[test]
fn bad_files_give_clear_errors_with_the_line_number() {
    let head = "customer_id,date,amount\n";
    let e = error_for("header", "customer,day,value\n1,2025-01-01,10\n");
    assert!(e.contains("line 1") && e.contains("customer_id, date and amount"), "{e}");
    let e = error_for("date", &format!("{head}1,2025-01-01,10\n2,2025-13-01,10\n"));
    assert!(e.contains("line 3") && e.contains("\"2025-13-01\" is not a date"), "{e}");
    let e = error_for("amount", &format!("{head}1,2025-01-01,10\n1,2025-01-02,ten\n"));
    assert!(e.contains("line 3") && e.contains("\"ten\" is not a number"), "{e}");
    let e = error_for("negative", &format!("{head}1,2025-01-01,-10\n"));
    assert!(e.contains("line 2") && e.contains("negative"), "{e}");
    let e = error_for("fields", &format!("{head}1,2025-01-01,10\n1,2025-01-02\n"));
    assert!(e.contains("line 3") && e.contains("2 fields where the header has 3"), "{e}");
    let e = error_for("customer", &format!("{head}1,2025-01-01,10\n,2025-01-02,5\n"));
    assert!(e.contains("line 3") && e.contains("customer_id is empty"), "{e}");
    let e = error_for("empty", head);
    assert!(e.contains("no transactions"), "{e}");
    let e = error_for("nothing", "");
    assert!(e.contains("line 1") || e.contains("header"), "{e}");
    let e = error_for("no-repeat", &format!("{head}1,2025-01-01,10\n2,2025-01-02,10\n"));
    assert!(e.contains("BG/NBD model could not be fitted") && e.contains("repeat purchase"), "{e}");

    let dir = Scratch::new("as-of");
    let file = dir.file("ok.csv", &format!("{head}1,2025-01-01,10\n1,2025-02-01,10\n"));
    let out = analyze(&file, &["--as-of", "2024-12-31"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("before the first purchase"));

    let out = analyze(Path::new("/nonexistent/guanxi/transactions.csv"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}

#[test]
fn invalid_utf8_is_reported_with_its_line() {
    let dir = Scratch::new("latin1");
    let p = dir.0.join("latin1.csv");
    let mut bytes = b"customer_id,date,amount\n1,2025-01-01,10\n".to_vec();
    bytes.extend_from_slice(b"Jos\xe9,2025-01-02,10\n");
    std::fs::write(&p, bytes).unwrap();
    let out = analyze(&p, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("UTF-8"), "{stderr}");
}
