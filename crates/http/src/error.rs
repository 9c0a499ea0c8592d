//! API errors as RFC 9457 problem details (`application/problem+json`). Internal errors are logged with their
//! whole cause chain once, here, and never shown to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guanxi_core::{FieldError, ValidationErrors};
use guanxi_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the record changed since it was read (now at version {current})")]
    PreconditionFailed { current: i64 },
    #[error("this request needs an If-Match header with the record's ETag")]
    PreconditionRequired,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(String),
}

/// One entry of the `errors` member.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemFieldError {
    /// Path of the field in the request, `/`-separated (`emails/0/address`).
    pub field: String,
    /// Stable machine-readable code (`required`, `invalid_email`, …).
    pub code: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// For 412: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl ApiError {
    pub fn invalid_field(field: &str, code: &'static str, message: &str) -> ApiError {
        ApiError::Invalid(ValidationErrors::from(FieldError::new(field, code, message)))
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, "version-mismatch", "Edit conflict")
            }
            ApiError::PreconditionRequired => {
                (StatusCode::PRECONDITION_REQUIRED, "if-match-required", "If-Match required")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request too large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid input"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let errors = match self {
            ApiError::Invalid(v) => v
                .errors
                .iter()
                .map(|e| ProblemFieldError {
                    field: e.field.clone(),
                    code: e.code.to_string(),
                    message: e.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let detail = match self {
            ApiError::Internal(_) => "something went wrong on our side; it has been logged".to_string(),
            ApiError::Invalid(v) if v.errors.len() == 1 => format!("{}: {}", v.errors[0].field, v.errors[0].message),
            ApiError::Invalid(v) => format!("{} fields are invalid", v.errors.len()),
            other => other.to_string(),
        };
        Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
            current_version: match self {
                ApiError::PreconditionFailed { current } => Some(*current),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(cause = %cause, "internal error");
        }
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Forbidden => ApiError::Forbidden("you may read this record but not change it"),
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            StoreError::Duplicate { field } => {
                ApiError::Invalid(ValidationErrors::from(FieldError::new(field, "duplicate", "is already in use")))
            }
            StoreError::Invalid(v) => ApiError::Invalid(v),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            other => ApiError::Internal(format!("{other:#}: {:?}", std::error::Error::source(&other))),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::Invalid(e.into())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> ApiError {
        ApiError::Invalid(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
