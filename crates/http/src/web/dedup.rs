//! Duplicates in the web UI: start a scan and watch it (the page refreshes itself while it runs, no JavaScript
//! needed), the candidate pairs with their score and reasons, a merge page for one pair (both records side by
//! side, a choice per field and of the surviving record, then a confirmation), bulk merges from the list, and
//! the merge history with undo.
//!
//! The rules live in `guanxi_store::dedup` and `guanxi_store::merges` (the same calls as the API): candidates
//! are listed only when the caller can see both records, and a merge or undo needs the right to change both.

use super::form::{FormData, page_url, record_id, total_text};
use super::{Cx, Locale, OrPage, Page, WebError, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::Form;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use guanxi_core::access::Role;
use guanxi_core::company::Company;
use guanxi_core::contact::{Contact, PostalAddress};
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_dedup::{Lang, Reason};
use guanxi_store::StoreError;
use guanxi_store::dedup::{self as store, Candidate, DedupObject, Scan};
use guanxi_store::merges::{self, Merge, MergeRequest, Side};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Seconds between refreshes of the page while a scan runs.
const REFRESH_SECONDS: &str = "2";
/// Candidate pairs per page; also the most a bulk merge takes at once.
const PAGE: usize = 50;

/// `contacts` or `companies`, as in the URLs.
fn plural(o: DedupObject) -> &'static str {
    match o {
        DedupObject::Contact => "contacts",
        DedupObject::Company => "companies",
    }
}

/// The records a page is about: `?object=` (or a form's `object`), contacts when absent or unknown.
fn object_of(value: Option<&str>) -> DedupObject {
    value.and_then(DedupObject::parse).unwrap_or(DedupObject::Contact)
}

/// Scans read every record: admins and managers start them (as in the API).
pub fn can_scan(w: &WebUser) -> bool {
    w.actor.role != Role::Member && w.actor.can_write()
}

fn lang(locale: Locale) -> Lang {
    Lang::from_tag(locale.tag())
}

fn reason_texts(reasons: &[Reason], locale: Locale) -> Vec<String> {
    reasons.iter().map(|r| r.text(lang(locale))).collect()
}

fn record_href(o: DedupObject, id: Uuid) -> String {
    format!("/{}/{id}", plural(o))
}

