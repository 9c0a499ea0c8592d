//! Duplicates over HTTP: scans, the candidate list, dismissals, the check of a record being entered, merges of
//! one pair or many, the merge log and undo. The work is in `guanxi_store::dedup` and `guanxi_store::merges`;
//! these handlers parse, check roles and shape the answer.

use super::{RecordId, field_error};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, RawQuery};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guanxi_core::access::{Actor, Role};
use guanxi_core::company::{Company, CompanyInput};
use guanxi_core::contact::{Contact, ContactInput};
use guanxi_dedup::{Lang, Reason};
use guanxi_store::Page;
use guanxi_store::dedup::{self as store, Candidate, CandidateRecord, DedupObject, Scan, Similar};
use guanxi_store::merges::{self, Merge, MergeRequest, Side};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dedup/scans", get(list_scans).post(start_scan))
        .route("/api/v1/dedup/scans/{id}", get(get_scan))
        .route("/api/v1/dedup/candidates", get(list_candidates))
        .route("/api/v1/dedup/candidates/merge", post(merge_candidates))
        .route("/api/v1/dedup/candidates/{id}", get(get_candidate))
        .route("/api/v1/dedup/candidates/{id}/dismiss", post(dismiss))
        .route("/api/v1/dedup/check", post(check))
        .route("/api/v1/contacts/merge", post(merge_contacts))
        .route("/api/v1/companies/merge", post(merge_companies))
        .route("/api/v1/merges", get(list_merges))
        .route("/api/v1/merges/{id}", get(get_merge))
        .route("/api/v1/merges/{id}/undo", post(undo))
}

/// Most merges per bulk request.
pub const MAX_BULK_MERGE: usize = 100;

/// The language of reason texts: `?lang=`, else `Accept-Language`, else English.
fn lang(raw: &RawQuery, headers: &HeaderMap) -> Lang {
    if let Some(l) = raw.get("lang") {
        return Lang::from_tag(l);
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| Lang::from_tag(v.trim_start()))
        .unwrap_or(Lang::En)
}

/// `object` from the query or body: `contacts` or `companies`.
fn object(value: Option<&str>) -> ApiResult<DedupObject> {
    match value {
        None | Some("") => Err(field_error("object", "required", "say which records: contacts or companies")),
        Some(v) => {
            DedupObject::parse(v).ok_or_else(|| field_error("object", "invalid_choice", "use contacts or companies"))
        }
    }
}

/// A reason with its sentence in the caller's language.
#[derive(Serialize)]
pub struct ReasonView {
    #[serde(flatten)]
    pub reason: Reason,
    pub text: String,
}

fn reasons(list: &[Reason], lang: Lang) -> Vec<ReasonView> {
    list.iter().map(|r| ReasonView { reason: r.clone(), text: r.text(lang) }).collect()
}

