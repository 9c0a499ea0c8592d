//! The analytics refresh use case: read purchase data from the store, run `guanxi-analytics`, write every
//! contact's metrics and the run record, and put stage and tier changes on the contacts' timelines.
//!
//! It lives here rather than in the binary because `POST /api/v1/analytics/run` needs it too (and the binary
//! depends on this crate, not the other way round); the handlers stay thin and call [`run_analysis`]. The
//! binary's `guanxi analyze` and the scheduled run inside `guanxi serve` call the same function.
//!
//! Thin data is normal for a new shop: when a model cannot be fitted, the run still writes RFM, tiers (on
//! total spend instead of predicted value) and stages, names the missing models and the reason in
//! `params.models`, and ends with status `insufficient_data` instead of failing.
//!
//! Days are UTC days. The first run records each contact's starting stage without a timeline event; every
//! later change of stage or tier becomes one `system` activity, dated the day it was observed.

use chrono::{DateTime, Days, NaiveDate, Utc};
use guanxi_analytics::bgnbd::{BgNbdParams, fit_bgnbd};
use guanxi_analytics::churn::{ChurnFeatures, ChurnModel, ChurnSettings, SupportCounts, churn_features, churn_study};
use guanxi_analytics::clusters::{ClusterSettings, cluster_customers};
use guanxi_analytics::clv::{ClvSettings, predict_customer_values};
use guanxi_analytics::cross_sell::{association_rules, frequent_itemsets, recommend_products};
use guanxi_analytics::gamma_gamma::fit_gamma_gamma;
use guanxi_analytics::lifecycle::{LifecycleRules, LifecycleStage, median_gap_days, stage_change, stage_of};
use guanxi_analytics::orders::{OrderHistory, TimeUnit, Transaction, repeat_summaries};
use guanxi_analytics::reason::Reason;
use guanxi_analytics::rfm::{CustomerRfm, rfm_scores};
use guanxi_analytics::tiers::{CustomerTier, TierAssignment, TierInput, TierRules, assign_tiers};
use guanxi_store::analytics::{
    self as store, BasketLine, CustomerMetrics, ModelRun, PreviousState, READ_CHUNK, SystemEvent,
};
use guanxi_store::{Db, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// Settings of a run. The defaults are what the CLI, the API and the scheduler use.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    /// The day to analyse as of (today, UTC, when `None`).
    pub as_of: Option<NaiveDate>,
    /// Baskets for cross-sell come from the paid orders of this many days before `as_of`.
    pub basket_window_days: u32,
    /// Holdout window of the churn model: "churned" = no purchase in this many days.
    pub churn_window_days: u32,
    /// Recommendations kept per contact.
    pub recommendations: usize,
    /// Association rules kept in the run record.
    pub rules_kept: usize,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            as_of: None,
            basket_window_days: 365,
            churn_window_days: 90,
            recommendations: 3,
            rules_kept: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("an analysis is already running")]
    AlreadyRunning,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the analysis stopped unexpectedly: {0}")]
    Internal(String),
}

/// Rows written per transaction: short enough that the SQLite writer is never held for long.
const WRITE_CHUNK: usize = 5_000;

/// Runs the whole analysis now and returns the run record (also stored in `model_runs`). One run per database
/// at a time ([`store::try_run_lock`]): a second one gets [`AnalysisError::AlreadyRunning`].
pub async fn run_analysis(db: &Db, settings: &AnalysisSettings) -> Result<ModelRun, AnalysisError> {
    let Some(lock) = store::try_run_lock(db).await? else { return Err(AnalysisError::AlreadyRunning) };
    let started_at = guanxi_core::ids::now();
    let clock = std::time::Instant::now();
    let run_id = store::start_run(db, started_at).await?;
    let result = analyse(db, settings, run_id, started_at, clock).await;
    let run = match result {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(error = %e, "analysis failed");
            let failed = ModelRun {
                id: run_id,
                started_at,
                finished_at: Some(guanxi_core::ids::now()),
                duration_ms: Some(clock.elapsed().as_millis() as i64),
                data_from: None,
                data_to: None,
                customers: 0,
                orders: 0,
                params: json!({}),
                status: store::RUN_FAILED.into(),
                error: Some(e.to_string()),
            };
            store::finish_run(db, &failed).await?;
            lock.release().await?;
            return Err(e);
        }
    };
    store::finish_run(db, &run).await?;
    lock.release().await?;
    Ok(run)
}