/// The section tabs: contacts and companies.
fn tabs(path: &str, current: DedupObject, locale: Locale) -> Vec<(String, &'static str, bool)> {
    [DedupObject::Contact, DedupObject::Company]
        .into_iter()
        .map(|o| (format!("{path}?object={}", plural(o)), locale.t(&format!("nav.{}", plural(o))), o == current))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The scan and the candidate list

/// The latest scan as the page shows it.
pub struct ScanView {
    pub running: bool,
    pub failed: bool,
    pub status: String,
    /// Progress of the current phase, for `<progress>`.
    pub done: u64,
    pub total: u64,
    pub progress: String,
    pub error: String,
}

fn scan_view(s: &Scan, locale: Locale) -> ScanView {
    let n = |v: i64| locale.int(v.max(0) as u64);
    let status = match s.status.as_str() {
        "running" => locale.t1("dedup.scan.running", locale.t(&format!("dedup.phase.{}", s.phase))),
        "failed" => locale.t1("dedup.scan.failed", &locale.datetime(s.started_at)),
        _ => locale
            .t("dedup.scan.succeeded")
            .replace("{0}", &locale.datetime(s.finished_at.unwrap_or(s.started_at)))
            .replace("{1}", &n(s.records))
            .replace("{2}", &n(s.pairs))
            .replace("{3}", &format!("{:.1}", s.duration_ms.unwrap_or(0) as f64 / 1000.0)),
    };
    ScanView {
        running: s.is_running(),
        failed: s.status == "failed",
        status,
        done: s.progress_done.max(0) as u64,
        total: s.progress_total.max(0) as u64,
        progress: locale
            .t("dedup.scan.progress")
            .replace("{0}", &n(s.progress_done))
            .replace("{1}", &n(s.progress_total))
            .replace("{2}", &n(s.pairs)),
        error: match &s.error {
            // The store's text is English and technical; it is in the server log.
            Some(_) if s.was_interrupted() => locale.t("dedup.scan.interrupted").into(),
            Some(_) => locale.t("dedup.scan.error").into(),
            None => String::new(),
        },
    }
}

pub struct PairRow {
    pub id: Uuid,
    pub score: i64,
    pub names: [(String, String, String); 2],
    pub reasons: Vec<String>,
}

fn pair_row(c: &Candidate, locale: Locale) -> PairRow {
    let side = |i: usize| {
        let r = &c.records[i];
        (r.name.clone(), record_href(c.object, r.id), r.detail.clone().unwrap_or_default())
    };
    PairRow { id: c.id, score: c.score, names: [side(0), side(1)], reasons: reason_texts(&c.reasons, locale) }
}

#[derive(askama::Template)]
#[template(path = "dedup/index.html")]
pub struct IndexPage {
    pub cx: Cx,
    pub object: &'static str,
    pub tabs: Vec<(String, &'static str, bool)>,
    pub can_scan: bool,
    pub scan: Option<ScanView>,
    pub notice: Option<String>,
    pub rows: Vec<PairRow>,
    pub total: String,
    pub next_url: Option<String>,
    pub first_url: Option<String>,
}

/// `GET /dedup?object=contacts&cursor=…`
pub async fn index(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let raw = raw.unwrap_or_default();
    let object = object_of(raw.get("object"));
    let scan = store::recent_scans(&state.db, object, 1).await.or_page(locale)?.into_iter().next();
    let cursor = raw.cursor.as_deref().and_then(|c| guanxi_core::filter::Cursor::decode(c).ok());
    let found =
        store::list_candidates(&state.db, &w.actor, object, None, cursor.as_ref(), PAGE).await.or_page(locale)?;
    let query = uri.query().unwrap_or("");
    let notice = match raw.get("notice") {
        Some("scan_running") => Some(locale.t("dedup.notice.scan_running").to_string()),
        Some("dismissed") => Some(locale.t("dedup.notice.dismissed").to_string()),
        _ => None,
    };
    let running = scan.as_ref().is_some_and(Scan::is_running);
    let page = IndexPage {
        cx: Cx::for_user(
            &w,
            plural(object),
            uri.path_and_query().map_or("/dedup", |p| p.as_str()),
            locale.t("dedup.title").into(),
        ),
        object: plural(object),
        tabs: tabs("/dedup", object, locale),
        can_scan: can_scan(&w),
        scan: scan.as_ref().map(|s| scan_view(s, locale)),
        notice,
        rows: found.items.iter().map(|c| pair_row(c, locale)).collect(),
        total: total_text(locale, "dedup.total", found.total, found.total_is_estimate),
        next_url: found.next_cursor.map(|c| page_url("/dedup", query, Some(&c))),
        first_url: raw.cursor.as_ref().map(|_| page_url("/dedup", query, None)),
    };
    let mut resp = render(StatusCode::OK, &page);
    if running {
        // Reloads the page while the scan runs: progress without JavaScript.
        resp.headers_mut().insert(header::REFRESH, HeaderValue::from_static(REFRESH_SECONDS));
    }
    Ok(resp)
}

/// `POST /dedup/scans` (`object`): starts a scan in the background and goes back to the list, which shows its
/// progress. A scan already running is shown rather than refused.
pub async fn start_scan(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let f = FormData(f);
    let object = object_of(Some(f.get("object")));
    if !can_scan(&w) {
        return Err(WebError::Forbidden(w.locale));
    }
    let to = format!("/dedup?object={}", plural(object));
    match crate::api::dedup::spawn_scan(&state, &w.actor, object).await {
        Ok(_) => Ok(see_other(&to)),
        Err(StoreError::Conflict(_)) => Ok(see_other(&format!("{to}&notice=scan_running"))),
        Err(e) => Err(WebError::store(e, w.locale)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// One pair: choose, confirm, merge

/// A field of the merge page: the two records' values and which one wins.
pub struct FieldChoice {
    /// `display_name`, `custom.vip_level`, … (the merge request's field name); radio name `f.<key>`.
    pub key: String,
    pub label: String,
    pub values: [String; 2],
    /// Whether the values differ, so there is something to choose.
    pub choose: bool,
    /// The side whose value wins: 0 or 1.
    pub chosen: usize,
    /// Shown instead of a choice for values that are combined (emails, phones, tags).
    pub combined: bool,
}

impl FieldChoice {
    pub fn input_name(&self) -> String {
        format!("f.{}", self.key)
    }

    pub fn id(&self, side: usize) -> String {
        format!("f-{}-{side}", self.key.replace('.', "-"))
    }
}

fn opt_text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn address_text(a: &PostalAddress) -> String {
    [&a.country, &a.province, &a.city, &a.district, &a.street, &a.postcode]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(" ")
}

fn custom_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => {
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), String::from)).collect::<Vec<_>>().join(", ")
        }
        Some(other) => other.to_string(),
    }
}

