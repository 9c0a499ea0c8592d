//! `/healthz`: 200 when the database answers, 503 otherwise.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/livez", get(livez)).route("/healthz", get(healthz)).route("/api/openapi.json", get(openapi))
}

/// Answers without touching the database: the process is up (and the ceiling of any endpoint in benchmarks).
async fn livez() -> &'static str {
    "ok"
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(crate::openapi::document())
}
