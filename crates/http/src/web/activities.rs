//! Activities (the timeline entries of contacts and companies) and tasks (follow-ups): lists and create/edit forms.

use super::contacts::user_names;
use super::form::form_posts;
use super::form::{
    Cell, FormData, Input, ListPage, Opt, RefKind, Refusal, form_errors, list_page, list_query, load, parse_uuid,
    record_form, record_id, ref_hidden, ref_label, refusal, resolve_parents, validated,
};
use super::i18n::{from_local_input, local_input};
use super::{Locale, OrPage, WebResult, WebUser, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use guanxi_core::activity::{Activity, ActivityInput, ActivityKind};
use guanxi_core::filter::ListQuery;
use guanxi_core::filter::{ACTIVITY_FIELDS, TASK_FIELDS};
use guanxi_core::task::{Task, TaskInput};
use guanxi_core::{FieldError, ValidationErrors};
use std::collections::HashMap;
use uuid::Uuid;

/// Kinds a person logs by hand (system entries are written by Guanxi itself).
const KINDS: [ActivityKind; 9] = [
    ActivityKind::Note,
    ActivityKind::Call,
    ActivityKind::Meeting,
    ActivityKind::Visit,
    ActivityKind::Email,
    ActivityKind::EventAttendance,
    ActivityKind::Complaint,
    ActivityKind::Feedback,
    ActivityKind::WebVisit,
];

/// Names of the contacts and companies a page of records points at: one query for each kind. A record the
/// caller cannot see (or a failed lookup) leaves its cell empty.
async fn parent_names(
    state: &AppState,
    w: &WebUser,
    parents: impl Iterator<Item = (Option<Uuid>, Option<Uuid>)>,
) -> HashMap<Uuid, (String, String)> {
    let (contacts, companies): (Vec<_>, Vec<_>) = parents.unzip();
    let contacts: Vec<Uuid> = contacts.into_iter().flatten().collect();
    let companies: Vec<Uuid> = companies.into_iter().flatten().collect();
    let db = &state.db;
    let contact_names = guanxi_store::contacts::visible_names(db, &w.actor, &contacts).await.unwrap_or_default();
    let company_names = guanxi_store::companies::visible_names(db, &w.actor, &companies).await.unwrap_or_default();
    let contacts = contact_names.into_iter().map(|(id, name)| (id, (name, format!("/contacts/{id}"))));
    let companies = company_names.into_iter().map(|(id, name)| (id, (name, format!("/companies/{id}"))));
    contacts.chain(companies).collect()
}

fn parent_cell(contact: Option<Uuid>, company: Option<Uuid>, names: &HashMap<Uuid, (String, String)>) -> Cell {
    match contact.or(company).and_then(|id| names.get(&id)) {
        Some((name, href)) => Cell::link(name.clone(), href.clone()),
        None => Cell::text(""),
    }
}

fn optional_time(f: &FormData, name: &str, errs: &mut ValidationErrors) -> Option<DateTime<Utc>> {
    match f.get(name).trim() {
        "" => None,
        s => from_local_input(s).or_else(|| {
            errs.push(FieldError::new(name, "invalid_value", "not a date and time"));
            None
        }),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Activities

pub async fn list(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let mut raw = raw.unwrap_or_default();
    let kind = raw.get("kind").unwrap_or("").to_string();
    let mine = raw.get("mine").is_some_and(|v| v == "1");
    let mut extra = Vec::new();
    if !kind.is_empty() {
        extra.push(format!("kind:eq:{kind}"));
    }
    if mine {
        extra.push("actor:eq:me".into());
    }
    if raw.sort.as_deref().is_none_or(str::is_empty) {
        raw.sort = Some("-occurred_at".into());
    }
    let query = list_query(&raw, &extra, ACTIVITY_FIELDS, &[], w.actor.user_id, locale);
    let fetch = async |lq: &ListQuery| guanxi_store::activities::list(&state.db, &w.actor, lq).await;
    let rows = async |items: &[Activity]| -> WebResult<Vec<Vec<Cell>>> {
        let users = user_names(&state, locale).await?;
        let names = parent_names(&state, &w, items.iter().map(|a| (a.contact_id, a.company_id))).await;
        Ok(items.iter().map(|a| activity_row(a, &names, &users, locale)).collect())
    };
    let listed = list_page(&w, "activities", "/activities", &uri, &raw, query, fetch, rows).await?;
    let mut kinds = vec![Opt::new("", locale.t("activities.any_kind"), &kind)];
    kinds.extend(
        ActivityKind::ALL.iter().map(|k| Opt::new(k.as_str(), locale.t(&format!("activity.{}", k.as_str())), &kind)),
    );
    let page = ListPage {
        new_links: vec![
            ("/activities/new".into(), locale.t("activities.new")),
            ("/tasks".into(), locale.t("tasks.title")),
            ("/imports?type=activities".into(), locale.t("imports.link")),
        ],
        filters: vec![
            Input::select("kind", locale.t("field.kind"), kinds),
            Input::new("mine", locale.t("activities.mine"), "checkbox", if mine { "1" } else { "" }),
        ],
        columns: vec![
            locale.t("field.subject"),
            locale.t("field.kind"),
            locale.t("field.contact"),
            locale.t("field.occurred_at"),
            locale.t("field.owner"),
        ],
        ..listed
    };
    Ok(render(StatusCode::OK, &page))
}

fn activity_row(
    a: &Activity,
    names: &HashMap<Uuid, (String, String)>,
    users: &HashMap<Uuid, String>,
    locale: Locale,
) -> Vec<Cell> {
    let title = a
        .subject
        .clone()
        .or_else(|| a.body.as_ref().map(|b| b.chars().take(60).collect()))
        .unwrap_or_else(|| locale.t(&format!("activity.{}", a.kind.as_str())).to_string());
    vec![
        Cell::link(title, format!("/activities/{}/edit", a.id)),
        Cell::text(locale.t(&format!("activity.{}", a.kind.as_str()))),
        parent_cell(a.contact_id, a.company_id, names),
        Cell::nowrap(locale.datetime(a.occurred_at)),
        Cell::text(a.actor_id.and_then(|u| users.get(&u).cloned()).unwrap_or_default()),
    ]
}

#[derive(serde::Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

struct ActivityForm {
    kind: String,
    contact: String,
    company: String,
    occurred_at: String,
    subject: String,
    body: String,
}

fn activity_inputs(v: &ActivityForm, locale: Locale) -> Vec<Input> {
    vec![
        Input::select(
            "kind",
            locale.t("field.kind"),
            KINDS
                .iter()
                .map(|k| Opt::new(k.as_str(), locale.t(&format!("activity.{}", k.as_str())), &v.kind))
                .collect(),
        ),
        Input::text("contact_id", locale.t("field.contact"), v.contact.clone()).hint(locale.t("form.ref_hint")),
        Input::text("company_id", locale.t("field.company"), v.company.clone()),
        Input::new("occurred_at", locale.t("field.occurred_at"), "datetime-local", v.occurred_at.clone())
            .hint(locale.t("orders.ordered_at_hint")),
        Input::text("subject", locale.t("field.subject"), v.subject.clone()),
        Input::new("body", locale.t("field.body"), "textarea", v.body.clone()),
    ]
}

/// Where to go back to: the contact or company the record belongs to, else the list.
fn back_to(
    contact: Option<Uuid>,
    company: Option<Uuid>,
    list: &str,
    label: &'static str,
    locale: Locale,
) -> (String, &'static str) {
    match (contact, company) {
        (Some(c), _) => (format!("/contacts/{c}"), locale.t("action.back")),
        (None, Some(c)) => (format!("/companies/{c}"), locale.t("action.back")),
        _ => (list.to_string(), label),
    }
}

pub async fn new_activity(State(state): State<AppState>, w: WebUser, Query(p): Query<Prefill>) -> WebResult<Response> {
    let locale = w.locale;
    let contact = p.contact.as_deref().and_then(parse_uuid);
    let company = p.company.as_deref().and_then(parse_uuid);
    let v = ActivityForm {
        kind: "note".into(),
        contact: ref_label(&state, &w, RefKind::Contact, contact).await,
        company: ref_label(&state, &w, RefKind::Company, company).await,
        occurred_at: String::new(),
        subject: String::new(),
        body: String::new(),
    };
    let page = record_form(
        &w,
        "activities",
        locale.t("activities.new").to_string(),
        "/activities/new".into(),
        back_to(contact, company, "/activities", locale.t("activities.title"), locale),
        ref_hidden(contact, company),
        activity_inputs(&v, locale),
        vec![],
        false,
    );
    Ok(render(StatusCode::OK, &page))
}

pub async fn edit_activity(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let a = guanxi_store::activities::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let v = ActivityForm {
        kind: a.kind.as_str().into(),
        contact: ref_label(&state, &w, RefKind::Contact, a.contact_id).await,
        company: ref_label(&state, &w, RefKind::Company, a.company_id).await,
        occurred_at: local_input(a.occurred_at),
        subject: a.subject.clone().unwrap_or_default(),
        body: a.body.clone().unwrap_or_default(),
    };
    let mut hidden = ref_hidden(a.contact_id, a.company_id);
    hidden.push(("version".into(), a.version.to_string()));
    let mut page = record_form(
        &w,
        "activities",
        locale.t("activities.edit").to_string(),
        format!("/activities/{id}/edit"),
        back_to(a.contact_id, a.company_id, "/activities", locale.t("activities.title"), locale),
        hidden,
        activity_inputs(&v, locale),
        vec![],
        false,
    );
    page.delete_url = Some(format!("/activities/{id}/delete"));
    Ok(render(StatusCode::OK, &page))
}

form_posts!(create_activity, update_activity, save_activity);

async fn save_activity(state: &AppState, w: &WebUser, id: Option<Uuid>, f: FormData) -> WebResult<Response> {
    let locale = w.locale;
    let current = load(id, locale, async |id| guanxi_store::activities::get(&state.db, &w.actor, id).await).await?;
    let mut errs = ValidationErrors::new();
    let (contact, company) = resolve_parents(state, w, &f, &mut errs).await;
    let kind = ActivityKind::parse(f.get("kind")).filter(|k| KINDS.contains(k));
    if kind.is_none() {
        errs.push(FieldError::new("kind", "invalid_option", "not a kind"));
    }
    let occurred_at = optional_time(&f, "occurred_at", &mut errs);
    let input = ActivityInput {
        kind,
        contact_id: contact,
        company_id: company,
        occurred_at: occurred_at.or(current.as_ref().map(|a| a.occurred_at)),
        subject: f.opt("subject"),
        body: f.opt("body"),
        metadata: current.as_ref().map(|a| a.metadata.clone()).unwrap_or_default(),
    };
    let (action, heading) = match id {
        Some(id) => (format!("/activities/{id}/edit"), locale.t("activities.edit")),
        None => ("/activities/new".to_string(), locale.t("activities.new")),
    };
    let failed = |errors: ValidationErrors, status: StatusCode, version: Option<i64>, conflict: bool| {
        let v = ActivityForm {
            kind: f.get("kind").into(),
            contact: f.get("contact_id").into(),
            company: f.get("company_id").into(),
            occurred_at: f.get("occurred_at").into(),
            subject: f.get("subject").into(),
            body: f.get("body").into(),
        };
        let mut ins = activity_inputs(&v, locale);
        let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
        let other = form_errors(&mut refs, &errors, conflict, locale);
        let mut hidden = ref_hidden(contact, company);
        if let Some(v) = version {
            hidden.push(("version".into(), v.to_string()));
        }
        let back = back_to(contact, company, "/activities", locale.t("activities.title"), locale);
        let mut page =
            record_form(w, "activities", heading.to_string(), action.clone(), back, hidden, ins, other, true);
        page.delete_url = id.map(|id| format!("/activities/{id}/delete"));
        render(status, &page)
    };
    let version = current.as_ref().map(|a| f.get("version").parse::<i64>().unwrap_or(a.version));
    // A contact typed but not found is already reported by the reference lookup, not again as missing.
    let verdict = input.validate(guanxi_core::ids::now()).map_err(|e| ValidationErrors {
        errors: e
            .errors
            .into_iter()
            .filter(|x| !(x.field == "contact_id" && x.code == "required" && !f.get("contact_id").is_empty()))
            .collect(),
    });
    let draft = match validated(errs, verdict) {
        Ok(d) => d,
        Err(e) => return Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, version, false)),
    };
    let result = match (id, version) {
        (Some(id), Some(v)) => guanxi_store::activities::update(&state.db, &w.actor, id, v, &draft).await,
        _ => guanxi_store::activities::create(&state.db, &w.actor, &draft).await,
    };
    match result {
        Ok(a) => {
            let to = match (a.contact_id, a.company_id) {
                (Some(c), _) => format!("/contacts/{c}#timeline"),
                (None, Some(c)) => format!("/companies/{c}#timeline"),
                _ => "/activities".into(),
            };
            Ok(see_other(&to))
        }
        Err(e) => match refusal(e, false, locale)? {
            Refusal::Invalid(e) => Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, version, false)),
            Refusal::Conflict { current } => {
                Ok(failed(ValidationErrors::new(), StatusCode::CONFLICT, Some(current), true))
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tasks

pub async fn tasks(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let mut raw = raw.unwrap_or_default();
    let state_filter = raw.get("state").unwrap_or("open").to_string();
    let mine = raw.get("mine").is_some_and(|v| v == "1");
    let mut extra = Vec::new();
    match state_filter.as_str() {
        "open" => extra.push("done:eq:false".to_string()),
        "done" => extra.push("done:eq:true".to_string()),
        _ => {}
    }
    if mine {
        extra.push("assignee:eq:me".into());
    }
    if raw.sort.as_deref().is_none_or(str::is_empty) {
        raw.sort = Some("due_at".into());
    }
    let query = list_query(&raw, &extra, TASK_FIELDS, &[], w.actor.user_id, locale);
    let fetch = async |lq: &ListQuery| guanxi_store::tasks::list(&state.db, &w.actor, lq).await;
    let rows = async |items: &[Task]| -> WebResult<Vec<Vec<Cell>>> {
        let users = user_names(&state, locale).await?;
        let names = parent_names(&state, &w, items.iter().map(|t| (t.contact_id, t.company_id))).await;
        Ok(items
            .iter()
            .map(|t| {
                vec![
                    Cell::link(t.title.clone(), format!("/tasks/{}/edit", t.id)),
                    Cell::nowrap(t.due_at.map(|d| locale.datetime(d)).unwrap_or_default()),
                    Cell::text(t.assignee_id.and_then(|u| users.get(&u).cloned()).unwrap_or_default()),
                    parent_cell(t.contact_id, t.company_id, &names),
                    Cell::text(locale.t(if t.done { "tasks.done" } else { "tasks.open" })),
                ]
            })
            .collect())
    };
    let listed = list_page(&w, "activities", "/tasks", &uri, &raw, query, fetch, rows).await?;
    let page = ListPage {
        new_links: vec![
            ("/tasks/new".into(), locale.t("tasks.new")),
            ("/activities".into(), locale.t("activities.title")),
        ],
        filters: vec![
            Input::select(
                "state",
                locale.t("field.status"),
                vec![
                    Opt::new("open", locale.t("tasks.open"), &state_filter),
                    Opt::new("done", locale.t("tasks.done"), &state_filter),
                    Opt::new("all", locale.t("products.any"), &state_filter),
                ],
            ),
            Input::new("mine", locale.t("tasks.mine"), "checkbox", if mine { "1" } else { "" }),
        ],
        columns: vec![
            locale.t("field.title"),
            locale.t("field.due_at"),
            locale.t("field.assignee"),
            locale.t("field.contact"),
            locale.t("field.status"),
        ],
        ..listed
    };
    Ok(render(StatusCode::OK, &page))
}

struct TaskForm {
    title: String,
    notes: String,
    due_at: String,
    remind_at: String,
    assignee: String,
    contact: String,
    company: String,
    done: bool,
}

async fn task_inputs(state: &AppState, w: &WebUser, v: &TaskForm) -> WebResult<Vec<Input>> {
    let locale = w.locale;
    let users = guanxi_store::accounts::list_users(&state.db).await.or_page(locale)?;
    let assignee = if v.assignee.is_empty() { w.user.id.to_string() } else { v.assignee.clone() };
    let opts = users
        .iter()
        .filter(|u| u.active)
        .map(|u| Opt::new(u.id.to_string(), u.display_name.clone(), &assignee))
        .collect();
    Ok(vec![
        Input::text("title", locale.t("field.title"), v.title.clone()).required(),
        Input::new("due_at", locale.t("field.due_at"), "datetime-local", v.due_at.clone()),
        Input::new("remind_at", locale.t("field.remind_at"), "datetime-local", v.remind_at.clone())
            .hint(locale.t("tasks.remind_hint")),
        Input::select("assignee_id", locale.t("field.assignee"), opts),
        Input::text("contact_id", locale.t("field.contact"), v.contact.clone()).hint(locale.t("form.ref_hint")),
        Input::text("company_id", locale.t("field.company"), v.company.clone()),
        Input::new("notes", locale.t("field.body"), "textarea", v.notes.clone()),
        Input::new("done", locale.t("field.done"), "checkbox", if v.done { "1" } else { "" }),
    ])
}

pub async fn new_task(State(state): State<AppState>, w: WebUser, Query(p): Query<Prefill>) -> WebResult<Response> {
    let locale = w.locale;
    let contact = p.contact.as_deref().and_then(parse_uuid);
    let company = p.company.as_deref().and_then(parse_uuid);
    let v = TaskForm {
        title: String::new(),
        notes: String::new(),
        due_at: String::new(),
        remind_at: String::new(),
        assignee: String::new(),
        contact: ref_label(&state, &w, RefKind::Contact, contact).await,
        company: ref_label(&state, &w, RefKind::Company, company).await,
        done: false,
    };
    let inputs = task_inputs(&state, &w, &v).await?;
    let page = record_form(
        &w,
        "activities",
        locale.t("tasks.new").to_string(),
        "/tasks/new".into(),
        back_to(contact, company, "/tasks", locale.t("tasks.title"), locale),
        ref_hidden(contact, company),
        inputs,
        vec![],
        false,
    );
    Ok(render(StatusCode::OK, &page))
}

pub async fn edit_task(State(state): State<AppState>, w: WebUser, Path(raw_id): Path<String>) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let t = guanxi_store::tasks::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let v = task_values(&state, &w, &t).await;
    let inputs = task_inputs(&state, &w, &v).await?;
    let mut hidden = ref_hidden(t.contact_id, t.company_id);
    hidden.push(("version".into(), t.version.to_string()));
    let mut page = record_form(
        &w,
        "activities",
        locale.t("tasks.edit").to_string(),
        format!("/tasks/{id}/edit"),
        back_to(t.contact_id, t.company_id, "/tasks", locale.t("tasks.title"), locale),
        hidden,
        inputs,
        vec![],
        false,
    );
    page.delete_url = Some(format!("/tasks/{id}/delete"));
    Ok(render(StatusCode::OK, &page))
}

async fn task_values(state: &AppState, w: &WebUser, t: &Task) -> TaskForm {
    TaskForm {
        title: t.title.clone(),
        notes: t.notes.clone().unwrap_or_default(),
        due_at: t.due_at.map(local_input).unwrap_or_default(),
        remind_at: t.remind_at.map(local_input).unwrap_or_default(),
        assignee: t.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        contact: ref_label(state, w, RefKind::Contact, t.contact_id).await,
        company: ref_label(state, w, RefKind::Company, t.company_id).await,
        done: t.done,
    }
}

form_posts!(create_task, update_task, save_task);

async fn save_task(state: &AppState, w: &WebUser, id: Option<Uuid>, f: FormData) -> WebResult<Response> {
    let locale = w.locale;
    let current = load(id, locale, async |id| guanxi_store::tasks::get(&state.db, &w.actor, id).await).await?;
    let mut errs = ValidationErrors::new();
    let (contact, company) = resolve_parents(state, w, &f, &mut errs).await;
    let assignee = match f.get("assignee_id") {
        "" => None,
        s => parse_uuid(s).or_else(|| {
            errs.push(FieldError::new("assignee_id", "invalid_option", "not a user"));
            None
        }),
    };
    let input = TaskInput {
        title: f.opt("title"),
        notes: f.opt("notes"),
        due_at: optional_time(&f, "due_at", &mut errs),
        remind_at: optional_time(&f, "remind_at", &mut errs),
        assignee_id: assignee,
        contact_id: contact,
        company_id: company,
        done: Some(f.checked("done")),
    };
    let (action, heading) = match id {
        Some(id) => (format!("/tasks/{id}/edit"), locale.t("tasks.edit")),
        None => ("/tasks/new".to_string(), locale.t("tasks.new")),
    };
    let version = current.as_ref().map(|t| f.get("version").parse::<i64>().unwrap_or(t.version));
    let failed = async |errors: ValidationErrors,
                        status: StatusCode,
                        version: Option<i64>,
                        conflict: bool|
           -> WebResult<Response> {
        let v = TaskForm {
            title: f.get("title").into(),
            notes: f.get("notes").into(),
            due_at: f.get("due_at").into(),
            remind_at: f.get("remind_at").into(),
            assignee: f.get("assignee_id").into(),
            contact: f.get("contact_id").into(),
            company: f.get("company_id").into(),
            done: f.checked("done"),
        };
        let mut ins = task_inputs(state, w, &v).await?;
        let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
        let other = form_errors(&mut refs, &errors, conflict, locale);
        let mut hidden = ref_hidden(contact, company);
        if let Some(v) = version {
            hidden.push(("version".into(), v.to_string()));
        }
        let back = back_to(contact, company, "/tasks", locale.t("tasks.title"), locale);
        let mut page =
            record_form(w, "activities", heading.to_string(), action.clone(), back, hidden, ins, other, true);
        page.delete_url = id.map(|id| format!("/tasks/{id}/delete"));
        Ok(render(status, &page))
    };
    let draft = match validated(errs, input.validate()) {
        Ok(d) => d,
        Err(e) => return failed(e, StatusCode::UNPROCESSABLE_ENTITY, version, false).await,
    };
    let result = match (id, version) {
        (Some(id), Some(v)) => guanxi_store::tasks::update(&state.db, &w.actor, id, v, &draft).await,
        _ => guanxi_store::tasks::create(&state.db, &w.actor, &draft).await,
    };
    match result {
        Ok(_) => Ok(see_other("/tasks")),
        Err(e) => match refusal(e, false, locale)? {
            Refusal::Invalid(e) => failed(e, StatusCode::UNPROCESSABLE_ENTITY, version, false).await,
            Refusal::Conflict { current } => {
                failed(ValidationErrors::new(), StatusCode::CONFLICT, Some(current), true).await
            }
        },
    }
}
