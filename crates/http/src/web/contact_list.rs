//! The contacts list: filters from the shared filter model, sort, cursor pages, columns chosen by the user, saved
//! views (personal or shared), bulk actions on a selection, and a link exporting the current view.
//!
//! The whole state of the list lives in its URL (`?city=北京&tag=vip&sort=-created_at&col=email&col=owner`), so a
//! saved view is just a name for a query string and the export link carries the same conditions to the API.

use super::contacts::Choice;
use super::form::{Cell, FormData, Input, Opt, parse_uuid};
use super::{Cx, Locale, OrPage, Page, WebError, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::Form;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use guanxi_core::contact::{Contact, Source};
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_core::filter::{CONTACT_FIELDS, ListParams, parse_list_query};
use guanxi_store::StoreError;
use guanxi_store::bulk::{BulkAction, BulkError};
use guanxi_store::saved_views::{self, NewView};
use std::collections::HashMap;
use uuid::Uuid;

/// Columns a user may show, besides the name (always first). `(key, label key)`.
pub const COLUMNS: [(&str, &str); 11] = [
    ("company", "field.company"),
    ("job_title", "field.job_title"),
    ("email", "field.email"),
    ("phone", "field.phone"),
    ("city", "field.city"),
    ("owner", "field.owner"),
    ("tags", "field.tags"),
    ("source", "field.source"),
    ("visibility", "field.visibility"),
    ("created", "field.created_at"),
    ("updated", "field.updated_at"),
];

/// The columns shown when the URL names none.
const DEFAULT_COLUMNS: [&str; 8] = ["company", "job_title", "email", "phone", "city", "owner", "tags", "updated"];

const SORTS: [(&str, &str); 5] = [
    ("", "contacts.sort.default"),
    ("display_name", "contacts.sort.name"),
    ("-created_at", "contacts.sort.newest"),
    ("-updated_at", "contacts.sort.updated"),
    ("address.city", "contacts.sort.city"),
];

/// The list's own parameters (not filter-model ones), read from a query string.
struct ListState {
    raw: RawQuery,
    city: String,
    tag: String,
    source: String,
    mine: bool,
    /// `me`, a user id, or "" for anyone.
    owner: String,
    /// Last changed between these days (`YYYY-MM-DD`, either may be "").
    updated_from: String,
    updated_to: String,
    columns: Vec<&'static str>,
}

impl ListState {
    fn parse(query: &str) -> ListState {
        let mut raw = RawQuery::default();
        let mut cols = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()).take(200) {
            match k.as_ref() {
                "filter" => raw.filters.push(v.into_owned()),
                "sort" => raw.sort = Some(v.into_owned()),
                "limit" => raw.limit = Some(v.into_owned()),
                "cursor" => raw.cursor = Some(v.into_owned()),
                "q" => raw.q = Some(v.into_owned()),
                "col" => {
                    if let Some((key, _)) = COLUMNS.iter().find(|(c, _)| *c == v.as_ref())
                        && !cols.contains(key)
                    {
                        cols.push(*key);
                    }
                }
                _ => raw.other.push((k.into_owned(), v.into_owned())),
            }
        }
        let get = |name: &str| raw.get(name).unwrap_or("").trim().to_string();
        ListState {
            city: get("city"),
            tag: get("tag"),
            source: get("source"),
            mine: raw.get("mine").is_some_and(|v| v == "1"),
            owner: get("owner"),
            updated_from: get("updated_from"),
            updated_to: get("updated_to"),
            columns: if cols.is_empty() { DEFAULT_COLUMNS.to_vec() } else { cols },
            raw,
        }
    }

    /// The conditions of the filter model this list stands for: raw `filter=` ones plus the simple inputs, and
    /// one input per custom field (`cf_<key>`; see [`custom_filter`]).
    fn filters(&self, defs: &[CustomFieldDef]) -> Vec<String> {
        let mut filters = self.raw.filters.clone();
        if !self.city.is_empty() {
            filters.push(format!("address.city:eq:{}", self.city));
        }
        if !self.tag.is_empty() {
            filters.push(format!("tags:has_tag:{}", self.tag));
        }
        if !self.source.is_empty() {
            filters.push(format!("source:eq:{}", self.source));
        }
        if self.mine {
            filters.push("owner:eq:me".into());
        }
        if !self.owner.is_empty() {
            filters.push(format!("owner:eq:{}", self.owner));
        }
        // A day range; an open end is the widest day the filter model reads.
        if !self.updated_from.is_empty() || !self.updated_to.is_empty() {
            let from = if self.updated_from.is_empty() { "1970-01-01" } else { &self.updated_from };
            let to = if self.updated_to.is_empty() { "9999-12-31" } else { &self.updated_to };
            filters.push(format!("updated_at:between:{from},{to}"));
        }
        for d in defs {
            if let Some(v) = self.raw.get(&format!("cf_{}", d.key)).map(str::trim).filter(|v| !v.is_empty()) {
                filters.push(custom_filter(d, v));
            }
        }
        filters
    }

    /// The API export URL of this view: the same conditions, sort and keywords as filter-model parameters.
    fn export_url(&self, defs: &[CustomFieldDef]) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        ser.append_pair("format", "csv");
        for f in self.filters(defs) {
            ser.append_pair("filter", &f);
        }
        if let Some(s) = self.raw.sort.as_deref().filter(|s| !s.is_empty()) {
            ser.append_pair("sort", s);
        }
        if let Some(q) = self.raw.q.as_deref().filter(|q| !q.trim().is_empty()) {
            ser.append_pair("q", q);
        }
        format!("/api/v1/contacts/export?{}", ser.finish())
    }
}