#[derive(Serialize)]
pub struct CandidateView {
    pub id: Uuid,
    pub object: DedupObject,
    pub score: i64,
    pub status: String,
    pub reasons: Vec<ReasonView>,
    /// Older first: the default survivor.
    pub records: [CandidateRecord; 2],
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn candidate_view(c: Candidate, lang: Lang) -> CandidateView {
    CandidateView {
        id: c.id,
        object: c.object,
        score: c.score,
        status: c.status,
        reasons: reasons(&c.reasons, lang),
        records: c.records,
        created_at: c.created_at,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub object: String,
}

/// Scans run over every record, so admins and managers start them.
fn scan_runner(caller: &Caller) -> ApiResult<&Actor> {
    let actor = caller.writer()?;
    if actor.role == Role::Member {
        return Err(ApiError::Forbidden("only admins and managers may run duplicate scans"));
    }
    Ok(actor)
}

/// Starts a scan in the background and answers at once (202, `Location` of the scan to poll); 409 while
/// another scan of the same records runs.
async fn start_scan(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req, _): JsonBody<ScanRequest>,
) -> ApiResult<Response> {
    let actor = scan_runner(&caller)?;
    let object = object(Some(&req.object))?;
    let scan = spawn_scan(&state, actor, object).await?;
    let mut resp = (StatusCode::ACCEPTED, Json(&scan)).into_response();
    if let Ok(loc) = header::HeaderValue::from_str(&format!("/api/v1/dedup/scans/{}", scan.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// Registers a scan and runs it on a task of its own, which outlives the request (and its timeout); the
/// outcome is recorded on the scan. The web UI starts scans through this too.
pub async fn spawn_scan(
    state: &AppState,
    actor: &Actor,
    object: DedupObject,
) -> Result<Scan, guanxi_store::StoreError> {
    let scan = store::start_scan(&state.db, actor, object).await?;
    let (db, id, region) = (state.db.clone(), scan.id, state.config.default_region);
    tokio::spawn(async move {
        // Failures are recorded on the scan and logged by the store.
        let _ = store::execute_scan(&db, id, object, region).await;
    });
    Ok(scan)
}

/// A scan with its progress (poll this after starting one).
async fn get_scan(State(state): State<AppState>, _caller: Caller, RecordId(id): RecordId) -> ApiResult<Json<Scan>> {
    Ok(Json(store::get_scan(&state.db, id).await?))
}

async fn list_scans(State(state): State<AppState>, _caller: Caller, raw: RawQuery) -> ApiResult<Json<Vec<Scan>>> {
    let object = object(raw.get("object"))?;
    Ok(Json(store::recent_scans(&state.db, object, 20).await?))
}

/// `?object=contacts&status=open|dismissed|merged&limit=50&cursor=…&lang=zh`
async fn list_candidates(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    raw: RawQuery,
) -> ApiResult<Json<Page<CandidateView>>> {
    let object = object(raw.get("object"))?;
    let status = match raw.get("status") {
        None | Some("") => None,
        Some(s @ ("open" | "dismissed" | "merged")) => Some(s),
        Some(_) => return Err(field_error("status", "invalid_choice", "use open, dismissed or merged")),
    };
    let limit = raw.limit()?.unwrap_or(50).clamp(1, 500) as usize;
    let cursor = match raw.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(guanxi_core::filter::Cursor::decode(c).map_err(|e| ApiError::Invalid(e.into()))?),
    };
    let page = store::list_candidates(&state.db, &caller.0, object, status, cursor.as_ref(), limit).await?;
    let lang = lang(&raw, &headers);
    Ok(Json(Page {
        items: page.items.into_iter().map(|c| candidate_view(c, lang)).collect(),
        next_cursor: page.next_cursor,
        total: page.total,
        total_is_estimate: page.total_is_estimate,
    }))
}

async fn get_candidate(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    headers: HeaderMap,
    raw: RawQuery,
) -> ApiResult<Json<CandidateView>> {
    let c = store::get_candidate(&state.db, &caller.0, id).await?;
    Ok(Json(candidate_view(c, lang(&raw, &headers))))
}

async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    headers: HeaderMap,
    raw: RawQuery,
) -> ApiResult<Json<CandidateView>> {
    let c = store::dismiss_candidate(&state.db, caller.writer()?, id).await?;
    Ok(Json(candidate_view(c, lang(&raw, &headers))))
}

/// What a merge request carries.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The record that stays.
    pub survivor_id: Uuid,
    /// The record merged into it and removed (an undo brings it back).
    pub merged_id: Uuid,
    /// Field → `survivor` or `merged`: whose value wins. Unnamed fields keep the survivor's value, or take the
    /// merged record's where the survivor has none. Emails, phones and tags are always combined.
    #[serde(default)]
    pub fields: BTreeMap<String, Side>,
    /// The candidate pair this merge resolves (found by the two ids when absent).
    #[serde(default)]
    pub candidate_id: Option<Uuid>,
    /// Refuse with 412 if the survivor is no longer at this version.
    #[serde(default)]
    pub survivor_version: Option<i64>,
    /// Refuse with 412 if the merged record is no longer at this version.
    #[serde(default)]
    pub merged_version: Option<i64>,
}

impl MergeInput {
    fn request(self) -> MergeRequest {
        MergeRequest {
            survivor_id: self.survivor_id,
            merged_id: self.merged_id,
            fields: self.fields,
            candidate_id: self.candidate_id,
            survivor_version: self.survivor_version,
            merged_version: self.merged_version,
        }
    }
}

#[derive(Serialize)]
pub struct MergeResponse<T> {
    pub merge: Merge,
    /// The survivor as it is after the merge.
    pub survivor: T,
}

async fn merge_contacts(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input, _): JsonBody<MergeInput>,
) -> ApiResult<Response> {
    let (merge, survivor) = merges::merge_contacts(&state.db, caller.writer()?, &input.request()).await?;
    Ok((StatusCode::CREATED, Json(MergeResponse { merge, survivor })).into_response())
}

