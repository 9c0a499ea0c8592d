//! The JSON API under `/api/v1`. Every record type with the usual create/read/update/delete/list/batch shape is
//! a [`Resource`]; one set of generic handlers serves them all, so validation, ETags, idempotency and error
//! mapping behave identically everywhere.

pub mod accounts;
mod analytics;
mod custom_fields;
pub mod dedup;
pub mod exports;
mod health;
mod idempotency;
pub mod imports;
pub mod records;
mod search;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IfMatch, JsonBody, RawQuery, merge_patch, parse_json};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guanxi_core::access::Actor;
use guanxi_core::custom_field::ObjectType;
use guanxi_core::filter::{FieldSpec, ListQuery, parse_list_query};
use guanxi_core::{FieldError, ValidationErrors};
use guanxi_store::contacts::BatchError;
use guanxi_store::{Db, Page, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use uuid::Uuid;

pub use accounts::check_password;
pub use idempotency::idempotent;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(accounts::routes())
        .merge(custom_fields::routes())
        .merge(search::routes())
        .merge(exports::routes())
        .merge(imports::routes())
        .merge(records::routes())
        .merge(analytics::routes())
        .merge(dedup::routes())
}

/// Adds the standard routes of a resource: `GET/POST /api/v1/{path}`, `GET/PATCH/DELETE /api/v1/{path}/{id}`.
pub fn resource_routes<R: Resource>(r: Router<AppState>) -> Router<AppState> {
    r.route(&format!("/api/v1/{}", R::PATH), get(list::<R>).post(create::<R>))
        .route(&format!("/api/v1/{}/{{id}}", R::PATH), get(read::<R>).patch(update::<R>).delete(delete::<R>))
}

/// Adds `POST /api/v1/{path}/batch`.
pub fn batch_route<R: BatchCreate>(r: Router<AppState>) -> Router<AppState> {
    r.route(&format!("/api/v1/{}/batch", R::PATH), post(create_batch::<R>))
}

/// A resource whose store can create many records in one all-or-nothing transaction.
pub trait BatchCreate: Resource {
    fn create_batch(
        db: &Db,
        actor: &Actor,
        d: &[Self::Draft],
    ) -> impl Future<Output = Result<Vec<Self::Record>, BatchError>> + Send;
}