/// What the merge page needs to name: users, companies a contact points at, custom field labels.
struct Names {
    users: HashMap<Uuid, String>,
    companies: HashMap<Uuid, String>,
    defs: Vec<CustomFieldDef>,
}

/// A row of the merge page: `(key, label, [value a, value b], combined)`.
type Row = (String, String, [String; 2], bool);

/// The rows of the merge page. Fields whose values a merge always combines are shown without a choice.
fn contact_fields(r: &[Contact; 2], n: &Names, locale: Locale) -> Vec<Row> {
    let both = |f: &dyn Fn(&Contact) -> String| [f(&r[0]), f(&r[1])];
    let t = |k: &str| locale.t(k).to_string();
    let joined = |v: Vec<&str>| v.join(", ");
    let company = |c: &Contact| {
        c.company_id.map(|id| n.companies.get(&id).cloned().unwrap_or_else(|| t("dedup.hidden"))).unwrap_or_default()
    };
    let mut out: Vec<Row> = vec![
        ("display_name".into(), t("field.display_name"), both(&|c| c.display_name.clone()), false),
        ("family_name".into(), t("field.family_name"), both(&|c| opt_text(&c.family_name)), false),
        ("given_name".into(), t("field.given_name"), both(&|c| opt_text(&c.given_name)), false),
        (
            "emails".into(),
            t("field.email"),
            both(&|c| joined(c.emails.iter().map(|e| e.address.as_str()).collect())),
            true,
        ),
        (
            "phones".into(),
            t("field.phone"),
            both(&|c| joined(c.phones.iter().map(|p| p.number.as_str()).collect())),
            true,
        ),
        ("company_id".into(), t("field.company"), both(&company), false),
        ("job_title".into(), t("field.job_title"), both(&|c| opt_text(&c.job_title)), false),
        ("address".into(), t("dedup.field.address"), both(&|c| address_text(&c.address)), false),
        (
            "gender".into(),
            t("dedup.field.gender"),
            both(&|c| c.gender.map(|g| t(&format!("gender.{}", g.as_str()))).unwrap_or_default()),
            false,
        ),
        (
            "birthday".into(),
            t("dedup.field.birthday"),
            both(&|c| c.birthday.map(|d| locale.date(d)).unwrap_or_default()),
            false,
        ),
        (
            "preferred_language".into(),
            t("dedup.field.preferred_language"),
            both(&|c| opt_text(&c.preferred_language)),
            false,
        ),
        ("source".into(), t("field.source"), both(&|c| t(&format!("source.{}", c.source.as_str()))), false),
        ("source_detail".into(), t("dedup.field.source_detail"), both(&|c| opt_text(&c.source_detail)), false),
    ];
    out.extend(shared_rows(r, n, locale));
    out
}

fn company_fields(r: &[Company; 2], n: &Names, locale: Locale) -> Vec<Row> {
    let both = |f: &dyn Fn(&Company) -> String| [f(&r[0]), f(&r[1])];
    let t = |k: &str| locale.t(k).to_string();
    let mut out: Vec<Row> = vec![
        ("name".into(), t("field.record_name"), both(&|c| c.name.clone()), false),
        ("domain".into(), t("field.domain"), both(&|c| opt_text(&c.domain)), false),
        ("industry".into(), t("field.industry"), both(&|c| opt_text(&c.industry)), false),
        (
            "size_band".into(),
            t("field.size_band"),
            both(&|c| c.size_band.map(|s| s.as_str().to_string()).unwrap_or_default()),
            false,
        ),
        ("address".into(), t("dedup.field.address"), both(&|c| address_text(&c.address)), false),
    ];
    out.extend(shared_rows(r, n, locale));
    out
}

