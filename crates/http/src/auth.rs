//! Who is calling: bearer API tokens and web session cookies, password hashing, login throttling.

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use guanxi_core::access::Actor;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "guanxi_session";

/// Hashes a password with Argon2id at the crate defaults (19 MiB, 2 passes, 1 lane: the OWASP minimum) on the
/// blocking pool, since it takes tens of milliseconds of CPU.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("join: {e}")))?
}

/// Checks a password against a stored PHC string; `None` (unknown user) still spends the same work so that
/// response times do not reveal which emails exist.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(stored) => PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false),
        None => {
            if let Ok(salt) = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA") {
                let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
            }
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A new random secret for an API token or a session: `gx_` + 32 random bytes, base64url.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("gx_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Secrets are stored as their SHA-256: a database leak gives no usable token (they are random, so no salt or
/// slow hash is needed).
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Recently resolved credentials. Resolving a token costs a database read per request; caching it for a few
/// seconds keeps GET-by-id fast. A revoked token or ended session therefore stays usable for at most
/// [`AUTH_CACHE_TTL`] on instances that had it cached.
pub struct AuthCache {
    entries: Mutex<HashMap<[u8; 32], (Actor, Instant)>>,
}

pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);

impl AuthCache {
    pub fn new() -> AuthCache {
        AuthCache { entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Actor> {
        let map = self.entries.lock().ok()?;
        map.get(key).filter(|(_, at)| at.elapsed() < AUTH_CACHE_TTL).map(|(a, _)| a.clone())
    }

    fn put(&self, key: [u8; 32], actor: Actor) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < AUTH_CACHE_TTL);
            }
            map.insert(key, (actor, Instant::now()));
        }
    }

    pub fn forget(&self, key: &[u8; 32]) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

impl Default for AuthCache {
    fn default() -> Self {
        Self::new()
    }
}

/// The authenticated caller of an API request.
pub struct Caller(pub Actor);

/// The credential a request carries.
pub enum Credential {
    Bearer(String),
    Session(String),
}

pub fn credential(parts: &Parts) -> Option<Credential> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = v.splitn(2, ' ');
        if it.next().is_some_and(|s| s.eq_ignore_ascii_case("bearer")) {
            return it.next().map(|t| Credential::Bearer(t.trim().to_string()));
        }
        return None;
    }
    session_cookie(&parts.headers).map(Credential::Session)
}

pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_string())
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let cred = credential(parts).ok_or(ApiError::Unauthorized)?;
        // A cookie is sent by the browser on cross-site requests too: writes that ride on the session cookie must
        // come from our own pages (bearer tokens are never sent implicitly, so they need no such check).
        if matches!(cred, Credential::Session(_)) && !parts.method.is_safe() && !is_same_origin(&parts.headers) {
            return Err(ApiError::Forbidden("cross-site request refused"));
        }
        let (secret, is_session) = match &cred {
            Credential::Bearer(s) => (s.as_str(), false),
            Credential::Session(s) => (s.as_str(), true),
        };
        if secret.len() > 200 {
            return Err(ApiError::Unauthorized);
        }
        let hash = secret_hash(secret);
        if let Some(actor) = state.auth_cache.get(&hash) {
            return Ok(Caller(actor));
        }
        let actor = if is_session {
            guanxi_store::accounts::actor_for_session(&state.db, &hash).await?
        } else {
            let a = guanxi_store::accounts::actor_for_token(&state.db, &hash).await?;
            if a.is_some() {
                // Best effort: a failure to record the last use must not fail the request.
                if let Err(e) = guanxi_store::accounts::touch_token(&state.db, &hash).await {
                    tracing::warn!(error = %e, "could not record token use");
                }
            }
            a
        };
        let actor = actor.ok_or(ApiError::Unauthorized)?;
        state.auth_cache.put(hash, actor.clone());
        Ok(Caller(actor))
    }
}

impl Caller {
    /// Fails with 403 for read-only tokens.
    pub fn writer(&self) -> Result<&Actor, ApiError> {
        if self.0.can_write() { Ok(&self.0) } else { Err(ApiError::Forbidden("this API token is read-only")) }
    }

    pub fn admin(&self) -> Result<&Actor, ApiError> {
        if self.0.is_admin() { self.writer() } else { Err(ApiError::Forbidden("only admins may do this")) }
    }
}

/// Login throttling: at most this many failures per email (and 4x per client address) in the window.
pub const MAX_LOGIN_FAILURES: i64 = 5;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;

/// Checks email + password with throttling; on success returns the user.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
    client: &str,
) -> Result<guanxi_store::accounts::User, ApiError> {
    let window = chrono::Duration::minutes(LOGIN_WINDOW_MINUTES);
    let email_key = format!("email:{}", email.trim().to_lowercase());
    let client_key = format!("client:{client}");
    let db = &state.db;
    if guanxi_store::accounts::recent_login_failures(db, &email_key, window).await? >= MAX_LOGIN_FAILURES
        || guanxi_store::accounts::recent_login_failures(db, &client_key, window).await? >= MAX_LOGIN_FAILURES * 4
    {
        return Err(ApiError::TooManyRequests { retry_after_secs: (LOGIN_WINDOW_MINUTES * 60) as u64 });
    }
    if email.len() > 320 || password.len() > 1024 {
        return Err(ApiError::Unauthorized);
    }
    let found = guanxi_store::accounts::user_with_password(db, email).await?;
    let (user, phc) = match found {
        Some((u, h)) if u.active => (Some(u), Some(h)),
        _ => (None, None),
    };
    if verify_password(password.to_string(), phc).await
        && let Some(user) = user
    {
        guanxi_store::accounts::clear_login_failures(db, &email_key).await?;
        return Ok(user);
    }
    guanxi_store::accounts::record_login_failure(db, &email_key, window).await?;
    guanxi_store::accounts::record_login_failure(db, &client_key, window).await?;
    Err(ApiError::Unauthorized)
}

/// The client's address as the listener saw it (None in tests that call the router directly).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// CSRF check for cookie-authenticated writes: `Sec-Fetch-Site: same-origin` when the browser sends fetch metadata
/// (all current ones do); otherwise an `Origin` whose host and port are this request's `Host`. No header at all is
/// refused.
pub fn is_same_origin(headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(o), Some(h)) => {
            let authority = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            authority.is_some_and(|a| a.eq_ignore_ascii_case(h))
        }
        _ => false,
    }
}
