//! The record types served by the generic handlers, their validation, and the routes that are not plain CRUD
//! (timelines, task reminders).

use super::{batch_route, resource_routes, store_resource};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use guanxi_core::ValidationErrors;
use guanxi_core::activity::{Activity, ActivityDraft, ActivityInput, ActivityKind, TimelineEntry};
use guanxi_core::company::{Company, CompanyDraft, CompanyInput};
use guanxi_core::contact::{Contact, ContactDraft, ContactInput, ContactRules};
use guanxi_core::custom_field::{CustomFieldDef, ObjectType};
use guanxi_core::filter::{ACTIVITY_FIELDS, COMPANY_FIELDS, CONTACT_FIELDS, ORDER_FIELDS, PRODUCT_FIELDS, TASK_FIELDS};
use guanxi_core::order::{Order, OrderDraft, OrderInput, Product, ProductDraft, ProductFacts, ProductInput};
use guanxi_core::task::{Task, TaskDraft, TaskInput};
use guanxi_store::activities::TimelineParent;
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    r = batch_route::<Contacts>(resource_routes::<Contacts>(r));
    r = batch_route::<Companies>(resource_routes::<Companies>(r));
    r = batch_route::<Products>(resource_routes::<Products>(r));
    r = batch_route::<Orders>(resource_routes::<Orders>(r));
    r = batch_route::<Activities>(resource_routes::<Activities>(r));
    r = resource_routes::<Tasks>(r);
    r.route("/api/v1/contacts/{id}/timeline", get(contact_timeline))
        .route("/api/v1/companies/{id}/timeline", get(company_timeline))
        .route("/api/v1/tasks/reminders", get(reminders))
}

type CustomDefs = Vec<CustomFieldDef>;

store_resource!(
    Contacts,
    guanxi_store::contacts,
    Contact,
    ContactInput,
    ContactDraft,
    "contacts",
    CONTACT_FIELDS,
    Some(ObjectType::Contact),
    CustomDefs,
    contact_defs,
    check_contact,
    batch;
    similar = super::dedup::similar_contact_ids
);
store_resource!(
    Companies,
    guanxi_store::companies,
    Company,
    CompanyInput,
    CompanyDraft,
    "companies",
    COMPANY_FIELDS,
    Some(ObjectType::Company),
    CustomDefs,
    company_defs,
    check_company,
    batch;
    similar = super::dedup::similar_company_ids
);
store_resource!(
    Products,
    guanxi_store::products,
    Product,
    ProductInput,
    ProductDraft,
    "products",
    PRODUCT_FIELDS,
    Some(ObjectType::Product),
    CustomDefs,
    product_defs,
    check_product,
    batch;
    delete_conflict = "A product on any order line is not deleted (409): that would change past orders; set `active` to false instead."
);
store_resource!(
    Orders,
    guanxi_store::orders,
    Order,
    OrderInput,
    OrderDraft,
    "orders",
    ORDER_FIELDS,
    Some(ObjectType::Order),
    OrderContext,
    order_context,
    check_order,
    batch
);
store_resource!(
    Activities,
    guanxi_store::activities,
    Activity,
    ActivityInput,
    ActivityDraft,
    "activities",
    ACTIVITY_FIELDS,
    None,
    (),
    no_context,
    check_activity,
    batch
);
store_resource!(
    Tasks,
    guanxi_store::tasks,
    Task,
    TaskInput,
    TaskDraft,
    "tasks",
    TASK_FIELDS,
    None,
    (),
    no_context,
    check_task
);

async fn contact_defs(state: &AppState, _: &[ContactInput]) -> ApiResult<CustomDefs> {
    super::custom_defs(state, Some(ObjectType::Contact)).await
}

async fn company_defs(state: &AppState, _: &[CompanyInput]) -> ApiResult<CustomDefs> {
    super::custom_defs(state, Some(ObjectType::Company)).await
}

async fn product_defs(state: &AppState, _: &[ProductInput]) -> ApiResult<CustomDefs> {
    super::custom_defs(state, Some(ObjectType::Product)).await
}

async fn no_context<T>(_: &AppState, _: &[T]) -> ApiResult<()> {
    Ok(())
}

pub(crate) fn check_contact(
    state: &AppState,
    defs: &CustomDefs,
    input: ContactInput,
) -> Result<ContactDraft, ValidationErrors> {
    let rules = ContactRules {
        default_region: state.config.default_region,
        custom_fields: defs,
        today: chrono::Utc::now().date_naive(),
    };
    input.validate(&rules)
}

fn check_company(_: &AppState, defs: &CustomDefs, input: CompanyInput) -> Result<CompanyDraft, ValidationErrors> {
    input.validate(defs)
}