/// What contacts and companies both have: owner and visibility, tags, custom fields.
trait Record {
    fn ownership(&self) -> guanxi_core::access::Ownership;
    fn tags(&self) -> &[String];
    fn custom(&self) -> &Map<String, Value>;
}

impl Record for Contact {
    fn ownership(&self) -> guanxi_core::access::Ownership {
        Contact::ownership(self)
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Record for Company {
    fn ownership(&self) -> guanxi_core::access::Ownership {
        Company::ownership(self)
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

/// The rows every record type has: owner, visibility, tags (combined) and the custom fields.
fn shared_rows<R: Record>(r: &[R; 2], n: &Names, locale: Locale) -> Vec<Row> {
    let user = |id: Option<Uuid>| id.and_then(|i| n.users.get(&i).cloned()).unwrap_or_default();
    let visibility = |x: &R| locale.t(&format!("visibility.{}", x.ownership().visibility.as_str())).to_string();
    let mut out: Vec<Row> = vec![
        ("owner".into(), locale.t("field.owner").into(), r.each_ref().map(|x| user(x.ownership().owner_id)), false),
        ("visibility".into(), locale.t("field.visibility").into(), r.each_ref().map(visibility), false),
        ("tags".into(), locale.t("field.tags").into(), r.each_ref().map(|x| x.tags().join(", ")), true),
    ];
    out.extend(n.defs.iter().map(|d| {
        let v = r.each_ref().map(|x| custom_text(x.custom().get(&d.key)));
        (format!("custom.{}", d.key), d.label.clone(), v, false)
    }));
    out
}

/// The two records of a pair, loaded with the caller's visibility (a hidden one is a missing page).
enum Records {
    Contacts(Box<[Contact; 2]>),
    Companies(Box<[Company; 2]>),
}

impl Records {
    fn ids(&self) -> [Uuid; 2] {
        match self {
            Records::Contacts(r) => [r[0].id, r[1].id],
            Records::Companies(r) => [r[0].id, r[1].id],
        }
    }

    fn versions(&self) -> [i64; 2] {
        match self {
            Records::Contacts(r) => [r[0].version, r[1].version],
            Records::Companies(r) => [r[0].version, r[1].version],
        }
    }

    fn names(&self) -> [String; 2] {
        match self {
            Records::Contacts(r) => [r[0].display_name.clone(), r[1].display_name.clone()],
            Records::Companies(r) => [r[0].name.clone(), r[1].name.clone()],
        }
    }

    fn created(&self) -> [chrono::DateTime<chrono::Utc>; 2] {
        match self {
            Records::Contacts(r) => [r[0].created_at, r[1].created_at],
            Records::Companies(r) => [r[0].created_at, r[1].created_at],
        }
    }
}

async fn load_records(state: &AppState, w: &WebUser, c: &Candidate) -> WebResult<Records> {
    let locale = w.locale;
    let [a, b] = [c.records[0].id, c.records[1].id];
    Ok(match c.object {
        DedupObject::Contact => {
            let x = guanxi_store::contacts::get(&state.db, &w.actor, a).await.or_page(locale)?;
            let y = guanxi_store::contacts::get(&state.db, &w.actor, b).await.or_page(locale)?;
            Records::Contacts(Box::new([x, y]))
        }
        DedupObject::Company => {
            let x = guanxi_store::companies::get(&state.db, &w.actor, a).await.or_page(locale)?;
            let y = guanxi_store::companies::get(&state.db, &w.actor, b).await.or_page(locale)?;
            Records::Companies(Box::new([x, y]))
        }
    })
}

async fn names(state: &AppState, w: &WebUser, records: &Records) -> WebResult<Names> {
    let locale = w.locale;
    let users = super::contacts::user_names(state, locale).await?;
    let (companies, kind) = match records {
        Records::Contacts(r) => {
            let ids: Vec<Uuid> = r.iter().filter_map(|c| c.company_id).collect();
            (
                guanxi_store::companies::visible_names(&state.db, &w.actor, &ids).await.or_page(locale)?,
                ObjectType::Contact,
            )
        }
        Records::Companies(_) => (HashMap::new(), ObjectType::Company),
    };
    let defs = guanxi_store::custom_fields::list(&state.db, Some(kind)).await.or_page(locale)?;
    Ok(Names { users, companies, defs })
}

#[derive(askama::Template)]
#[template(path = "dedup/pair.html")]
pub struct PairPage {
    pub cx: Cx,
    pub object: &'static str,
    pub candidate: Uuid,
    pub score: String,
    pub status: String,
    pub reasons: Vec<String>,
    /// (id, name, link, "created …")
    pub sides: [(Uuid, String, String, String); 2],
    pub survivor: usize,
    pub versions: [i64; 2],
    pub fields: Vec<FieldChoice>,
    /// The confirmation step: the choices are fixed, shown as a summary.
    pub confirm: bool,
    pub errors: Vec<String>,
}

/// The choices a posted merge form carries: the survivor's side and each field's winning side. Fields the form
/// does not name keep the default (the survivor's value, or the other one where the survivor's is empty).
struct Choices {
    survivor: usize,
    fields: BTreeMap<String, usize>,
}

fn posted_choices(f: &FormData) -> Choices {
    let side = |v: &str| if v == "1" { 1 } else { 0 };
    Choices {
        survivor: side(f.get("survivor")),
        fields: f.0.iter().filter_map(|(k, v)| k.strip_prefix("f.").map(|k| (k.to_string(), side(v)))).collect(),
    }
}

fn pair_page(
    w: &WebUser,
    c: &Candidate,
    records: &Records,
    n: &Names,
    choices: Option<&Choices>,
    confirm: bool,
    errors: Vec<String>,
) -> PairPage {
    let locale = w.locale;
    let survivor = choices.map_or(0, |ch| ch.survivor);
    let rows = match records {
        Records::Contacts(r) => contact_fields(r, n, locale),
        Records::Companies(r) => company_fields(r, n, locale),
    };
    let fields = rows
        .into_iter()
        .map(|(key, label, values, combined)| {
            let choose = !combined && values[0] != values[1];
            // Default as the store merges: the survivor's value, the other one where the survivor has none.
            let default =
                if values[survivor].is_empty() && !values[1 - survivor].is_empty() { 1 - survivor } else { survivor };
            let chosen = choices.and_then(|ch| ch.fields.get(&key).copied()).filter(|_| choose).unwrap_or(default);
            FieldChoice { key, label, values, choose, chosen, combined }
        })
        .collect();
    let ids = records.ids();
    let names = records.names();
    let created = records.created();
    let side = |i: usize| {
        (
            ids[i],
            names[i].clone(),
            record_href(c.object, ids[i]),
            locale.t1("dedup.created", &locale.datetime(created[i])),
        )
    };
    let title = locale.t("dedup.pair.title");
    PairPage {
        cx: Cx::for_user(w, plural(c.object), &format!("/dedup/candidates/{}", c.id), title.into()),
        object: plural(c.object),
        candidate: c.id,
        score: c.score.to_string(),
        status: if c.status == "open" { String::new() } else { locale.t(&format!("dedup.status.{}", c.status)).into() },
        reasons: reason_texts(&c.reasons, locale),
        sides: [side(0), side(1)],
        survivor,
        versions: records.versions(),
        fields,
        confirm,
        errors,
    }
}

/// `GET /dedup/candidates/{id}`: the merge page of one pair.
pub async fn pair(State(state): State<AppState>, w: WebUser, Path(raw): Path<String>) -> WebResult<Response> {
    let id = record_id(&raw, &w)?;
    let c = store::get_candidate(&state.db, &w.actor, id).await.or_page(w.locale)?;
    let records = load_records(&state, &w, &c).await?;
    let n = names(&state, &w, &records).await?;
    Ok(render(StatusCode::OK, &pair_page(&w, &c, &records, &n, None, false, vec![])))
}

/// `POST /dedup/candidates/{id}/merge`: without `confirm=1` shows the choices for confirmation; with it, merges
/// and goes to the merge history, which offers the undo. A record changed since the page was opened (its version
/// moved) shows the pair again with the current values and says so.
pub async fn merge(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let f = FormData(f);
    let id = record_id(&raw, &w)?;
    let c = store::get_candidate(&state.db, &w.actor, id).await.or_page(locale)?;
    let records = load_records(&state, &w, &c).await?;
    let n = names(&state, &w, &records).await?;
    let choices = posted_choices(&f);
    let versions = records.versions();
    let posted_versions = [f.get("version0").parse::<i64>().ok(), f.get("version1").parse::<i64>().ok()];
    if posted_versions.iter().zip(versions).any(|(p, v)| p.is_some_and(|p| p != v)) {
        let errors = vec![locale.t("dedup.error.changed").to_string()];
        return Ok(render(StatusCode::CONFLICT, &pair_page(&w, &c, &records, &n, Some(&choices), false, errors)));
    }
    if c.status != "open" {
        let errors = vec![locale.t(&format!("dedup.status.{}", c.status)).to_string()];
        return Ok(render(StatusCode::CONFLICT, &pair_page(&w, &c, &records, &n, Some(&choices), false, errors)));
    }
    let page = pair_page(&w, &c, &records, &n, Some(&choices), true, vec![]);
    if !f.checked("confirm") {
        return Ok(render(StatusCode::OK, &page));
    }
    let ids = records.ids();
    let s = choices.survivor;
    let req = MergeRequest {
        survivor_id: ids[s],
        merged_id: ids[1 - s],
        // Every field with a choice is sent explicitly: what the page showed is what is merged.
        fields: page
            .fields
            .iter()
            .filter(|fc| fc.choose)
            .map(|fc| (fc.key.clone(), if fc.chosen == s { Side::Survivor } else { Side::Merged }))
            .collect(),
        candidate_id: Some(c.id),
        survivor_version: Some(versions[s]),
        merged_version: Some(versions[1 - s]),
    };
    let done = match c.object {
        DedupObject::Contact => merges::merge_contacts(&state.db, &w.actor, &req).await.map(|(m, _)| m),
        DedupObject::Company => merges::merge_companies(&state.db, &w.actor, &req).await.map(|(m, _)| m),
    };
    match done {
        Ok(m) => Ok(see_other(&format!("/dedup/merges?object={}&merged={}", plural(c.object), m.id))),
        Err(e) => {
            let errors = match e {
                StoreError::VersionMismatch { .. } => vec![locale.t("dedup.error.changed").to_string()],
                StoreError::Invalid(v) => super::form::messages(&v, locale),
                StoreError::Conflict(_) => vec![locale.t("dedup.error.conflict").to_string()],
                other => return Err(WebError::store(other, locale)),
            };
            // Reload: the records may have changed.
            let records = load_records(&state, &w, &c).await?;
            Ok(render(StatusCode::CONFLICT, &pair_page(&w, &c, &records, &n, Some(&choices), false, errors)))
        }
    }
}

/// `POST /dedup/candidates/{id}/dismiss`: not a duplicate.
pub async fn dismiss(State(state): State<AppState>, w: WebUser, Path(raw): Path<String>) -> WebResult<Response> {
    let id = record_id(&raw, &w)?;
    let c = store::dismiss_candidate(&state.db, &w.actor, id).await.or_page(w.locale)?;
    Ok(see_other(&format!("/dedup?object={}&notice=dismissed", plural(c.object))))
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk merge

pub struct BulkOutcome {
    pub names: String,
    pub ok: bool,
    pub message: String,
    pub merge: Option<Uuid>,
}

#[derive(askama::Template)]
#[template(path = "dedup/bulk.html")]
pub struct BulkPage {
    pub cx: Cx,
    pub object: &'static str,
    pub confirm: bool,
    pub count: String,
    /// The pairs to merge (confirmation) as (id, "A ⇐ B").
    pub pairs: Vec<(Uuid, String)>,
    pub outcomes: Vec<BulkOutcome>,
}

/// `POST /dedup/merge` (`candidate` repeated): asks for confirmation, then (`confirm=1`) merges each selected pair
/// the default way (the older record survives, empty fields are filled from the other) in its own transaction,
/// and lists what happened to each.
pub async fn bulk(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let f = FormData(f);
    let object = object_of(Some(f.get("object")));
    let ids: Vec<Uuid> = f.all("candidate").into_iter().filter_map(super::form::parse_uuid).take(PAGE).collect();
    if ids.is_empty() {
        return Ok(see_other(&format!("/dedup?object={}", plural(object))));
    }
    let cx = Cx::for_user(&w, plural(object), "/dedup", locale.t("dedup.bulk.title").into());
    let mut candidates = Vec::with_capacity(ids.len());
    for id in &ids {
        // Pairs the caller cannot see are dropped silently, like rows that were never listed.
        if let Ok(c) = store::get_candidate(&state.db, &w.actor, *id).await {
            candidates.push(c);
        }
    }
    let label = |c: &Candidate| {
        locale.t("dedup.bulk.pair").replace("{0}", &c.records[0].name).replace("{1}", &c.records[1].name)
    };
    if !f.checked("confirm") {
        let pairs: Vec<(Uuid, String)> = candidates.iter().map(|c| (c.id, label(c))).collect();
        let count = locale.int(pairs.len() as u64);
        return Ok(render(
            StatusCode::OK,
            &BulkPage { cx, object: plural(object), confirm: true, count, pairs, outcomes: vec![] },
        ));
    }
    let mut outcomes = Vec::with_capacity(candidates.len());
    for c in &candidates {
        let req = MergeRequest {
            survivor_id: c.records[0].id,
            merged_id: c.records[1].id,
            fields: BTreeMap::new(),
            candidate_id: Some(c.id),
            survivor_version: Some(c.records[0].version),
            merged_version: Some(c.records[1].version),
        };
        let done = if c.status != "open" {
            Err(StoreError::Conflict(String::new()))
        } else {
            match c.object {
                DedupObject::Contact => merges::merge_contacts(&state.db, &w.actor, &req).await.map(|(m, _)| m),
                DedupObject::Company => merges::merge_companies(&state.db, &w.actor, &req).await.map(|(m, _)| m),
            }
        };
        let (ok, message, merge) = match done {
            Ok(m) => (true, locale.t("dedup.bulk.merged").to_string(), Some(m.id)),
            // An earlier item merged one of this pair's records away.
            Err(StoreError::NotFound) => (false, locale.t("dedup.bulk.gone").to_string(), None),
            Err(StoreError::Forbidden) => (false, locale.t("error.forbidden.message").to_string(), None),
            Err(StoreError::VersionMismatch { .. }) => (false, locale.t("dedup.error.changed").to_string(), None),
            Err(StoreError::Conflict(_)) => (false, locale.t("dedup.bulk.not_open").to_string(), None),
            Err(StoreError::Invalid(v)) => (false, super::form::messages(&v, locale).join("; "), None),
            Err(e) => return Err(WebError::store(e, locale)),
        };
        outcomes.push(BulkOutcome { names: label(c), ok, message, merge });
    }
    let count = locale.int(outcomes.len() as u64);
    Ok(render(StatusCode::OK, &BulkPage { cx, object: plural(object), confirm: false, count, pairs: vec![], outcomes }))
}

// ---------------------------------------------------------------------------------------------------------------
// History and undo

pub struct MergeRow {
    pub id: Uuid,
    pub when: String,
    pub survivor: String,
    pub survivor_href: String,
    pub merged: String,
    pub undone: String,
    pub highlight: bool,
}

#[derive(askama::Template)]
#[template(path = "dedup/merges.html")]
pub struct MergesPage {
    pub cx: Cx,
    pub object: &'static str,
    pub tabs: Vec<(String, &'static str, bool)>,
    pub notice: Option<String>,
    /// The merge just done, offered for undo at the top.
    pub just_merged: Option<MergeRow>,
    pub error: Option<String>,
    pub rows: Vec<MergeRow>,
    pub next_url: Option<String>,
}

fn merged_name(m: &Merge) -> String {
    ["display_name", "name"]
        .iter()
        .find_map(|k| m.merged_record.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// `GET /dedup/merges?object=contacts&cursor=<id>&merged=<id>&undone=<id>`
pub async fn merges_page(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let raw = raw.unwrap_or_default();
    let object = object_of(raw.get("object"));
    let before = raw.cursor.as_deref().and_then(super::form::parse_uuid);
    let merged = raw.get("merged").and_then(super::form::parse_uuid);
    let notice = raw.get("undone").map(|_| w.locale.t("dedup.notice.undone").to_string());
    let page = history(&state, &w, object, before, merged, notice, None, uri.query().unwrap_or("")).await?;
    Ok(render(StatusCode::OK, &page))
}

#[allow(clippy::too_many_arguments)]
async fn history(
    state: &AppState,
    w: &WebUser,
    object: DedupObject,
    before: Option<Uuid>,
    merged: Option<Uuid>,
    notice: Option<String>,
    error: Option<String>,
    query: &str,
) -> WebResult<MergesPage> {
    let locale = w.locale;
    let list = merges::list_merges(&state.db, &w.actor, Some(object), before, PAGE).await.or_page(locale)?;
    let just = match merged {
        Some(id) => merges::get_merge(&state.db, &w.actor, id).await.ok().filter(|m| m.undone_at.is_none()),
        None => None,
    };
    let mut ids: Vec<Uuid> = list.items.iter().map(|m| m.survivor_id).collect();
    ids.extend(just.iter().map(|m| m.survivor_id));
    let survivors = match object {
        DedupObject::Contact => guanxi_store::contacts::visible_names(&state.db, &w.actor, &ids).await,
        DedupObject::Company => guanxi_store::companies::visible_names(&state.db, &w.actor, &ids).await,
    }
    .or_page(locale)?;
    let row = |m: &Merge| MergeRow {
        id: m.id,
        when: locale.datetime(m.merged_at),
        survivor: survivors.get(&m.survivor_id).cloned().unwrap_or_else(|| locale.t("dedup.hidden").into()),
        survivor_href: record_href(object, m.survivor_id),
        merged: merged_name(m),
        undone: m.undone_at.map(|t| locale.t1("dedup.undone_at", &locale.datetime(t))).unwrap_or_default(),
        highlight: Some(m.id) == merged,
    };
    let next = list.next_cursor.as_deref().map(|c| page_url("/dedup/merges", query, Some(c)));
    Ok(MergesPage {
        cx: Cx::for_user(
            w,
            plural(object),
            &format!("/dedup/merges?object={}", plural(object)),
            locale.t("dedup.merges.title").into(),
        ),
        object: plural(object),
        tabs: tabs("/dedup/merges", object, locale),
        notice,
        just_merged: just.as_ref().map(row),
        error,
        rows: list.items.iter().map(row).collect(),
        next_url: next,
    })
}

/// `POST /dedup/merges/{id}/undo`: undoes a merge, or shows why it cannot be undone (409) in the user's words.
pub async fn undo(State(state): State<AppState>, w: WebUser, Path(raw): Path<String>) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw, &w)?;
    let before = merges::get_merge(&state.db, &w.actor, id).await.or_page(locale)?;
    let object = before.object;
    match merges::undo(&state.db, &w.actor, id).await {
        Ok(_) => Ok(see_other(&format!("/dedup/merges?object={}&undone={id}", plural(object)))),
        Err(StoreError::Conflict(detail)) => {
            // The store's own words are English: the page says it in the user's language, the log keeps them.
            tracing::info!(merge = %id, detail, "undo refused");
            let error = locale.t(undo_refusal(&state, &w, &before).await).to_string();
            let page = history(&state, &w, object, None, None, None, Some(error), "").await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(WebError::store(e, locale)),
    }
}

/// The message key of a refused undo: the common causes are told apart from the stored state; the store's own
/// text follows as the detail.
async fn undo_refusal(state: &AppState, w: &WebUser, m: &Merge) -> &'static str {
    if m.undone_at.is_some() {
        return "dedup.undo.already";
    }
    let version = match m.object {
        DedupObject::Contact => {
            guanxi_store::contacts::get(&state.db, &w.actor, m.survivor_id).await.map(|c| c.version)
        }
        DedupObject::Company => {
            guanxi_store::companies::get(&state.db, &w.actor, m.survivor_id).await.map(|c| c.version)
        }
    };
    match version {
        Ok(v) if v != m.survivor_version => "dedup.undo.changed",
        Ok(_) => "dedup.undo.links",
        Err(_) => "dedup.undo.survivor_gone",
    }
}

page!(IndexPage, PairPage, BulkPage, MergesPage);