/// The condition a custom field's filter input stands for: a choice is that value, a multiple choice holds it, a
/// yes/no is that answer, text contains the words, a number or date is that value.
fn custom_filter(d: &CustomFieldDef, v: &str) -> String {
    use guanxi_core::custom_field::CustomFieldKind as K;
    let op = match d.kind {
        K::MultiSelect => "has_tag",
        K::Text | K::Url => "contains",
        K::SingleSelect | K::Bool | K::Number | K::Money | K::Date => "eq",
    };
    format!("custom.{}:{op}:{v}", d.key)
}

/// The filter inputs of the contact custom fields, in the list's filter form (money is filtered through the
/// filter model only: its amounts are minor units).
fn custom_filter_inputs(defs: &[CustomFieldDef], ls: &ListState, locale: Locale) -> Vec<Input> {
    use guanxi_core::custom_field::CustomFieldKind as K;
    defs.iter()
        .filter(|d| d.kind != K::Money)
        .map(|d| {
            let name = format!("cf_{}", d.key);
            let value = ls.raw.get(&name).unwrap_or("").trim().to_string();
            let label = d.label.clone();
            let any = Opt::new("", locale.t("contacts.any"), &value);
            match d.kind {
                K::SingleSelect | K::MultiSelect => {
                    let opts =
                        std::iter::once(any).chain(d.options.iter().map(|o| Opt::new(o.clone(), o.clone(), &value)));
                    Input { options: opts.collect(), ..Input::new(name, label, "select", value) }
                }
                K::Bool => {
                    let opts = vec![
                        any,
                        Opt::new("true", locale.t("form.yes"), &value),
                        Opt::new("false", locale.t("form.no"), &value),
                    ];
                    Input { options: opts, ..Input::new(name, label, "select", value) }
                }
                K::Date => Input::new(name, label, "date", value),
                K::Number | K::Money => Input { step: "any", ..Input::new(name, label, "number", value) },
                K::Text | K::Url => Input::new(name, label, "search", value),
            }
        })
        .collect()
}

