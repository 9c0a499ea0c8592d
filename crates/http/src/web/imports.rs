//! Imports in the web UI: upload a file, check the proposed column mapping against a preview of the first rows,
//! choose the policy for existing records, start the import, watch it (the page refreshes itself while the job
//! runs, no JavaScript needed), read the rejected rows, cancel or undo.
//!
//! The work is the API's (`crate::api::imports`): the same mapping proposal, preview, job identity (the file's
//! SHA-256, so uploading the same file again resumes the earlier import) and background run. The uploaded file
//! waits between the preview and the start under the import folder as `web-<user>-<sha256>`: the name binds it
//! to its uploader, and the form carries only the hash, which is checked to be one before it becomes a path.

use super::form::{FormData, Opt};
use super::{Cx, Locale, OrPage, Page, WebError, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use crate::api::imports as api;
use crate::error::ApiError;
use crate::extract::RawQuery;
use axum::Form;
use axum::extract::{Multipart, OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use guanxi_core::contact::ContactRules;
use guanxi_core::custom_field::CustomFieldDef;
use guanxi_io::mapping::{ImportObject, Mapping};
use guanxi_store::StoreError;
use guanxi_store::imports::{self, ImportJob, JobStatus, MatchKey};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// Seconds between refreshes of a job's page while it runs.
const REFRESH_SECONDS: &str = "2";
/// Rejected rows listed on a job's page (the API pages through all of them).
const ERRORS_SHOWN: u32 = 200;
/// Uploads never started are removed after this long.
const STAGED_TTL: Duration = Duration::from_secs(24 * 3600);

fn object_of(value: Option<&str>) -> ImportObject {
    value.and_then(ImportObject::parse).unwrap_or(ImportObject::Contact)
}

fn type_options(current: ImportObject, locale: Locale) -> Vec<Opt> {
    ImportObject::ALL
        .into_iter()
        .map(|o| Opt::new(o.plural(), locale.t(&format!("nav.{}", o.plural())), current.plural()))
        .collect()
}

/// The staged upload of this user with this hash, if the hash is one (64 hex digits).
fn staged_path(state: &AppState, w: &WebUser, sha256: &str) -> Option<PathBuf> {
    let is_hash = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    is_hash.then(|| state.config.import_dir.join(format!("web-{}-{sha256}", w.user.id)))
}

/// Removes uploads that were previewed but never started (best effort: a failure only leaves a file behind).
async fn sweep_staged(state: &AppState) {
    let Ok(mut dir) = tokio::fs::read_dir(&state.config.import_dir).await else { return };
    let now = SystemTime::now();
    while let Ok(Some(e)) = dir.next_entry().await {
        if !e.file_name().to_string_lossy().starts_with("web-") {
            continue;
        }
        let old = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STAGED_TTL);
        if old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

fn status_text(job: &ImportJob, locale: Locale) -> &'static str {
    locale.t(&format!("imports.status.{}", job.status.as_str()))
}

fn is_active(s: JobStatus) -> bool {
    matches!(s, JobStatus::Queued | JobStatus::Running | JobStatus::Cancelling | JobStatus::Undoing)
}

/// A reason in the page's language, with the store's (English, precise) text after it.
fn reason(locale: Locale, code: &str, message: &str) -> String {
    format!("{} ({message})", locale.error(code))
}

/// What an API error says, in the page's language where the code is known, with the detail after it.
fn error_lines(e: &ApiError, locale: Locale) -> Vec<String> {
    match e {
        ApiError::Invalid(v) => v
            .errors
            .iter()
            .map(|f| {
                let place = f.field.strip_prefix("mapping/").unwrap_or(&f.field);
                format!("{place}: {}", reason(locale, f.code, &f.message))
            })
            .collect(),
        ApiError::Forbidden(_) => vec![locale.t("error.forbidden.message").to_string()],
        ApiError::PayloadTooLarge => vec![locale.t("imports.too_large").to_string()],
        other => vec![other.to_string()],
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The list of imports and the upload form

pub struct JobRow {
    pub id: Uuid,
    pub file_name: String,
    pub object: &'static str,
    pub status: &'static str,
    pub counts: String,
    pub when: String,
}

fn counts_text(job: &ImportJob, locale: Locale) -> String {
    let n = |v: i64| locale.int(v.max(0) as u64);
    locale
        .t("imports.counts")
        .replace("{0}", &n(job.rows_done))
        .replace("{1}", &n(job.rows_created))
        .replace("{2}", &n(job.rows_updated))
        .replace("{3}", &n(job.rows_failed))
}

#[derive(askama::Template)]
#[template(path = "imports/index.html")]
pub struct IndexPage {
    pub cx: Cx,
    pub types: Vec<Opt>,
    pub errors: Vec<String>,
    pub jobs: Vec<JobRow>,
}
page!(IndexPage, PreviewPage, JobPage);

async fn index_page(state: &AppState, w: &WebUser, object: ImportObject, errors: Vec<String>) -> WebResult<Response> {
    let locale = w.locale;
    let jobs = imports::list(&state.db, &w.actor, 50).await.or_page(locale)?;
    let page = IndexPage {
        cx: Cx::for_user(w, "imports", "/imports", locale.t("imports.title").into()),
        types: type_options(object, locale),
        jobs: jobs
            .iter()
            .map(|j| JobRow {
                id: j.id,
                file_name: j.file_name.clone(),
                object: ImportObject::parse(&j.object).map_or("", |o| locale.t(&format!("nav.{}", o.plural()))),
                status: status_text(j, locale),
                counts: counts_text(j, locale),
                when: locale.datetime(j.created_at),
            })
            .collect(),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `GET /imports?type=contacts`
pub async fn index(State(state): State<AppState>, w: WebUser, raw: Result<RawQuery, ApiError>) -> WebResult<Response> {
    let raw = raw.unwrap_or_default();
    index_page(&state, &w, object_of(raw.get("type")), Vec::new()).await
}

/// `POST /imports/upload` (multipart: `type`, `file`): keeps the file for the preview and goes there.
pub async fn upload(State(state): State<AppState>, w: WebUser, mut parts: Multipart) -> WebResult<Response> {
    let locale = w.locale;
    if !w.actor.can_write() {
        return Err(WebError::Forbidden(locale));
    }
    sweep_staged(&state).await;
    let mut object = ImportObject::Contact;
    let mut staged: Option<(api::Upload, String)> = None;
    let mut failure: Option<ApiError> = None;
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                failure = Some(ApiError::BadRequest(locale.t("imports.bad_upload").into()));
                break;
            }
        };
        match field.name() {
            Some("type") => object = object_of(field.text().await.ok().as_deref()),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").chars().take(200).collect::<String>();
                let prefix = format!("web-{}-part", w.user.id);
                match api::receive_stream(&state.config.import_dir, &prefix, field).await {
                    Ok(u) => staged = Some((u, name)),
                    Err(e) => failure = Some(e),
                }
            }
            _ => {}
        }
    }
    let upload = match (failure, staged) {
        (Some(e), _) => return index_page(&state, &w, object, error_lines(&e, locale)).await,
        (None, Some((u, name))) if u.bytes > 0 => (u, name),
        _ => return index_page(&state, &w, object, vec![locale.t("imports.no_file").into()]).await,
    };
    let (u, name) = upload;
    if let Err(e) = api::check_may_import(&w.actor, object) {
        return index_page(&state, &w, object, error_lines(&e, locale)).await;
    }
    let Some(to) = staged_path(&state, &w, &u.sha256) else {
        return Err(WebError::Internal(locale, "upload hash".into()));
    };
    let sha = u.sha256.clone();
    let from = u.keep();
    tokio::fs::rename(&from, &to).await.map_err(|e| WebError::Internal(locale, format!("staging: {e}")))?;
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("type", object.plural())
        .append_pair("file", &sha)
        .append_pair("name", &name)
        .finish();
    Ok(see_other(&format!("/imports/preview?{q}")))
}

// ---------------------------------------------------------------------------------------------------------------
// Preview: the mapping, the policy and the first rows

pub struct ColumnChoice {
    pub index: usize,
    pub header: String,
    pub options: Vec<Opt>,
}

pub struct PreviewRowView {
    pub line: u64,
    pub record: String,
    pub errors: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "imports/preview.html")]
pub struct PreviewPage {
    pub cx: Cx,
    pub object: &'static str,
    pub object_label: &'static str,
    pub file: String,
    pub name: String,
    pub source: String,
    pub preset: String,
    pub columns: Vec<ColumnChoice>,
    pub policies: Vec<Opt>,
    pub match_keys: Vec<Opt>,
    pub dry_run: bool,
    pub save_as: String,
    pub errors: Vec<String>,
    pub rows: Vec<PreviewRowView>,
}

/// The form's choices: `col.<n>` is the target of the n-th column (empty: not imported).
struct Choices {
    object: ImportObject,
    file: String,
    name: String,
    columns: Option<Vec<(usize, String)>>,
    policy: String,
    match_key: String,
    dry_run: bool,
    save_as: String,
}

impl Choices {
    fn from_pairs(f: &FormData) -> Choices {
        let cols: Vec<(usize, String)> =
            f.0.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("col.")?.parse().ok()?, v.trim().to_string())))
                .collect();
        Choices {
            object: object_of(Some(f.get("type"))),
            file: f.get("file").to_string(),
            name: f.opt("name").unwrap_or_else(|| "upload".into()),
            columns: (!cols.is_empty()).then_some(cols),
            policy: f.opt("policy").unwrap_or_else(|| "create_only".into()),
            match_key: f.get("match").to_string(),
            dry_run: f.checked("dry_run"),
            save_as: f.get("save_as").trim().to_string(),
        }
    }

    /// The mapping the form shows: the proposal for these headers, with the columns the person chose instead
    /// when there are any.
    fn mapping(&self, headers: &[String], defs: &[CustomFieldDef]) -> Mapping {
        let (proposed, _) = guanxi_io::mapping::propose(self.object.spec(), headers, defs);
        let Some(cols) = &self.columns else { return proposed };
        let mut m = proposed;
        m.columns.clear();
        for (i, target) in cols {
            if let Some(h) = headers.get(*i).filter(|_| !target.is_empty()) {
                m.columns.insert(h.clone(), target.clone());
            }
        }
        m
    }
}

