//! Users, teams, API tokens, web sessions and login throttling. Secrets are stored only as hashes; hashing
//! passwords (Argon2id) happens above the store, which sees only the PHC string.

use crate::sql::Arg;
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Duration, Utc};
use guanxi_core::access::{Actor, Role, TokenScope};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub locale: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    password_hash: String,
    role: String,
    team_id: Option<Uuid>,
    locale: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
}

impl UserRow {
    fn into_user(self) -> (User, String) {
        (
            User {
                id: self.id,
                email: self.email,
                display_name: self.display_name,
                role: Role::parse(&self.role).unwrap_or(Role::Member),
                team_id: self.team_id,
                locale: self.locale,
                active: self.active,
                created_at: self.created_at,
            },
            self.password_hash,
        )
    }
}

const USER_COLUMNS: &str = "id, email, display_name, password_hash, role, team_id, locale, active, created_at";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
}

pub async fn create_team(db: &Db, name: &str) -> Result<Team> {
    let id = guanxi_core::ids::new_id();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("INSERT INTO teams (id, name, created_at) VALUES (");
    sql.bind(Arg::Uuid(id))
        .push(", ")
        .bind(Arg::Text(name.to_string()))
        .push(", ")
        .bind(Arg::Ts(guanxi_core::ids::now()))
        .push(")");
    tx.execute_unique(sql, "name").await?;
    tx.commit().await?;
    Ok(Team { id, name: name.to_string() })
}

pub async fn list_teams(db: &Db) -> Result<Vec<Team>> {
    let rows: Vec<(Uuid, String)> = db.fetch_all(db.sql("SELECT id, name FROM teams ORDER BY name")).await?;
    Ok(rows.into_iter().map(|(id, name)| Team { id, name }).collect())
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub locale: Option<&'a str>,
}

