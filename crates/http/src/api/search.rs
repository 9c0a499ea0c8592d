//! `GET /api/v1/search?q=`: ranked search across contacts and companies.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::RawQuery;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use guanxi_core::company::Company;
use guanxi_core::contact::Contact;
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

#[derive(Serialize)]
pub struct Scored<T> {
    pub score: u32,
    #[serde(flatten)]
    pub record: T,
}

#[derive(Serialize)]
pub struct SearchResults {
    pub contacts: Vec<Scored<Contact>>,
    pub companies: Vec<Scored<Company>>,
}

async fn search(State(state): State<AppState>, caller: Caller, raw: RawQuery) -> ApiResult<axum::Json<SearchResults>> {
    let q = raw.q.as_deref().map(str::trim).unwrap_or("");
    if q.is_empty() {
        return Err(super::field_error("q", "required", "give a search text"));
    }
    let limit = raw.limit()?.unwrap_or(20).clamp(1, 100) as usize;
    let (contacts, companies) = tokio::try_join!(
        guanxi_store::contacts::search(&state.db, &caller.0, q, limit),
        guanxi_store::companies::search(&state.db, &caller.0, q, limit)
    )?;
    Ok(axum::Json(SearchResults {
        contacts: contacts.into_iter().map(|(record, score)| Scored { score, record }).collect(),
        companies: companies.into_iter().map(|(record, score)| Scored { score, record }).collect(),
    }))
}
