//! Reproduces the published BG/NBD, Gamma-Gamma and BG/BB estimates on the CDNOW sample and the donations data
//! (fixtures and their provenance: `tests/fixtures/README.md`).

use chrono::NaiveDate;
use guanxi_analytics::bgbb::{BgBbPattern, fit_bgbb};
use guanxi_analytics::bgnbd::fit_bgnbd;
use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
use guanxi_analytics::orders::{OrderHistory, RepeatSummary, TimeUnit, Transaction, repeat_summaries};

const SUMMARY_CSV: &str = include_str!("fixtures/cdnow_customers_summary_with_transactions.csv");
const SAMPLE_TXT: &str = include_str!("fixtures/CDNOW_sample.txt");
const DONATIONS_CSV: &str = include_str!("fixtures/donations.csv");

/// `value` rounded to `digits` decimals, as the papers print it.
fn rounded(value: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (value * f).round() / f
}

fn assert_printed(name: &str, got: f64, published: f64, digits: i32) {
    assert_eq!(rounded(got, digits), published, "{name}: got {got}, published {published}");
}

/// The per-customer summary shipped with the data (zbar in dollars, turned into cents).
fn summary_from_csv() -> Vec<RepeatSummary<u64>> {
    SUMMARY_CSV
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            RepeatSummary {
                customer: f[0].parse().unwrap(),
                frequency: f[1].parse().unwrap(),
                recency: f[2].parse().unwrap(),
                age: f[3].parse().unwrap(),
                mean_repeat_value_minor: (f[4].parse::<f64>().unwrap() * 100.0).round(),
            }
        })
        .collect()
}

/// The raw sample: `master_id sample_id date(YYYYMMDD) number_of_cds dollar_value`.
fn sample_transactions() -> Vec<Transaction<u64>> {
    SAMPLE_TXT
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let date = NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap();
            let cents = (f[4].parse::<f64>().unwrap() * 100.0).round() as i64;
            Transaction::paid(f[1].parse().unwrap(), date, cents)
        })
        .collect()
}

fn check_bgnbd(summaries: &[RepeatSummary<u64>]) {
    let fit = fit_bgnbd(summaries).unwrap();
    eprintln!("BG/NBD fit: {fit:?}");
    assert_eq!(fit.customers, 2357.0);
    assert_printed("r", fit.params.r, 0.243, 3);
    assert_printed("alpha", fit.params.alpha, 4.414, 3);
    assert_printed("a", fit.params.a, 0.793, 3);
    assert_printed("b", fit.params.b, 2.426, 3);
    assert_printed("log-likelihood", fit.log_likelihood, -9582.4, 1);
    let se = fit.standard_errors.expect("Hessian is positive definite at the optimum");
    // Sanity: standard errors are small relative to the estimates but not zero.
    for (v, s) in [(fit.params.r, se.r), (fit.params.alpha, se.alpha), (fit.params.a, se.a), (fit.params.b, se.b)] {
        assert!(s > 0.0 && s < v, "standard error {s} for {v}");
    }
}

fn check_gamma_gamma(summaries: &[RepeatSummary<u64>], gamma_dollars: f64) {
    let fit = fit_gamma_gamma(summaries).unwrap();
    eprintln!("Gamma-Gamma fit: {fit:?}");
    assert_eq!(fit.customers, 946.0);
    assert_printed("p", fit.params.p, 6.25, 2);
    assert_printed("q", fit.params.q, 3.74, 2);
    // Fitted in cents; the paper is in dollars.
    assert_printed("gamma", fit.params.gamma / 100.0, gamma_dollars, 2);
}

#[test]
fn bgnbd_on_the_published_cdnow_summary() {
    check_bgnbd(&summary_from_csv());
}

#[test]
fn gamma_gamma_on_the_published_cdnow_summary() {
    // The shipped summary rounds zbar to cents, which moves the flat gamma direction (standard error ~4) from
    // 15.4435 to 15.4477: 15.45 printed, as `lifetimes` also reports for this file. The published 15.44 comes
    // back from the raw transactions in the next test.
    check_gamma_gamma(&summary_from_csv(), 15.45);
}

#[test]
fn our_summary_of_the_raw_cdnow_sample_gives_the_published_estimates() {
    let history = OrderHistory::from_transactions(&sample_transactions());
    assert_eq!(history.customer_count(), 2357);
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    let summaries = repeat_summaries(&history, end, TimeUnit::Weeks).unwrap();
    // Our summary matches the shipped one to its two printed decimals.
    let published = summary_from_csv();
    for (ours, theirs) in summaries.iter().zip(&published) {
        assert_eq!(ours.customer, theirs.customer);
        assert_eq!(ours.frequency, theirs.frequency, "customer {}", ours.customer);
        assert_eq!(rounded(ours.recency, 2), theirs.recency, "customer {}", ours.customer);
        assert_eq!(rounded(ours.age, 2), theirs.age, "customer {}", ours.customer);
        assert!((ours.mean_repeat_value_minor - theirs.mean_repeat_value_minor).abs() <= 0.5 + 1e-9);
    }
    check_bgnbd(&summaries);
    check_gamma_gamma(&summaries, 15.44);
}

#[test]
fn bgbb_on_the_donations_data() {
    let patterns: Vec<BgBbPattern> = DONATIONS_CSV
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<u32> = line.split(',').map(|v| v.parse().unwrap()).collect();
            BgBbPattern { frequency: f[0], recency: f[1], periods: f[2], weight: f[3] as f64 }
        })
        .collect();
    let fit = fit_bgbb(&patterns).unwrap();
    eprintln!("BG/BB fit: {fit:?}");
    assert_eq!(fit.customers, 11_104.0);
    assert_printed("alpha", fit.params.alpha, 1.204, 3);
    assert_printed("beta", fit.params.beta, 0.750, 3);
    assert_printed("gamma", fit.params.gamma, 0.657, 3);
    assert_printed("delta", fit.params.delta, 2.783, 3);
    assert_printed("log-likelihood", fit.log_likelihood, -33225.6, 1);
    assert!(fit.standard_errors.is_some());
}
