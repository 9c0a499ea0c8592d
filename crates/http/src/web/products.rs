//! Product pages: the catalogue list, one product with its recent orders, and the create/edit form.
//!
//! Every signed-in user reads the catalogue; changing it follows the store's rule (managers and admins).

use super::form::form_posts;
use super::form::{
    Cell, Editing, FormData, FormPage, Input, ListPage, Opt, Refusal, ShowPage, custom_facts, custom_inputs,
    custom_values, form_errors, list_page, list_query, load, parse_money, record_id, refusal, section_form, validated,
};
use super::{Cx, OrPage, WebError, WebResult, WebUser, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use guanxi_core::ValidationErrors;
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_core::filter::ListQuery;
use guanxi_core::filter::PRODUCT_FIELDS;
use guanxi_core::money::{Currency, format_minor};
use guanxi_core::order::{Product, ProductInput};
use uuid::Uuid;

async fn defs(state: &AppState, w: &WebUser) -> WebResult<Vec<CustomFieldDef>> {
    guanxi_store::custom_fields::list(&state.db, Some(ObjectType::Product)).await.or_page(w.locale)
}

const SORTS: [(&str, &str); 4] = [
    ("", "contacts.sort.default"),
    ("name", "contacts.sort.name"),
    ("sku", "products.sort.sku"),
    ("list_price_minor", "products.sort.price"),
];

pub async fn list(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let raw = raw.unwrap_or_default();
    let category = raw.get("category").unwrap_or("").trim().to_string();
    let name = raw.get("name").unwrap_or("").trim().to_string();
    let active = raw.get("active").unwrap_or("").to_string();
    let mut extra = Vec::new();
    if !category.is_empty() {
        extra.push(format!("category:eq:{category}"));
    }
    if !name.is_empty() {
        extra.push(format!("name:contains:{name}"));
    }
    match active.as_str() {
        "1" => extra.push("active:eq:true".into()),
        "0" => extra.push("active:eq:false".into()),
        _ => {}
    }
    let defs = defs(&state, &w).await?;
    let query = list_query(&raw, &extra, PRODUCT_FIELDS, &defs, w.actor.user_id, locale);
    let fetch = async |lq: &ListQuery| guanxi_store::products::list(&state.db, &w.actor, lq).await;
    let rows = async |items: &[Product]| -> WebResult<Vec<Vec<Cell>>> {
        Ok(items
            .iter()
            .map(|p| {
                vec![
                    Cell::link(p.name.clone(), format!("/products/{}", p.id)),
                    Cell::nowrap(p.sku.clone()),
                    Cell::text(p.category.clone().unwrap_or_default()),
                    Cell::nowrap(locale.money(p.list_price_minor, &p.currency)),
                    Cell::text(locale.t(if p.active { "products.on_sale" } else { "products.off_sale" })),
                ]
            })
            .collect())
    };
    let listed = list_page(&w, "products", "/products", &uri, &raw, query, fetch, rows).await?;
    let sort = raw.sort.clone().unwrap_or_default();
    let page = ListPage {
        new_links: vec![
            ("/products/new".into(), locale.t("products.new")),
            ("/imports?type=products".into(), locale.t("imports.link")),
        ],
        filters: vec![
            Input::text("name", locale.t("field.record_name"), name),
            Input::text("category", locale.t("field.category"), category),
            Input::select(
                "active",
                locale.t("field.active"),
                vec![
                    Opt::new("", locale.t("products.any"), &active),
                    Opt::new("1", locale.t("products.on_sale"), &active),
                    Opt::new("0", locale.t("products.off_sale"), &active),
                ],
            ),
            Input::select(
                "sort",
                locale.t("contacts.sort"),
                SORTS.iter().map(|(v, k)| Opt::new(*v, locale.t(k), &sort)).collect(),
            ),
        ],
        columns: vec![
            locale.t("field.record_name"),
            locale.t("field.sku"),
            locale.t("field.category"),
            locale.t("field.list_price"),
            locale.t("field.active"),
        ],
        ..listed
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn show(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let p = guanxi_store::products::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let saved = uri.query().is_some_and(|q| q.contains("saved=1"));
    let defs = defs(&state, &w).await?;
    let facts = vec![
        (locale.t("field.sku"), p.sku.clone(), None),
        (locale.t("field.category"), p.category.clone().unwrap_or_default(), None),
        (locale.t("field.list_price"), locale.money(p.list_price_minor, &p.currency), None),
        (
            locale.t("field.active"),
            locale.t(if p.active { "products.on_sale" } else { "products.off_sale" }).to_string(),
            None,
        ),
        (locale.t("field.updated_at"), locale.day(p.updated_at), None),
    ];
    let page = ShowPage {
        cx: Cx::for_user(&w, "products", &format!("/products/{id}"), p.name.clone()),
        back_url: "/products".into(),
        back_label: locale.t("products.title"),
        heading: p.name.clone(),
        sub: p.sku.clone(),
        tags: vec![],
        facts,
        custom_facts: custom_facts(&defs, &p.custom, locale),
        actions: vec![
            (format!("/products/{id}/edit"), locale.t("action.edit")),
            (format!("/products/{id}/delete"), locale.t("action.delete")),
        ],
        saved,
        sections: vec![],
        timeline: None,
        older_url: None,
    };
    Ok(render(StatusCode::OK, &page))
}

fn inputs(p: Option<&Product>, f: Option<&FormData>, defs: &[CustomFieldDef], w: &WebUser) -> Vec<Input> {
    let locale = w.locale;
    let val = |name: &str, stored: Option<String>| match f {
        Some(f) => f.get(name).to_string(),
        None => stored.unwrap_or_default(),
    };
    let active = match f {
        Some(f) => f.get("active").to_string(),
        None => {
            if p.is_none_or(|p| p.active) {
                "1".into()
            } else {
                String::new()
            }
        }
    };
    let mut out = vec![
        Input::text("sku", locale.t("field.sku"), val("sku", p.map(|p| p.sku.clone()))).required(),
        Input::text("name", locale.t("field.record_name"), val("name", p.map(|p| p.name.clone()))).required(),
        Input::text("category", locale.t("field.category"), val("category", p.and_then(|p| p.category.clone()))),
        Input::money(
            "list_price_minor",
            locale.t("field.list_price"),
            val("list_price_minor", p.map(|p| format_minor(p.list_price_minor, p.currency))),
        ),
        Input::text(
            "currency",
            locale.t("field.currency"),
            val("currency", Some(p.map(|p| p.currency.as_str().to_string()).unwrap_or_else(|| "CNY".into()))),
        ),
        Input::new("active", locale.t("field.active"), "checkbox", active),
    ];
    let empty = serde_json::Map::new();
    out.extend(custom_inputs(defs, p.map(|p| &p.custom).unwrap_or(&empty), f, locale));
    out
}

fn form_page(
    w: &WebUser,
    p: Option<&Product>,
    inputs: Vec<Input>,
    other: Vec<&'static str>,
    has_errors: bool,
) -> FormPage {
    let editing = p.map(|p| Editing { id: p.id, name: &p.name, version: p.version });
    section_form(w, "products", editing, vec![], inputs, other, has_errors)
}

/// The catalogue is changed by managers and admins (the store enforces it; the forms say so up front).
fn catalogue_writer(w: &WebUser) -> WebResult<()> {
    if w.actor.role == guanxi_core::access::Role::Member {
        return Err(WebError::Forbidden(w.locale));
    }
    Ok(())
}

pub async fn new_form(State(state): State<AppState>, w: WebUser) -> WebResult<Response> {
    catalogue_writer(&w)?;
    let defs = defs(&state, &w).await?;
    Ok(render(StatusCode::OK, &form_page(&w, None, inputs(None, None, &defs, &w), vec![], false)))
}

pub async fn edit_form(State(state): State<AppState>, w: WebUser, Path(raw_id): Path<String>) -> WebResult<Response> {
    let id = record_id(&raw_id, &w)?;
    catalogue_writer(&w)?;
    let p = guanxi_store::products::get(&state.db, &w.actor, id).await.or_page(w.locale)?;
    let defs = defs(&state, &w).await?;
    Ok(render(StatusCode::OK, &form_page(&w, Some(&p), inputs(Some(&p), None, &defs, &w), vec![], false)))
}

form_posts!(create, update, save);

async fn save(state: &AppState, w: &WebUser, id: Option<Uuid>, f: FormData) -> WebResult<Response> {
    let locale = w.locale;
    let current = load(id, locale, async |id| guanxi_store::products::get(&state.db, &w.actor, id).await).await?;
    let defs = defs(state, w).await?;
    let mut errs = ValidationErrors::new();
    let currency = Currency::parse(f.get("currency"), "currency").unwrap_or(Currency::CNY);
    let price = match f.get("list_price_minor").trim() {
        "" => None,
        s => match parse_money(s, currency.minor_digits()) {
            Some(m) => Some(m),
            None => {
                errs.push(guanxi_core::FieldError::new("list_price_minor", "invalid_value", "not an amount"));
                None
            }
        },
    };
    let input = ProductInput {
        sku: f.opt("sku"),
        name: f.opt("name"),
        category: f.opt("category"),
        list_price_minor: price,
        currency: f.opt("currency"),
        active: Some(f.checked("active")),
        custom: custom_values(&defs, &f, current.as_ref().map(|p| &p.custom)),
    };
    let failed = |errors: ValidationErrors, status: StatusCode, conflict: Option<&Product>| {
        let mut ins = inputs(current.as_ref(), Some(&f), &defs, w);
        let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
        let other = form_errors(&mut refs, &errors, conflict.is_some(), locale);
        render(status, &form_page(w, conflict.or(current.as_ref()), ins, other, true))
    };
    let draft = match validated(errs, input.validate(&defs)) {
        Ok(d) => d,
        Err(e) => return Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, None)),
    };
    let result = match (&current, id) {
        (Some(p), Some(id)) => {
            let version = f.get("version").parse::<i64>().unwrap_or(p.version);
            guanxi_store::products::update(&state.db, &w.actor, id, version, &draft).await
        }
        _ => guanxi_store::products::create(&state.db, &w.actor, &draft).await,
    };
    match result.map_err(|e| refusal(e, true, locale)) {
        Ok(p) => Ok(see_other(&format!("/products/{}?saved=1", p.id))),
        Err(Ok(Refusal::Invalid(e))) => Ok(failed(e, StatusCode::UNPROCESSABLE_ENTITY, None)),
        Err(Ok(Refusal::Conflict { .. })) => {
            let fresh =
                guanxi_store::products::get(&state.db, &w.actor, id.unwrap_or_default()).await.or_page(locale)?;
            Ok(failed(ValidationErrors::new(), StatusCode::CONFLICT, Some(&fresh)))
        }
        Err(Err(e)) => Err(e),
    }
}