async fn merge_companies(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input, _): JsonBody<MergeInput>,
) -> ApiResult<Response> {
    let (merge, survivor) = merges::merge_companies(&state.db, caller.writer()?, &input.request()).await?;
    Ok((StatusCode::CREATED, Json(MergeResponse { merge, survivor })).into_response())
}

/// One merge of a bulk request: a candidate pair, optionally with the survivor and field choices.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkMergeItem {
    pub candidate_id: Uuid,
    /// One of the pair's two records; the older one by default.
    #[serde(default)]
    pub survivor_id: Option<Uuid>,
    #[serde(default)]
    pub fields: BTreeMap<String, Side>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkMergeRequest {
    pub items: Vec<BulkMergeItem>,
}

/// The outcome of one merge of a bulk request: the log entry, or the problem that stopped it.
#[derive(Serialize)]
pub struct BulkMergeOutcome {
    pub candidate_id: Uuid,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::error::Problem>,
}

async fn merge_one(state: &AppState, actor: &Actor, item: BulkMergeItem) -> ApiResult<Merge> {
    let c = store::get_candidate(&state.db, actor, item.candidate_id).await?;
    if c.status != "open" {
        return Err(ApiError::Conflict(format!("this pair is already {}", c.status)));
    }
    let ids = [c.records[0].id, c.records[1].id];
    let survivor = item.survivor_id.unwrap_or(ids[0]);
    let Some(&merged) = ids.iter().find(|&&id| id != survivor).filter(|_| ids.contains(&survivor)) else {
        return Err(field_error("survivor_id", "not_this_pair", "must be one of the pair's two records"));
    };
    let req = MergeRequest {
        survivor_id: survivor,
        merged_id: merged,
        fields: item.fields,
        candidate_id: Some(c.id),
        survivor_version: Some(if survivor == ids[0] { c.records[0].version } else { c.records[1].version }),
        merged_version: Some(if merged == ids[0] { c.records[0].version } else { c.records[1].version }),
    };
    Ok(match c.object {
        DedupObject::Contact => merges::merge_contacts(&state.db, actor, &req).await?.0,
        DedupObject::Company => merges::merge_companies(&state.db, actor, &req).await?.0,
    })
}

