//! Order pages: the list, one order with its lines, and the create/edit form with lines.
//!
//! Without JavaScript the form shows the order's lines plus a few blank ones; "More lines" re-renders it with
//! more blank lines and saves nothing. Blank lines are ignored.

use super::form::form_posts;
use super::form::{
    Cell, Editing, FormData, FormPage, Input, ListPage, Opt, RefKind, Refusal, Section, ShowPage, custom_facts,
    custom_inputs, custom_values, form_errors, list_page, list_query, load, parse_money, parse_uuid, record_id,
    ref_hidden, ref_label, refusal, resolve_parents, section_form, validated,
};
use super::i18n::{from_local_input, local_input};
use super::{Cx, Locale, OrPage, WebError, WebResult, WebUser, render, see_other};
use crate::AppState;
use crate::extract::RawQuery;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_core::filter::ListQuery;
use guanxi_core::filter::{ListParams, ORDER_FIELDS, PRODUCT_FIELDS, parse_list_query};
use guanxi_core::money::{Currency, format_minor};
use guanxi_core::order::{Order, OrderInput, OrderLineInput, OrderStatus, Product};
use guanxi_core::{FieldError, ValidationErrors};
use std::collections::HashMap;
use uuid::Uuid;

const STATUSES: [OrderStatus; 3] = [OrderStatus::Paid, OrderStatus::Refunded, OrderStatus::Cancelled];

async fn defs(state: &AppState, w: &WebUser) -> WebResult<Vec<CustomFieldDef>> {
    guanxi_store::custom_fields::list(&state.db, Some(ObjectType::Order)).await.or_page(w.locale)
}

/// Names of the contacts a page of orders points at, in one query.
async fn contact_names(state: &AppState, w: &WebUser, ids: impl Iterator<Item = Uuid>) -> HashMap<Uuid, String> {
    let ids: Vec<Uuid> = ids.collect();
    // A name that cannot be read leaves its cell empty; the list itself still shows.
    guanxi_store::contacts::visible_names(&state.db, &w.actor, &ids).await.unwrap_or_default()
}

const SORTS: [(&str, &str); 4] = [
    ("-ordered_at", "orders.sort.newest"),
    ("ordered_at", "orders.sort.oldest"),
    ("-total_minor", "orders.sort.largest"),
    ("number", "orders.sort.number"),
];

pub async fn list(
    State(state): State<AppState>,
    w: WebUser,
    OriginalUri(uri): OriginalUri,
    raw: Result<RawQuery, crate::error::ApiError>,
) -> WebResult<Response> {
    let locale = w.locale;
    let mut raw = raw.unwrap_or_default();
    let status = raw.get("status").unwrap_or("").to_string();
    let number = raw.get("number").unwrap_or("").trim().to_string();
    let mut extra = Vec::new();
    if !status.is_empty() {
        extra.push(format!("status:eq:{status}"));
    }
    if !number.is_empty() {
        extra.push(format!("number:contains:{number}"));
    }
    if raw.sort.as_deref().is_none_or(str::is_empty) {
        raw.sort = Some("-ordered_at".into());
    }
    let defs = defs(&state, &w).await?;
    let query = list_query(&raw, &extra, ORDER_FIELDS, &defs, w.actor.user_id, locale);
    let fetch = async |lq: &ListQuery| guanxi_store::orders::list(&state.db, &w.actor, lq).await;
    let rows = async |items: &[Order]| -> WebResult<Vec<Vec<Cell>>> {
        let names = contact_names(&state, &w, items.iter().map(|o| o.contact_id)).await;
        Ok(items.iter().map(|o| order_row(o, &names, locale)).collect())
    };
    let listed = list_page(&w, "orders", "/orders", &uri, &raw, query, fetch, rows).await?;
    let sort = raw.sort.clone().unwrap_or_default();
    let mut status_opts = vec![Opt::new("", locale.t("orders.any_status"), &status)];
    status_opts.extend(
        STATUSES.iter().map(|s| Opt::new(s.as_str(), locale.t(&format!("order.status.{}", s.as_str())), &status)),
    );
    let page = ListPage {
        new_links: vec![
            ("/orders/new".into(), locale.t("orders.new")),
            ("/imports?type=orders".into(), locale.t("imports.link")),
        ],
        filters: vec![
            Input::text("number", locale.t("field.number"), number),
            Input::select("status", locale.t("field.status"), status_opts),
            Input::select(
                "sort",
                locale.t("contacts.sort"),
                SORTS.iter().map(|(v, k)| Opt::new(*v, locale.t(k), &sort)).collect(),
            ),
        ],
        columns: vec![
            locale.t("field.number"),
            locale.t("field.contact"),
            locale.t("field.ordered_at"),
            locale.t("field.total"),
            locale.t("field.status"),
        ],
        ..listed
    };
    Ok(render(StatusCode::OK, &page))
}