/// What the read phase hands to the models. Customers are keyed by their index in `contacts` (sorted ids), so
/// keys are 4 bytes and sort like the ids.
struct Input {
    as_of: NaiveDate,
    contacts: Vec<Uuid>,
    transactions: Vec<Transaction<u32>>,
    orders: i64,
    data_from: Option<NaiveDate>,
    data_to: Option<NaiveDate>,
    support: Vec<SupportCounts<u32>>,
    baskets: Vec<Vec<u32>>,
    owned: Vec<(u32, Vec<u32>)>,
    products: HashMap<u32, (Uuid, String)>,
    previous: Vec<Option<PreviousState>>,
}

async fn analyse(
    db: &Db,
    settings: &AnalysisSettings,
    run_id: Uuid,
    started_at: DateTime<Utc>,
    clock: std::time::Instant,
) -> Result<ModelRun, AnalysisError> {
    let as_of = settings.as_of.unwrap_or_else(|| started_at.date_naive());
    let input = read_input(db, settings, as_of).await?;
    tracing::info!(elapsed_ms = clock.elapsed().as_millis() as u64, "analysis: data read");
    let (orders, data_from, data_to, customers) =
        (input.orders, input.data_from, input.data_to, input.contacts.len() as i64);
    let settings_owned = settings.clone();
    let now = guanxi_core::ids::now();
    let computed = tokio::task::spawn_blocking(move || compute(input, &settings_owned, run_id, now, clock))
        .await
        .map_err(|e| AnalysisError::Internal(e.to_string()))?;
    tracing::info!(elapsed_ms = clock.elapsed().as_millis() as u64, "analysis: models computed");
    let Computed { mut findings, mut params, status } = computed;
    // Rows are built chunk by chunk as they are written: a run never holds every contact's reasons and
    // recommendations as JSON at once (at 1M contacts that was ~12 GB). Events go in the same transaction as
    // their contacts' metrics: a change is recorded exactly once even if a run stops half-way.
    let mut counts = Counts::default();
    let mut start = 0;
    while start < findings.contacts.len() {
        let end = (start + WRITE_CHUNK).min(findings.contacts.len());
        let (metrics, events) = guanxi_store::on_this_thread(|| findings.rows(start..end, &mut counts));
        store::write_metrics(db, &metrics, &events).await?;
        start = end;
    }
    params["stage_counts"] = json!(counts.stages);
    params["tier_counts"] = json!(counts.tiers);
    params["events"] = json!(counts.events);
    tracing::info!(elapsed_ms = clock.elapsed().as_millis() as u64, "analysis: metrics written");
    Ok(ModelRun {
        id: run_id,
        started_at,
        finished_at: Some(guanxi_core::ids::now()),
        duration_ms: Some(clock.elapsed().as_millis() as i64),
        data_from,
        data_to,
        customers,
        orders,
        params,
        status: status.into(),
        error: None,
    })
}