/// Merges many candidate pairs, each in its own transaction, in the order given; each item reports its own
/// outcome (a pair whose record an earlier item merged away answers 404).
async fn merge_candidates(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req, _): JsonBody<BulkMergeRequest>,
) -> ApiResult<Json<Vec<BulkMergeOutcome>>> {
    let actor = caller.writer()?;
    if req.items.is_empty() || req.items.len() > MAX_BULK_MERGE {
        return Err(field_error("items", "out_of_range", "send between 1 and 100 merges"));
    }
    let mut out = Vec::with_capacity(req.items.len());
    for item in req.items {
        let candidate_id = item.candidate_id;
        match merge_one(&state, actor, item).await {
            Ok(merge) => out.push(BulkMergeOutcome { candidate_id, status: 201, merge: Some(merge), problem: None }),
            Err(e) => {
                let problem = e.problem();
                if problem.status >= 500 {
                    // Logged once here, as the error boundary would.
                    tracing::error!(error = %e, "bulk merge item failed");
                }
                out.push(BulkMergeOutcome { candidate_id, status: problem.status, merge: None, problem: Some(problem) })
            }
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub object: String,
    /// The record as it would be created (a contact or company input).
    pub record: Value,
    /// The record being edited, left out of the answer.
    #[serde(default)]
    pub exclude_id: Option<Uuid>,
}

#[derive(Serialize)]
pub struct SimilarView<T> {
    pub record: T,
    pub score: u8,
    pub reasons: Vec<ReasonView>,
}

fn similar_views<T>(list: Vec<Similar<T>>, lang: Lang) -> Vec<SimilarView<T>> {
    list.into_iter()
        .map(|s| SimilarView { reasons: reasons(&s.reasons, lang), record: s.record, score: s.score })
        .collect()
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum CheckResponse {
    Contacts { contacts: Vec<SimilarView<Contact>> },
    Companies { companies: Vec<SimilarView<Company>> },
}

/// Which records the caller can see look like this one, before it is created (what import and forms warn
/// with). The record is validated like a create.
async fn check(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    raw: RawQuery,
    JsonBody(req, _): JsonBody<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    let lang = lang(&raw, &headers);
    let bytes = serde_json::to_vec(&req.record).map_err(|e| ApiError::Internal(e.to_string()))?;
    let under = |e: ApiError| match e {
        ApiError::Invalid(v) => ApiError::Invalid(guanxi_core::ValidationErrors {
            errors: v.errors.into_iter().map(|e| e.under("record")).collect(),
        }),
        other => other,
    };
    match object(Some(&req.object))? {
        DedupObject::Contact => {
            let input: ContactInput = crate::extract::parse_json(&bytes).map_err(under)?;
            let defs = super::custom_defs(&state, Some(guanxi_core::custom_field::ObjectType::Contact)).await?;
            let draft = super::records::check_contact(&state, &defs, input).map_err(|e| under(e.into()))?;
            let found =
                store::similar_contacts(&state.db, &caller.0, &draft, req.exclude_id, state.config.default_region)
                    .await?;
            Ok(Json(CheckResponse::Contacts { contacts: similar_views(found, lang) }))
        }
        DedupObject::Company => {
            let input: CompanyInput = crate::extract::parse_json(&bytes).map_err(under)?;
            let defs = super::custom_defs(&state, Some(guanxi_core::custom_field::ObjectType::Company)).await?;
            let draft = input.validate(&defs).map_err(|e| under(e.into()))?;
            let found = store::similar_companies(&state.db, &caller.0, &draft, req.exclude_id).await?;
            Ok(Json(CheckResponse::Companies { companies: similar_views(found, lang) }))
        }
    }
}

/// `?object=contacts&limit=50&cursor=<id>`
async fn list_merges(State(state): State<AppState>, caller: Caller, raw: RawQuery) -> ApiResult<Json<Page<Merge>>> {
    let object = match raw.get("object") {
        None | Some("") => None,
        v => Some(object(v)?),
    };
    let limit = raw.limit()?.unwrap_or(50).clamp(1, 500) as usize;
    let before = match raw.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            Some(Uuid::parse_str(c).map_err(|_| field_error("cursor", "invalid_cursor", "not a cursor of this list"))?)
        }
    };
    Ok(Json(merges::list_merges(&state.db, &caller.0, object, before, limit).await?))
}

async fn get_merge(State(state): State<AppState>, caller: Caller, RecordId(id): RecordId) -> ApiResult<Json<Merge>> {
    Ok(Json(merges::get_merge(&state.db, &caller.0, id).await?))
}

/// Undoes a merge; 409 with the reason when it can no longer be undone exactly.
async fn undo(State(state): State<AppState>, caller: Caller, RecordId(id): RecordId) -> ApiResult<Json<Merge>> {
    Ok(Json(merges::undo(&state.db, caller.writer()?, id).await?))
}

/// The ids of visible contacts that look like `d`, for the `Possible-Duplicates` header of a create.
pub async fn similar_contact_ids(
    state: &AppState,
    actor: &Actor,
    d: &guanxi_core::contact::ContactDraft,
) -> ApiResult<Vec<Uuid>> {
    let found = store::similar_contacts(&state.db, actor, d, None, state.config.default_region).await?;
    Ok(found.into_iter().map(|s| s.record.id).collect())
}

pub async fn similar_company_ids(
    state: &AppState,
    actor: &Actor,
    d: &guanxi_core::company::CompanyDraft,
) -> ApiResult<Vec<Uuid>> {
    let found = store::similar_companies(&state.db, actor, d, None).await?;
    Ok(found.into_iter().map(|s| s.record.id).collect())
}
