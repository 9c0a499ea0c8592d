//! Imports through the API. The file is the request body (CSV or XLSX, any encoding the reader detects), streamed
//! to disk while its SHA-256 is computed; the job runs in the background and its progress, errors, cancel and
//! undo have their own routes:
//!
//! - `POST /api/v1/imports/preview?type=contacts[&mapping=JSON|&mapping_name=NAME]`: detected encoding and
//!   delimiter, the proposed mapping, and the first rows as they would be stored, with their errors.
//! - `POST /api/v1/imports?type=contacts&policy=create_only|update_only|create_or_update&match=external_id|email|phone&dry_run=true`
//!   starts the import (202), or resumes the caller's earlier import of the same file.
//!
//! `type` is `contacts`, `companies` (matched on `external_id`, `domain` or `name`), `products` (`sku`), `orders`
//! (`number`; one row per order line, consecutive lines with one number are one order) or `activities`
//! (`external_id`).
//! - `GET /api/v1/imports`, `GET /api/v1/imports/{id}`, `GET /api/v1/imports/{id}/errors?after_line=N`,
//!   `POST /api/v1/imports/{id}/cancel`, `POST /api/v1/imports/{id}/undo`.
//! - `GET /api/v1/imports/mappings?type=contacts`, `PUT /api/v1/imports/mappings/{name}?type=contacts`.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, RawQuery};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::StreamExt;
use guanxi_core::access::Actor;
use guanxi_core::contact::{ContactDraft, ContactInput, ContactRules};
use guanxi_core::custom_field::CustomFieldDef;
use guanxi_io::mapping::{ImportObject, Mapping, Preset};
use guanxi_io::read::{RowError, SourceInfo};
use guanxi_store::imports::{self, ImportJob, MatchKey, NewImport, Policy};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path as FsPath, PathBuf};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// Largest file accepted (a million-row contact export is a few hundred MB).
pub const MAX_UPLOAD: u64 = 2 * 1024 * 1024 * 1024;
/// Rows shown by a preview.
pub const PREVIEW_ROWS: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports", get(list).post(start).layer(DefaultBodyLimit::disable()))
        .route("/api/v1/imports/preview", post(preview).layer(DefaultBodyLimit::disable()))
        .route("/api/v1/imports/mappings", get(list_mappings))
        .route("/api/v1/imports/mappings/{name}", put(save_mapping))
        .route("/api/v1/imports/{id}", get(show))
        .route("/api/v1/imports/{id}/errors", get(errors))
        .route("/api/v1/imports/{id}/cancel", post(cancel))
        .route("/api/v1/imports/{id}/undo", post(undo))
}

/// The record type of an import (`type=contacts`, the default).
fn object(raw: &RawQuery) -> ApiResult<ImportObject> {
    parse_object(raw.get("type").unwrap_or("contacts"))
}

/// `contacts`, `companies`, `products`, `orders` or `activities` (or the singular).
pub fn parse_object(s: &str) -> ApiResult<ImportObject> {
    ImportObject::parse(s).ok_or_else(|| {
        super::field_error("type", "invalid_value", "must be contacts, companies, products, orders or activities")
    })
}

/// Only admins and managers keep the product catalogue.
pub fn check_may_import(actor: &Actor, object: ImportObject) -> ApiResult<()> {
    use guanxi_core::access::Role;
    if object == ImportObject::Product && !matches!(actor.role, Role::Admin | Role::Manager) {
        return Err(ApiError::Forbidden("only administrators and managers keep the product catalogue"));
    }
    Ok(())
}

/// The custom fields a column of this record type can fill.
pub async fn custom_fields_of(db: &guanxi_store::Db, object: ImportObject) -> ApiResult<Vec<CustomFieldDef>> {
    match object.custom_fields() {
        Some(o) => Ok(guanxi_store::custom_fields::list(db, Some(o)).await?),
        None => Ok(Vec::new()),
    }
}

/// A file on disk with its content hash; removed on drop unless kept.
pub struct Upload {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    keep: bool,
}

