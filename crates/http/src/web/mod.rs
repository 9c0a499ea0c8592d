//! The server-rendered web UI: askama pages that work without JavaScript, enhanced by a little of the project's
//! own JS (typeahead, inline edit focus). Every page is in one language, Chinese or English (see [`i18n`]).
//!
//! Security rules of this module: HTML responses carry a strict CSP (`default-src 'self'`, no inline script or
//! style); a state-changing request must come from this origin (`Sec-Fetch-Site: same-origin`, or a matching
//! `Origin` when the browser sends no fetch metadata), anything else is refused; sessions are HttpOnly,
//! SameSite=Lax cookies backed by the database.

mod activities;
pub mod assets;
mod companies;
mod contact_list;
mod contacts;
mod dedup;
mod delete;
mod form;
pub mod i18n;
mod imports;
mod orders;
mod products;
mod search;
mod session;
mod settings;

use crate::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use delete::Doomed;
use guanxi_store::StoreError;
use guanxi_store::accounts::User;
pub use i18n::Locale;
pub use session::WebUser;
use tower_http::set_header::SetResponseHeaderLayer;

/// No inline script or style anywhere; forms post only here; never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/contacts") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/language", post(settings::set_language))
        .route("/settings", get(settings::page))
        .route("/settings/users", get(settings::users).post(settings::create_user))
        .route("/settings/users/{id}", post(settings::update_user))
        .route("/settings/users/{id}/active", post(settings::set_active))
        .route("/settings/teams", post(settings::create_team))
        .route("/settings/roles", get(settings::roles))
        .route("/settings/fields", get(settings::fields).post(settings::create_field))
        .route("/settings/fields/{id}", get(settings::edit_field_form).post(settings::update_field))
        .route("/settings/fields/{id}/delete", post(settings::delete_field))
        .route("/settings/tokens", get(settings::tokens).post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/search", get(search::page))
        .route("/search/suggest", get(search::suggest))
        .route("/contacts", get(contact_list::list))
        .route("/contacts/bulk", post(contact_list::bulk))
        .route("/contacts/views", post(contact_list::save_view))
        .route("/contacts/views/{id}/delete", post(contact_list::delete_view))
        .route("/contacts/new", get(contacts::new_form).post(contacts::create))
        .route("/contacts/{id}", get(contacts::show))
        .route("/contacts/{id}/field", post(contacts::edit_field))
        .route("/contacts/{id}/activities", post(contacts::log_activity))
        .route("/contacts/{id}/delete", delete::routes(Doomed::Contact))
        .route("/companies", get(companies::list))
        .route("/companies/new", get(companies::new_form).post(companies::create))
        .route("/companies/{id}", get(companies::show))
        .route("/companies/{id}/edit", get(companies::edit_form).post(companies::update))
        .route("/companies/{id}/delete", delete::routes(Doomed::Company))
        .route("/orders", get(orders::list))
        .route("/orders/new", get(orders::new_form).post(orders::create))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/edit", get(orders::edit_form).post(orders::update))
        .route("/orders/{id}/delete", delete::routes(Doomed::Order))
        .route("/products", get(products::list))
        .route("/products/new", get(products::new_form).post(products::create))
        .route("/products/{id}", get(products::show))
        .route("/products/{id}/edit", get(products::edit_form).post(products::update))
        .route("/products/{id}/delete", delete::routes(Doomed::Product))
        .route("/activities", get(activities::list))
        .route("/activities/new", get(activities::new_activity).post(activities::create_activity))
        .route("/activities/{id}/edit", get(activities::edit_activity).post(activities::update_activity))
        .route("/activities/{id}/delete", delete::routes(Doomed::Activity))
        .route("/tasks", get(activities::tasks))
        .route("/tasks/new", get(activities::new_task).post(activities::create_task))
        .route("/tasks/{id}/edit", get(activities::edit_task).post(activities::update_task))
        .route("/tasks/{id}/delete", delete::routes(Doomed::Task))
        .route("/dedup", get(dedup::index))
        .route("/dedup/scans", post(dedup::start_scan))
        .route("/dedup/merge", post(dedup::bulk))
        .route("/dedup/candidates/{id}", get(dedup::pair))
        .route("/dedup/candidates/{id}/merge", post(dedup::merge))
        .route("/dedup/candidates/{id}/dismiss", post(dedup::dismiss))
        .route("/dedup/merges", get(dedup::merges_page))
        .route("/dedup/merges/{id}/undo", post(dedup::undo))
        .route("/imports", get(imports::index))
        .route("/imports/upload", post(imports::upload).layer(axum::extract::DefaultBodyLimit::disable()))
        .route("/imports/preview", get(imports::preview))
        .route("/imports/start", post(imports::start))
        .route("/imports/{id}", get(imports::show))
        .route("/imports/{id}/cancel", post(imports::cancel))
        .route("/imports/{id}/undo", post(imports::undo))
        .route("/assets/{file}", get(assets::serve))
        .route_layer(axum::middleware::from_fn(same_origin_writes))
        .route_layer(axum::middleware::from_fn(server_timing))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// CSRF protection: a POST must say it comes from this origin.
async fn same_origin_writes(req: Request, next: Next) -> Response {
    if !req.method().is_safe() && !is_same_origin(req.headers()) {
        let locale = Locale::negotiate(None, req.headers());
        return WebError::CrossSite(locale).into_response();
    }
    next.run(req).await
}

pub use crate::auth::is_same_origin;

/// `Server-Timing: app;dur=<ms>`: the time the server spent on a page (handler, queries and rendering, not the
/// network), for browser dev tools and for `cargo xtask bench ui`.
async fn server_timing(req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let mut resp = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        resp.headers_mut().insert("server-timing", v);
    }
    resp
}

