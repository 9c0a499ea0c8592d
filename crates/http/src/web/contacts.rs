//! Contact pages (the list is in `contact_list`): one contact (header card, inline-editable fields,
//! timeline, quick log) and the create form with field errors and a duplicate warning.

use super::form::{FormData, Input, Opt, custom_input, custom_inputs, custom_shown, custom_values};
use super::{Cx, Locale, OrPage, Page, WebError, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use axum::Form;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use guanxi_core::ValidationErrors;
use guanxi_core::access::Visibility;
use guanxi_core::activity::{ActivityInput, ActivityKind, TimelineEntry};
use guanxi_core::contact::{Contact, ContactDraft, ContactInput, ContactRules, EmailEntry, PhoneEntry, Source};
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_store::StoreError;
use guanxi_store::activities::TimelineParent;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers

fn contact_id(raw: &str, locale: Locale) -> WebResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| WebError::NotFound(locale))
}

async fn rules_defs(state: &AppState, locale: Locale) -> WebResult<Vec<CustomFieldDef>> {
    guanxi_store::custom_fields::list(&state.db, Some(ObjectType::Contact)).await.or_page(locale)
}

fn validate(state: &AppState, input: &ContactInput, defs: &[CustomFieldDef]) -> Result<ContactDraft, ValidationErrors> {
    let rules = ContactRules {
        default_region: state.config.default_region,
        custom_fields: defs,
        today: Utc::now().date_naive(),
    };
    input.validate(&rules)
}

/// The form input a validation error path belongs to (`emails/0/address` -> `email`, `custom/level` ->
/// `custom_level`).
fn ui_field(path: &str) -> String {
    let mut parts = path.split('/');
    match (parts.next().unwrap_or(""), parts.next()) {
        ("emails", _) => "email".into(),
        ("phones", _) => "phone".into(),
        ("address", _) => "city".into(),
        ("company_id", _) => "company".into(),
        ("custom", Some(key)) => format!("custom_{key}"),
        (other, _) => other.into(),
    }
}