impl Upload {
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Streams a request body to a file under `dir`, hashing it on the way, up to [`MAX_UPLOAD`].
async fn receive(dir: &FsPath, body: Body) -> ApiResult<Upload> {
    receive_stream(dir, "upload", body.into_data_stream()).await
}

/// Streams any body (a request's, a multipart field's) to a new file `<prefix>-<id>` under `dir`, hashing it on
/// the way, up to [`MAX_UPLOAD`]. The file is removed again if anything fails.
pub async fn receive_stream<S, E>(dir: &FsPath, prefix: &str, mut stream: S) -> ApiResult<Upload>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    tokio::fs::create_dir_all(dir).await.map_err(|e| ApiError::Internal(format!("import folder: {e}")))?;
    let path = dir.join(format!("{prefix}-{}", guanxi_core::ids::new_id()));
    let mut upload = Upload { path: path.clone(), sha256: String::new(), bytes: 0, keep: false };
    let mut file = tokio::fs::File::create(&path).await.map_err(|e| ApiError::Internal(format!("import file: {e}")))?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("could not read the request body".into()))?;
        upload.bytes += chunk.len() as u64;
        if upload.bytes > MAX_UPLOAD {
            return Err(ApiError::PayloadTooLarge);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| ApiError::Internal(format!("import file: {e}")))?;
    }
    file.flush().await.map_err(|e| ApiError::Internal(format!("import file: {e}")))?;
    upload.sha256 = hex::encode(hasher.finalize());
    Ok(upload)
}

/// The SHA-256 of a file (the CLI's import identity; the API hashes while receiving).
pub fn file_sha256(path: &FsPath) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The mapping to use: given as JSON, named (saved earlier), or proposed from the headers.
pub async fn choose_mapping(
    db: &guanxi_store::Db,
    object: ImportObject,
    raw_json: Option<&str>,
    name: Option<&str>,
    headers: &[String],
    defs: &[CustomFieldDef],
) -> ApiResult<(Mapping, Option<Preset>)> {
    if let Some(j) = raw_json.filter(|s| !s.trim().is_empty()) {
        let m: Mapping = serde_json::from_str(j)
            .map_err(|e| super::field_error("mapping", "invalid_mapping", &format!("not a mapping: {e}")))?;
        return Ok((m, None));
    }
    if let Some(n) = name.filter(|s| !s.trim().is_empty()) {
        let saved = imports::mapping_by_name(db, object.as_str(), n)
            .await?
            .ok_or_else(|| super::field_error("mapping_name", "not_found", "no saved mapping of that name"))?;
        let m: Mapping = serde_json::from_value(saved.mapping)
            .map_err(|e| ApiError::Internal(format!("saved mapping unreadable: {e}")))?;
        return Ok((m, None));
    }
    Ok(guanxi_io::mapping::propose(object.spec(), headers, defs))
}

/// Checks a mapping against the headers, as field errors `mapping/<header>` (`mapping` for a required field no
/// column fills). A mapping that fills nothing is a `type` error: the file is probably of another type.
pub fn check_mapping(object: ImportObject, m: &Mapping, headers: &[String], defs: &[CustomFieldDef]) -> ApiResult<()> {
    if !guanxi_io::mapping::maps_anything(m) {
        let msg = format!("none of the file's columns is a field of {}; is it another type of file?", object.plural());
        return Err(super::field_error("type", "no_columns", &msg));
    }
    guanxi_io::mapping::check_columns(object.spec(), m, headers, defs).map(|_| ()).map_err(|errs| {
        let mut v = guanxi_core::ValidationErrors::new();
        for (h, msg) in errs {
            let field = if h.is_empty() { "mapping".to_string() } else { format!("mapping/{h}") };
            v.push(guanxi_core::FieldError::new(field, "invalid_mapping", msg));
        }
        ApiError::Invalid(v)
    })
}

/// Whether a column fills `target`.
fn mapped(m: &Mapping, target: &str) -> bool {
    m.columns.values().any(|t| t == target)
}

/// The default match key: the first key of the record type a column fills (contacts: external id, email, phone;
/// companies: external id, domain, name; products: SKU; orders: number; activities: external id).
pub fn default_match_key(object: ImportObject, m: &Mapping) -> Option<MatchKey> {
    MatchKey::for_object(object).iter().copied().find(|k| mapped(m, k.target()))
}