/// What every page's layout needs: language, signed-in user, active section, asset URLs.
pub struct Cx {
    pub locale: Locale,
    pub user: Option<UserBadge>,
    /// The nav entry to mark current (`contacts`, `settings`, …).
    pub section: &'static str,
    /// Path and query of this page, so the language switch can come back to it.
    pub here: String,
    pub title: String,
    pub css: String,
    pub js: String,
    pub icon: String,
}

pub struct UserBadge {
    pub name: String,
    pub email: String,
}

impl Cx {
    pub fn new(locale: Locale, user: Option<&User>, section: &'static str, here: &str, title: String) -> Cx {
        Cx {
            locale,
            user: user.map(|u| UserBadge { name: u.display_name.clone(), email: u.email.clone() }),
            section,
            here: if session::is_local_path(here) { here.to_string() } else { "/".into() },
            title,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("favicon.svg"),
        }
    }

    pub fn for_user(w: &WebUser, section: &'static str, here: &str, title: String) -> Cx {
        Cx::new(w.locale, Some(&w.user), section, here, title)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    pub fn nav(&self) -> [(&'static str, &'static str, &'static str); 6] {
        [
            ("contacts", "/contacts", "nav.contacts"),
            ("companies", "/companies", "nav.companies"),
            ("orders", "/orders", "nav.orders"),
            ("products", "/products", "nav.products"),
            ("activities", "/activities", "nav.activities"),
            ("settings", "/settings", "nav.settings"),
        ]
    }

    pub fn is_zh(&self) -> bool {
        self.locale == Locale::ZhCn
    }
}

/// Methods every template may call: `t("key")`, `t1("key", arg)`, `err(code)`.
pub trait Page {
    fn cx(&self) -> &Cx;

    fn t(&self, key: &str) -> &'static str {
        self.cx().locale.t(key)
    }

    fn t1(&self, key: &str, arg: &str) -> String {
        self.cx().locale.t1(key, arg)
    }

    fn err(&self, code: &str) -> &'static str {
        self.cx().locale.error(code)
    }
}

macro_rules! page {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::web::Page for $ty {
            fn cx(&self) -> &$crate::web::Cx {
                &self.cx
            }
        })*
    };
}
pub(crate) use page;

/// Renders a page with a status; a template failure is logged and becomes a plain 500.
pub fn render<T: askama::Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A request the UI answers with a redirect to the login page or an error page in the user's language.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session expired): go to the login page, then back to `next`.
    Login {
        next: String,
    },
    NotFound(Locale),
    Forbidden(Locale),
    CrossSite(Locale),
    Internal(Locale, String),
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    cx: Cx,
    heading: &'static str,
    message: &'static str,
}
page!(ErrorPage);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (locale, status, key) = match self {
            WebError::Login { next } => {
                let to =
                    format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                return Redirect::to(&to).into_response();
            }
            WebError::NotFound(l) => (l, StatusCode::NOT_FOUND, "not_found"),
            WebError::Forbidden(l) => (l, StatusCode::FORBIDDEN, "forbidden"),
            WebError::CrossSite(l) => (l, StatusCode::FORBIDDEN, "cross_site"),
            WebError::Internal(l, cause) => {
                tracing::error!(cause = %cause, "web: internal error");
                (l, StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let heading = locale.t(&format!("error.{key}.title"));
        let page = ErrorPage {
            cx: Cx::new(locale, None, "", "/", heading.to_string()),
            heading,
            message: locale.t(&format!("error.{key}.message")),
        };
        render(status, &page)
    }
}

impl WebError {
    pub fn store(e: StoreError, locale: Locale) -> WebError {
        match e {
            StoreError::NotFound => WebError::NotFound(locale),
            StoreError::Forbidden => WebError::Forbidden(locale),
            other => WebError::Internal(locale, format!("{other:#}: {:?}", std::error::Error::source(&other))),
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// `result.or_page(locale)?` turns a store error into the matching error page.
pub trait OrPage<T> {
    fn or_page(self, locale: Locale) -> WebResult<T>;
}

impl<T> OrPage<T> for Result<T, StoreError> {
    fn or_page(self, locale: Locale) -> WebResult<T> {
        self.map_err(|e| WebError::store(e, locale))
    }
}

/// 303 See Other after a successful form post (so reloading does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