pub async fn create_user(db: &Db, u: &NewUser<'_>) -> Result<User> {
    let id = guanxi_core::ids::new_id();
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("INSERT INTO users (id, email, display_name, password_hash, role, team_id, locale, active, created_at, updated_at) VALUES (");
    sql.bind(Arg::Uuid(id))
        .push(", ")
        .bind(Arg::Text(u.email.to_lowercase()))
        .push(", ")
        .bind(Arg::Text(u.display_name.to_string()));
    sql.push(", ")
        .bind(Arg::Text(u.password_hash.to_string()))
        .push(", ")
        .bind(Arg::Text(u.role.as_str().into()))
        .push(", ");
    match u.team_id {
        Some(t) => sql.bind(Arg::Uuid(t)),
        None => sql.push("NULL"),
    };
    sql.push(", ");
    match u.locale {
        Some(l) => sql.bind(Arg::Text(l.to_string())),
        None => sql.push("NULL"),
    };
    sql.push(", TRUE, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute_unique(sql, "email").await?;
    tx.commit().await?;
    Ok(User {
        id,
        email: u.email.to_lowercase(),
        display_name: u.display_name.to_string(),
        role: u.role,
        team_id: u.team_id,
        locale: u.locale.map(str::to_string),
        active: true,
        created_at: now,
    })
}

/// The user and its password hash, for logging in.
pub async fn user_with_password(db: &Db, email: &str) -> Result<Option<(User, String)>> {
    let mut sql = db.sql(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = "));
    sql.bind(Arg::Text(email.trim().to_lowercase()));
    let row: Option<UserRow> = db.fetch_optional(sql).await?;
    Ok(row.map(UserRow::into_user))
}

pub async fn get_user(db: &Db, id: Uuid) -> Result<User> {
    let mut sql = db.sql(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = "));
    sql.bind(Arg::Uuid(id));
    let row: Option<UserRow> = db.fetch_optional(sql).await?;
    row.map(|r| r.into_user().0).ok_or(StoreError::NotFound)
}

pub async fn list_users(db: &Db) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = db.fetch_all(db.sql(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))).await?;
    Ok(rows.into_iter().map(|r| r.into_user().0).collect())
}

pub async fn count_users(db: &Db) -> Result<i64> {
    db.fetch_scalar(db.sql("SELECT COUNT(*) FROM users")).await
}

pub async fn set_user_password(db: &Db, id: Uuid, password_hash: &str) -> Result<()> {
    let mut sql = db.sql("UPDATE users SET password_hash = ");
    sql.bind(Arg::Text(password_hash.to_string())).push(", updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id));
    if db.execute(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Sets a user's role and team (admins only; checked by the caller). An unknown team is a field error.
pub async fn set_user_access(db: &Db, id: Uuid, role: Role, team_id: Option<Uuid>) -> Result<User> {
    let mut tx = db.begin().await?;
    if let Some(t) = team_id {
        let mut sql = tx.sql("SELECT 1 FROM teams WHERE id = ");
        sql.bind(Arg::Uuid(t));
        if tx.fetch_optional::<(i32,)>(sql).await?.is_none() {
            return Err(guanxi_core::ValidationErrors::from(guanxi_core::FieldError::new(
                "team_id",
                "not_found",
                "no such team",
            ))
            .into());
        }
    }
    let mut sql = tx.sql("UPDATE users SET role = ");
    sql.bind(Arg::Text(role.as_str().into())).push(", team_id = ");
    match team_id {
        Some(t) => sql.bind(Arg::Uuid(t)),
        None => sql.push("NULL"),
    };
    sql.push(", updated_at = ").bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(id));
    if tx.execute(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().await?;
    get_user(db, id).await
}

/// Deactivates (or reactivates) a user. A deactivated user's sessions and tokens stop working at once (both
/// lookups require an active user) and its sessions are removed.
pub async fn set_user_active(db: &Db, id: Uuid, active: bool) -> Result<User> {
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("UPDATE users SET active = ");
    sql.bind(Arg::Bool(active)).push(", updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id));
    if tx.execute(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    if !active {
        let mut del = tx.sql("DELETE FROM sessions WHERE user_id = ");
        del.bind(Arg::Uuid(id));
        tx.execute(del).await?;
    }
    tx.commit().await?;
    get_user(db, id).await
}

pub async fn set_user_locale(db: &Db, id: Uuid, locale: &str) -> Result<()> {
    let mut sql = db.sql("UPDATE users SET locale = ");
    sql.bind(Arg::Text(locale.to_string())).push(" WHERE id = ").bind(Arg::Uuid(id));
    db.execute(sql).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    scope: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> ApiToken {
        ApiToken {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            scope: TokenScope::parse(&r.scope).unwrap_or(TokenScope::Read),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Stores a new token by the SHA-256 of its secret (the secret itself is shown to the user once and never stored).
pub async fn create_token(
    db: &Db,
    user_id: Uuid,
    name: &str,
    scope: TokenScope,
    token_hash: &[u8],
) -> Result<ApiToken> {
    let id = guanxi_core::ids::new_id();
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("INSERT INTO api_tokens (id, user_id, name, token_hash, scope, created_at) VALUES (");
    sql.bind(Arg::Uuid(id)).push(", ").bind(Arg::Uuid(user_id)).push(", ").bind(Arg::Text(name.to_string())).push(", ");
    sql.bind(Arg::Bytes(token_hash.to_vec()))
        .push(", ")
        .bind(Arg::Text(scope.as_str().into()))
        .push(", ")
        .bind(Arg::Ts(now))
        .push(")");
    tx.execute(sql).await?;
    tx.commit().await?;
    Ok(ApiToken { id, user_id, name: name.to_string(), scope, created_at: now, last_used_at: None, revoked_at: None })
}

pub async fn list_tokens(db: &Db, user_id: Uuid) -> Result<Vec<ApiToken>> {
    let mut sql = db
        .sql("SELECT id, user_id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ");
    sql.bind(Arg::Uuid(user_id)).push(" ORDER BY created_at DESC");
    let rows: Vec<TokenRow> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

pub async fn revoke_token(db: &Db, user_id: Uuid, token_id: Uuid) -> Result<()> {
    let mut sql = db.sql("UPDATE api_tokens SET revoked_at = ");
    sql.bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(token_id));
    sql.push(" AND user_id = ").bind(Arg::Uuid(user_id)).push(" AND revoked_at IS NULL");
    if db.execute(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    user_id: Uuid,
    team_id: Option<Uuid>,
    role: String,
    scope: String,
}

/// The caller behind a bearer token (by the hash of its secret), when the token is live and its user active.
pub async fn actor_for_token(db: &Db, token_hash: &[u8]) -> Result<Option<Actor>> {
    let mut sql = db.sql(
        "SELECT u.id AS user_id, u.team_id, u.role, t.scope FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.revoked_at IS NULL AND u.active AND t.token_hash = ",
    );
    sql.bind(Arg::Bytes(token_hash.to_vec()));
    let row: Option<ActorRow> = db.fetch_optional(sql).await?;
    Ok(row.map(|r| Actor {
        user_id: r.user_id,
        team_id: r.team_id,
        role: Role::parse(&r.role).unwrap_or(Role::Member),
        scope: TokenScope::parse(&r.scope).unwrap_or(TokenScope::Read),
    }))
}

/// Records that a token was used (at most once a minute per token, to keep reads cheap).
pub async fn touch_token(db: &Db, token_hash: &[u8]) -> Result<()> {
    let now = guanxi_core::ids::now();
    let mut sql = db.sql("UPDATE api_tokens SET last_used_at = ");
    sql.bind(Arg::Ts(now)).push(" WHERE token_hash = ").bind(Arg::Bytes(token_hash.to_vec()));
    sql.push(" AND (last_used_at IS NULL OR last_used_at < ").bind(Arg::Ts(now - Duration::minutes(1))).push(")");
    db.execute(sql).await?;
    Ok(())
}

/// Web sessions live in the database so that several instances share them.
pub async fn create_session(db: &Db, id_hash: &[u8], user_id: Uuid, expires_at: DateTime<Utc>) -> Result<()> {
    let mut sql = db.sql("INSERT INTO sessions (id_hash, user_id, data, expires_at, created_at) VALUES (");
    sql.bind(Arg::Bytes(id_hash.to_vec())).push(", ").bind(Arg::Uuid(user_id)).push(", '{}'");
    sql.push(crate::contacts::json_cast(db.dialect()));
    sql.push(", ").bind(Arg::Ts(expires_at)).push(", ").bind(Arg::Ts(guanxi_core::ids::now())).push(")");
    db.execute(sql).await?;
    Ok(())
}

/// The caller behind a live session; web sessions always read and write.
pub async fn actor_for_session(db: &Db, id_hash: &[u8]) -> Result<Option<Actor>> {
    let mut sql = db.sql(
        "SELECT u.id AS user_id, u.team_id, u.role, 'read_write' AS scope FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE u.active AND s.id_hash = ",
    );
    sql.bind(Arg::Bytes(id_hash.to_vec())).push(" AND s.expires_at > ").bind(Arg::Ts(guanxi_core::ids::now()));
    let row: Option<ActorRow> = db.fetch_optional(sql).await?;
    Ok(row.map(|r| Actor {
        user_id: r.user_id,
        team_id: r.team_id,
        role: Role::parse(&r.role).unwrap_or(Role::Member),
        scope: TokenScope::ReadWrite,
    }))
}

pub async fn delete_session(db: &Db, id_hash: &[u8]) -> Result<()> {
    let mut sql = db.sql("DELETE FROM sessions WHERE id_hash = ");
    sql.bind(Arg::Bytes(id_hash.to_vec()));
    db.execute(sql).await?;
    Ok(())
}

pub async fn delete_expired_sessions(db: &Db) -> Result<u64> {
    let mut sql = db.sql("DELETE FROM sessions WHERE expires_at <= ");
    sql.bind(Arg::Ts(guanxi_core::ids::now()));
    db.execute(sql).await
}

/// Login throttling: failures per key (an email, or an IP address) within a sliding window.
pub async fn recent_login_failures(db: &Db, key: &str, window: Duration) -> Result<i64> {
    let mut sql = db.sql("SELECT failures FROM login_failures WHERE key = ");
    sql.bind(Arg::Text(key.to_string())).push(" AND window_start > ").bind(Arg::Ts(guanxi_core::ids::now() - window));
    let row: Option<(i64,)> = db.fetch_optional(sql).await?;
    Ok(row.map(|r| r.0).unwrap_or(0))
}

pub async fn record_login_failure(db: &Db, key: &str, window: Duration) -> Result<()> {
    let now = guanxi_core::ids::now();
    let mut sql = db.sql("INSERT INTO login_failures (key, failures, window_start) VALUES (");
    sql.bind(Arg::Text(key.to_string())).push(", 1, ").bind(Arg::Ts(now)).push(")");
    sql.push(" ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN login_failures.window_start > ");
    sql.bind(Arg::Ts(now - window))
        .push(" THEN login_failures.failures + 1 ELSE 1 END, window_start = CASE WHEN login_failures.window_start > ");
    sql.bind(Arg::Ts(now - window)).push(" THEN login_failures.window_start ELSE ").bind(Arg::Ts(now)).push(" END");
    db.execute(sql).await?;
    Ok(())
}

pub async fn clear_login_failures(db: &Db, key: &str) -> Result<()> {
    let mut sql = db.sql("DELETE FROM login_failures WHERE key = ");
    sql.bind(Arg::Text(key.to_string()));
    db.execute(sql).await?;
    Ok(())
}
