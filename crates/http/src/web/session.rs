//! Signing in and out of the web UI: database-backed sessions in an HttpOnly, SameSite=Lax cookie.

use super::{Cx, Locale, Page, WebError, WebResult, page, render, see_other};
use crate::AppState;
use crate::auth::{self, ClientAddr, SESSION_COOKIE};
use crate::error::ApiError;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, extract::OriginalUri};
use guanxi_core::access::Actor;
use guanxi_store::accounts::{self, User};
use serde::Deserialize;

/// The signed-in user of a page request. Without a live session, pages redirect to the login page and come
/// back afterwards. API bearer tokens are not accepted here: the UI is for people with a session.
pub struct WebUser {
    pub actor: Actor,
    pub user: User,
    pub locale: Locale,
}

/// The session of a request, if it has a live one.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<WebUser>, WebError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok(None);
    }
    let Some(secret) = auth::session_cookie(headers) else { return Ok(None) };
    if secret.len() > 200 {
        return Ok(None);
    }
    let locale = Locale::negotiate(None, headers);
    let hash = auth::secret_hash(&secret);
    let Some(actor) = accounts::actor_for_session(&state.db, &hash).await.map_err(|e| WebError::store(e, locale))?
    else {
        return Ok(None);
    };
    let user = match accounts::get_user(&state.db, actor.user_id).await {
        Ok(u) => u,
        Err(guanxi_store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(WebError::store(e, locale)),
    };
    let locale = Locale::negotiate(user.locale.as_deref(), headers);
    Ok(Some(WebUser { actor, user, locale }))
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match current(state, &parts.headers).await? {
            Some(u) => Ok(u),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                // After a POST the form is gone; come back to the page it was posted from.
                let next = if parts.method == axum::http::Method::GET { next } else { "/" };
                Err(WebError::Login { next: next.to_string() })
            }
        }
    }
}

/// The language of a visitor who may not be signed in.
pub struct VisitorLocale(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for VisitorLocale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(VisitorLocale(Locale::negotiate(None, &parts.headers)))
    }
}

/// A path on this site (`/contacts?x=1`), never `//evil.example` or `/\evil.example`: where a `next` parameter
/// may send the browser.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && p.len() <= 2000
        && !p.chars().any(|c| c.is_control() || c == '\\')
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) && !n.starts_with("/login") => n.to_string(),
        _ => "/contacts".to_string(),
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    cx: Cx,
    next: String,
    email: String,
    /// A message key: wrong password, throttled, signed out, session expired.
    message: Option<&'static str>,
    message_arg: String,
    is_error: bool,
}
page!(LoginPage);

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    VisitorLocale(locale): VisitorLocale,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<LoginQuery>,
) -> WebResult<Response> {
    if current(&state, &headers).await?.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref())));
    }
    let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/login");
    let (message, is_error) = if q.signed_out.is_some() {
        (Some("login.signed_out"), false)
    } else if q.next.as_deref().is_some_and(|n| n != "/" && n != "/contacts") {
        (Some("login.required"), false)
    } else {
        (None, false)
    };
    let page = LoginPage {
        cx: Cx::new(locale, None, "", here, locale.t("login.title").to_string()),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        message,
        message_arg: String::new(),
        is_error,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    VisitorLocale(locale): VisitorLocale,
    addr: ClientAddr,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let client = addr.0.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
    let next = safe_next(form.next.as_deref());
    let failed = |status: StatusCode, key: &'static str, arg: String| {
        let page = LoginPage {
            cx: Cx::new(locale, None, "", "/login", locale.t("login.title").to_string()),
            next: next.clone(),
            email: form.email.chars().take(320).collect(),
            message: Some(key),
            message_arg: arg,
            is_error: true,
        };
        render(status, &page)
    };
    match auth::authenticate(&state, &form.email, &form.password, &client).await {
        Ok(user) => {
            let secret = auth::new_secret();
            let ttl = state.config.session_ttl;
            let expires = guanxi_core::ids::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
            accounts::create_session(&state.db, &auth::secret_hash(&secret), user.id, expires)
                .await
                .map_err(|e| WebError::store(e, locale))?;
            let mut resp = see_other(&next);
            let cookie = session_cookie(&secret, ttl.as_secs(), state.config.secure_cookies);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60).to_string();
            let mut resp = failed(StatusCode::TOO_MANY_REQUESTS, "login.throttled", minutes);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(resp)
        }
        Err(ApiError::Unauthorized) => Ok(failed(StatusCode::UNAUTHORIZED, "login.failed", String::new())),
        Err(e) => Err(WebError::Internal(locale, e.to_string())),
    }
}

fn session_cookie(secret: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    let locale = Locale::negotiate(None, &headers);
    if let Some(secret) = auth::session_cookie(&headers) {
        let hash = auth::secret_hash(&secret);
        accounts::delete_session(&state.db, &hash).await.map_err(|e| WebError::store(e, locale))?;
        state.auth_cache.forget(&hash);
    }
    let mut resp = see_other("/login?signed_out=1");
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/contacts/1?x=2")), "/contacts/1?x=2");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/login"] {
            assert_eq!(safe_next(Some(bad)), "/contacts", "{bad}");
        }
    }
}
