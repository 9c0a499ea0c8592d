//! Idempotency keys: a retried POST with the same key returns the first response instead of writing twice.
//!
//! The first request claims the key (a row without a response); when it finishes, the response is stored. A
//! retry with the same key and the same request body gets the stored response; with a different body it is an
//! error; while the first is still running it is told to retry. A claim left by a crashed process expires
//! after [`CLAIM_TIMEOUT_SECS`].

use crate::sql::Arg;
use crate::{Db, Result};
use chrono::Duration;
use uuid::Uuid;

pub const CLAIM_TIMEOUT_SECS: i64 = 60;
/// Stored responses are kept this long.
pub const RETENTION_HOURS: i64 = 24;

#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Go ahead; call [`complete`] (or [`release`] on failure) afterwards.
    Claimed,
    /// Same key, same request, already answered: replay this.
    Replay { status: u16, body: serde_json::Value },
    /// Same key, different request.
    Mismatch,
    /// Same key, first request still running.
    InProgress,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: Vec<u8>,
    status: Option<i64>,
    response: Option<sqlx::types::Json<serde_json::Value>>,
    created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn claim(db: &Db, user_id: Uuid, key: &str, request_hash: &[u8]) -> Result<Claim> {
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    // Forget old keys and stale claims of this user first, so an expired key can be claimed again.
    let mut sql = tx.sql("DELETE FROM idempotency_keys WHERE user_id = ");
    sql.bind(Arg::Uuid(user_id)).push(" AND key = ").bind(Arg::Text(key.to_string()));
    sql.push(" AND ((status IS NULL AND created_at < ").bind(Arg::Ts(now - Duration::seconds(CLAIM_TIMEOUT_SECS)));
    sql.push(") OR created_at < ").bind(Arg::Ts(now - Duration::hours(RETENTION_HOURS))).push(")");
    tx.execute(sql).await?;
    let mut sql = tx.sql("INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (");
    sql.bind(Arg::Uuid(user_id))
        .push(", ")
        .bind(Arg::Text(key.to_string()))
        .push(", ")
        .bind(Arg::Bytes(request_hash.to_vec()));
    sql.push(", ").bind(Arg::Ts(now)).push(") ON CONFLICT (user_id, key) DO NOTHING");
    let inserted = tx.execute(sql).await?;
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Claim::Claimed);
    }
    let mut sql = tx.sql("SELECT request_hash, status, response, created_at FROM idempotency_keys WHERE user_id = ");
    sql.bind(Arg::Uuid(user_id)).push(" AND key = ").bind(Arg::Text(key.to_string()));
    let row: Option<KeyRow> = tx.fetch_optional(sql).await?;
    tx.commit().await?;
    Ok(match row {
        None => Claim::InProgress,
        Some(r) if r.request_hash != request_hash => Claim::Mismatch,
        Some(KeyRow { status: Some(s), response: Some(b), .. }) => Claim::Replay { status: s as u16, body: b.0 },
        Some(r) => {
            let _ = r.created_at;
            Claim::InProgress
        }
    })
}

pub async fn complete(db: &Db, user_id: Uuid, key: &str, status: u16, body: &serde_json::Value) -> Result<()> {
    let mut sql = db.sql("UPDATE idempotency_keys SET status = ");
    sql.bind(Arg::I64(status as i64)).push(", response = ").bind(Arg::Text(body.to_string()));
    sql.push(crate::contacts::json_cast(db.dialect()));
    sql.push(" WHERE user_id = ").bind(Arg::Uuid(user_id)).push(" AND key = ").bind(Arg::Text(key.to_string()));
    db.execute(sql).await?;
    Ok(())
}

/// Gives the key back after a failed request, so a corrected retry can use it.
pub async fn release(db: &Db, user_id: Uuid, key: &str) -> Result<()> {
    let mut sql = db.sql("DELETE FROM idempotency_keys WHERE status IS NULL AND user_id = ");
    sql.bind(Arg::Uuid(user_id)).push(" AND key = ").bind(Arg::Text(key.to_string()));
    db.execute(sql).await?;
    Ok(())
}