pub fn parse_policy(s: Option<&str>) -> ApiResult<Policy> {
    match s.unwrap_or("create_only") {
        "create_only" | "" => Ok(Policy::CreateOnly),
        "update_only" | "update" => Ok(Policy::UpdateOnly),
        "create_or_update" | "upsert" => Ok(Policy::CreateOrUpdate),
        _ => Err(super::field_error("policy", "invalid_value", "must be create_only, update_only or create_or_update")),
    }
}

pub fn parse_match(s: Option<&str>, object: ImportObject, m: &Mapping, policy: Policy) -> ApiResult<Option<MatchKey>> {
    let keys = MatchKey::for_object(object);
    let key = match s {
        None | Some("") => default_match_key(object, m),
        Some("none") => None,
        Some(k) => match MatchKey::parse(k).filter(|k| keys.contains(k)) {
            Some(k) => Some(k),
            None => {
                let names: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
                let msg = format!("{} are matched on {}", object.plural(), names.join(", "));
                return Err(super::field_error("match", "invalid_value", &msg));
            }
        },
    };
    if key.is_some_and(|k| !mapped(m, k.target())) {
        return Err(super::field_error("match", "not_mapped", "no column is mapped to this key"));
    }
    if key.is_none() && policy != Policy::CreateOnly {
        return Err(super::field_error("match", "required", "updating needs a key to match records on"));
    }
    Ok(key)
}

/// A previewed row: the record as it would be stored (`contact` for contacts, `record` for the other types; an
/// order row shows its line with the order's fields, before customers and products are looked up), or why it
/// would not be.
#[derive(Serialize)]
pub struct PreviewRow {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub external_id: Option<String>,
    pub errors: Vec<RowError>,
}

#[derive(Serialize)]
pub struct Preview {
    pub source: SourceInfo,
    pub preset: Option<Preset>,
    pub mapping: Mapping,
    /// Fields a column can be mapped to (plus `custom.KEY` for each custom field).
    pub targets: Vec<String>,
    pub rows: Vec<PreviewRow>,
}

/// The normalised input a draft stands for (what would be stored).
fn input_of(d: ContactDraft) -> ContactInput {
    ContactInput {
        family_name: d.family_name,
        given_name: d.given_name,
        display_name: Some(d.display_name),
        emails: d.emails,
        phones: d.phones,
        address: d.address,
        company_id: d.company_id,
        job_title: d.job_title,
        gender: d.gender,
        birthday: d.birthday,
        preferred_language: d.preferred_language,
        source: Some(d.source),
        source_detail: d.source_detail,
        tags: d.tags,
        owner_id: d.owner_id,
        visibility: Some(d.visibility),
        custom: d.custom,
    }
}