/// `tags` typed as `vip, 老客户，展会`: commas of either width separate.
pub fn split_tags(v: &str) -> Vec<String> {
    v.split([',', '，', '、']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

pub fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

pub async fn user_names(state: &AppState, locale: Locale) -> WebResult<HashMap<Uuid, String>> {
    Ok(guanxi_store::accounts::list_users(&state.db)
        .await
        .or_page(locale)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

async fn company_name(state: &AppState, w: &WebUser, id: Option<Uuid>) -> Option<String> {
    let id = id?;
    guanxi_store::companies::get(&state.db, &w.actor, id).await.ok().map(|c| c.name)
}

pub struct Choice {
    pub value: String,
    pub label: &'static str,
    pub selected: bool,
}

// ---------------------------------------------------------------------------------------------------------------
// One contact

/// An inline-editable field of the contact page.
pub struct FieldView {
    /// Form name and anchor (`job_title` -> `#field-job_title`; custom fields are `custom_<key>`).
    pub name: String,
    pub label: String,
    /// As shown.
    pub shown: String,
    /// Where the shown value links to (the company's page, a URL field's address).
    pub href: Option<String>,
    /// As put in the input.
    pub value: String,
    /// `text`, `email`, `tel`, `number`, `date`, `url`, `select`, `checkbox`, `checkboxes` (one per option) or
    /// `company` (a search for companies, then a select of the matches).
    pub input: &'static str,
    /// `step` of a number input.
    pub step: &'static str,
    /// Choices of a select or of checkboxes, the `selected` ones chosen.
    pub options: Vec<Opt>,
    /// The form is open (after an error or a conflict).
    pub open: bool,
    pub error: Option<&'static str>,
    /// A conflicting change by someone else: the value now stored.
    pub conflict: Option<String>,
}

pub struct TimelineItem {
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub when: String,
    pub subject: String,
    pub body: String,
    pub author: String,
}

pub struct KindFilter {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(askama::Template)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    cx: Cx,
    id: Uuid,
    version: i64,
    name: String,
    company: String,
    company_id: Option<Uuid>,
    /// The company search of the company field, and whether it ran and found any.
    company_q: String,
    company_searched: bool,
    company_found: bool,
    title: String,
    owner: String,
    source: &'static str,
    tags: Vec<String>,
    fields: Vec<FieldView>,
    timeline: Vec<TimelineItem>,
    kinds: Vec<KindFilter>,
    orders_checked: bool,
    older_url: Option<String>,
    log_kinds: Vec<Choice>,
    log_subject: String,
    log_body: String,
    log_error: Option<&'static str>,
    saved: bool,
}
page!(ShowPage);

/// What a re-render after a failed post shows.
#[derive(Default)]
struct Overlay {
    status: Option<StatusCode>,
    field: Option<String>,
    /// The values posted for the field (several for a multiple choice).
    values: Vec<String>,
    error: Option<&'static str>,
    conflict: bool,
    log: Option<(String, String, String, Option<&'static str>)>,
}

const LOG_KINDS: [ActivityKind; 4] =
    [ActivityKind::Note, ActivityKind::Call, ActivityKind::Meeting, ActivityKind::Visit];

/// What the contact page shows besides the contact itself.
struct FieldContext<'a> {
    /// The name of the contact's company ("" when there is none or the user cannot see it).
    company: &'a str,
    defs: &'a [CustomFieldDef],
    /// Companies the company search (`company_q`) found, to choose from.
    matches: &'a [(Uuid, String)],
}

fn field_views(c: &Contact, fc: &FieldContext<'_>, locale: Locale) -> Vec<FieldView> {
    let text = |name: &str, label: &'static str, v: Option<&str>, input: &'static str| FieldView {
        name: name.to_string(),
        label: label.to_string(),
        shown: v.unwrap_or("").to_string(),
        href: None,
        value: v.unwrap_or("").to_string(),
        input,
        step: "",
        options: Vec::new(),
        open: false,
        error: None,
        conflict: None,
    };
    let source_opts = Source::ALL
        .iter()
        .map(|s| Opt::new(s.as_str(), locale.t(&format!("source.{}", s.as_str())), c.source.as_str()))
        .collect();
    let vis_opts = [Visibility::Private, Visibility::Team, Visibility::Public]
        .iter()
        .map(|v| Opt::new(v.as_str(), locale.t(&format!("visibility.{}", v.as_str())), c.visibility.as_str()))
        .collect();
    // The company: none, the current one (kept even when the user cannot see it, so saving another field's
    // value never clears it), and the search's matches.
    let current = c.company_id.map(|id| id.to_string()).unwrap_or_default();
    let mut company_opts = vec![Opt::new("", locale.t("contact.no_company"), &current)];
    if let Some(id) = c.company_id {
        let label = if fc.company.is_empty() { locale.t("contact.company_hidden") } else { fc.company };
        company_opts.push(Opt::new(id.to_string(), label, &current));
    }
    company_opts.extend(
        fc.matches
            .iter()
            .filter(|(id, _)| Some(*id) != c.company_id)
            .map(|(id, name)| Opt::new(id.to_string(), name.clone(), &current)),
    );
    let tags = c.tags.join(", ");
    let mut out = vec![
        text("display_name", locale.t("field.display_name"), Some(&c.display_name), "text"),
        text("family_name", locale.t("field.family_name"), c.family_name.as_deref(), "text"),
        text("given_name", locale.t("field.given_name"), c.given_name.as_deref(), "text"),
        FieldView {
            href: c.company_id.filter(|_| !fc.company.is_empty()).map(|id| format!("/companies/{id}")),
            value: current.clone(),
            options: company_opts,
            ..text("company", locale.t("field.company"), Some(fc.company), "company")
        },
        text("job_title", locale.t("field.job_title"), c.job_title.as_deref(), "text"),
        text("email", locale.t("field.email"), c.primary_email(), "email"),
        text("phone", locale.t("field.phone"), c.primary_phone(), "tel"),
        text("city", locale.t("field.city"), c.address.city.as_deref(), "text"),
        text("tags", locale.t("field.tags"), Some(&tags), "text"),
        FieldView {
            options: source_opts,
            shown: locale.t(&format!("source.{}", c.source.as_str())).to_string(),
            ..text("source", locale.t("field.source"), Some(c.source.as_str()), "select")
        },
        FieldView {
            options: vis_opts,
            shown: locale.t(&format!("visibility.{}", c.visibility.as_str())).to_string(),
            ..text("visibility", locale.t("field.visibility"), Some(c.visibility.as_str()), "select")
        },
    ];
    // Custom fields, by type: the same inputs as the forms, posted as `value`.
    for d in fc.defs {
        let stored = c.custom.get(&d.key);
        let input = custom_input(d, stored, None, locale);
        let shown = stored.map(|v| custom_shown(d, v, locale)).unwrap_or_default();
        let is_url = d.kind == guanxi_core::custom_field::CustomFieldKind::Url;
        out.push(FieldView {
            name: input.name,
            label: d.label.clone(),
            href: (is_url && !shown.is_empty()).then(|| shown.clone()),
            shown,
            value: input.value,
            input: input.kind,
            step: input.step,
            options: input.options,
            open: false,
            error: None,
            conflict: None,
        });
    }
    out
}

pub async fn show(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<Response> {
    let id = contact_id(&raw_id, w.locale)?;
    render_show(&state, &w, id, uri.query().unwrap_or(""), Overlay::default()).await
}

async fn render_show(state: &AppState, w: &WebUser, id: Uuid, query: &str, overlay: Overlay) -> WebResult<Response> {
    let locale = w.locale;
    let c = guanxi_store::contacts::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let owners = user_names(state, locale).await?;
    let company = company_name(state, w, c.company_id).await.unwrap_or_default();
    let defs = rules_defs(state, locale).await?;

    // Timeline filters from the query: `kind=note&kind=call&orders=1&before=<time>_<id>`.
    let mut kinds_sel: Vec<ActivityKind> = Vec::new();
    let mut orders = false;
    let mut filtered = false;
    let mut before = None;
    let mut saved = false;
    let mut company_q = String::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "company_q" => company_q = v.trim().chars().take(200).collect(),
            "kind" => {
                filtered = true;
                if let Some(kind) = ActivityKind::parse(&v) {
                    kinds_sel.push(kind);
                }
            }
            "orders" => {
                filtered = true;
                orders = v == "1";
            }
            "before" => before = parse_before(&v),
            "saved" => saved = true,
            _ => {}
        }
    }
    if !filtered {
        orders = true;
    }
    let kinds_arg = filtered.then_some(kinds_sel.as_slice());
    let (entries, next) = guanxi_store::activities::timeline(
        &state.db,
        &w.actor,
        TimelineParent::Contact(id),
        kinds_arg,
        orders,
        before,
        30,
    )
    .await
    .or_page(locale)?;
    let timeline = timeline_items(&entries, &owners, locale);
    let older_url = next.map(|(t, eid)| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k != "before" && k != "saved" && k != "company_q" {
                ser.append_pair(&k, &v);
            }
        }
        ser.append_pair("before", &format!("{}_{eid}", t.to_rfc3339()));
        format!("/contacts/{id}?{}#timeline", ser.finish())
    });

    // The company search of the company field: companies the user can see, by name.
    let matches: Vec<(Uuid, String)> = if company_q.is_empty() {
        vec![]
    } else {
        guanxi_store::companies::search(&state.db, &w.actor, &company_q, 20)
            .await
            .or_page(locale)?
            .into_iter()
            .map(|(co, _)| (co.id, co.name))
            .collect()
    };
    let fc = FieldContext { company: &company, defs: &defs, matches: &matches };
    let mut fields = field_views(&c, &fc, locale);
    if !company_q.is_empty()
        && let Some(f) = fields.iter_mut().find(|f| f.name == "company")
    {
        f.open = true;
    }
    if let Some(name) = &overlay.field
        && let Some(f) = fields.iter_mut().find(|f| &f.name == name)
    {
        f.open = true;
        f.error = overlay.error;
        if overlay.conflict {
            f.conflict = Some(f.shown.clone());
        }
        f.value = overlay.values.first().cloned().unwrap_or_default();
        for o in &mut f.options {
            o.selected = overlay.values.contains(&o.value);
        }
    }
    let (log_kind, log_subject, log_body, log_error) =
        overlay.log.clone().unwrap_or_else(|| ("note".into(), String::new(), String::new(), None));
    let page = ShowPage {
        cx: Cx::for_user(w, "contacts", &format!("/contacts/{id}"), c.display_name.clone()),
        id,
        version: c.version,
        name: c.display_name.clone(),
        company,
        company_id: c.company_id,
        company_searched: !company_q.is_empty(),
        company_found: !matches.is_empty(),
        company_q,
        title: c.job_title.clone().unwrap_or_default(),
        owner: c.owner_id.and_then(|o| owners.get(&o).cloned()).unwrap_or_default(),
        source: locale.t(&format!("source.{}", c.source.as_str())),
        tags: c.tags.clone(),
        fields,
        timeline,
        kinds: ActivityKind::ALL
            .iter()
            .map(|k| KindFilter {
                value: k.as_str(),
                label: locale.t(&format!("activity.{}", k.as_str())),
                checked: !filtered || kinds_sel.contains(k),
            })
            .collect(),
        orders_checked: orders,
        older_url,
        log_kinds: LOG_KINDS
            .iter()
            .map(|k| Choice {
                value: k.as_str().into(),
                label: locale.t(&format!("activity.{}", k.as_str())),
                selected: log_kind == k.as_str(),
            })
            .collect(),
        log_subject,
        log_body,
        log_error,
        saved,
    };
    Ok(render(overlay.status.unwrap_or(StatusCode::OK), &page))
}

/// Timeline entries as the contact and company pages show them.
pub fn timeline_items(entries: &[TimelineEntry], users: &HashMap<Uuid, String>, locale: Locale) -> Vec<TimelineItem> {
    entries
        .iter()
        .map(|e| match e {
            TimelineEntry::Activity(a) => TimelineItem {
                kind: a.kind.as_str(),
                kind_label: locale.t(&format!("activity.{}", a.kind.as_str())),
                when: locale.datetime(a.occurred_at),
                subject: a.subject.clone().unwrap_or_default(),
                body: a.body.clone().unwrap_or_default(),
                author: a.actor_id.and_then(|u| users.get(&u).cloned()).unwrap_or_default(),
            },
            TimelineEntry::Order(o) => TimelineItem {
                kind: "order",
                kind_label: locale.t("activity.order"),
                when: locale.datetime(o.ordered_at),
                subject: o.number.clone().unwrap_or_default(),
                body: format!(
                    "{} · {}",
                    locale.money(o.total_minor, &o.currency),
                    locale.t(&format!("order.status.{}", o.status.as_str()))
                ),
                author: String::new(),
            },
        })
        .collect()
}

pub fn parse_before(v: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (t, id) = v.rsplit_once('_')?;
    Some((DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc), Uuid::parse_str(id).ok()?))
}