async fn read_input(db: &Db, settings: &AnalysisSettings, as_of: NaiveDate) -> Result<Input, AnalysisError> {
    let contacts = store::contact_ids(db).await?;
    let index =
        |id: &Uuid, from: usize| -> Option<u32> { contacts[from..].binary_search(id).ok().map(|i| (from + i) as u32) };
    let basket_since = as_of
        .checked_sub_days(Days::new(settings.basket_window_days as u64))
        .unwrap_or(as_of)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(guanxi_core::ids::now);
    let mut transactions = Vec::new();
    let (mut orders, mut data_from, mut data_to) = (0i64, None::<NaiveDate>, None::<NaiveDate>);
    let mut baskets: Vec<Vec<u32>> = Vec::new();
    let mut owned: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut previous: Vec<Option<PreviousState>> = Vec::with_capacity(contacts.len());
    for (c, chunk) in contacts.chunks(READ_CHUNK).enumerate() {
        let (first, last, base) = (chunk[0], chunk[chunk.len() - 1], c * READ_CHUNK);
        for d in store::order_days(db, first, last, Some(as_of)).await? {
            let Some(k) = index(&d.contact_id, base) else { continue };
            transactions.push(Transaction::paid(k, d.day, d.total_minor));
            orders += d.orders;
            data_from = Some(data_from.map_or(d.day, |f| f.min(d.day)));
            data_to = Some(data_to.map_or(d.day, |t| t.max(d.day)));
        }
        let lines = store::basket_lines(db, first, last, basket_since).await?;
        collect_baskets(&lines, |id| index(id, base), &mut baskets, &mut owned);
        let mut prev = store::previous_states(db, first, last).await?.into_iter().peekable();
        for id in chunk {
            previous.push(prev.next_if(|p| p.contact_id == *id));
            while prev.next_if(|p| p.contact_id < *id).is_some() {}
        }
    }
    let support = store::complaint_counts(db)
        .await?
        .into_iter()
        .filter_map(|(id, n)| {
            index(&id, 0).map(|k| SupportCounts {
                customer: k,
                complaints: n.clamp(0, u32::MAX as i64) as u32,
                tickets: 0,
            })
        })
        .collect();
    let mut seqs: Vec<i64> = baskets.iter().flatten().map(|&s| s as i64).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let products =
        store::products_by_seq(db, &seqs).await?.into_iter().map(|(seq, id, name)| (seq as u32, (id, name))).collect();
    Ok(Input { as_of, contacts, transactions, orders, data_from, data_to, support, baskets, owned, products, previous })
}

/// Groups lines (sorted by contact, order) into baskets (one per order) and each contact's products.
fn collect_baskets(
    lines: &[BasketLine],
    index: impl Fn(&Uuid) -> Option<u32>,
    baskets: &mut Vec<Vec<u32>>,
    owned: &mut Vec<(u32, Vec<u32>)>,
) {
    let mut last_order = None;
    for l in lines {
        let Some(k) = index(&l.contact_id) else { continue };
        let item = l.product_seq.clamp(0, u32::MAX as i64) as u32;
        if last_order != Some(l.order_id) {
            baskets.push(Vec::new());
            last_order = Some(l.order_id);
        }
        if let Some(b) = baskets.last_mut() {
            b.push(item);
        }
        match owned.last_mut() {
            Some((c, items)) if *c == k => items.push(item),
            _ => owned.push((k, vec![item])),
        }
    }
}

struct Computed {
    findings: Findings,
    /// The run's parameters; the stage and tier counts are added as the rows are written.
    params: Value,
    status: &'static str,
}

/// Stages and tiers counted over the rows written, and the events.
#[derive(Default)]
struct Counts {
    stages: HashMap<&'static str, u64>,
    tiers: HashMap<&'static str, u64>,
    events: usize,
}

/// What the models found, per contact (indexed like `contacts`) and in compact form: the metric rows, with their
/// reasons in words, are built from it a chunk at a time ([`Findings::rows`]).
struct Findings {
    run_id: Uuid,
    now: DateTime<Utc>,
    as_of: NaiveDate,
    contacts: Vec<Uuid>,
    previous: Vec<Option<PreviousState>>,
    history: OrderHistory<u32>,
    lifecycle_rules: LifecycleRules,
    rfm: Vec<CustomerRfm<u32>>,
    rfm_of: Vec<Option<u32>>,
    /// By position in `rfm`.
    tiers: Vec<TierAssignment<u32>>,
    p_alive: Vec<Option<f64>>,
    expected_90d: Vec<Option<f64>>,
    clv: Vec<Option<f64>>,
    /// The churn model and today's features of the contacts it scores (`churn_of` points into them).
    churn_model: Option<ChurnModel>,
    churn_features: Vec<ChurnFeatures<u32>>,
    churn_of: Vec<Option<u32>>,
    cluster: Vec<Option<i64>>,
    recommendations: Vec<Value>,
}

