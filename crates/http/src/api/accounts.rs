//! Accounts over the API: tokens, the current user, users and teams (admins).

use crate::AppState;
use crate::auth::{self, Caller, ClientAddr};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use guanxi_core::access::{Role, TokenScope};
use guanxi_store::accounts::{self, ApiToken, NewUser, Team, User};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/token", post(issue_token))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/teams", get(list_teams).post(create_team))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
    /// A label for the token (default "api").
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Shown once; send as `Authorization: Bearer <token>`.
    pub token: String,
    pub id: uuid::Uuid,
    pub scope: TokenScope,
}

fn client_key(addr: &ClientAddr) -> String {
    addr.0.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into())
}

/// Exchanges email and password for a bearer token (throttled after repeated failures).
async fn issue_token(
    State(state): State<AppState>,
    addr: ClientAddr,
    JsonBody(req, _): JsonBody<TokenRequest>,
) -> ApiResult<Response> {
    let user = auth::authenticate(&state, &req.email, &req.password, &client_key(&addr)).await?;
    let name = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("api");
    if name.chars().count() > 100 {
        return Err(super::field_error("name", "too_long", "must be at most 100 characters"));
    }
    let secret = auth::new_secret();
    let scope = req.scope.unwrap_or(TokenScope::ReadWrite);
    let t = accounts::create_token(&state.db, user.id, name, scope, &auth::secret_hash(&secret)).await?;
    Ok((StatusCode::CREATED, axum::Json(TokenResponse { token: secret, id: t.id, scope })).into_response())
}

async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(accounts::get_user(&state.db, caller.0.user_id).await?))
}

async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<ApiToken>>> {
    Ok(axum::Json(accounts::list_tokens(&state.db, caller.0.user_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    #[serde(default)]
    scope: Option<TokenScope>,
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req, _): JsonBody<NewToken>,
) -> ApiResult<Response> {
    let actor = caller.writer()?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(super::field_error("name", "invalid_value", "give the token a name of 1 to 100 characters"));
    }
    let secret = auth::new_secret();
    let scope = req.scope.unwrap_or(TokenScope::ReadWrite);
    let t = accounts::create_token(&state.db, actor.user_id, name, scope, &auth::secret_hash(&secret)).await?;
    Ok((StatusCode::CREATED, axum::Json(TokenResponse { token: secret, id: t.id, scope })).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    super::RecordId(id): super::RecordId,
) -> ApiResult<StatusCode> {
    accounts::revoke_token(&state.db, caller.writer()?.user_id, id).await?;
    // Other instances forget it within the auth cache's lifetime; this one at once.
    state.auth_cache.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<User>>> {
    let _ = caller;
    Ok(axum::Json(accounts::list_users(&state.db).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserRequest {
    email: String,
    display_name: String,
    password: String,
    role: Role,
    #[serde(default)]
    team_id: Option<uuid::Uuid>,
    #[serde(default)]
    locale: Option<String>,
}

/// Admins add users.
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req, _): JsonBody<NewUserRequest>,
) -> ApiResult<Response> {
    caller.admin()?;
    let email = guanxi_core::contact_point::EmailAddress::parse(&req.email)
        .map_err(|e| ApiError::Invalid(e.under("email").into()))?;
    let name = guanxi_core::text_field::required_text(Some(&req.display_name), "display_name", 100)?;
    check_password(&req.password)?;
    let hash = auth::hash_password(req.password).await?;
    let u = accounts::create_user(
        &state.db,
        &NewUser {
            email: email.as_str(),
            display_name: &name,
            password_hash: &hash,
            role: req.role,
            team_id: req.team_id,
            locale: req.locale.as_deref(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(u)).into_response())
}

/// At least 10 characters; long passphrases are welcome (up to 1,024 bytes).
pub fn check_password(p: &str) -> ApiResult<()> {
    if p.chars().count() < 10 || p.len() > 1024 {
        return Err(super::field_error("password", "weak_password", "use 10 to 1024 characters"));
    }
    Ok(())
}

async fn list_teams(State(state): State<AppState>, _caller: Caller) -> ApiResult<axum::Json<Vec<Team>>> {
    Ok(axum::Json(accounts::list_teams(&state.db).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
}

async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req, _): JsonBody<NewTeam>,
) -> ApiResult<Response> {
    caller.admin()?;
    let name = guanxi_core::text_field::required_text(Some(&req.name), "name", 100)?;
    let t = accounts::create_team(&state.db, &name).await?;
    Ok((StatusCode::CREATED, axum::Json(t)).into_response())
}