/// Implements [`Resource`] (and [`BatchCreate`] with `batch`) for a store module whose functions have the standard
/// shape (`create`, `get`, `update`, `delete`, `list`, `create_batch`); `validate` turns the input into a draft.
macro_rules! store_resource {
    ($ty:ident, $module:path, $record:ty, $input:ty, $draft:ty, $path:literal, $fields:expr, $custom:expr, $ctx:ty, $context:path, $check:path $(, $batch:ident)? $(; similar = $similar:path)? $(; delete_conflict = $why:literal)?) => {
        pub struct $ty;

        impl $crate::api::Resource for $ty {
            type Record = $record;
            type Input = $input;
            type Draft = $draft;
            const PATH: &'static str = $path;
            const FIELDS: &'static [guanxi_core::filter::FieldSpec] = $fields;
            const CUSTOM: Option<guanxi_core::custom_field::ObjectType> = $custom;
            $(const DELETE_CONFLICT: Option<&'static str> = Some($why);)?

            fn id(r: &$record) -> uuid::Uuid {
                r.id
            }
            fn version(r: &$record) -> i64 {
                r.version
            }
            fn to_input(r: &$record) -> $input {
                r.to_input()
            }
            type Context = $ctx;
            async fn context(state: &$crate::AppState, inputs: &[$input]) -> $crate::error::ApiResult<$ctx> {
                $context(state, inputs).await
            }
            fn check(state: &$crate::AppState, ctx: &$ctx, input: $input) -> Result<$draft, guanxi_core::ValidationErrors> {
                $check(state, ctx, input)
            }
            async fn create(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, d: &$draft) -> Result<$record, guanxi_store::StoreError> {
                { use $module as m; m::create(db, actor, d).await }
            }
            async fn get(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, id: uuid::Uuid) -> Result<$record, guanxi_store::StoreError> {
                { use $module as m; m::get(db, actor, id).await }
            }
            async fn update(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, id: uuid::Uuid, version: i64, d: &$draft) -> Result<$record, guanxi_store::StoreError> {
                { use $module as m; m::update(db, actor, id, version, d).await }
            }
            async fn delete(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, id: uuid::Uuid, version: Option<i64>) -> Result<(), guanxi_store::StoreError> {
                { use $module as m; m::delete(db, actor, id, version).await }
            }
            async fn list(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, q: &guanxi_core::filter::ListQuery) -> Result<guanxi_store::Page<$record>, guanxi_store::StoreError> {
                { use $module as m; m::list(db, actor, q).await }
            }
            $(
                async fn similar(state: &$crate::AppState, actor: &guanxi_core::access::Actor, d: &$draft) -> $crate::error::ApiResult<Vec<uuid::Uuid>> {
                    $similar(state, actor, d).await
                }
            )?
        }

        $(
            #[doc = concat!("Batch create (", stringify!($batch), ").")]
            impl $crate::api::BatchCreate for $ty {
                async fn create_batch(db: &guanxi_store::Db, actor: &guanxi_core::access::Actor, d: &[$draft]) -> Result<Vec<$record>, guanxi_store::contacts::BatchError> {
                    { use $module as m; m::create_batch(db, actor, d).await }
                }
            }
        )?
    };
}
pub(crate) use store_resource;

/// A record type served by the generic handlers.
pub trait Resource: Send + Sync + 'static {
    type Record: Serialize + utoipa::ToSchema + Send + Sync + 'static;
    type Input: DeserializeOwned + Serialize + utoipa::ToSchema + Send + 'static;
    type Draft: Send + Sync + 'static;
    /// The path segment under `/api/v1`, e.g. `contacts`.
    const PATH: &'static str;
    /// Filterable fields.
    const FIELDS: &'static [FieldSpec];
    /// Which custom fields apply, if any.
    const CUSTOM: Option<ObjectType>;
    /// When a delete is refused with 409 because other records still depend on the record (for the API document).
    const DELETE_CONFLICT: Option<&'static str> = None;

    fn id(r: &Self::Record) -> Uuid;
    fn version(r: &Self::Record) -> i64;
    fn to_input(r: &Self::Record) -> Self::Input;
    /// What validation needs from the database (custom field definitions, product prices), loaded once per
    /// request for all its records.
    type Context: Send + Sync;
    fn context(state: &AppState, inputs: &[Self::Input]) -> impl Future<Output = ApiResult<Self::Context>> + Send;
    fn check(state: &AppState, ctx: &Self::Context, input: Self::Input) -> Result<Self::Draft, ValidationErrors>;
    fn create(db: &Db, actor: &Actor, d: &Self::Draft)
    -> impl Future<Output = Result<Self::Record, StoreError>> + Send;
    fn get(db: &Db, actor: &Actor, id: Uuid) -> impl Future<Output = Result<Self::Record, StoreError>> + Send;
    fn update(
        db: &Db,
        actor: &Actor,
        id: Uuid,
        version: i64,
        d: &Self::Draft,
    ) -> impl Future<Output = Result<Self::Record, StoreError>> + Send;
    fn delete(
        db: &Db,
        actor: &Actor,
        id: Uuid,
        version: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn list(
        db: &Db,
        actor: &Actor,
        q: &ListQuery,
    ) -> impl Future<Output = Result<Page<Self::Record>, StoreError>> + Send;
    /// Visible records that look like this draft (the duplicate engine); none for types without one.
    fn similar(
        _state: &AppState,
        _actor: &Actor,
        _d: &Self::Draft,
    ) -> impl Future<Output = ApiResult<Vec<Uuid>>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// A record id from the path; anything that is not a UUID is simply not found.
pub struct RecordId(pub Uuid);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RecordId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw): Path<String> = Path::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        Uuid::parse_str(&raw).map(RecordId).map_err(|_| ApiError::NotFound)
    }
}

pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A record with its ETag (and Location for 201).
pub fn record_response<R: Resource>(status: StatusCode, record: &R::Record) -> Response {
    let mut resp = (status, axum::Json(record)).into_response();
    resp.headers_mut().insert(header::ETAG, etag(R::version(record)));
    if status == StatusCode::CREATED
        && let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/{}/{}", R::PATH, R::id(record)))
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

pub async fn custom_defs(
    state: &AppState,
    object: Option<ObjectType>,
) -> ApiResult<Vec<guanxi_core::custom_field::CustomFieldDef>> {
    match object {
        Some(o) => Ok(guanxi_store::custom_fields::list(&state.db, Some(o)).await?),
        None => Ok(Vec::new()),
    }
}

pub async fn list<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawQuery,
) -> ApiResult<axum::Json<Page<R::Record>>> {
    let defs = custom_defs(&state, R::CUSTOM).await?;
    let q = parse_list_query(&raw.list_params()?, R::FIELDS, &defs, caller.0.user_id)?;
    Ok(axum::Json(R::list(&state.db, &caller.0, &q).await?))
}

/// The header that lists, on a create, the ids of visible records that look like the new one.
pub const POSSIBLE_DUPLICATES: &str = "possible-duplicates";