/// Applies one edited field to the contact's input; `None` for a field the page does not edit.
fn apply_field(input: &mut ContactInput, field: &str, value: &str) -> Option<Result<(), &'static str>> {
    match field {
        "display_name" => input.display_name = opt(value),
        "family_name" => input.family_name = opt(value),
        "given_name" => input.given_name = opt(value),
        "job_title" => input.job_title = opt(value),
        "city" => input.address.city = opt(value),
        "tags" => input.tags = split_tags(value),
        // A company the user cannot see is refused by the store, at this field.
        "company" => match value.trim() {
            "" => input.company_id = None,
            v => match Uuid::parse_str(v) {
                Ok(id) => input.company_id = Some(id),
                Err(_) => return Some(Err("invalid_value")),
            },
        },
        "email" => {
            input.emails.retain(|e| !e.primary);
            input.emails.iter_mut().for_each(|e| e.primary = false);
            if let Some(v) = opt(value) {
                input.emails.insert(0, EmailEntry { address: v, primary: true });
            }
        }
        "phone" => {
            input.phones.retain(|p| !p.primary);
            input.phones.iter_mut().for_each(|p| p.primary = false);
            if let Some(v) = opt(value) {
                input.phones.insert(0, PhoneEntry { number: v, primary: true });
            }
        }
        "source" => match Source::parse(value) {
            Some(s) => input.source = Some(s),
            None => return Some(Err("invalid_value")),
        },
        "visibility" => match Visibility::parse(value) {
            Some(v) => input.visibility = Some(v),
            None => return Some(Err("invalid_value")),
        },
        _ => return None,
    }
    Some(Ok(()))
}