/// A query string without its cursor (a view or a link back to the first page).
fn without_cursor(query: &str) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !matches!(k.as_ref(), "cursor" | "bulk_done" | "view_saved" | "deleted") {
            ser.append_pair(&k, &v);
        }
    }
    ser.finish()
}

fn with_cursor(query: &str, cursor: Option<&str>) -> String {
    let mut q = without_cursor(query);
    if let Some(c) = cursor {
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str("cursor=");
        q.push_str(&form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
    }
    format!("/contacts?{q}")
}

pub struct ColumnChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub struct ViewLink {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub shared: bool,
    pub current: bool,
    /// The user may delete it (owner or admin).
    pub deletable: bool,
}

pub struct ListRow {
    pub id: Uuid,
    pub name: String,
    pub cells: Vec<Cell>,
}

#[derive(askama::Template)]
#[template(path = "contacts/list.html")]
struct ListPage {
    cx: Cx,
    rows: Vec<ListRow>,
    headers: Vec<&'static str>,
    total: String,
    q: String,
    city: String,
    tag: String,
    mine: bool,
    sources: Vec<Choice>,
    sorts: Vec<Choice>,
    columns: Vec<ColumnChoice>,
    raw_filters: Vec<String>,
    errors: Vec<String>,
    next_url: Option<String>,
    first_url: Option<String>,
    export_url: String,
    views: Vec<ViewLink>,
    view_query: String,
    view_name: String,
    view_error: Option<&'static str>,
    owners: Vec<(String, String)>,
    /// Filter inputs: owner, last-changed days, custom fields.
    owner_filter: Input,
    updated_from: Input,
    updated_to: Input,
    custom_filters: Vec<Input>,
    back: String,
    notice: Option<String>,
    bulk_error: Option<&'static str>,
    /// Admins and managers get the link to the duplicates pages.
    dedup_link: bool,
}
page!(ListPage);

#[derive(Default)]
struct Overlay {
    status: Option<StatusCode>,
    view_name: String,
    view_error: Option<&'static str>,
    bulk_error: Option<&'static str>,
}

pub async fn list(State(state): State<AppState>, w: WebUser, OriginalUri(uri): OriginalUri) -> WebResult<Response> {
    render_list(&state, &w, uri.query().unwrap_or(""), Overlay::default()).await
}

fn cell_for(
    key: &str,
    c: &Contact,
    companies: &HashMap<Uuid, String>,
    owners: &HashMap<Uuid, String>,
    locale: Locale,
) -> Cell {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "company" => match c.company_id.and_then(|id| companies.get(&id).map(|n| (id, n))) {
            Some((id, n)) => Cell::link(n.clone(), format!("/companies/{id}")),
            None => Cell::text(""),
        },
        "job_title" => Cell::text(opt(&c.job_title)),
        "email" => Cell::text(c.primary_email().unwrap_or("")),
        "phone" => Cell::nowrap(c.primary_phone().unwrap_or("")),
        "city" => Cell::text(opt(&c.address.city)),
        "owner" => Cell::text(c.owner_id.and_then(|o| owners.get(&o).cloned()).unwrap_or_default()),
        "tags" => Cell::text(locale.join(&c.tags)),
        "source" => Cell::text(locale.t(&format!("source.{}", c.source.as_str()))),
        "visibility" => Cell::text(locale.t(&format!("visibility.{}", c.visibility.as_str()))),
        "created" => Cell::nowrap(locale.day(c.created_at)),
        _ => Cell::nowrap(locale.day(c.updated_at)),
    }
}