fn model_error(e: impl std::fmt::Display) -> Value {
    json!({"status": "insufficient_data", "error": e.to_string()})
}

fn reason_json(r: &Reason) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// The CPU part of a run: every model, in order, each one allowed to fail for lack of data.
fn compute(
    input: Input,
    settings: &AnalysisSettings,
    run_id: Uuid,
    now: DateTime<Utc>,
    clock: std::time::Instant,
) -> Computed {
    // Each step's end is logged with the time since the run started: where a large run spends its time.
    let step = |name: &str| tracing::info!(elapsed_ms = clock.elapsed().as_millis() as u64, "analysis: {name}");
    let n = input.contacts.len();
    let as_of = input.as_of;
    let history = OrderHistory::from_transactions(&input.transactions);
    drop(input.transactions);
    let mut models = serde_json::Map::new();
    let mut complete = true;

    // RFM for every buyer.
    let rfm = if history.is_empty() { Vec::new() } else { rfm_scores(&history, as_of).unwrap_or_default() };
    step("order history and RFM");

    // BG/NBD and Gamma-Gamma: P(alive), expected purchases and CLV.
    let mut p_alive: Vec<Option<f64>> = vec![None; n];
    let mut expected_90d: Vec<Option<f64>> = vec![None; n];
    let mut clv: Vec<Option<f64>> = vec![None; n];
    let clv_settings = ClvSettings::default();
    match repeat_summaries(&history, as_of, TimeUnit::Weeks) {
        Err(e) => {
            complete = false;
            models.insert("bgnbd".into(), model_error(&e));
            models.insert("gamma_gamma".into(), model_error(&e));
        }
        Ok(summaries) => {
            let purchases = match fit_bgnbd(&summaries) {
                Ok(fit) => {
                    models.insert("bgnbd".into(), json!({"status": "fitted", "fit": fit}));
                    Some(fit.params)
                }
                Err(e) => {
                    complete = false;
                    models.insert("bgnbd".into(), model_error(e));
                    None
                }
            };
            let spend = match fit_gamma_gamma(&summaries) {
                Ok(fit) => {
                    models.insert("gamma_gamma".into(), json!({"status": "fitted", "fit": fit}));
                    Some(fit.params)
                }
                Err(e) => {
                    complete = false;
                    models.insert("gamma_gamma".into(), model_error(e));
                    None
                }
            };
            // When Gamma-Gamma finds no difference in spend between customers (its q runs off to infinity), its
            // limit is one common mean order value: value everyone's future orders at that mean.
            let spend = spend.or_else(|| {
                let (n, total) = summaries.iter().filter(|s| s.frequency > 0).fold((0.0, 0.0), |(n, t), s| {
                    (n + s.frequency as f64, t + s.frequency as f64 * s.mean_repeat_value_minor)
                });
                (purchases.is_some() && n > 0.0 && total > 0.0).then(|| {
                    let mean = total / n;
                    models.insert(
                        "clv_spend".into(),
                        json!({"basis": "population_mean", "mean_order_value_minor": mean}),
                    );
                    let q = 1e9;
                    guanxi_analytics::gamma_gamma::GammaGammaParams { p: 1.0, q, gamma: (q - 1.0) * mean }
                })
            });
            if let Some(purchases) = &purchases {
                fill_purchase_forecasts(purchases, &summaries, &mut p_alive, &mut expected_90d);
                if let Some(spend) = &spend {
                    match predict_customer_values(purchases, spend, &summaries, &clv_settings) {
                        Ok(values) => {
                            for v in values {
                                clv[v.customer as usize] = Some(v.predicted_clv_minor).filter(|x| x.is_finite());
                            }
                        }
                        Err(e) => {
                            complete = false;
                            models.insert("clv".into(), model_error(e));
                        }
                    }
                }
            }
        }
    }

    step("purchase models and CLV");

    // Lifecycle stages, with the base's own median gap for one-order customers.
    let lifecycle_rules = LifecycleRules {
        fallback_gap_days: median_gap_days(&history).unwrap_or(90.0).max(1.0),
        ..LifecycleRules::default()
    };

    // Tiers: on predicted value when CLV exists for the buyers, else on spend so far.
    let use_clv = !rfm.is_empty() && rfm.iter().all(|r| clv[r.customer as usize].is_some());
    let tier_rules = if use_clv { TierRules::default() } else { TierRules::historical_spend() };
    let inputs: Vec<TierInput<u32>> =
        rfm.iter().map(|r| TierInput::from_rfm(r, if use_clv { clv[r.customer as usize] } else { None })).collect();
    let tiers = assign_tiers(&inputs, &tier_rules).unwrap_or_default();

    step("lifecycle and tiers");

    // Churn risk: trained on the past (no purchase in the window after a cut-off), applied to today.
    let mut churn_model = None;
    let mut churn_features_today = Vec::new();
    let mut churn_of: Vec<Option<u32>> = vec![None; n];
    let churn_settings = ChurnSettings { trend_window_days: settings.churn_window_days, ..ChurnSettings::default() };
    let cutoff = as_of.checked_sub_days(Days::new(settings.churn_window_days as u64)).unwrap_or(as_of);
    let study = if history.is_empty() {
        Err(guanxi_analytics::AnalyticsError::EmptyInput { what: "churn model (no orders)" })
    } else {
        churn_study(&history, &input.support, cutoff, as_of, &churn_settings)
    };
    match study.and_then(|s| churn_features(&history, &input.support, as_of, &churn_settings).map(|f| (s, f))) {
        Ok((study, features)) => {
            for (i, f) in features.iter().enumerate() {
                churn_of[f.customer as usize] = Some(i as u32);
            }
            models.insert(
                "churn".into(),
                json!({"status": "fitted", "auc": study.evaluation.auc, "brier": study.evaluation.brier,
                       "base_rate": study.evaluation.base_rate, "test_customers": study.evaluation.customers,
                       "trained_on": study.trained_on, "reliability": study.evaluation.reliability,
                       "feature_names": study.model.feature_names, "coefficients": study.model.logistic.coefficients,
                       "window_days": settings.churn_window_days}),
            );
            churn_model = Some(study.model);
            churn_features_today = features;
        }
        Err(e) => {
            complete = false;
            models.insert("churn".into(), model_error(e));
        }
    }

    step("churn model");

    // Clusters.
    let mut cluster: Vec<Option<i64>> = vec![None; n];
    match cluster_customers(&rfm, &ClusterSettings::default()) {
        Ok(report) => {
            for (k, c) in &report.assignments {
                cluster[*k as usize] = Some(*c as i64);
            }
            models.insert(
                "clusters".into(),
                json!({"status": "fitted", "k": report.k, "silhouette_by_k": report.silhouette_by_k, "profiles": report.clusters}),
            );
        }
        Err(e) => {
            models.insert("clusters".into(), model_error(e));
        }
    }

    step("clusters");

    // Cross-sell.
    let product = |item: u32| match input.products.get(&item) {
        Some((id, name)) => json!({"product_id": id, "name": name}),
        None => json!({"product_id": null, "name": format!("#{item}")}),
    };
    let mut recommendations: Vec<Value> = vec![json!([]); n];
    let mut rules_json = Vec::new();
    // At least ten baskets must share an itemset, and never less than 0.1 % of them.
    let min_support =
        if input.baskets.is_empty() { 1.0 } else { (10.0 / input.baskets.len() as f64).clamp(0.001, 1.0) };
    let min_confidence = 0.1;
    match frequent_itemsets(&input.baskets, min_support, Some(3))
        .and_then(|sets| association_rules(&sets, input.baskets.len(), min_confidence))
    {
        Ok(rules) => {
            for (k, recs) in recommend_products(&input.owned, &rules, settings.recommendations) {
                recommendations[k as usize] = Value::Array(
                    recs.iter()
                        .map(|r| {
                            let p = product(r.item);
                            json!({"product_id": p["product_id"], "name": p["name"], "confidence": r.rule.confidence,
                                   "lift": r.rule.lift, "support": r.rule.support, "reason": reason_json(&r.reason)})
                        })
                        .collect(),
                );
            }
            rules_json = rules
                .iter()
                .take(settings.rules_kept)
                .map(|r| {
                    json!({"antecedent": r.antecedent.iter().map(|&i| product(i)).collect::<Vec<_>>(),
                           "consequent": r.consequent.iter().map(|&i| product(i)).collect::<Vec<_>>(),
                           "support": r.support, "confidence": r.confidence, "lift": r.lift, "count": r.count})
                })
                .collect();
            models.insert(
                "cross_sell".into(),
                json!({"status": "fitted", "baskets": input.baskets.len(), "rules": rules.len(),
                       "min_support": min_support, "min_confidence": min_confidence}),
            );
        }
        Err(e) => {
            models.insert("cross_sell".into(), model_error(e));
        }
    }

    step("cross-sell");

    let mut rfm_of: Vec<Option<u32>> = vec![None; n];
    for (i, r) in rfm.iter().enumerate() {
        rfm_of[r.customer as usize] = Some(i as u32);
    }
    let params = json!({
        "as_of": as_of,
        "time_unit": TimeUnit::Weeks,
        "clv": clv_settings,
        "models": models,
        "tier_basis": if use_clv { "predicted_value" } else { "historical_spend" },
        "tier_rules": tier_rules.rules,
        "lifecycle_rules": lifecycle_rules,
        "association_rules": rules_json,
    });
    Computed {
        findings: Findings {
            run_id,
            now,
            as_of,
            contacts: input.contacts,
            previous: input.previous,
            history,
            lifecycle_rules,
            rfm,
            rfm_of,
            tiers,
            p_alive,
            expected_90d,
            clv,
            churn_model,
            churn_features: churn_features_today,
            churn_of,
            cluster,
            recommendations,
        },
        params,
        status: if complete { store::RUN_SUCCEEDED } else { store::RUN_INSUFFICIENT_DATA },
    }
}