/// Applies an edited custom field (`custom_<key>`, posted as one `value` per chosen option) to the contact's
/// custom values; `false` when no such field is defined.
fn apply_custom(input: &mut ContactInput, field: &str, values: &[String], defs: &[CustomFieldDef]) -> bool {
    let Some(def) = field.strip_prefix("custom_").and_then(|key| defs.iter().find(|d| d.key == key)) else {
        return false;
    };
    let posted = FormData(values.iter().map(|v| (field.to_string(), v.clone())).collect());
    let mut one = custom_values(std::slice::from_ref(def), &posted, Some(&input.custom));
    match one.remove(&def.key) {
        Some(v) => input.custom.insert(def.key.clone(), v),
        None => input.custom.remove(&def.key),
    };
    true
}

/// Saves one field (`field`, `value`, `version`) if nobody changed the contact since the page was loaded;
/// otherwise shows the conflict (the value now stored next to the user's value) and saves nothing.
pub async fn edit_field(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = contact_id(&raw_id, locale)?;
    let form = FormData(pairs);
    let field = form.get("field").to_string();
    let values: Vec<String> = form.all("value").into_iter().map(str::to_string).collect();
    let value = values.first().cloned().unwrap_or_default();
    let current = guanxi_store::contacts::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let conflict = || Overlay {
        status: Some(StatusCode::CONFLICT),
        field: Some(field.clone()),
        values: values.clone(),
        conflict: true,
        ..Overlay::default()
    };
    // A missing or unreadable version cannot prove the page was current: it is treated as a conflict.
    let Ok(version) = form.get("version").parse::<i64>() else {
        return render_show(&state, &w, id, "", conflict()).await;
    };
    if current.version != version {
        return render_show(&state, &w, id, "", conflict()).await;
    }
    let defs = rules_defs(&state, locale).await?;
    let mut input = current.to_input();
    let failed = |code: &'static str| Overlay {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        field: Some(field.clone()),
        values: values.clone(),
        error: Some(code),
        ..Overlay::default()
    };
    if !apply_custom(&mut input, &field, &values, &defs) {
        match apply_field(&mut input, &field, &value) {
            None => return Err(WebError::NotFound(locale)),
            Some(Err(code)) => return render_show(&state, &w, id, "", failed(code)).await,
            Some(Ok(())) => {}
        }
    }
    // An error of the edited field first; another field's (a required custom field never filled) after it.
    let first_code = |e: &ValidationErrors| {
        e.errors.iter().find(|e| ui_field(&e.field) == field).or(e.errors.first()).map(|e| e.code).unwrap_or("invalid")
    };
    let draft = match validate(&state, &input, &defs) {
        Ok(d) => d,
        Err(e) => return render_show(&state, &w, id, "", failed(first_code(&e))).await,
    };
    match guanxi_store::contacts::update(&state.db, &w.actor, id, version, &draft).await {
        Ok(_) => Ok(see_other(&format!("/contacts/{id}?saved=1#field-{field}"))),
        Err(StoreError::VersionMismatch { .. }) => render_show(&state, &w, id, "", conflict()).await,
        Err(StoreError::Invalid(e)) => render_show(&state, &w, id, "", failed(first_code(&e))).await,
        Err(e) => Err(WebError::store(e, locale)),
    }
}

