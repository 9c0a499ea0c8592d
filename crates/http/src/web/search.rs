//! The global search: a results page (works without JS) and a small JSON endpoint for the typeahead.

use super::{Cx, OrPage, Page, WebResult, WebUser, page, render};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guanxi_core::company::Company;
use guanxi_core::contact::Contact;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// One search hit as the UI shows it.
#[derive(Serialize)]
pub struct Hit {
    /// `contact` or `company`.
    pub kind: &'static str,
    /// The kind in the user's language.
    pub kind_label: &'static str,
    pub label: String,
    pub detail: String,
    pub url: String,
}

fn contact_hit(c: &Contact, label: &'static str) -> Hit {
    let detail: Vec<&str> =
        [c.job_title.as_deref(), c.primary_email(), c.primary_phone()].into_iter().flatten().collect();
    Hit {
        kind: "contact",
        kind_label: label,
        label: c.display_name.clone(),
        detail: detail.join(" · "),
        url: format!("/contacts/{}", c.id),
    }
}

fn company_hit(c: &Company, label: &'static str) -> Hit {
    let detail: Vec<&str> =
        [c.industry.as_deref(), c.address.city.as_deref(), c.domain.as_deref()].into_iter().flatten().collect();
    Hit {
        kind: "company",
        kind_label: label,
        label: c.name.clone(),
        detail: detail.join(" · "),
        url: format!("/companies/{}", c.id),
    }
}

async fn hits(state: &AppState, w: &WebUser, q: &str, limit: usize) -> WebResult<Vec<Hit>> {
    let q: String = q.trim().chars().take(200).collect();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let (contacts, companies) = tokio::try_join!(
        guanxi_store::contacts::search(&state.db, &w.actor, &q, limit),
        guanxi_store::companies::search(&state.db, &w.actor, &q, limit)
    )
    .or_page(w.locale)?;
    let (cl, col) = (w.locale.t("search.kind.contact"), w.locale.t("search.kind.company"));
    // Contacts first (what a salesperson looks for most), then companies, each in rank order.
    let mut out: Vec<Hit> = contacts.iter().map(|(c, _)| contact_hit(c, cl)).collect();
    out.extend(companies.iter().map(|(c, _)| company_hit(c, col)));
    Ok(out)
}

#[derive(askama::Template)]
#[template(path = "search.html")]
struct SearchPage {
    cx: Cx,
    q: String,
    hits: Vec<Hit>,
}
page!(SearchPage);

pub async fn page(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    let hits = hits(&state, &w, &q.q, 50).await?;
    let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/search");
    let cx = Cx::for_user(&w, "", here, w.locale.t("search.title").to_string());
    Ok(render(StatusCode::OK, &SearchPage { cx, q: q.q, hits }))
}

#[derive(Serialize)]
pub struct Suggestions {
    pub items: Vec<Hit>,
    /// The "no match" text in the user's language, so the script holds no words of its own.
    pub empty: &'static str,
}

/// `GET /search/suggest?q=`: the first few hits for the typeahead.
pub async fn suggest(State(state): State<AppState>, w: WebUser, Query(q): Query<SearchQuery>) -> WebResult<Response> {
    let mut items = hits(&state, &w, &q.q, 6).await?;
    items.truncate(8);
    Ok(Json(Suggestions { items, empty: w.locale.t("search.none") }).into_response())
}