/// A preview row of a record type other than contacts.
fn preview_record(
    object: ImportObject,
    row: &guanxi_io::read::Row,
    plan: &guanxi_io::objects::Plan,
    defs: &[CustomFieldDef],
) -> PreviewRow {
    use guanxi_io::objects as o;
    let json = |v: Result<serde_json::Value, serde_json::Error>| v.ok();
    let placed = |line: u64, origins: &o::Origins, e: guanxi_core::ValidationErrors| -> Vec<RowError> {
        e.errors
            .into_iter()
            .map(|f| RowError::new(line, origins.column_of(&f.field), f.code, format!("{}: {}", f.field, f.message)))
            .collect()
    };
    let (record, external_id, mut errors) = match object {
        ImportObject::Company => {
            let (c, mut errs) = o::company_from_row(row, plan);
            if let Err(e) = c.input.validate(defs) {
                errs.extend(placed(c.line, &c.origins, e));
            }
            (json(serde_json::to_value(&c.input)), c.external_id, errs)
        }
        ImportObject::Product => {
            let (p, mut errs) = o::product_from_row(row, plan);
            if let Err(e) = p.input.validate(defs) {
                errs.extend(placed(p.line, &p.origins, e));
            }
            (json(serde_json::to_value(&p.input)), None, errs)
        }
        ImportObject::Order => {
            let (l, errs) = o::order_line_from_row(row, plan);
            let customer = [&l.customer.email, &l.customer.phone, &l.customer.external_id]
                .into_iter()
                .flatten()
                .map(|k| k.value.clone())
                .next()
                .or(l.customer.id.as_ref().map(|i| i.0.to_string()));
            let v = serde_json::json!({
                "number": l.number, "ordered_at": l.ordered_at, "status": l.status, "currency": l.currency,
                "customer": customer, "sku": l.sku.as_ref().map(|k| &k.value), "product_id": l.product_id,
                "description": l.description, "quantity": l.quantity, "unit_price_minor": l.unit_price_minor,
                "discount_minor": l.discount_minor, "custom": l.custom,
            });
            (Some(v), None, errs)
        }
        // Contacts have their own preview (`preview_file`); their plan is never an `objects::Plan`.
        ImportObject::Contact => (None, None, Vec::new()),
        ImportObject::Activity => {
            let (a, errs) = o::activity_from_row(row, plan);
            let contact = [&a.contact.email, &a.contact.phone, &a.contact.external_id]
                .into_iter()
                .flatten()
                .map(|k| k.value.clone())
                .next()
                .or(a.contact.id.as_ref().map(|i| i.0.to_string()));
            let company = [&a.company.name, &a.company.domain]
                .into_iter()
                .flatten()
                .map(|k| k.value.clone())
                .next()
                .or(a.company.id.as_ref().map(|i| i.0.to_string()));
            let v = serde_json::json!({
                "kind": a.kind.unwrap_or(guanxi_core::activity::ActivityKind::Note), "occurred_at": a.occurred_at,
                "subject": a.subject, "body": a.body, "contact": contact, "company": company,
            });
            (Some(v), a.external_id, errs)
        }
    };
    errors.sort_by_key(|e| e.column.clone());
    let ok = errors.is_empty();
    PreviewRow { line: row.line, contact: None, record: record.filter(|_| ok), company: None, external_id, errors }
}

/// Reads the header and the first rows of a file with a mapping: what preview shows and the CLI prints.
pub fn preview_file(
    object: ImportObject,
    path: &FsPath,
    mapping_for: impl FnOnce(&[String]) -> ApiResult<(Mapping, Option<Preset>)>,
    defs: &[CustomFieldDef],
    rules: &ContactRules<'_>,
) -> ApiResult<Preview> {
    let (source, rows) =
        guanxi_io::read::open(path).map_err(|e| super::field_error("file", "unreadable", &e.to_string()))?;
    let (mapping, preset) = mapping_for(&source.headers)?;
    check_mapping(object, &mapping, &source.headers, defs)?;
    let unfit = |_| ApiError::Internal("the checked mapping does not fit".into());
    let contact_plan = match object {
        ImportObject::Contact => {
            Some(guanxi_io::mapping::contact_plan(&mapping, &source.headers, defs).map_err(unfit)?)
        }
        _ => None,
    };
    let plan = match object {
        ImportObject::Contact => None,
        _ => Some(
            guanxi_io::objects::plan(object, &mapping, &source.headers, defs, rules.default_region).map_err(unfit)?,
        ),
    };
    let mut out = Vec::new();
    for r in rows.take(PREVIEW_ROWS) {
        let row = match r {
            Err(e) => PreviewRow {
                line: e.line,
                contact: None,
                record: None,
                company: None,
                external_id: None,
                errors: vec![e],
            },
            Ok(row) => match (&contact_plan, &plan) {
                (_, Some(plan)) => preview_record(object, &row, plan, defs),
                (Some(plan), None) => {
                    let (c, mut errors) = guanxi_io::mapping::contact_from_row(&row, plan);
                    let contact = match c.input.validate(rules) {
                        Ok(d) if errors.is_empty() => Some(input_of(d)),
                        Ok(_) => None,
                        Err(e) => {
                            errors.extend(imports::row_errors(&c, e));
                            None
                        }
                    };
                    PreviewRow {
                        line: c.line,
                        contact,
                        record: None,
                        company: c.company_name.clone(),
                        external_id: c.external_id.clone(),
                        errors,
                    }
                }
                (None, None) => continue,
            },
        };
        out.push(row);
    }
    let mut targets: Vec<String> = object.spec().targets.iter().map(|s| s.to_string()).collect();
    targets.extend(defs.iter().map(|d| format!("custom.{}", d.key)));
    Ok(Preview { source, preset, mapping, targets, rows: out })
}