#[derive(Deserialize)]
pub struct LogForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// Quick log of a note, call, meeting or visit on the contact's timeline.
pub async fn log_activity(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(form): Form<LogForm>,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = contact_id(&raw_id, locale)?;
    let kind = ActivityKind::parse(&form.kind).filter(|k| LOG_KINDS.contains(k)).unwrap_or(ActivityKind::Note);
    let input = ActivityInput {
        kind: Some(kind),
        contact_id: Some(id),
        subject: opt(&form.subject),
        body: opt(&form.body),
        ..ActivityInput::default()
    };
    let failed = |code: &'static str| Overlay {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        log: Some((kind.as_str().to_string(), form.subject.clone(), form.body.clone(), Some(code))),
        ..Overlay::default()
    };
    let draft = match input.validate(Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            let code = e.errors.first().map(|e| e.code).unwrap_or("invalid");
            return render_show(&state, &w, id, "", failed(code)).await;
        }
    };
    match guanxi_store::activities::create(&state.db, &w.actor, &draft).await {
        Ok(_) => Ok(see_other(&format!("/contacts/{id}#timeline"))),
        // The contact is not visible (anymore): the same answer as for an unknown id.
        Err(StoreError::Invalid(e)) if e.errors.iter().any(|e| e.field == "contact_id") => {
            Err(WebError::NotFound(locale))
        }
        Err(StoreError::Invalid(e)) => {
            let code = e.errors.first().map(|e| e.code).unwrap_or("invalid");
            render_show(&state, &w, id, "", failed(code)).await
        }
        Err(e) => Err(WebError::store(e, locale)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Create

#[derive(Default, Clone)]
pub struct NewContactForm {
    family_name: String,
    given_name: String,
    display_name: String,
    email: String,
    phone: String,
    job_title: String,
    /// A company's name (or id): it must find exactly one company the user can see.
    company: String,
    city: String,
    tags: String,
    source: String,
    visibility: String,
    confirm_duplicate: bool,
    /// Everything posted, for the custom fields (`custom_<key>`).
    posted: FormData,
}

impl NewContactForm {
    fn read(f: FormData) -> NewContactForm {
        let get = |k: &str| f.get(k).to_string();
        NewContactForm {
            family_name: get("family_name"),
            given_name: get("given_name"),
            display_name: get("display_name"),
            email: get("email"),
            phone: get("phone"),
            job_title: get("job_title"),
            company: get("company"),
            city: get("city"),
            tags: get("tags"),
            source: get("source"),
            visibility: get("visibility"),
            confirm_duplicate: f.checked("confirm_duplicate"),
            posted: f,
        }
    }
}

pub struct Duplicate {
    pub id: Uuid,
    pub name: String,
    pub detail: String,
}

#[derive(askama::Template)]
#[template(path = "contacts/new.html")]
struct NewPage {
    cx: Cx,
    f: NewContactForm,
    /// Field name -> message.
    errors: Vec<(String, &'static str)>,
    duplicates: Vec<Duplicate>,
    sources: Vec<Choice>,
    visibilities: Vec<Choice>,
    /// The contact custom fields' inputs, with their errors.
    custom: Vec<Input>,
}
page!(NewPage);

impl NewPage {
    /// The error message of one input, or "".
    fn error_for(&self, field: &str) -> &'static str {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| *m).unwrap_or("")
    }

    /// The text inputs: name, label key, input type, value.
    fn inputs(&self) -> [(&'static str, &'static str, &'static str, &str); 9] {
        let f = &self.f;
        [
            ("family_name", "field.family_name", "text", f.family_name.as_str()),
            ("given_name", "field.given_name", "text", f.given_name.as_str()),
            ("display_name", "field.display_name", "text", f.display_name.as_str()),
            ("email", "field.email", "email", f.email.as_str()),
            ("phone", "field.phone", "tel", f.phone.as_str()),
            ("job_title", "field.job_title", "text", f.job_title.as_str()),
            ("company", "field.company", "text", f.company.as_str()),
            ("city", "field.city", "text", f.city.as_str()),
            ("tags", "field.tags", "text", f.tags.as_str()),
        ]
    }

    /// Errors of fields the form has no input for.
    fn other_errors(&self) -> Vec<&'static str> {
        const INPUTS: [&str; 11] = [
            "company",
            "family_name",
            "given_name",
            "display_name",
            "email",
            "phone",
            "job_title",
            "city",
            "tags",
            "source",
            "visibility",
        ];
        let shown = |f: &str| INPUTS.contains(&f) || self.custom.iter().any(|i| i.name == f);
        self.errors.iter().filter(|(f, _)| !shown(f)).map(|(_, m)| *m).collect()
    }
}

fn new_page(
    w: &WebUser,
    f: NewContactForm,
    defs: &[CustomFieldDef],
    errors: Vec<(String, &'static str)>,
    duplicates: Vec<Duplicate>,
) -> NewPage {
    let locale = w.locale;
    let posted = (!f.posted.0.is_empty()).then_some(&f.posted);
    let mut custom = custom_inputs(defs, &serde_json::Map::new(), posted, locale);
    for i in &mut custom {
        i.error = errors.iter().find(|(name, _)| *name == i.name).map(|(_, m)| *m);
    }
    let src = if f.source.is_empty() { "manual".to_string() } else { f.source.clone() };
    let vis = if f.visibility.is_empty() { "team".to_string() } else { f.visibility.clone() };
    NewPage {
        cx: Cx::for_user(w, "contacts", "/contacts/new", locale.t("contacts.new").to_string()),
        sources: Source::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().into(),
                label: locale.t(&format!("source.{}", s.as_str())),
                selected: s.as_str() == src,
            })
            .collect(),
        visibilities: [Visibility::Private, Visibility::Team, Visibility::Public]
            .iter()
            .map(|v| Choice {
                value: v.as_str().into(),
                label: locale.t(&format!("visibility.{}", v.as_str())),
                selected: v.as_str() == vis,
            })
            .collect(),
        f,
        errors,
        duplicates,
        custom,
    }
}

pub async fn new_form(State(state): State<AppState>, w: WebUser) -> WebResult<Response> {
    let defs = rules_defs(&state, w.locale).await?;
    Ok(render(StatusCode::OK, &new_page(&w, NewContactForm::default(), &defs, Vec::new(), Vec::new())))
}

pub async fn create(
    State(state): State<AppState>,
    w: WebUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let locale = w.locale;
    let f = NewContactForm::read(FormData(pairs));
    let defs = rules_defs(&state, locale).await?;
    let mut bad: Vec<(String, &'static str)> = Vec::new();
    let source = match f.source.as_str() {
        "" => None,
        s => Source::parse(s).or_else(|| {
            bad.push(("source".into(), locale.error("invalid_value")));
            None
        }),
    };
    let visibility = match f.visibility.as_str() {
        "" => None,
        v => Visibility::parse(v).or_else(|| {
            bad.push(("visibility".into(), locale.error("invalid_value")));
            None
        }),
    };
    // The company is typed by name, as on the other forms; `company_id` errors (not visible) land here too.
    let company_form = super::form::FormData(vec![("company".into(), f.company.clone())]);
    let company_id =
        match super::form::resolve_ref(&state, &w, super::form::RefKind::Company, &company_form, "company").await {
            Ok(id) => id,
            Err(code) => {
                bad.push(("company".into(), locale.error(code)));
                None
            }
        };
    let input = ContactInput {
        company_id,
        family_name: opt(&f.family_name),
        given_name: opt(&f.given_name),
        display_name: opt(&f.display_name),
        emails: opt(&f.email).map(|a| vec![EmailEntry { address: a, primary: true }]).unwrap_or_default(),
        phones: opt(&f.phone).map(|n| vec![PhoneEntry { number: n, primary: true }]).unwrap_or_default(),
        job_title: opt(&f.job_title),
        address: guanxi_core::contact::PostalAddress { city: opt(&f.city), ..Default::default() },
        tags: split_tags(&f.tags),
        source,
        visibility,
        custom: custom_values(&defs, &f.posted, None),
        ..ContactInput::default()
    };
    let draft = match validate(&state, &input, &defs) {
        Ok(d) if bad.is_empty() => d,
        Ok(_) => return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &new_page(&w, f, &defs, bad, Vec::new()))),
        Err(e) => {
            bad.extend(e.errors.iter().map(|e| (ui_field(&e.field), locale.error(e.code))));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &new_page(&w, f, &defs, bad, Vec::new())));
        }
    };
    if !f.confirm_duplicate {
        // The duplicate engine: same email or phone, the same name in either script at the same company, ...
        let found =
            guanxi_store::dedup::similar_contacts(&state.db, &w.actor, &draft, None, state.config.default_region)
                .await
                .or_page(locale)?;
        if !found.is_empty() {
            let lang = match locale {
                Locale::ZhCn => guanxi_dedup::Lang::Zh,
                Locale::En => guanxi_dedup::Lang::En,
            };
            let sep = if lang == guanxi_dedup::Lang::Zh { "；" } else { "; " };
            let dups = found
                .iter()
                .map(|s| Duplicate {
                    id: s.record.id,
                    name: s.record.display_name.clone(),
                    detail: s.reasons.iter().map(|r| r.text(lang)).collect::<Vec<_>>().join(sep),
                })
                .collect();
            return Ok(render(StatusCode::OK, &new_page(&w, f, &defs, Vec::new(), dups)));
        }
    }
    match guanxi_store::contacts::create(&state.db, &w.actor, &draft).await {
        Ok(c) => Ok(see_other(&format!("/contacts/{}", c.id))),
        Err(StoreError::Invalid(e)) => {
            let errs = e.errors.iter().map(|e| (ui_field(&e.field), locale.error(e.code))).collect();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &new_page(&w, f, &defs, errs, Vec::new())))
        }
        Err(e) => Err(WebError::store(e, locale)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_paths_map_to_inputs() {
        assert_eq!(ui_field("emails/0/address"), "email");
        assert_eq!(ui_field("phones/0/number"), "phone");
        assert_eq!(ui_field("address/city"), "city");
        assert_eq!(ui_field("job_title"), "job_title");
        assert_eq!(ui_field("custom/level"), "custom_level");
        assert_eq!(ui_field("company_id"), "company");
    }

    #[test]
    fn tags_split_on_either_comma() {
        assert_eq!(split_tags("vip, 老客户，展会、 "), vec!["vip", "老客户", "展会"]);
    }

    #[test]
    fn editing_the_email_replaces_the_primary_only() {
        let mut input = ContactInput {
            emails: vec![
                EmailEntry { address: "a@example.com".into(), primary: true },
                EmailEntry { address: "b@example.com".into(), primary: false },
            ],
            ..Default::default()
        };
        assert_eq!(apply_field(&mut input, "email", "c@example.com"), Some(Ok(())));
        let addrs: Vec<_> = input.emails.iter().map(|e| (e.address.as_str(), e.primary)).collect();
        assert_eq!(addrs, vec![("c@example.com", true), ("b@example.com", false)]);
        assert_eq!(apply_field(&mut input, "nope", "x"), None);
    }
}