impl Findings {
    /// The metric rows of contacts `range` and their changes since the previous run, counted into `counts`.
    fn rows(&mut self, range: std::ops::Range<usize>, counts: &mut Counts) -> (Vec<CustomerMetrics>, Vec<SystemEvent>) {
        let (as_of, now, run_id) = (self.as_of, self.now, self.run_id);
        let event_time = if as_of == now.date_naive() {
            now
        } else {
            as_of.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now)
        };
        let mut metrics = Vec::with_capacity(range.len());
        let mut events = Vec::new();
        for k in range {
            let contact_id = &self.contacts[k];
            let orders = self.history.orders_of(&(k as u32));
            let (stage, stage_reason) = stage_of(orders, as_of, self.p_alive[k], &self.lifecycle_rules)
                .unwrap_or_else(|e| (LifecycleStage::Prospect, Reason::new("not_assessed", e.to_string())));
            let (tier, tier_rule, tier_reason) = match self.rfm_of[k].and_then(|i| self.tiers.get(i as usize)) {
                Some(t) => (t.tier, t.rule.map(|r| r as i64), t.reason.clone()),
                None => (CustomerTier::Ordinary, None, Reason::new("no_purchase", "no purchase yet")),
            };
            *counts.stages.entry(stage.code()).or_default() += 1;
            *counts.tiers.entry(tier.code()).or_default() += 1;
            let previous = self.previous[k].as_ref();
            let previous_stage = previous.and_then(|p| parse_stage(&p.lifecycle_stage).map(|s| (s, p.stage_since)));
            let mut stage_since = as_of;
            if let Some((prev_stage, since)) = previous_stage {
                match stage_change(*contact_id, Some((prev_stage, since)), stage, as_of) {
                    Ok(None) => stage_since = since,
                    Ok(Some(change)) => events.push(SystemEvent {
                        contact_id: *contact_id,
                        occurred_at: event_time,
                        subject: format!("Lifecycle stage: {} → {}", prev_stage.code(), stage.code()),
                        body: stage_reason.text.clone(),
                        metadata: json!({"event": "lifecycle_stage_changed", "from": prev_stage.code(),
                                         "to": stage.code(), "on": as_of,
                                         "days_in_previous_stage": change.days_in_previous_stage,
                                         "reason": reason_json(&stage_reason), "run_id": run_id}),
                    }),
                    // A stored stage dated after `as_of` (an analysis of an earlier day): keep the stored date.
                    Err(_) => stage_since = since,
                }
            }
            if let Some(p) = previous
                && p.tier != tier.code()
            {
                events.push(SystemEvent {
                    contact_id: *contact_id,
                    occurred_at: event_time,
                    subject: format!("Tier: {} → {}", p.tier, tier.code()),
                    body: tier_reason.text.clone(),
                    metadata: json!({"event": "tier_changed", "from": p.tier, "to": tier.code(), "on": as_of,
                                     "reason": reason_json(&tier_reason), "run_id": run_id}),
                });
            }
            let churn = match (&self.churn_model, self.churn_of[k]) {
                (Some(model), Some(i)) => Some(model.score(&self.churn_features[i as usize])),
                _ => None,
            };
            let r = self.rfm_of[k].map(|i| &self.rfm[i as usize]);
            metrics.push(CustomerMetrics {
                contact_id: *contact_id,
                as_of,
                first_order_on: r.map(|r| r.first_order),
                last_order_on: r.map(|r| r.last_order),
                recency_days: r.map(|r| r.recency_days),
                frequency: r.map_or(0, |r| r.frequency as i64),
                monetary_total_minor: r.map_or(0, |r| r.monetary_total_minor),
                monetary_mean_minor: r.map_or(0, |r| r.monetary_mean_minor),
                r_score: r.map(|r| r.r_score as i64),
                f_score: r.map(|r| r.f_score as i64),
                m_score: r.map(|r| r.m_score as i64),
                rfm_segment: r.map(|r| r.segment.code().to_string()),
                tier: tier.code().to_string(),
                tier_rule,
                tier_reason: reason_json(&tier_reason),
                lifecycle_stage: stage.code().to_string(),
                stage_since,
                stage_reason: reason_json(&stage_reason),
                p_alive: self.p_alive[k],
                expected_purchases_90d: self.expected_90d[k],
                predicted_clv_12m_minor: self.clv[k].map(|v| v.round() as i64),
                churn_risk: churn.as_ref().map(|c| c.probability),
                churn_reasons: churn
                    .as_ref()
                    .map(|c| Value::Array(c.reasons.iter().map(reason_json).collect()))
                    .unwrap_or_else(|| json!([])),
                cluster: self.cluster[k],
                recommendations: std::mem::take(&mut self.recommendations[k]),
                run_id,
                updated_at: now,
            });
        }
        counts.events += events.len();
        (metrics, events)
    }
}

