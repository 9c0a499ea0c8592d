//! End-to-end checks on fixed-seed synthetic data: the models recover what generated the data, and every
//! analysis produces sensible, explained results.

use chrono::NaiveDate;
use guanxi_analytics::bgnbd::fit_bgnbd;
use guanxi_analytics::churn::{ChurnSettings, SupportCounts, churn_features, churn_study};
use guanxi_analytics::clusters::{ClusterSettings, cluster_customers};
use guanxi_analytics::clv::{ClvSettings, predict_customer_values};
use guanxi_analytics::cross_sell::{association_rules, frequent_itemsets, recommend_products};
use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
use guanxi_analytics::lifecycle::{LifecycleRules, LifecycleStage, lifecycle_stages, median_gap_days};
use guanxi_analytics::orders::{OrderHistory, OrderStatus, TimeUnit, repeat_summaries};
use guanxi_analytics::rfm::{RfmSegment, rfm_scores};
use guanxi_analytics::synthetic::{SyntheticData, SyntheticSettings, generate};
use guanxi_analytics::tiers::{CustomerTier, TierInput, TierRules, assign_tiers};

fn data(customers: usize) -> SyntheticData {
    generate(&SyntheticSettings { customers, ..Default::default() })
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn bgnbd_and_gamma_gamma_recover_the_generating_parameters() {
    let data = data(20_000);
    let history = OrderHistory::from_transactions(&data.transactions);
    // Orders of one customer on the same day are merged, which the generator does not do: allow some slack.
    let summaries = repeat_summaries(&history, data.settings.end, TimeUnit::Days).unwrap();
    let fit = fit_bgnbd(&summaries).unwrap();
    let truth = data.settings.purchases;
    let p = fit.params;
    eprintln!("synthetic BG/NBD (days), truth {truth:?}: {fit:?}");
    assert!((p.r - truth.r).abs() < 0.05, "{p:?}");
    assert!((p.alpha / truth.alpha - 1.0).abs() < 0.25, "{p:?}");
    assert!((p.a - truth.a).abs() < 0.35 && (p.b - truth.b).abs() < 1.2, "{p:?}");
    let se = fit.standard_errors.unwrap();
    assert!(se.r < 0.02, "{se:?}");
    let spend = fit_gamma_gamma(&summaries).unwrap().params;
    let mean = spend.p * spend.gamma / (spend.q - 1.0);
    let true_mean = data.settings.spend.p * data.settings.spend.gamma / (data.settings.spend.q - 1.0);
    assert!((mean / true_mean - 1.0).abs() < 0.1, "{spend:?}");
}

#[test]
fn bgnbd_forecasts_the_holdout_period() {
    let data = data(10_000);
    let history = OrderHistory::from_transactions(&data.transactions);
    let calibration_end = day(2024, 12, 31);
    let summaries = repeat_summaries(&history, calibration_end, TimeUnit::Days).unwrap();
    let purchases = fit_bgnbd(&summaries).unwrap().params;
    let horizon = (data.settings.end - calibration_end).num_days() as f64;
    let predicted: f64 =
        summaries.iter().map(|s| purchases.expected_purchases(horizon, s.frequency, s.recency, s.age).unwrap()).sum();
    let actual = history.iter().flat_map(|(_, o)| o.iter()).filter(|o| o.date > calibration_end).count() as f64;
    eprintln!("holdout purchases: predicted {predicted:.0}, actual {actual}");
    assert!((predicted / actual - 1.0).abs() < 0.15, "predicted {predicted}, actual {actual}");
}

#[test]
fn clv_tiers_and_lifecycle_fit_together() {
    let data = data(5_000);
    let history = OrderHistory::from_transactions(&data.transactions);
    let as_of = data.settings.end;
    let summaries = repeat_summaries(&history, as_of, TimeUnit::Weeks).unwrap();
    let purchases = fit_bgnbd(&summaries).unwrap().params;
    let spend = fit_gamma_gamma(&summaries).unwrap().params;
    let values = predict_customer_values(&purchases, &spend, &summaries, &ClvSettings::default()).unwrap();
    assert!(values.iter().all(|v| v.predicted_clv_minor.is_finite() && v.predicted_clv_minor >= 0.0));

    let rfm = rfm_scores(&history, as_of).unwrap();
    assert_eq!(rfm.len(), values.len());
    let inputs: Vec<TierInput<u64>> =
        rfm.iter().zip(&values).map(|(r, v)| TierInput::from_rfm(r, Some(v.predicted_clv_minor))).collect();
    let tiers = assign_tiers(&inputs, &TierRules::default()).unwrap();
    let vip_by_value = tiers.iter().filter(|t| t.reason.code == "top_share" && t.tier == CustomerTier::Vip).count();
    let positive = values.iter().filter(|v| v.predicted_clv_minor > 0.0).count();
    assert_eq!(vip_by_value, (positive as f64 * 0.05).ceil() as usize);
    for (t, r) in tiers.iter().zip(&rfm) {
        if r.segment == RfmSegment::Champions {
            assert_eq!(t.tier, CustomerTier::Vip);
        }
        assert!(!t.reason.text.is_empty());
    }

    // Lifecycle with P(alive) from the model, plus one prospect who never bought.
    let p_alive: std::collections::BTreeMap<u64, f64> =
        values.iter().map(|v| (v.customer, v.probability_alive)).collect();
    let mut customers: Vec<u64> = rfm.iter().map(|r| r.customer).collect();
    customers.push(u64::MAX);
    let rules = LifecycleRules { fallback_gap_days: median_gap_days(&history).unwrap(), ..Default::default() };
    let stages = lifecycle_stages(&customers, &history, as_of, |k| p_alive.get(k).copied(), &rules).unwrap();
    assert_eq!(stages.last().unwrap().stage, LifecycleStage::Prospect);
    for stage in [LifecycleStage::FirstTime, LifecycleStage::Repeat, LifecycleStage::Loyal, LifecycleStage::Churned] {
        assert!(stages.iter().any(|s| s.stage == stage), "no customer is {stage:?}");
    }
}

#[test]
fn unpaid_orders_are_ignored() {
    let data = data(500);
    let unpaid = data.transactions.iter().filter(|t| t.status != OrderStatus::Paid).count();
    assert!(unpaid > 0);
    let history = OrderHistory::from_transactions(&data.transactions);
    let paid_days: std::collections::BTreeSet<(u64, NaiveDate)> =
        data.transactions.iter().filter(|t| t.status == OrderStatus::Paid).map(|t| (t.customer, t.date)).collect();
    assert_eq!(history.order_count(), paid_days.len());
}

#[test]
fn churn_model_separates_churners_and_explains_itself() {
    let data = data(6_000);
    let history = OrderHistory::from_transactions(&data.transactions);
    let support: Vec<SupportCounts<u64>> = (1..=6_000u64)
        .filter(|c| c % 7 == 0)
        .map(|c| SupportCounts { customer: c, complaints: (c % 3) as u32, tickets: (c % 5) as u32 })
        .collect();
    let settings = ChurnSettings::default();
    let study = churn_study(&history, &support, day(2024, 12, 31), data.settings.end, &settings).unwrap();
    let e = &study.evaluation;
    eprintln!(
        "churn: trained on {}, held-out AUC {:.3}, Brier {:.3}, base rate {:.3}",
        study.trained_on, e.auc, e.brier, e.base_rate
    );
    eprintln!("churn coefficients {:?}", study.model.logistic.coefficients);
    assert!(e.auc > 0.7, "{e:?}");
    assert!(e.brier < 0.2, "{e:?}");
    assert_eq!(e.reliability.iter().map(|b| b.count).sum::<usize>(), e.customers);
    // Calibrated: the populated bins' observed rates follow the predictions.
    for b in e.reliability.iter().filter(|b| b.count >= 200) {
        assert!((b.observed_rate - b.mean_predicted).abs() < 0.12, "{b:?}");
    }
    // Score today's customers; every score has three distinct reasons with codes.
    let today = churn_features(&history, &support, data.settings.end, &settings).unwrap();
    let mut saw_recency = false;
    for f in &today {
        let s = study.model.score(f);
        assert!((0.0..=1.0).contains(&s.probability));
        assert_eq!(s.reasons.len(), 3);
        let codes: std::collections::BTreeSet<&str> = s.reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes.len(), 3);
        if s.reasons[0].code == "no_purchase_for" {
            saw_recency = true;
            assert!(s.reasons[0].text.starts_with("no purchase for "), "{}", s.reasons[0].text);
        }
    }
    assert!(saw_recency);
}

