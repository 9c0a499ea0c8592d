//! `Idempotency-Key` on POST: a retried request returns the first response instead of creating a duplicate.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guanxi_core::access::Actor;
use guanxi_store::idempotency::{self, Claim};
use sha2::{Digest, Sha256};
use std::future::Future;

pub const HEADER: &str = "idempotency-key";

/// Runs `work` at most once per (caller, key). Without the header it just runs `work`.
pub async fn idempotent(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
    work: impl Future<Output = ApiResult<Response>>,
) -> ApiResult<Response> {
    let Some(key) = headers.get(HEADER) else { return work.await };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))?;
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    let request_hash = h.finalize();
    match idempotency::claim(&state.db, actor.user_id, key, &request_hash).await? {
        Claim::Claimed => {}
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut resp = (status, axum::Json(body)).into_response();
            resp.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
            return Ok(resp);
        }
        Claim::Mismatch => {
            return Err(ApiError::Invalid(
                guanxi_core::FieldError::new(
                    "Idempotency-Key",
                    "key_reused",
                    "this key was used for a different request",
                )
                .into(),
            ));
        }
        Claim::InProgress => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly".into(),
            ));
        }
    }
    match work.await {
        Ok(resp) if resp.status().is_success() => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, crate::BODY_LIMIT * 4)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            idempotency::complete(&state.db, actor.user_id, key, parts.status.as_u16(), &json).await?;
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
        other => {
            // A failed request may be corrected and retried with the same key.
            if let Err(e) = idempotency::release(&state.db, actor.user_id, key).await {
                tracing::warn!(error = %e, "could not release idempotency key");
            }
            other
        }
    }
}