async fn render_list(state: &AppState, w: &WebUser, query: &str, overlay: Overlay) -> WebResult<Response> {
    let locale = w.locale;
    let ls = ListState::parse(query);
    let sort = ls.raw.sort.clone().unwrap_or_default();
    let defs = guanxi_store::custom_fields::list(&state.db, Some(ObjectType::Contact)).await.or_page(locale)?;
    let filters = ls.filters(&defs);
    let limit = ls.raw.limit().ok().flatten().map(|l| l.clamp(1, 200)).unwrap_or(50);
    let params = ListParams {
        filters: &filters,
        sort: Some(sort.as_str()),
        limit: Some(limit),
        cursor: ls.raw.cursor.as_deref(),
        q: ls.raw.q.as_deref(),
    };
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut total = String::new();
    let mut next_url = None;
    let users = guanxi_store::accounts::list_users(&state.db).await.or_page(locale)?;
    let owners: HashMap<Uuid, String> = users.iter().map(|u| (u.id, u.display_name.clone())).collect();
    match parse_list_query(&params, CONTACT_FIELDS, &defs, w.actor.user_id) {
        Err(e) => errors = super::form::messages(&e, locale),
        Ok(lq) => match guanxi_store::contacts::list(&state.db, &w.actor, &lq).await {
            Ok(page) => {
                // Company names only when the column is shown (one lookup per distinct company on the page).
                let mut companies: HashMap<Uuid, String> = HashMap::new();
                if ls.columns.contains(&"company") {
                    for cid in page.items.iter().filter_map(|c| c.company_id) {
                        if let std::collections::hash_map::Entry::Vacant(e) = companies.entry(cid)
                            && let Ok(co) = guanxi_store::companies::get(&state.db, &w.actor, cid).await
                        {
                            e.insert(co.name);
                        }
                    }
                }
                rows = page
                    .items
                    .iter()
                    .map(|c| ListRow {
                        id: c.id,
                        name: c.display_name.clone(),
                        cells: ls.columns.iter().map(|k| cell_for(k, c, &companies, &owners, locale)).collect(),
                    })
                    .collect();
                total = if page.total_is_estimate {
                    locale.t1("contacts.total_estimate", &locale.int(page.total))
                } else {
                    locale.t1("contacts.total", &locale.int(page.total))
                };
                next_url = page.next_cursor.map(|c| with_cursor(query, Some(&c)));
            }
            Err(StoreError::Invalid(e)) => errors = super::form::messages(&e, locale),
            Err(e) => return Err(WebError::store(e, locale)),
        },
    }
    let view_query = without_cursor(query);
    let views = saved_views::list(&state.db, &w.actor, "contacts")
        .await
        .or_page(locale)?
        .into_iter()
        .map(|v| ViewLink {
            id: v.id,
            url: format!("/contacts?{}", v.query),
            current: v.query == view_query,
            deletable: v.owner_id == w.user.id || w.actor.is_admin(),
            name: v.name,
            shared: v.shared,
        })
        .collect();
    let mut notice = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "bulk_done" => notice = Some(locale.t1("bulk.done", &v)),
            "view_saved" => notice = Some(locale.t("views.saved").to_string()),
            "deleted" => notice = Some(locale.t("delete.done").to_string()),
            _ => {}
        }
    }
    let here = if query.is_empty() { "/contacts".to_string() } else { format!("/contacts?{query}") };
    let page = ListPage {
        cx: Cx::for_user(w, "contacts", &here, locale.t("contacts.title").to_string()),
        headers: ls
            .columns
            .iter()
            .filter_map(|k| COLUMNS.iter().find(|(c, _)| c == k))
            .map(|(_, l)| locale.t(l))
            .collect(),
        rows,
        total,
        q: ls.raw.q.clone().unwrap_or_default(),
        city: ls.city.clone(),
        tag: ls.tag.clone(),
        mine: ls.mine,
        sources: std::iter::once(Choice {
            value: String::new(),
            label: locale.t("contacts.any_source"),
            selected: ls.source.is_empty(),
        })
        .chain(Source::ALL.iter().map(|s| Choice {
            value: s.as_str().to_string(),
            label: locale.t(&format!("source.{}", s.as_str())),
            selected: ls.source == s.as_str(),
        }))
        .collect(),
        sorts: SORTS
            .iter()
            .map(|(v, k)| Choice { value: v.to_string(), label: locale.t(k), selected: sort == *v })
            .collect(),
        columns: COLUMNS
            .iter()
            .map(|(k, l)| ColumnChoice { key: k, label: locale.t(l), checked: ls.columns.contains(k) })
            .collect(),
        raw_filters: ls.raw.filters.clone(),
        errors,
        next_url,
        first_url: ls.raw.cursor.as_ref().map(|_| with_cursor(query, None)),
        export_url: ls.export_url(&defs),
        custom_filters: custom_filter_inputs(&defs, &ls, locale),
        owner_filter: {
            let mut opts = vec![
                Opt::new("", locale.t("contacts.any"), &ls.owner),
                Opt::new("me", locale.t("contacts.owner_me"), &ls.owner),
            ];
            opts.extend(users.iter().map(|u| Opt::new(u.id.to_string(), u.display_name.clone(), &ls.owner)));
            Input::select("owner", locale.t("field.owner"), opts)
        },
        updated_from: Input::new(
            "updated_from",
            locale.t("contacts.filter.updated_from"),
            "date",
            ls.updated_from.clone(),
        ),
        updated_to: Input::new("updated_to", locale.t("contacts.filter.updated_to"), "date", ls.updated_to.clone()),
        views,
        view_query: view_query.clone(),
        view_name: overlay.view_name,
        view_error: overlay.view_error,
        owners: users.iter().filter(|u| u.active).map(|u| (u.id.to_string(), u.display_name.clone())).collect(),
        back: if view_query.is_empty() { "/contacts".into() } else { format!("/contacts?{view_query}") },
        notice,
        bulk_error: overlay.bulk_error,
        dedup_link: super::dedup::can_scan(w),
    };
    Ok(render(overlay.status.unwrap_or(StatusCode::OK), &page))
}

