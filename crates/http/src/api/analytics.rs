//! Customer analytics over HTTP: a contact's metrics and their explanation, lists by tier/stage/segment, the
//! latest run, cross-sell rules, cluster profiles, and `POST /api/v1/analytics/run` for admins. The work is
//! done by [`crate::analytics_job`] and the store; these handlers only check access and shape the answer.

use crate::AppState;
use crate::analytics_job::{AnalysisError, AnalysisSettings, run_analysis};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use guanxi_store::Page;
use guanxi_store::analytics::{self as store, CustomerMetrics, MetricsFilter, ModelRun};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{RecordId, field_error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts/{id}/metrics", get(contact_metrics))
        .route("/api/v1/contacts/{id}/metrics/explain", get(explain))
        .route("/api/v1/analytics/runs/latest", get(latest_run))
        .route("/api/v1/analytics/metrics", get(list_metrics))
        .route("/api/v1/analytics/rules", get(rules))
        .route("/api/v1/analytics/clusters", get(clusters))
        .route("/api/v1/analytics/run", post(run_now))
}

pub const TIERS: &[&str] = &["vip", "important", "ordinary"];
pub const STAGES: &[&str] = &["prospect", "first_time", "repeat", "loyal", "churned"];
pub const SEGMENTS: &[&str] = &[
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
];

async fn contact_metrics(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> ApiResult<Json<CustomerMetrics>> {
    Ok(Json(store::get(&state.db, &caller.0, id).await?))
}

fn one_of(raw: &RawQuery, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match raw.get(name) {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(_) => Err(field_error(name, "invalid_choice", &format!("use one of: {}", allowed.join(", ")))),
    }
}

async fn list_metrics(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawQuery,
) -> ApiResult<Json<Page<CustomerMetrics>>> {
    let filter = MetricsFilter {
        tier: one_of(&raw, "tier", TIERS)?,
        stage: one_of(&raw, "stage", STAGES)?,
        segment: one_of(&raw, "segment", SEGMENTS)?,
    };
    let limit = raw.limit()?.unwrap_or(50).clamp(1, 500);
    let after = match raw.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(Uuid::parse_str(c).map_err(|_| field_error("cursor", "invalid", "not a cursor of this list"))?),
    };
    Ok(Json(store::list(&state.db, &caller.0, &filter, after, limit).await?))
}

async fn latest_run(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<ModelRun>> {
    store::latest_run(&state.db).await?.map(Json).ok_or(ApiError::NotFound)
}

/// The params of the latest run that wrote metrics; 404 before the first one.
async fn completed_params(state: &AppState) -> ApiResult<(Uuid, Value)> {
    let run = store::latest_completed_run(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok((run.id, run.params))
}

#[derive(Serialize)]
pub struct RulesResponse {
    pub run_id: Uuid,
    /// "Baskets with the antecedent also contain the consequent", strongest first.
    pub items: Vec<Value>,
}

async fn rules(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<RulesResponse>> {
    let (run_id, params) = completed_params(&state).await?;
    let items = params["association_rules"].as_array().cloned().unwrap_or_default();
    Ok(Json(RulesResponse { run_id, items }))
}

#[derive(Serialize)]
pub struct ClustersResponse {
    pub run_id: Uuid,
    pub k: Option<u64>,
    /// Clusters, largest first, with median spend, orders and recency and a description in words.
    pub items: Vec<Value>,
}

async fn clusters(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<ClustersResponse>> {
    let (run_id, params) = completed_params(&state).await?;
    let c = &params["models"]["clusters"];
    Ok(Json(ClustersResponse {
        run_id,
        k: c["k"].as_u64(),
        items: c["profiles"].as_array().cloned().unwrap_or_default(),
    }))
}

/// A contact's numbers in plain words.
#[derive(Serialize)]
pub struct Explanation {
    pub contact_id: Uuid,
    pub as_of: chrono::NaiveDate,
    pub tier: Value,
    pub stage: Value,
    pub churn: Value,
    pub value: Value,
    pub recommendations: Vec<Value>,
}

async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> ApiResult<Json<Explanation>> {
    let m = store::get(&state.db, &caller.0, id).await?;
    let run = store::latest_completed_run(&state.db).await?;
    let params = run.as_ref().filter(|r| r.id == m.run_id).map(|r| &r.params);
    let rule =
        m.tier_rule.and_then(|i| params.and_then(|p| p["tier_rules"].get(i as usize)).cloned()).unwrap_or(Value::Null);
    let text = |v: &Value| v["text"].as_str().unwrap_or("").to_string();
    let churn_reasons: Vec<Value> =
        m.churn_reasons.as_array().cloned().unwrap_or_default().into_iter().take(3).collect();
    let value = match (m.p_alive, m.predicted_clv_12m_minor) {
        (Some(p), Some(clv)) => {
            json!({"p_alive": p, "predicted_clv_12m_minor": clv, "expected_purchases_90d": m.expected_purchases_90d,
            "text": format!("{:.0}% likely to still be active; expected value of the next 12 months {} (minor units)", p * 100.0, clv)})
        }
        (Some(p), None) => json!({"p_alive": p, "expected_purchases_90d": m.expected_purchases_90d,
            "text": format!("{:.0}% likely to still be active; not enough repeat purchases yet to predict spend", p * 100.0)}),
        _ => json!({"text": "not enough purchase history yet to predict future value"}),
    };
    let churn = match m.churn_risk {
        Some(risk) => json!({"risk": risk, "reasons": churn_reasons,
            "text": format!("{:.0}% risk of no purchase in the next 90 days: {}", risk * 100.0,
                churn_reasons.iter().map(text).collect::<Vec<_>>().join("; "))}),
        None => json!({"risk": null, "reasons": [], "text": "no churn model yet (not enough history)"}),
    };
    let recommendations = m
        .recommendations
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| json!({"product_id": r["product_id"], "name": r["name"], "reason": r["reason"], "text": text(&r["reason"])}))
        .collect();
    Ok(Json(Explanation {
        contact_id: m.contact_id,
        as_of: m.as_of,
        tier: json!({"tier": m.tier, "rule_index": m.tier_rule, "rule": rule, "reason": m.tier_reason, "text": text(&m.tier_reason)}),
        stage: json!({"stage": m.lifecycle_stage, "since": m.stage_since, "reason": m.stage_reason, "text": text(&m.stage_reason)}),
        churn,
        value,
        recommendations,
    }))
}

async fn run_now(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<ModelRun>> {
    caller.admin()?;
    // A task of its own, so a client that gives up (or the request timeout) does not cut a run off half-way.
    let db = state.db.clone();
    let task = tokio::spawn(async move { run_analysis(&db, &AnalysisSettings::default()).await });
    match task.await {
        Ok(Ok(run)) => Ok(Json(run)),
        Ok(Err(AnalysisError::AlreadyRunning)) => Err(ApiError::Conflict("an analysis is already running".into())),
        Ok(Err(AnalysisError::Store(e))) => Err(e.into()),
        Ok(Err(e)) => Err(ApiError::Internal(e.to_string())),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