/// The header row of a staged file (read on a blocking thread), or why it cannot be read.
async fn file_headers(
    path: &std::path::Path,
    locale: Locale,
) -> WebResult<Result<Vec<String>, guanxi_io::read::FileError>> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || guanxi_io::read::open(&p).map(|(info, _)| info.headers))
        .await
        .map_err(|e| WebError::Internal(locale, e.to_string()))
}

/// Reads the staged file's header and first rows with the form's mapping and shows them.
async fn preview_page(state: &AppState, w: &WebUser, c: &Choices, mut errors: Vec<String>) -> WebResult<Response> {
    let locale = w.locale;
    let path = staged_path(state, w, &c.file).filter(|p| p.exists());
    let Some(path) = path else {
        return index_page(state, w, c.object, vec![locale.t("imports.expired").into()]).await;
    };
    let defs =
        api::custom_fields_of(&state.db, c.object).await.map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let object = c.object;
    let region = state.config.default_region;
    let headers = match file_headers(&path, locale).await? {
        Ok(h) => h,
        Err(e) => {
            let msg = format!("{}: {e}", locale.t("imports.unreadable"));
            return index_page(state, w, object, vec![msg]).await;
        }
    };
    let mapping = c.mapping(&headers, &defs);
    let (defs2, m2) = (defs.clone(), mapping.clone());
    let preview = tokio::task::spawn_blocking(move || {
        let rules =
            ContactRules { default_region: region, custom_fields: &defs2, today: chrono::Utc::now().date_naive() };
        api::preview_file(object, &path, |_| Ok((m2, None)), &defs2, &rules)
    })
    .await
    .map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let (source, preset, rows) = match preview {
        Ok(p) => {
            let delim = match p.source.delimiter {
                Some('\t') => " · Tab".to_string(),
                Some(d) => format!(" · {d}"),
                None => String::new(),
            };
            let source = format!("{:?} · {}{delim}", p.source.format, p.source.encoding).to_uppercase();
            let rows = p.rows.iter().map(|r| preview_row(r, locale)).collect();
            (source, p.preset.map(|x| format!("{x:?}")).unwrap_or_default(), rows)
        }
        Err(e) => {
            errors.extend(error_lines(&e, locale));
            (String::new(), String::new(), Vec::new())
        }
    };
    let mut targets: Vec<String> = object.spec().targets.iter().map(|s| s.to_string()).collect();
    targets.extend(defs.iter().map(|d| format!("custom.{}", d.key)));
    let columns = headers
        .iter()
        .enumerate()
        .map(|(index, h)| {
            let current = mapping.columns.get(h).map_or("", String::as_str);
            let mut options = vec![Opt::new("", locale.t("imports.skip"), current)];
            options.extend(targets.iter().map(|t| Opt::new(t.as_str(), t.as_str(), current)));
            ColumnChoice { index, header: h.clone(), options }
        })
        .collect();
    let policies = ["create_only", "update_only", "create_or_update"]
        .into_iter()
        .map(|p| Opt::new(p, locale.t(&format!("imports.policy.{p}")), &c.policy))
        .collect();
    let default_key = api::default_match_key(object, &mapping).map_or("none", MatchKey::as_str);
    let chosen_key = if c.match_key.is_empty() { default_key } else { c.match_key.as_str() };
    let mut match_keys = vec![Opt::new("none", locale.t("imports.match.none"), chosen_key)];
    match_keys.extend(MatchKey::for_object(object).iter().map(|k| Opt::new(k.as_str(), k.as_str(), chosen_key)));
    let page = PreviewPage {
        cx: Cx::for_user(w, "imports", "/imports", locale.t("imports.preview.title").into()),
        object: object.plural(),
        object_label: locale.t(&format!("nav.{}", object.plural())),
        file: c.file.clone(),
        name: c.name.clone(),
        source,
        preset,
        columns,
        policies,
        match_keys,
        dry_run: c.dry_run,
        save_as: c.save_as.clone(),
        rows,
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// A previewed row in one line of text: the record's main values, or nothing when the row is rejected.
fn preview_row(r: &api::PreviewRow, locale: Locale) -> PreviewRowView {
    let record = match (&r.contact, &r.record) {
        (Some(c), _) => {
            let mut parts: Vec<String> = Vec::new();
            parts.extend(c.display_name.clone());
            parts.extend(c.emails.iter().map(|e| e.address.clone()));
            parts.extend(c.phones.iter().map(|p| p.number.clone()));
            parts.extend(r.company.clone());
            parts.extend(c.job_title.clone());
            parts.join(" · ")
        }
        (None, Some(v)) => match v {
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .map(|(k, v)| format!("{k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect::<Vec<_>>()
                .join(" · "),
            other => other.to_string(),
        },
        (None, None) => String::new(),
    };
    let errors = r
        .errors
        .iter()
        .map(|e| match &e.column {
            Some(col) => format!("{col}: {}", reason(locale, &e.code, &e.message)),
            None => reason(locale, &e.code, &e.message),
        })
        .collect();
    PreviewRowView { line: r.line, record, errors }
}

/// `GET /imports/preview?type=&file=&name=[&col.N=target…]`
pub async fn preview(State(state): State<AppState>, w: WebUser, OriginalUri(uri): OriginalUri) -> WebResult<Response> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    preview_page(&state, &w, &Choices::from_pairs(&FormData(pairs)), Vec::new()).await
}

/// `POST /imports/start`: the preview's form. Starts (or resumes) the import and goes to its page; any problem
/// with the mapping or the policy shows the preview again with the reasons.
pub async fn start(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let c = Choices::from_pairs(&FormData(f));
    let Some(path) = staged_path(&state, &w, &c.file).filter(|p| p.exists()) else {
        return index_page(&state, &w, c.object, vec![locale.t("imports.expired").into()]).await;
    };
    let defs =
        api::custom_fields_of(&state.db, c.object).await.map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let headers = file_headers(&path, locale).await?.unwrap_or_default();
    let mapping = c.mapping(&headers, &defs);
    let mapping_json = serde_json::to_string(&mapping).map_err(|e| WebError::Internal(locale, e.to_string()))?;
    if !c.save_as.is_empty() {
        let saved = async {
            api::check_mapping(c.object, &mapping, &headers, &defs)?;
            if c.save_as.chars().count() > 100 {
                return Err(crate::api::field_error("save_as", "too_long", "at most 100 characters"));
            }
            let value = serde_json::to_value(&mapping).map_err(|e| ApiError::Internal(e.to_string()))?;
            imports::save_mapping(&state.db, &w.actor, c.object.as_str(), &c.save_as, &value).await?;
            Ok::<_, ApiError>(())
        };
        if let Err(e) = saved.await {
            return preview_page(&state, &w, &c, error_lines(&e, locale)).await;
        }
    }
    let settings = api::ImportSettings {
        object: c.object,
        file_name: c.name.clone(),
        mapping_json: Some(&mapping_json),
        mapping_name: None,
        policy: Some(&c.policy),
        match_key: Some(&c.match_key).filter(|k| !k.is_empty()).map(|k| k.as_str()),
        dry_run: c.dry_run,
    };
    let (job, _resumed) = match api::prepare(&state.db, &w.actor, &path, &c.file, &settings).await {
        Ok(found) => found,
        Err(e) => return preview_page(&state, &w, &c, error_lines(&e, locale)).await,
    };
    if job.status == JobStatus::Done {
        let _ = tokio::fs::remove_file(&path).await;
    } else if let Err(e) = api::spawn_run(&state, &w.actor, c.object, job.id, path).await {
        return Err(WebError::Internal(locale, e.to_string()));
    }
    Ok(see_other(&format!("/imports/{}", job.id)))
}

// ---------------------------------------------------------------------------------------------------------------
// One import: progress, rejected rows, cancel, undo

pub struct ErrorRow {
    pub line: i64,
    pub column: String,
    pub message: String,
}

#[derive(askama::Template)]
#[template(path = "imports/job.html")]
pub struct JobPage {
    pub cx: Cx,
    pub id: Uuid,
    pub file_name: String,
    pub object_label: &'static str,
    pub status: &'static str,
    pub active: bool,
    pub failed: bool,
    pub counts: String,
    pub speed: String,
    pub policy: &'static str,
    pub dry_run: bool,
    pub started: String,
    pub finished: String,
    pub error: String,
    pub notice: Option<String>,
    pub can_cancel: bool,
    pub can_undo: bool,
    pub errors: Vec<ErrorRow>,
    pub more_errors: bool,
    pub errors_url: String,
}

/// `GET /imports/{id}[?notice=…]`
pub async fn show(
    State(state): State<AppState>,
    w: WebUser,
    Path(id): Path<String>,
    raw: Result<RawQuery, ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = super::form::record_id(&id, &w)?;
    let job = imports::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let errors = imports::errors(&state.db, &w.actor, id, 0, ERRORS_SHOWN).await.or_page(locale)?;
    let raw = raw.unwrap_or_default();
    let notice =
        raw.get("notice").filter(|k| NOTICES.contains(k)).map(|k| locale.t(&format!("imports.notice.{k}")).to_string());
    let active = is_active(job.status);
    let writer = w.actor.can_write();
    let page = JobPage {
        cx: Cx::for_user(&w, "imports", &format!("/imports/{id}"), job.file_name.clone()),
        id,
        file_name: job.file_name.clone(),
        object_label: ImportObject::parse(&job.object).map_or("", |o| locale.t(&format!("nav.{}", o.plural()))),
        status: status_text(&job, locale),
        active,
        failed: job.status == JobStatus::Failed,
        counts: counts_text(&job, locale),
        speed: locale.t1("imports.speed", &locale.int(job.rows_per_second.max(0.0).round() as u64)),
        policy: locale.t(&format!("imports.policy.{}", job.policy.as_str())),
        dry_run: job.dry_run,
        started: job.started_at.map(|t| locale.datetime(t)).unwrap_or_default(),
        finished: job.finished_at.map(|t| locale.datetime(t)).unwrap_or_default(),
        error: job.error.clone().unwrap_or_default(),
        notice,
        can_cancel: writer && matches!(job.status, JobStatus::Queued | JobStatus::Running),
        can_undo: writer
            && !job.dry_run
            && matches!(job.status, JobStatus::Done | JobStatus::Cancelled | JobStatus::Failed)
            && job.rows_created + job.rows_updated > 0,
        more_errors: errors.len() == ERRORS_SHOWN as usize,
        errors_url: format!("/api/v1/imports/{id}/errors"),
        errors: errors
            .into_iter()
            .map(|e| ErrorRow {
                line: e.line,
                column: e.column.unwrap_or_default(),
                message: reason(locale, &e.code, &e.message),
            })
            .collect(),
    };
    let mut resp = render(StatusCode::OK, &page);
    if active {
        // Reloads the page while the job runs: progress without JavaScript.
        resp.headers_mut().insert(header::REFRESH, HeaderValue::from_static(REFRESH_SECONDS));
    }
    Ok(resp)
}

/// What was asked of a job from its page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Cancel,
    Undo,
}

/// A refusal (cancel a finished import, undo one twice: the API's 409) is a notice on the job's page that says
/// why and what to do, read from the job's state, not an error page.
async fn after_action(
    state: &AppState,
    w: &WebUser,
    id: Uuid,
    action: Action,
    r: Result<(), StoreError>,
) -> WebResult<Response> {
    let notice = match r {
        Ok(()) if action == Action::Cancel => "cancelled",
        Ok(()) => "undone",
        Err(StoreError::Conflict(_)) => match imports::get(&state.db, &w.actor, id).await {
            Ok(job) => refusal_notice(&job, action),
            Err(_) => "conflict",
        },
        Err(e) => return Err(WebError::store(e, w.locale)),
    };
    Ok(see_other(&format!("/imports/{id}?notice={notice}")))
}

/// The notice key for a cancel or undo that the job's state refused.
fn refusal_notice(job: &imports::ImportJob, action: Action) -> &'static str {
    match (action, job.status) {
        (Action::Undo, _) if job.dry_run => "undo_dry_run",
        (_, JobStatus::Undoing | JobStatus::Undone) => "already_undone",
        (Action::Cancel, JobStatus::Cancelling | JobStatus::Cancelled) => "already_cancelled",
        (Action::Cancel, JobStatus::Done) => "cancel_finished",
        (Action::Undo, JobStatus::Queued | JobStatus::Running | JobStatus::Cancelling) => "undo_running",
        _ => "conflict",
    }
}

/// Notices the job page shows, by the key in `?notice=`.
const NOTICES: [&str; 8] = [
    "cancelled",
    "undone",
    "conflict",
    "already_cancelled",
    "cancel_finished",
    "already_undone",
    "undo_running",
    "undo_dry_run",
];

/// `POST /imports/{id}/cancel`
pub async fn cancel(State(state): State<AppState>, w: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id = super::form::record_id(&id, &w)?;
    let r = imports::cancel(&state.db, &w.actor, id).await.map(|_| ());
    after_action(&state, &w, id, Action::Cancel, r).await
}

/// `POST /imports/{id}/undo`
pub async fn undo(State(state): State<AppState>, w: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id = super::form::record_id(&id, &w)?;
    let r = imports::undo(&state.db, &w.actor, id).await.map(|_| ());
    after_action(&state, &w, id, Action::Undo, r).await
}
