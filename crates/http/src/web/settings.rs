//! Settings: the language (everyone); users, teams, roles, custom fields and API tokens (admins).

use super::i18n::LANG_COOKIE;
use super::session::{self, VisitorLocale};
use super::{Cx, Locale, Page, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use axum::Form;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    next: Option<String>,
}

/// Switches the language: saved on the user when signed in, and in a cookie for the login page.
pub async fn set_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    VisitorLocale(fallback): VisitorLocale,
    Form(form): Form<LanguageForm>,
) -> WebResult<Response> {
    let Some(locale) = Locale::parse(&form.locale) else {
        return Err(super::WebError::NotFound(fallback));
    };
    if let Some(u) = session::current(&state, &headers).await? {
        guanxi_store::accounts::set_user_locale(&state.db, u.user.id, locale.tag())
            .await
            .map_err(|e| super::WebError::store(e, locale))?;
    }
    let next = form.next.filter(|n| session::is_local_path(n)).unwrap_or_else(|| "/".into());
    let mut resp = see_other(&next);
    let cookie = format!("{LANG_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000", locale.tag());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    cx: Cx,
}
page!(SettingsPage);

pub async fn page(w: WebUser, OriginalUri(uri): OriginalUri) -> WebResult<Response> {
    let cx = Cx::for_user(&w, "settings", uri.path(), w.locale.t("nav.settings").to_string());
    Ok(render(StatusCode::OK, &SettingsPage { cx }))
}