fn order_row(o: &Order, names: &HashMap<Uuid, String>, locale: Locale) -> Vec<Cell> {
    vec![
        Cell::link(
            o.number.clone().unwrap_or_else(|| locale.t("orders.no_number").to_string()),
            format!("/orders/{}", o.id),
        ),
        Cell::link(names.get(&o.contact_id).cloned().unwrap_or_default(), format!("/contacts/{}", o.contact_id)),
        Cell::nowrap(locale.datetime(o.ordered_at)),
        Cell::nowrap(locale.money(o.total_minor, &o.currency)),
        Cell::text(locale.t(&format!("order.status.{}", o.status.as_str()))),
    ]
}

pub async fn show(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<Response> {
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let o = guanxi_store::orders::get(&state.db, &w.actor, id).await.or_page(locale)?;
    let contact = ref_label(&state, &w, RefKind::Contact, Some(o.contact_id)).await;
    let company = ref_label(&state, &w, RefKind::Company, o.company_id).await;
    let heading = o.number.clone().unwrap_or_else(|| locale.t("orders.no_number").to_string());
    let defs = defs(&state, &w).await?;
    let lines = o
        .lines
        .iter()
        .map(|l| {
            vec![
                match l.product_id {
                    Some(p) => Cell::link(l.description.clone(), format!("/products/{p}")),
                    None => Cell::text(l.description.clone()),
                },
                Cell::nowrap(locale.int(l.quantity.max(0) as u64)),
                Cell::nowrap(locale.money(l.unit_price_minor, &o.currency)),
                Cell::nowrap(locale.money(l.discount_minor, &o.currency)),
                Cell::nowrap(locale.money(l.line_total_minor, &o.currency)),
            ]
        })
        .collect();
    let page = ShowPage {
        cx: Cx::for_user(&w, "orders", &format!("/orders/{id}"), heading.clone()),
        back_url: "/orders".into(),
        back_label: locale.t("orders.title"),
        heading,
        sub: locale.money(o.total_minor, &o.currency),
        tags: vec![],
        facts: vec![
            (locale.t("field.contact"), contact, Some(format!("/contacts/{}", o.contact_id))),
            (locale.t("field.company"), company, o.company_id.map(|c| format!("/companies/{c}"))),
            (locale.t("field.ordered_at"), locale.datetime(o.ordered_at), None),
            (locale.t("field.status"), locale.t(&format!("order.status.{}", o.status.as_str())).to_string(), None),
            (locale.t("field.currency"), o.currency.as_str().to_string(), None),
        ],
        custom_facts: custom_facts(&defs, &o.custom, locale),
        actions: vec![
            (format!("/orders/{id}/edit"), locale.t("action.edit")),
            (format!("/orders/{id}/delete"), locale.t("action.delete")),
        ],
        saved: uri.query().is_some_and(|q| q.contains("saved=1")),
        sections: vec![Section {
            id: "lines",
            heading: locale.t("orders.lines"),
            columns: vec![
                locale.t("field.description"),
                locale.t("field.quantity"),
                locale.t("field.unit_price"),
                locale.t("field.discount"),
                locale.t("field.line_total"),
            ],
            rows: lines,
            empty: locale.t("orders.no_lines"),
            links: vec![],
        }],
        timeline: None,
        older_url: None,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------------------------
// Create and edit

/// The catalogue for the line selects: every product on sale, by name (at most 500).
async fn catalogue(state: &AppState, w: &WebUser) -> WebResult<Vec<Product>> {
    let filters = vec!["active:eq:true".to_string()];
    let q = parse_list_query(
        &ListParams { filters: &filters, sort: Some("name"), limit: Some(500), cursor: None, q: None },
        PRODUCT_FIELDS,
        &[],
        w.actor.user_id,
    )
    .map_err(|e| WebError::Internal(w.locale, e.to_string()))?;
    Ok(guanxi_store::products::list(&state.db, &w.actor, &q).await.or_page(w.locale)?.items)
}

struct FormState<'a> {
    order: Option<&'a Order>,
    posted: Option<&'a FormData>,
    contact_label: String,
    company_label: String,
    /// How many line groups to show.
    lines: usize,
}

fn inputs(
    s: &FormState<'_>,
    defs: &[CustomFieldDef],
    products: &[Product],
    locale: Locale,
) -> (Vec<Input>, Vec<(String, Vec<Input>)>) {
    let o = s.order;
    let val = |name: &str, stored: String| match s.posted {
        Some(f) => f.get(name).to_string(),
        None => stored,
    };
    let status = val("status", o.map(|o| o.status.as_str()).unwrap_or("paid").to_string());
    let currency = o.map(|o| o.currency).unwrap_or(Currency::CNY);
    let mut out = vec![
        Input::text(
            "number",
            locale.t("field.number"),
            val("number", o.and_then(|o| o.number.clone()).unwrap_or_default()),
        ),
        Input::text("contact_id", locale.t("field.contact"), val("contact_id", s.contact_label.clone()))
            .required()
            .hint(locale.t("form.ref_hint")),
        Input::text("company_id", locale.t("field.company"), val("company_id", s.company_label.clone())),
        Input::select(
            "status",
            locale.t("field.status"),
            STATUSES
                .iter()
                .map(|st| Opt::new(st.as_str(), locale.t(&format!("order.status.{}", st.as_str())), &status))
                .collect(),
        ),
        Input::text("currency", locale.t("field.currency"), val("currency", currency.as_str().to_string())),
        Input::new(
            "ordered_at",
            locale.t("field.ordered_at"),
            "datetime-local",
            val("ordered_at", o.map(|o| local_input(o.ordered_at)).unwrap_or_default()),
        )
        .hint(locale.t("orders.ordered_at_hint")),
    ];
    let empty = serde_json::Map::new();
    out.extend(custom_inputs(defs, o.map(|o| &o.custom).unwrap_or(&empty), s.posted, locale));
    let mut groups = Vec::new();
    for i in 0..s.lines {
        let stored = o.and_then(|o| o.lines.get(i));
        let name = |f: &str| format!("lines_{i}_{f}");
        let lval = |f: &str, stored: String| match s.posted {
            Some(p) => p.get(&name(f)).to_string(),
            None => stored,
        };
        let product = lval("product_id", stored.and_then(|l| l.product_id).map(|p| p.to_string()).unwrap_or_default());
        let mut opts = vec![Opt::new("", locale.t("orders.no_product"), &product)];
        opts.extend(products.iter().map(|p| {
            Opt::new(
                p.id.to_string(),
                format!("{} · {}", p.name, locale.money(p.list_price_minor, &p.currency)),
                &product,
            )
        }));
        // A line's product may be off sale now: keep it selectable.
        if let Some(pid) = stored.and_then(|l| l.product_id)
            && !products.iter().any(|p| p.id == pid)
        {
            opts.push(Opt::new(pid.to_string(), stored.map(|l| l.description.clone()).unwrap_or_default(), &product));
        }
        groups.push((
            locale.t1("orders.line_n", &(i + 1).to_string()),
            vec![
                Input {
                    options: opts,
                    ..Input::new(name("product_id"), locale.t("field.product"), "select", product.clone())
                },
                Input::text(
                    &name("description"),
                    locale.t("field.description"),
                    lval("description", stored.map(|l| l.description.clone()).unwrap_or_default()),
                ),
                Input::new(
                    name("quantity"),
                    locale.t("field.quantity"),
                    "number",
                    lval("quantity", stored.map(|l| l.quantity.to_string()).unwrap_or_default()),
                ),
                Input::money(
                    &name("unit_price_minor"),
                    locale.t("field.unit_price"),
                    lval(
                        "unit_price_minor",
                        stored.map(|l| format_minor(l.unit_price_minor, currency)).unwrap_or_default(),
                    ),
                )
                .hint(locale.t("orders.price_hint")),
                Input::money(
                    &name("discount_minor"),
                    locale.t("field.discount"),
                    lval(
                        "discount_minor",
                        stored
                            .filter(|l| l.discount_minor > 0)
                            .map(|l| format_minor(l.discount_minor, currency))
                            .unwrap_or_default(),
                    ),
                ),
            ],
        ));
    }
    (out, groups)
}

fn form_page(
    w: &WebUser,
    o: Option<&Order>,
    inputs: (Vec<Input>, Vec<(String, Vec<Input>)>),
    hidden: Vec<(String, String)>,
    other: Vec<&'static str>,
    has_errors: bool,
) -> FormPage {
    let locale = w.locale;
    let editing = o.map(|o| Editing {
        id: o.id,
        name: o.number.as_deref().unwrap_or(locale.t("orders.no_number")),
        version: o.version,
    });
    let mut page = section_form(w, "orders", editing, hidden, inputs.0, other, has_errors);
    page.hidden.push(("line_count".into(), inputs.1.len().to_string()));
    let mut groups = inputs.1;
    // "More lines" is a second submit button of the same form; it sits with the lines.
    if let Some((_, last)) = groups.last_mut() {
        last.push(Input::new("more", locale.t("orders.more_lines"), "submit-more", "1"));
    }
    FormPage { groups, ..page }
}

#[derive(serde::Deserialize)]
pub struct Prefill {
    #[serde(default)]
    contact: Option<String>,
}

pub async fn new_form(State(state): State<AppState>, w: WebUser, Query(p): Query<Prefill>) -> WebResult<Response> {
    let defs = defs(&state, &w).await?;
    let products = catalogue(&state, &w).await?;
    let contact = p.contact.as_deref().and_then(parse_uuid);
    let contact_label = ref_label(&state, &w, RefKind::Contact, contact).await;
    let mut hidden = vec![];
    if let Some(c) = contact.filter(|_| !contact_label.is_empty()) {
        hidden.push(("contact_id_ref".to_string(), c.to_string()));
    }
    let s = FormState { order: None, posted: None, contact_label, company_label: String::new(), lines: 3 };
    Ok(render(StatusCode::OK, &form_page(&w, None, inputs(&s, &defs, &products, w.locale), hidden, vec![], false)))
}

pub async fn edit_form(State(state): State<AppState>, w: WebUser, Path(raw_id): Path<String>) -> WebResult<Response> {
    let id = record_id(&raw_id, &w)?;
    let o = guanxi_store::orders::get(&state.db, &w.actor, id).await.or_page(w.locale)?;
    let defs = defs(&state, &w).await?;
    let products = catalogue(&state, &w).await?;
    let s = FormState {
        order: Some(&o),
        posted: None,
        contact_label: ref_label(&state, &w, RefKind::Contact, Some(o.contact_id)).await,
        company_label: ref_label(&state, &w, RefKind::Company, o.company_id).await,
        lines: o.lines.len() + 2,
    };
    let hidden = ref_hidden(Some(o.contact_id), o.company_id);
    Ok(render(StatusCode::OK, &form_page(&w, Some(&o), inputs(&s, &defs, &products, w.locale), hidden, vec![], false)))
}

form_posts!(create, update, save);

/// The lines a form posted (blank ones skipped), keeping each line's form index for its errors.
fn read_lines(f: &FormData, count: usize, digits: u32, errs: &mut ValidationErrors) -> Vec<(usize, OrderLineInput)> {
    let mut out = Vec::new();
    for i in 0..count {
        let get = |k: &str| f.get(&format!("lines_{i}_{k}")).trim().to_string();
        let (product, description, quantity, price, discount) =
            (get("product_id"), get("description"), get("quantity"), get("unit_price_minor"), get("discount_minor"));
        if [&product, &description, &quantity, &price, &discount].iter().all(|v| v.is_empty()) {
            continue;
        }
        let mut money = |k: &str, v: &str| -> Option<i64> {
            if v.is_empty() {
                return None;
            }
            let m = parse_money(v, digits);
            if m.is_none() {
                errs.push(FieldError::new(format!("lines/{i}/{k}"), "invalid_value", "not an amount"));
            }
            m
        };
        let unit_price_minor = money("unit_price_minor", &price);
        let discount_minor = money("discount_minor", &discount);
        let quantity = if quantity.is_empty() {
            None
        } else {
            match quantity.parse::<i64>() {
                Ok(q) => Some(q),
                Err(_) => {
                    errs.push(FieldError::new(format!("lines/{i}/quantity"), "invalid_value", "not a whole number"));
                    None
                }
            }
        };
        let product_id = if product.is_empty() { None } else { parse_uuid(&product) };
        if !product.is_empty() && product_id.is_none() {
            errs.push(FieldError::new(format!("lines/{i}/product_id"), "invalid_option", "not a product"));
        }
        out.push((
            i,
            OrderLineInput {
                product_id,
                description: (!description.is_empty()).then_some(description),
                quantity,
                unit_price_minor,
                discount_minor,
            },
        ));
    }
    out
}

async fn save(state: &AppState, w: &WebUser, id: Option<Uuid>, f: FormData) -> WebResult<Response> {
    let locale = w.locale;
    let current = load(id, locale, async |id| guanxi_store::orders::get(&state.db, &w.actor, id).await).await?;
    let defs = defs(state, w).await?;
    let products = catalogue(state, w).await?;
    let line_count = f.get("line_count").parse::<usize>().unwrap_or(3).clamp(1, 500);
    let mut errs = ValidationErrors::new();
    let (contact, company) = resolve_parents(state, w, &f, &mut errs).await;
    let currency = Currency::parse(f.get("currency"), "currency").unwrap_or(Currency::CNY);
    let ordered_at = match f.get("ordered_at").trim() {
        "" => None,
        s => from_local_input(s).or_else(|| {
            errs.push(FieldError::new("ordered_at", "invalid_value", "not a date and time"));
            None
        }),
    };
    let status = OrderStatus::parse(f.get("status"));
    if status.is_none() {
        errs.push(FieldError::new("status", "invalid_option", "not a status"));
    }
    let lines = read_lines(&f, line_count, currency.minor_digits(), &mut errs);
    let rerender = |errors: ValidationErrors, status: StatusCode, lines: usize, conflict: Option<&Order>| {
        let s = FormState {
            order: current.as_ref(),
            posted: Some(&f),
            contact_label: String::new(),
            company_label: String::new(),
            lines,
        };
        let (mut ins, mut groups) = inputs(&s, &defs, &products, locale);
        let mut refs: Vec<&mut Input> = ins.iter_mut().chain(groups.iter_mut().flat_map(|g| g.1.iter_mut())).collect();
        let other = form_errors(&mut refs, &errors, conflict.is_some(), locale);
        let hidden = ref_hidden(contact, company);
        let has_errors = !errors.is_empty() || conflict.is_some();
        render(status, &form_page(w, conflict.or(current.as_ref()), (ins, groups), hidden, other, has_errors))
    };
    if f.get("more") == "1" {
        return Ok(rerender(ValidationErrors::new(), StatusCode::OK, line_count + 3, None));
    }
    // Core validation numbers lines by their position among the posted ones; map back to the form's line index.
    let index_of: Vec<usize> = lines.iter().map(|(i, _)| *i).collect();
    let input = OrderInput {
        number: f.opt("number"),
        contact_id: contact,
        company_id: company,
        status,
        currency: f.opt("currency"),
        ordered_at,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        custom: custom_values(&defs, &f, current.as_ref().map(|o| &o.custom)),
    };
    let renumber = |e: ValidationErrors| ValidationErrors {
        errors: e
            .errors
            .into_iter()
            .map(|mut fe| {
                if let Some(rest) = fe.field.strip_prefix("lines/")
                    && let Some((n, tail)) = rest.split_once('/')
                    && let Ok(n) = n.parse::<usize>()
                {
                    fe.field = format!("lines/{}/{tail}", index_of.get(n).copied().unwrap_or(n));
                }
                fe
            })
            .collect(),
    };
    let line_ids: Vec<Uuid> = input.lines.iter().filter_map(|l| l.product_id).collect();
    let facts = guanxi_store::products::facts(&state.db, &line_ids).await.or_page(locale)?;
    let verdict = input.validate(&facts, &defs, guanxi_core::ids::now()).map_err(|e| {
        // Missing contact is already reported once by the reference lookup.
        let mut e = renumber(e);
        if errs.errors.iter().any(|x| x.field == "contact_id") {
            e.errors.retain(|x| x.field != "contact_id");
        }
        e
    });
    let draft = match validated(errs, verdict) {
        Ok(d) => d,
        Err(e) => return Ok(rerender(e, StatusCode::UNPROCESSABLE_ENTITY, line_count, None)),
    };
    let result = match (&current, id) {
        (Some(o), Some(id)) => {
            let version = f.get("version").parse::<i64>().unwrap_or(o.version);
            guanxi_store::orders::update(&state.db, &w.actor, id, version, &draft).await
        }
        _ => guanxi_store::orders::create(&state.db, &w.actor, &draft).await,
    };
    match result.map_err(|e| refusal(e, true, locale)) {
        Ok(o) => Ok(see_other(&format!("/orders/{}?saved=1", o.id))),
        Err(Ok(Refusal::Invalid(e))) => Ok(rerender(renumber(e), StatusCode::UNPROCESSABLE_ENTITY, line_count, None)),
        Err(Ok(Refusal::Conflict { .. })) => {
            let fresh = guanxi_store::orders::get(&state.db, &w.actor, id.unwrap_or_default()).await.or_page(locale)?;
            Ok(rerender(ValidationErrors::new(), StatusCode::CONFLICT, line_count, Some(&fresh)))
        }
        Err(Err(e)) => Err(e),
    }
}
