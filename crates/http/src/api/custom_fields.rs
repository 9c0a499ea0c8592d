//! `/api/v1/custom-fields`: admins define custom fields per object type.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{JsonBody, RawQuery};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use guanxi_core::custom_field::{CustomFieldDef, CustomFieldInput, ObjectType};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/custom-fields", get(list).post(create))
        .route("/api/v1/custom-fields/{id}", delete(remove))
}

async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    raw: RawQuery,
) -> ApiResult<axum::Json<Vec<CustomFieldDef>>> {
    let object = match raw.get("object") {
        None => None,
        Some(o) => Some(ObjectType::parse(o).ok_or_else(|| {
            super::field_error("object", "invalid_value", "must be contact, company, product or order")
        })?),
    };
    Ok(axum::Json(guanxi_store::custom_fields::list(&state.db, object).await?))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input, _): JsonBody<CustomFieldInput>,
) -> ApiResult<Response> {
    caller.admin()?;
    let def = guanxi_store::custom_fields::create(&state.db, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(def)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    super::RecordId(id): super::RecordId,
) -> ApiResult<StatusCode> {
    caller.admin()?;
    guanxi_store::custom_fields::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