fn import_dir(state: &AppState) -> PathBuf {
    state.config.import_dir.clone()
}

async fn preview(State(state): State<AppState>, caller: Caller, raw: RawQuery, body: Body) -> ApiResult<Response> {
    let actor = caller.writer()?;
    let object = object(&raw)?;
    check_may_import(actor, object)?;
    let upload = receive(&import_dir(&state), body).await?;
    let defs = custom_fields_of(&state.db, object).await?;
    let db = state.db.clone();
    let mapping_json = raw.get("mapping").map(str::to_string);
    let mapping_name = raw.get("mapping_name").map(str::to_string);
    // A saved mapping is looked up before the (blocking) file read.
    let named = match mapping_name.as_deref() {
        Some(n) => Some(choose_mapping(&db, object, None, Some(n), &[], &defs).await?),
        None => None,
    };
    let region = state.config.default_region;
    let preview = tokio::task::spawn_blocking(move || {
        let rules =
            ContactRules { default_region: region, custom_fields: &defs, today: chrono::Utc::now().date_naive() };
        let path = upload.path.clone();
        let result = preview_file(
            object,
            &path,
            |headers| match (named, mapping_json) {
                (Some(m), _) => Ok(m),
                (None, Some(j)) => {
                    let m: Mapping = serde_json::from_str(&j).map_err(|e| {
                        super::field_error("mapping", "invalid_mapping", &format!("not a mapping: {e}"))
                    })?;
                    Ok((m, None))
                }
                (None, None) => Ok(guanxi_io::mapping::propose(object.spec(), headers, &defs)),
            },
            &defs,
            &rules,
        );
        drop(upload);
        result
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(axum::Json(preview).into_response())
}

/// The import's job, and whether it was started earlier (this request resumed it or found it finished).
#[derive(Serialize)]
pub struct Started {
    #[serde(flatten)]
    pub job: ImportJob,
    pub resumed: bool,
}

/// Everything that identifies an import, from the request or the CLI's flags.
pub struct ImportSettings<'a> {
    pub object: ImportObject,
    pub file_name: String,
    pub mapping_json: Option<&'a str>,
    pub mapping_name: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub match_key: Option<&'a str>,
    pub dry_run: bool,
}

/// Reads the header, settles the mapping and the policy, and finds or creates the job for this file.
pub async fn prepare(
    db: &guanxi_store::Db,
    actor: &Actor,
    path: &FsPath,
    sha256: &str,
    s: &ImportSettings<'_>,
) -> ApiResult<(ImportJob, bool)> {
    check_may_import(actor, s.object)?;
    let defs = custom_fields_of(db, s.object).await?;
    let p = path.to_path_buf();
    let headers = tokio::task::spawn_blocking(move || guanxi_io::read::open(&p).map(|(info, _)| info.headers))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| super::field_error("file", "unreadable", &e.to_string()))?;
    let (mapping, _) = choose_mapping(db, s.object, s.mapping_json, s.mapping_name, &headers, &defs).await?;
    check_mapping(s.object, &mapping, &headers, &defs)?;
    let policy = parse_policy(s.policy)?;
    let match_key = parse_match(s.match_key, s.object, &mapping, policy)?;
    let new = NewImport {
        object: s.object.as_str(),
        file_name: s.file_name.clone(),
        content_hash: sha256.to_string(),
        mapping: serde_json::to_value(&mapping).map_err(|e| ApiError::Internal(e.to_string()))?,
        policy,
        match_key,
        dry_run: s.dry_run,
    };
    Ok(imports::find_or_create(db, actor, &new).await?)
}