/// P(alive) and expected purchases in the next 90 days, computed once per distinct (x, t_x, T).
fn fill_purchase_forecasts(
    purchases: &BgNbdParams,
    summaries: &[guanxi_analytics::orders::RepeatSummary<u32>],
    p_alive: &mut [Option<f64>],
    expected_90d: &mut [Option<f64>],
) {
    let horizon = 90.0 / TimeUnit::Weeks.days();
    // (x, t_x bits, T bits) -> (P(alive), expected purchases)
    type Forecast = (Option<f64>, Option<f64>);
    let mut cache: HashMap<(u32, u64, u64), Forecast> = HashMap::new();
    for s in summaries {
        let key = (s.frequency, s.recency.to_bits(), s.age.to_bits());
        let (p, e) = *cache.entry(key).or_insert_with(|| {
            (
                purchases.probability_alive(s.frequency, s.recency, s.age).ok().filter(|v| v.is_finite()),
                purchases.expected_purchases(horizon, s.frequency, s.recency, s.age).ok().filter(|v| v.is_finite()),
            )
        });
        p_alive[s.customer as usize] = p;
        expected_90d[s.customer as usize] = e;
    }
}

fn parse_stage(code: &str) -> Option<LifecycleStage> {
    [
        LifecycleStage::Prospect,
        LifecycleStage::FirstTime,
        LifecycleStage::Repeat,
        LifecycleStage::Loyal,
        LifecycleStage::Churned,
    ]
    .into_iter()
    .find(|s| s.code() == code)
}