/// POST: creates the record. Contacts and companies are first checked for duplicates: with
/// `?duplicates=reject` any look-alike refuses the create (409, ids in the message); by default the record is
/// created and the look-alikes' ids come back in the `Possible-Duplicates` header.
pub async fn create<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: RawQuery,
    body: JsonBody<R::Input>,
) -> ApiResult<Response> {
    let actor = caller.writer()?.clone();
    let JsonBody(input, raw) = body;
    let reject = match query.get("duplicates") {
        None | Some("") | Some("warn") => false,
        Some("reject") => true,
        Some(_) => return Err(field_error("duplicates", "invalid_choice", "use warn or reject")),
    };
    let path = format!("/api/v1/{}", R::PATH);
    idempotent(&state, &actor, &headers, "POST", &path, &raw, async {
        let ctx = R::context(&state, std::slice::from_ref(&input)).await?;
        let draft = R::check(&state, &ctx, input)?;
        let similar = R::similar(&state, &actor, &draft).await?;
        let ids = similar.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ");
        if reject && !similar.is_empty() {
            return Err(ApiError::Conflict(format!("possible duplicates of existing records: {ids}")));
        }
        let rec = R::create(&state.db, &actor, &draft).await?;
        let mut resp = record_response::<R>(StatusCode::CREATED, &rec);
        if let Ok(v) = HeaderValue::from_str(&ids)
            && !similar.is_empty()
        {
            resp.headers_mut().insert(POSSIBLE_DUPLICATES, v);
        }
        Ok(resp)
    })
    .await
}

pub async fn read<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> ApiResult<Response> {
    let rec = R::get(&state.db, &caller.0, id).await?;
    Ok(record_response::<R>(StatusCode::OK, &rec))
}

/// PATCH with a JSON Merge Patch body and `If-Match`: the merged record is validated as a whole and written only
/// if nobody changed it meanwhile (412 otherwise), so no update is ever lost.
pub async fn update<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    if_match: IfMatch,
    JsonBody(patch, _): JsonBody<serde_json::Value>,
) -> ApiResult<Response> {
    let actor = caller.writer()?;
    let version = if_match.required()?;
    if !patch.is_object() {
        return Err(ApiError::BadRequest("the body must be a JSON object with the fields to change".into()));
    }
    let current = R::get(&state.db, actor, id).await?;
    if R::version(&current) != version {
        return Err(ApiError::PreconditionFailed { current: R::version(&current) });
    }
    let mut merged = serde_json::to_value(R::to_input(&current)).map_err(|e| ApiError::Internal(e.to_string()))?;
    merge_patch(&mut merged, &patch);
    let bytes = serde_json::to_vec(&merged).map_err(|e| ApiError::Internal(e.to_string()))?;
    let input: R::Input = parse_json(&bytes)?;
    let ctx = R::context(&state, std::slice::from_ref(&input)).await?;
    let draft = R::check(&state, &ctx, input)?;
    let rec = R::update(&state.db, actor, id, version, &draft).await?;
    Ok(record_response::<R>(StatusCode::OK, &rec))
}

pub async fn delete<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    R::delete(&state.db, caller.writer()?, id, if_match.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Up to this many records per batch request.
pub const MAX_BATCH: usize = 1000;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<T> {
    pub items: Vec<T>,
}

#[derive(Serialize)]
pub struct BatchResponse<T> {
    pub items: Vec<T>,
}

/// All-or-nothing batch create: every record is validated first; any error rejects the whole request with each
/// bad record's errors under `items/<index>/...`.
pub async fn create_batch<R: BatchCreate>(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: JsonBody<BatchRequest<R::Input>>,
) -> ApiResult<Response> {
    let actor = caller.writer()?.clone();
    let JsonBody(req, raw) = body;
    if req.items.is_empty() || req.items.len() > MAX_BATCH {
        return Err(ApiError::invalid_field("items", "out_of_range", "send between 1 and 1000 records"));
    }
    let path = format!("/api/v1/{}/batch", R::PATH);
    idempotent(&state, &actor, &headers, "POST", &path, &raw, async {
        let ctx = R::context(&state, &req.items).await?;
        let mut drafts = Vec::with_capacity(req.items.len());
        let mut errors = ValidationErrors::new();
        for (i, input) in req.items.into_iter().enumerate() {
            match R::check(&state, &ctx, input) {
                Ok(d) => drafts.push(d),
                Err(v) => errors.errors.extend(v.errors.into_iter().map(|e| e.under(&format!("items/{i}")))),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        match R::create_batch(&state.db, &actor, &drafts).await {
            Ok(items) => Ok((StatusCode::CREATED, axum::Json(BatchResponse { items })).into_response()),
            Err(BatchError::Invalid(errs)) => {
                let mut all = ValidationErrors::new();
                for (i, v) in errs {
                    all.errors.extend(v.errors.into_iter().map(|e| e.under(&format!("items/{i}"))));
                }
                Err(ApiError::Invalid(all))
            }
            Err(BatchError::Store(e)) => Err(e.into()),
        }
    })
    .await
}

/// Field error helper for handlers.
pub fn field_error(field: &str, code: &'static str, message: &str) -> ApiError {
    ApiError::Invalid(ValidationErrors::from(FieldError::new(field, code, message)))
}