#[test]
fn clusters_are_described_and_deterministic() {
    let data = data(3_000);
    let history = OrderHistory::from_transactions(&data.transactions);
    let rfm = rfm_scores(&history, data.settings.end).unwrap();
    let settings = ClusterSettings { silhouette_sample: 1_000, ..Default::default() };
    let a = cluster_customers(&rfm, &settings).unwrap();
    let b = cluster_customers(&rfm, &settings).unwrap();
    assert_eq!(a, b);
    eprintln!("clusters: k = {}, silhouettes {:?}", a.k, a.silhouette_by_k);
    for c in &a.clusters {
        eprintln!("  {c:?}");
    }
    assert_eq!(a.silhouette_by_k.len(), 7);
    let best = a.silhouette_by_k.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    assert!(best > 0.3, "{:?}", a.silhouette_by_k);
    assert!(a.clusters.windows(2).all(|w| w[0].size >= w[1].size));
    assert!(a.clusters.iter().all(|c| c.description.ends_with("customers")));
}

#[test]
fn recommendations_follow_product_families() {
    let data = data(3_000);
    let baskets: Vec<Vec<u32>> = data
        .transactions
        .iter()
        .zip(&data.baskets)
        .filter(|(t, _)| t.status == OrderStatus::Paid)
        .map(|(_, b)| b.clone())
        .collect();
    let sets = frequent_itemsets(&baskets, 0.005, None).unwrap();
    let rules = association_rules(&sets, baskets.len(), 0.2).unwrap();
    assert!(!rules.is_empty());
    // Accessories (family items 1..4) point to their anchor product (item 0 of the family).
    let top = &rules[0];
    assert!(top.lift > 1.0);
    let mut owned: std::collections::BTreeMap<u64, Vec<u32>> = std::collections::BTreeMap::new();
    for (t, b) in data.transactions.iter().zip(&data.baskets) {
        owned.entry(t.customer).or_default().extend(b);
    }
    let owned: Vec<(u64, Vec<u32>)> = owned.into_iter().collect();
    let recs = recommend_products(&owned, &rules, 3);
    let mut with_recs = 0;
    for ((_, have), (_, r)) in owned.iter().zip(&recs) {
        assert!(r.len() <= 3);
        for rec in r {
            assert!(!have.contains(&rec.item));
            assert!(rec.rule.antecedent.iter().all(|i| have.contains(i)));
            assert_eq!(rec.reason.code, "bought_together");
        }
        with_recs += usize::from(!r.is_empty());
    }
    assert!(with_recs > owned.len() / 4, "{with_recs}");
}
