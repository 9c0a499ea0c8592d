//! Company pages: the list, one company with its contacts, orders and timeline, and the create/edit form.

use super::contacts::{parse_before, timeline_items, user_names};
use super::form::form_posts;
use super::form::{
    Cell, Editing, FormData, FormPage, Input, ListPage, Opt, Refusal, Section, ShowPage, custom_facts, custom_inputs,
    custom_values, form_errors, list_page, list_query, load, record_id, refusal, section_form, validated,
};
use super::{Cx, OrPage, WebError, WebResult, WebUser, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use guanxi_core::ValidationErrors;
use guanxi_core::access::Visibility;
use guanxi_core::company::{Company, CompanyInput, SizeBand};
use guanxi_core::contact::PostalAddress;
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_core::filter::ListQuery;
use guanxi_core::filter::{COMPANY_FIELDS, CONTACT_FIELDS, ListParams, ORDER_FIELDS, parse_list_query};
use guanxi_store::activities::TimelineParent;
use uuid::Uuid;

async fn defs(state: &AppState, w: &WebUser) -> WebResult<Vec<CustomFieldDef>> {
    guanxi_store::custom_fields::list(&state.db, Some(ObjectType::Company)).await.or_page(w.locale)
}

pub fn visibility_options(current: &str, locale: super::Locale) -> Vec<Opt> {
    [Visibility::Team, Visibility::Private, Visibility::Public]
        .iter()
        .map(|v| Opt::new(v.as_str(), locale.t(&format!("visibility.{}", v.as_str())), current))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// List

const SORTS: [(&str, &str); 4] = [
    ("", "contacts.sort.default"),
    ("name", "contacts.sort.name"),
    ("-created_at", "contacts.sort.newest"),
    ("address.city", "contacts.sort.city"),
];

pub async fn list(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let raw = raw.unwrap_or_default();
    let industry = raw.get("industry").unwrap_or("").trim().to_string();
    let city = raw.get("city").unwrap_or("").trim().to_string();
    let tag = raw.get("tag").unwrap_or("").trim().to_string();
    let mut extra = Vec::new();
    if !industry.is_empty() {
        extra.push(format!("industry:eq:{industry}"));
    }
    if !city.is_empty() {
        extra.push(format!("address.city:eq:{city}"));
    }
    if !tag.is_empty() {
        extra.push(format!("tags:has_tag:{tag}"));
    }
    let defs = defs(&state, &w).await?;
    let query = list_query(&raw, &extra, COMPANY_FIELDS, &defs, w.actor.user_id, locale);
    let fetch = async |lq: &ListQuery| guanxi_store::companies::list(&state.db, &w.actor, lq).await;
    let rows = async |items: &[Company]| -> WebResult<Vec<Vec<Cell>>> {
        let owners = user_names(&state, locale).await?;
        Ok(items
            .iter()
            .map(|c| {
                vec![
                    Cell::link(c.name.clone(), format!("/companies/{}", c.id)),
                    Cell::text(c.industry.clone().unwrap_or_default()),
                    Cell::text(c.address.city.clone().unwrap_or_default()),
                    Cell::text(c.domain.clone().unwrap_or_default()),
                    Cell::text(c.owner_id.and_then(|o| owners.get(&o).cloned()).unwrap_or_default()),
                    Cell::text(locale.join(&c.tags)),
                    Cell::nowrap(locale.day(c.updated_at)),
                ]
            })
            .collect())
    };
    let listed = list_page(&w, "companies", "/companies", &uri, &raw, query, fetch, rows).await?;
    let sort = raw.sort.clone().unwrap_or_default();
    let page = ListPage {
        new_links: [
            ("/companies/new".to_string(), locale.t("companies.new")),
            ("/imports?type=companies".to_string(), locale.t("imports.link")),
        ]
        .into_iter()
        .chain(super::dedup::can_scan(&w).then(|| ("/dedup?object=companies".to_string(), locale.t("dedup.link"))))
        .collect(),
        filters: vec![
            Input::new("q", locale.t("contacts.filter.q"), "search", raw.q.clone().unwrap_or_default()),
            Input::text("industry", locale.t("field.industry"), industry),
            Input::text("city", locale.t("field.city"), city),
            Input::text("tag", locale.t("field.tag"), tag),
            Input::select(
                "sort",
                locale.t("contacts.sort"),
                SORTS.iter().map(|(v, k)| Opt::new(*v, locale.t(k), &sort)).collect(),
            ),
        ],
        columns: vec![
            locale.t("field.record_name"),
            locale.t("field.industry"),
            locale.t("field.city"),
            locale.t("field.domain"),
            locale.t("field.owner"),
            locale.t("field.tags"),
            locale.t("field.updated_at"),
        ],
        ..listed
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------------------------
// One company

pub async fn show(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let c = guanxi_store::companies::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let users = user_names(&state, locale).await?;
    let defs = defs(&state, &w).await?;
    let query = uri.query().unwrap_or("");
    let mut before = None;
    let mut saved = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "before" => before = parse_before(&v),
            "saved" => saved = true,
            _ => {}
        }
    }

    // Its contacts and orders: the same list queries (and visibility scoping) as the list pages.
    let by_company = vec![format!("company_id:eq:{id}")];
    let contacts_q = parse_list_query(
        &ListParams { filters: &by_company, sort: Some("display_name"), limit: Some(50), cursor: None, q: None },
        CONTACT_FIELDS,
        &[],
        w.actor.user_id,
    )
    .map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let contacts = guanxi_store::contacts::list(&state.db, &w.actor, &contacts_q).await.or_page(locale)?;
    let orders_q = parse_list_query(
        &ListParams { filters: &by_company, sort: Some("-ordered_at"), limit: Some(20), cursor: None, q: None },
        ORDER_FIELDS,
        &[],
        w.actor.user_id,
    )
    .map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let orders = guanxi_store::orders::list(&state.db, &w.actor, &orders_q).await.or_page(locale)?;
    let (entries, next) =
        guanxi_store::activities::timeline(&state.db, &w.actor, TimelineParent::Company(id), None, true, before, 30)
            .await
            .or_page(locale)?;
    let older_url = next.map(|(t, eid)| {
        let before =
            form_urlencoded::byte_serialize(format!("{}_{eid}", t.to_rfc3339()).as_bytes()).collect::<String>();
        format!("/companies/{id}?before={before}#timeline")
    });

    let contact_rows = contacts
        .items
        .iter()
        .map(|p| {
            vec![
                Cell::link(p.display_name.clone(), format!("/contacts/{}", p.id)),
                Cell::text(p.job_title.clone().unwrap_or_default()),
                Cell::text(p.primary_email().unwrap_or("")),
                Cell::nowrap(p.primary_phone().unwrap_or("")),
            ]
        })
        .collect();
    let order_rows = orders
        .items
        .iter()
        .map(|o| {
            vec![
                Cell::link(
                    o.number.clone().unwrap_or_else(|| locale.t("orders.no_number").to_string()),
                    format!("/orders/{}", o.id),
                ),
                Cell::nowrap(locale.day(o.ordered_at)),
                Cell::nowrap(locale.money(o.total_minor, &o.currency)),
                Cell::text(locale.t(&format!("order.status.{}", o.status.as_str()))),
            ]
        })
        .collect();
    let mut contact_links = vec![];
    if contacts.total > contacts.items.len() as u64 {
        contact_links.push((format!("/contacts?filter=company_id:eq:{id}"), locale.t("companies.all_contacts")));
    }
    let mut order_links = vec![];
    if orders.total > orders.items.len() as u64 {
        order_links.push((format!("/orders?filter=company_id:eq:{id}"), locale.t("companies.all_orders")));
    }
    let page = ShowPage {
        cx: Cx::for_user(&w, "companies", &format!("/companies/{id}"), c.name.clone()),
        back_url: "/companies".into(),
        back_label: locale.t("companies.title"),
        heading: c.name.clone(),
        sub: [c.industry.as_deref(), c.address.city.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · "),
        tags: c.tags.clone(),
        facts: vec![
            (locale.t("field.domain"), c.domain.clone().unwrap_or_default(), None),
            (locale.t("field.size_band"), c.size_band.map(|s| s.as_str().to_string()).unwrap_or_default(), None),
            (locale.t("field.province"), c.address.province.clone().unwrap_or_default(), None),
            (locale.t("field.owner"), c.owner_id.and_then(|o| users.get(&o).cloned()).unwrap_or_default(), None),
            (
                locale.t("field.visibility"),
                locale.t(&format!("visibility.{}", c.visibility.as_str())).to_string(),
                None,
            ),
            (locale.t("field.updated_at"), locale.day(c.updated_at), None),
        ],
        custom_facts: custom_facts(&defs, &c.custom, locale),
        actions: vec![
            (format!("/companies/{id}/edit"), locale.t("action.edit")),
            (format!("/activities/new?company={id}"), locale.t("activities.new")),
            (format!("/tasks/new?company={id}"), locale.t("tasks.new")),
            (format!("/companies/{id}/delete"), locale.t("action.delete")),
        ],
        saved,
        sections: vec![
            Section {
                id: "contacts",
                heading: locale.t("nav.contacts"),
                columns: vec![
                    locale.t("field.record_name"),
                    locale.t("field.job_title"),
                    locale.t("field.email"),
                    locale.t("field.phone"),
                ],
                rows: contact_rows,
                empty: locale.t("contacts.empty"),
                links: contact_links,
            },
            Section {
                id: "orders",
                heading: locale.t("nav.orders"),
                columns: vec![
                    locale.t("field.number"),
                    locale.t("field.ordered_at"),
                    locale.t("field.total"),
                    locale.t("field.status"),
                ],
                rows: order_rows,
                empty: locale.t("orders.empty"),
                links: order_links,
            },
        ],
        timeline: Some(timeline_items(&entries, &users, locale)),
        older_url,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------------------------
// Create and edit

fn inputs(c: Option<&Company>, f: Option<&FormData>, defs: &[CustomFieldDef], w: &WebUser) -> Vec<Input> {
    let locale = w.locale;
    let val = |name: &str, stored: Option<&str>| match f {
        Some(f) => f.get(name).to_string(),
        None => stored.unwrap_or("").to_string(),
    };
    let size = val("size_band", c.and_then(|c| c.size_band).map(|s| s.as_str()));
    let vis = val("visibility", Some(c.map(|c| c.visibility.as_str()).unwrap_or("team")));
    let tags = c.map(|c| c.tags.join(", "));
    let mut size_opts = vec![Opt::new("", locale.t("form.none"), &size)];
    size_opts.extend(SizeBand::ALL.iter().map(|b| Opt::new(b.as_str(), b.as_str(), &size)));
    let mut out = vec![
        Input::text("name", locale.t("field.record_name"), val("name", c.map(|c| c.name.as_str()))).required(),
        Input::text("domain", locale.t("field.domain"), val("domain", c.and_then(|c| c.domain.as_deref())))
            .hint(locale.t("companies.domain_hint")),
        Input::text("industry", locale.t("field.industry"), val("industry", c.and_then(|c| c.industry.as_deref()))),
        Input::select("size_band", locale.t("field.size_band"), size_opts),
        Input::text(
            "address_province",
            locale.t("field.province"),
            val("address_province", c.and_then(|c| c.address.province.as_deref())),
        ),
        Input::text(
            "address_city",
            locale.t("field.city"),
            val("address_city", c.and_then(|c| c.address.city.as_deref())),
        ),
        Input::text("tags", locale.t("field.tags"), val("tags", tags.as_deref()))
            .hint(locale.t("form.comma_separated")),
        Input::select("visibility", locale.t("field.visibility"), visibility_options(&vis, locale)),
    ];
    let empty = serde_json::Map::new();
    out.extend(custom_inputs(defs, c.map(|c| &c.custom).unwrap_or(&empty), f, locale));
    out
}

fn form_page(
    w: &WebUser,
    c: Option<&Company>,
    inputs: Vec<Input>,
    other: Vec<&'static str>,
    has_errors: bool,
) -> FormPage {
    let editing = c.map(|c| Editing { id: c.id, name: &c.name, version: c.version });
    section_form(w, "companies", editing, vec![], inputs, other, has_errors)
}

fn read_input(
    f: &FormData,
    defs: &[CustomFieldDef],
    current: Option<&Company>,
    errs: &mut ValidationErrors,
) -> CompanyInput {
    let size_band = match f.get("size_band") {
        "" => None,
        s => SizeBand::parse(s).or_else(|| {
            errs.push(guanxi_core::FieldError::new("size_band", "invalid_option", "not a size band"));
            None
        }),
    };
    let visibility = match f.get("visibility") {
        "" => None,
        v => Visibility::parse(v).or_else(|| {
            errs.push(guanxi_core::FieldError::new("visibility", "invalid_option", "not a visibility"));
            None
        }),
    };
    CompanyInput {
        name: f.opt("name"),
        domain: f.opt("domain"),
        industry: f.opt("industry"),
        size_band,
        address: PostalAddress {
            province: f.opt("address_province"),
            city: f.opt("address_city"),
            ..Default::default()
        },
        tags: super::contacts::split_tags(f.get("tags")),
        owner_id: None,
        visibility,
        custom: custom_values(defs, f, current.map(|c| &c.custom)),
    }
}

pub async fn new_form(State(state): State<AppState>, w: WebUser) -> WebResult<Response> {
    let defs = defs(&state, &w).await?;
    Ok(render(StatusCode::OK, &form_page(&w, None, inputs(None, None, &defs, &w), vec![], false)))
}

pub async fn edit_form(State(state): State<AppState>, w: WebUser, Path(raw_id): Path<String>) -> WebResult<Response> {
    let id = record_id(&raw_id, &w)?;
    let c = guanxi_store::companies::get(&state.db, &w.actor, id).await.or_page(w.locale)?;
    if !w.actor.can_change(c.ownership()) {
        return Err(WebError::Forbidden(w.locale));
    }
    let defs = defs(&state, &w).await?;
    Ok(render(StatusCode::OK, &form_page(&w, Some(&c), inputs(Some(&c), None, &defs, &w), vec![], false)))
}

form_posts!(create, update, save);

async fn save(state: &AppState, w: &WebUser, id: Option<Uuid>, f: FormData) -> WebResult<Response> {
    let locale = w.locale;
    let current = load(id, locale, async |id| guanxi_store::companies::get(&state.db, &w.actor, id).await).await?;
    let defs = defs(state, w).await?;
    let mut errs = ValidationErrors::new();
    let mut input = read_input(&f, &defs, current.as_ref(), &mut errs);
    if let Some(c) = &current {
        input.owner_id = c.owner_id;
    }
    let failed = |errors: ValidationErrors, status: StatusCode, conflict: Option<&Company>| {
        let mut ins = inputs(current.as_ref(), Some(&f), &defs, w);
        let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
        let other = form_errors(&mut refs, &errors, conflict.is_some(), locale);
        // After a conflict the form carries the stored version: saving again is a deliberate overwrite.
        let shown = conflict.or(current.as_ref());
        render(status, &form_page(w, shown, ins, other, true))
    };
    let draft = match validated(errs, input.validate(&defs)) {
        Ok(d) => d,
        Err(e) => return Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, None)),
    };
    let result = match (&current, id) {
        (Some(c), Some(id)) => {
            let version = f.get("version").parse::<i64>().unwrap_or(c.version);
            guanxi_store::companies::update(&state.db, &w.actor, id, version, &draft).await
        }
        _ => guanxi_store::companies::create(&state.db, &w.actor, &draft).await,
    };
    match result.map_err(|e| refusal(e, false, locale)) {
        Ok(c) => Ok(see_other(&format!("/companies/{}?saved=1", c.id))),
        Err(Ok(Refusal::Invalid(e))) => Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, None)),
        Err(Ok(Refusal::Conflict { .. })) => {
            let fresh =
                guanxi_store::companies::get(&state.db, &w.actor, id.unwrap_or_default()).await.or_page(locale)?;
            Ok(failed(ValidationErrors::new(), StatusCode::CONFLICT, Some(&fresh)))
        }
        Err(Err(e)) => Err(e),
    }
}