/// The query string a form carried back (`back=/contacts?...`), kept only when it is this list.
fn back_query(f: &FormData) -> String {
    f.get("back").strip_prefix("/contacts?").map(without_cursor).unwrap_or_default()
}

fn back_url(query: &str, extra: &str) -> String {
    match (query.is_empty(), extra.is_empty()) {
        (true, true) => "/contacts".into(),
        (true, false) => format!("/contacts?{extra}"),
        (false, true) => format!("/contacts?{query}"),
        (false, false) => format!("/contacts?{query}&{extra}"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Saved views

pub async fn save_view(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let f = FormData(f);
    let query = without_cursor(f.get("query"));
    let new = NewView { object: "contacts", name: f.get("name"), query: &query, shared: f.checked("shared") };
    let code = match saved_views::create(&state.db, &w.actor, &new).await {
        Ok(v) => return Ok(see_other(&back_url(&v.query, "view_saved=1"))),
        Err(StoreError::Invalid(e)) => e.errors.first().map(|e| e.code).unwrap_or("invalid"),
        Err(StoreError::Duplicate { .. }) => "duplicate",
        Err(e) => return Err(WebError::store(e, w.locale)),
    };
    let overlay = Overlay {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        view_name: f.get("name").to_string(),
        view_error: Some(w.locale.error(code)),
        ..Overlay::default()
    };
    render_list(&state, &w, &query, overlay).await
}

pub async fn delete_view(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let id = parse_uuid(&raw_id).ok_or(WebError::NotFound(w.locale))?;
    saved_views::delete(&state.db, &w.actor, id).await.or_page(w.locale)?;
    Ok(see_other(&back_url(&back_query(&FormData(f)), "")))
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk actions

pub struct Refused {
    pub name: String,
    pub id: Uuid,
}

#[derive(askama::Template)]
#[template(path = "contacts/bulk.html")]
struct BulkPage {
    cx: Cx,
    /// Asking to confirm a delete (otherwise: reporting refused rows).
    confirm: bool,
    ids: Vec<String>,
    count: String,
    refused: Vec<Refused>,
    hidden_count: String,
    back: String,
}
page!(BulkPage);

/// `POST /contacts/bulk`: `id` (repeated), `action` = `tag` (with `tag`), `owner` (with `owner`) or `delete`
/// (asks first; `confirm=1` deletes).
pub async fn bulk(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let f = FormData(f);
    let query = back_query(&f);
    let ids: Vec<Uuid> = f.all("id").into_iter().filter_map(parse_uuid).collect();
    let failed = |code: &'static str| Overlay {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        bulk_error: Some(locale.error(code)),
        ..Overlay::default()
    };
    if ids.is_empty() {
        return render_list(
            &state,
            &w,
            &query,
            Overlay { bulk_error: Some(locale.t("bulk.none_selected")), ..failed("required") },
        )
        .await;
    }
    let action = match f.get("action") {
        "tag" => BulkAction::AddTag(f.get("tag").to_string()),
        "owner" => match parse_uuid(f.get("owner")) {
            Some(o) => BulkAction::AssignOwner(o),
            None => return render_list(&state, &w, &query, failed("invalid_option")).await,
        },
        "delete" => BulkAction::Delete,
        _ => return render_list(&state, &w, &query, failed("invalid_option")).await,
    };
    let back = back_url(&query, "");
    if action == BulkAction::Delete && !f.checked("confirm") {
        let page = BulkPage {
            cx: Cx::for_user(&w, "contacts", &back, locale.t("bulk.confirm_title").to_string()),
            confirm: true,
            count: locale.int(ids.len() as u64),
            ids: ids.iter().map(Uuid::to_string).collect(),
            refused: vec![],
            hidden_count: String::new(),
            back,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    match guanxi_store::bulk::contacts(&state.db, &w.actor, &ids, &action).await {
        Ok(n) => Ok(see_other(&back_url(&query, &format!("bulk_done={n}")))),
        Err(BulkError::Refused(refused)) => {
            // Name the rows the user can see; the others are only counted (their names are not theirs to know).
            let mut named = Vec::new();
            let mut hidden = 0u64;
            for id in refused {
                match guanxi_store::contacts::get(&state.db, &w.actor, id).await {
                    Ok(c) => named.push(Refused { name: c.display_name, id }),
                    Err(_) => hidden += 1,
                }
            }
            let page = BulkPage {
                cx: Cx::for_user(&w, "contacts", &back, locale.t("bulk.refused_title").to_string()),
                confirm: false,
                ids: vec![],
                count: locale.int(ids.len() as u64),
                refused: named,
                hidden_count: if hidden > 0 { locale.int(hidden) } else { String::new() },
                back,
            };
            Ok(render(StatusCode::FORBIDDEN, &page))
        }
        Err(BulkError::Store(StoreError::Invalid(e))) => {
            let code = e.errors.first().map(|e| e.code).unwrap_or("invalid");
            render_list(&state, &w, &query, failed(code)).await
        }
        Err(BulkError::Store(e)) => Err(WebError::store(e, locale)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_state_lives_in_the_url() {
        let ls = ListState::parse(
            "city=%E5%8C%97%E4%BA%AC&tag=vip&mine=1&col=email&col=nope&col=email&sort=-created_at&q=%E5%BC%A0&cursor=abc",
        );
        assert_eq!(ls.columns, vec!["email"], "unknown and repeated columns are dropped");
        assert_eq!(ls.filters(&[]), vec!["address.city:eq:北京", "tags:has_tag:vip", "owner:eq:me"]);
        let url = ls.export_url(&[]);
        assert!(url.starts_with("/api/v1/contacts/export?format=csv&filter=address.city%3Aeq%3A"), "{url}");
        assert!(url.contains("&sort=-created_at&q=%E5%BC%A0") && !url.contains("cursor"), "{url}");
        assert_eq!(ListState::parse("").columns, DEFAULT_COLUMNS.to_vec());
        assert_eq!(without_cursor("a=1&cursor=x&bulk_done=2&b=2"), "a=1&b=2");
    }
}
