//! Guanxi over HTTP: the JSON API under `/api/v1`, its OpenAPI document, health checks.
//!
//! Handlers are thin: they parse input into domain types, call the store, and map the result. The server takes
//! an already bound listener ([`serve`]) so tests run the real app in-process on port 0.

pub mod analytics_job;
pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod web;

use axum::Router;
use axum::http::{HeaderValue, header};
use guanxi_core::contact_point::Region;
use guanxi_store::Db;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Settings of the HTTP layer; built by the binary from flags, environment and files (no global singleton).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Region for phone numbers written without a country code.
    pub default_region: Region,
    /// How long a web session lasts.
    pub session_ttl: Duration,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// Where uploaded import files wait while their import runs.
    pub import_dir: std::path::PathBuf,
    /// Rows per import transaction (see `guanxi_store::imports::BATCH_ROWS`; tests use small batches).
    pub import_batch_rows: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            default_region: Region::CN,
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            import_dir: std::env::temp_dir().join("guanxi-imports"),
            import_batch_rows: guanxi_store::imports::BATCH_ROWS,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
    pub auth_cache: Arc<auth::AuthCache>,
}

impl AppState {
    pub fn new(db: Db, config: AppConfig) -> AppState {
        AppState { db, config: Arc::new(config), auth_cache: Arc::new(auth::AuthCache::new()) }
    }
}

/// Bodies above this are refused with 413 (batch requests of 1,000 records fit comfortably).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(60)))
        .layer(CatchPanicLayer::custom(|_| error::ApiError::Internal("handler panicked".into()).into_response_boxed()))
        .layer(TraceLayer::new_for_http())
}

impl error::ApiError {
    fn into_response_boxed(self) -> axum::http::Response<axum::body::Body> {
        axum::response::IntoResponse::into_response(self)
    }
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