fn check_product(_: &AppState, defs: &CustomDefs, input: ProductInput) -> Result<ProductDraft, ValidationErrors> {
    input.validate(defs)
}

/// Orders need the custom fields and the catalogue entries their lines name (one query for a whole batch).
pub struct OrderContext {
    defs: CustomDefs,
    products: Vec<ProductFacts>,
}

async fn order_context(state: &AppState, inputs: &[OrderInput]) -> ApiResult<OrderContext> {
    let defs = super::custom_defs(state, Some(ObjectType::Order)).await?;
    let mut ids: Vec<uuid::Uuid> = inputs.iter().flat_map(|o| o.lines.iter().filter_map(|l| l.product_id)).collect();
    ids.sort();
    ids.dedup();
    let products = if ids.is_empty() { Vec::new() } else { guanxi_store::products::facts(&state.db, &ids).await? };
    Ok(OrderContext { defs, products })
}

fn check_order(_: &AppState, ctx: &OrderContext, input: OrderInput) -> Result<OrderDraft, ValidationErrors> {
    input.validate(&ctx.products, &ctx.defs, guanxi_core::ids::now())
}

fn check_activity(_: &AppState, _: &(), input: ActivityInput) -> Result<ActivityDraft, ValidationErrors> {
    input.validate(guanxi_core::ids::now())
}

fn check_task(_: &AppState, _: &(), input: TaskInput) -> Result<TaskDraft, ValidationErrors> {
    input.validate()
}

#[derive(Serialize)]
pub struct TimelinePage {
    pub items: Vec<TimelineEntry>,
    /// Pass as `before` for older entries.
    pub next_cursor: Option<String>,
}

/// `?kind=note,call&orders=false&before=<cursor>&limit=50`
async fn timeline(
    state: &AppState,
    caller: &Caller,
    parent: TimelineParent,
    raw: &RawQuery,
) -> ApiResult<axum::Json<TimelinePage>> {
    let kinds: Option<Vec<ActivityKind>> = match raw.get("kind") {
        None | Some("") => None,
        Some(k) => Some(
            k.split(',')
                .map(|s| {
                    ActivityKind::parse(s.trim())
                        .ok_or_else(|| super::field_error("kind", "invalid_value", "unknown activity kind"))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let include_orders = match raw.get("orders") {
        None | Some("true") | Some("1") => kinds.is_none(),
        Some("false") | Some("0") => false,
        Some(_) => return Err(super::field_error("orders", "invalid_value", "must be true or false")),
    };
    let before = match raw.get("before") {
        None | Some("") => None,
        Some(c) => Some(decode_timeline_cursor(c)?),
    };
    let limit = raw.limit()?.unwrap_or(50).clamp(1, 200);
    let (items, next) = guanxi_store::activities::timeline(
        &state.db,
        &caller.0,
        parent,
        kinds.as_deref(),
        include_orders,
        before,
        limit,
    )
    .await?;
    Ok(axum::Json(TimelinePage { items, next_cursor: next.map(|(at, id)| encode_timeline_cursor(at, id)) }))
}

fn encode_timeline_cursor(at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> String {
    guanxi_core::filter::Cursor { sort_value: serde_json::Value::String(at.to_rfc3339()), id }.encode()
}

fn decode_timeline_cursor(s: &str) -> ApiResult<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> {
    let c = guanxi_core::filter::Cursor::decode(s).map_err(|e| ApiError::Invalid(e.under("before").into()))?;
    let at = c
        .sort_value
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| super::field_error("before", "invalid_cursor", "is not a timeline cursor"))?;
    Ok((at.with_timezone(&chrono::Utc), c.id))
}

async fn contact_timeline(
    State(state): State<AppState>,
    caller: Caller,
    super::RecordId(id): super::RecordId,
    raw: RawQuery,
) -> ApiResult<axum::Json<TimelinePage>> {
    // 404 for contacts the caller cannot see, rather than an empty timeline.
    guanxi_store::contacts::get(&state.db, &caller.0, id).await?;
    timeline(&state, &caller, TimelineParent::Contact(id), &raw).await
}

async fn company_timeline(
    State(state): State<AppState>,
    caller: Caller,
    super::RecordId(id): super::RecordId,
    raw: RawQuery,
) -> ApiResult<axum::Json<TimelinePage>> {
    guanxi_store::companies::get(&state.db, &caller.0, id).await?;
    timeline(&state, &caller, TimelineParent::Company(id), &raw).await
}

/// The caller's open tasks whose reminder time has come.
async fn reminders(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Task>>> {
    Ok(axum::Json(guanxi_store::tasks::reminders_due(&state.db, &caller.0, guanxi_core::ids::now()).await?))
}