async fn start(State(state): State<AppState>, caller: Caller, raw: RawQuery, body: Body) -> ApiResult<Response> {
    let actor = caller.writer()?.clone();
    let object = object(&raw)?;
    let dry_run = match raw.get("dry_run") {
        None | Some("false") | Some("0") | Some("") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(super::field_error("dry_run", "invalid_value", "must be true or false")),
    };
    let upload = receive(&import_dir(&state), body).await?;
    if upload.bytes == 0 {
        return Err(super::field_error("file", "empty", "the request body (the file) is empty"));
    }
    let settings = ImportSettings {
        object,
        file_name: raw.get("file_name").unwrap_or("upload").to_string(),
        mapping_json: raw.get("mapping"),
        mapping_name: raw.get("mapping_name"),
        policy: raw.get("policy"),
        match_key: raw.get("match"),
        dry_run,
    };
    let (job, resumed) = prepare(&state.db, &actor, &upload.path, &upload.sha256, &settings).await?;
    if !matches!(job.status, imports::JobStatus::Done) {
        spawn_run(&state, &actor, object, job.id, upload.keep()).await?;
    }
    let job = imports::get(&state.db, &actor, job.id).await?;
    let location = format!("/api/v1/imports/{}", job.id);
    let mut resp = (StatusCode::ACCEPTED, axum::Json(Started { job, resumed })).into_response();
    if let Ok(loc) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// Runs (or resumes) an import job in the background; the file at `path` is removed when the run ends.
pub async fn spawn_run(
    state: &AppState,
    actor: &Actor,
    object: ImportObject,
    id: Uuid,
    path: PathBuf,
) -> ApiResult<()> {
    let run = imports::ImportRun {
        path: path.clone(),
        custom_fields: custom_fields_of(&state.db, object).await?,
        default_region: state.config.default_region,
        batch_rows: state.config.import_batch_rows.max(1),
    };
    let (db, a) = (state.db.clone(), actor.clone());
    tokio::spawn(async move {
        if let Err(e) = imports::run(&db, &a, id, run, |_| {}).await {
            tracing::warn!(import = %id, error = %e, "import stopped");
        }
        let _ = tokio::fs::remove_file(&path).await;
    });
    Ok(())
}

async fn list(State(state): State<AppState>, caller: Caller, raw: RawQuery) -> ApiResult<axum::Json<Vec<ImportJob>>> {
    let limit = raw.limit()?.unwrap_or(50);
    Ok(axum::Json(imports::list(&state.db, &caller.0, limit).await?))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ImportJob>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    Ok(axum::Json(imports::get(&state.db, &caller.0, id).await?))
}

#[derive(Serialize)]
struct ErrorPage {
    items: Vec<imports::ImportRowError>,
    /// Pass as `after_line` for the next page.
    next_after_line: Option<i64>,
}

async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    raw: RawQuery,
) -> ApiResult<axum::Json<ErrorPage>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let after = match raw.get("after_line") {
        None | Some("") => 0,
        Some(s) => {
            s.parse::<i64>().map_err(|_| super::field_error("after_line", "invalid_value", "must be a line number"))?
        }
    };
    let limit = raw.limit()?.unwrap_or(500).clamp(1, 5000);
    let items = imports::errors(&state.db, &caller.0, id, after, limit).await?;
    let next_after_line = if items.len() == limit as usize { items.last().map(|e| e.line) } else { None };
    Ok(axum::Json(ErrorPage { items, next_after_line }))
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ImportJob>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    Ok(axum::Json(imports::cancel(&state.db, caller.writer()?, id).await?))
}

async fn undo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<imports::UndoSummary>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    Ok(axum::Json(imports::undo(&state.db, caller.writer()?, id).await?))
}

async fn list_mappings(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawQuery,
) -> ApiResult<axum::Json<Vec<imports::SavedMapping>>> {
    let _ = caller;
    let object = object(&raw)?;
    Ok(axum::Json(imports::list_mappings(&state.db, object.as_str()).await?))
}

async fn save_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    raw: RawQuery,
    JsonBody(mapping, _): JsonBody<Mapping>,
) -> ApiResult<axum::Json<imports::SavedMapping>> {
    let actor = caller.writer()?;
    let object = object(&raw)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(super::field_error("name", "invalid_value", "1 to 100 characters"));
    }
    let defs = custom_fields_of(&state.db, object).await?;
    // Targets are checked now; headers when the mapping is used with a file.
    let headers: Vec<String> = mapping.columns.keys().cloned().collect();
    check_mapping(object, &mapping, &headers, &defs)?;
    let value = serde_json::to_value(&mapping).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(axum::Json(imports::save_mapping(&state.db, actor, object.as_str(), name, &value).await?))
}
