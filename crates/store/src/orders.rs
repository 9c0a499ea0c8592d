//! Orders and their lines: the purchase history analytics reads.
//!
//! An order has no owner of its own: it is visible when its contact is, and changed by whoever may change that
//! contact. Lines are written with their order in one transaction and replaced as a whole on update.

use crate::activities::{TimelineCursor, TimelineParent, check_parents, push_before, push_changeable_via_parent};
use crate::contacts::{BatchError, push_value};
use crate::db::Tx;
use crate::products::{duplicate_as, parse_currency, push_list};
use crate::scope::push_visible_via_parent;
use crate::sql::{Arg, Page, push_conditions, sort_spec};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::Actor;
use guanxi_core::filter::ListQuery;
use guanxi_core::order::{Order, OrderDraft, OrderLine, OrderStatus};
use guanxi_core::{FieldError, ValidationErrors};
use serde_json::{Map, Value};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

// Alias `c` as in every list query, because `contacts::count` wraps the filter text in `FROM {table} c`.
const COLUMNS: &str = "c.id, c.number, c.contact_id, c.company_id, c.status, c.currency, c.total_minor, c.ordered_at, \
    c.custom, c.version, c.created_at, c.updated_at";

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    number: Option<String>,
    contact_id: Uuid,
    company_id: Option<Uuid>,
    status: String,
    currency: String,
    total_minor: i64,
    ordered_at: DateTime<Utc>,
    custom: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

// Lists of orders are not hot enough yet to decode on rusqlite.
crate::sqlite_read::through_sqlx!(OrderRow);

impl OrderRow {
    fn into_order(self, lines: Vec<OrderLine>) -> Order {
        Order {
            id: self.id,
            number: self.number,
            contact_id: self.contact_id,
            company_id: self.company_id,
            status: OrderStatus::parse(&self.status).unwrap_or_default(),
            currency: parse_currency(&self.currency),
            total_minor: self.total_minor,
            ordered_at: self.ordered_at,
            lines,
            custom: self.custom.0,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: Uuid,
    product_id: Option<Uuid>,
    description: String,
    quantity: i64,
    unit_price_minor: i64,
    discount_minor: i64,
    line_total_minor: i64,
}

/// The lines of these orders, in position order, with ONE query (never one per order).
async fn lines_of(db: &Db, order_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<OrderLine>>> {
    let mut out: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    if order_ids.is_empty() {
        return Ok(out);
    }
    let mut sql = db.sql(
        "SELECT order_id, product_id, description, quantity, unit_price_minor, discount_minor, line_total_minor \
         FROM order_lines WHERE order_id IN (",
    );
    push_list(&mut sql, order_ids.iter().map(|id| Arg::Uuid(*id)));
    sql.push(") ORDER BY order_id, position");
    let rows: Vec<LineRow> = db.fetch_all(sql).await?;
    for r in rows {
        out.entry(r.order_id).or_default().push(OrderLine {
            product_id: r.product_id,
            description: r.description,
            quantity: r.quantity,
            unit_price_minor: r.unit_price_minor,
            discount_minor: r.discount_minor,
            line_total_minor: r.line_total_minor,
        });
    }
    Ok(out)
}

/// Orders with their lines, keeping the row order.
async fn with_lines(db: &Db, rows: Vec<OrderRow>) -> Result<Vec<Order>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines = lines_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let l = lines.remove(&r.id).unwrap_or_default();
            r.into_order(l)
        })
        .collect())
}

fn column_values(d: &OrderDraft) -> [(&'static str, Option<Arg>, bool); 8] {
    [
        ("number", d.number.clone().map(Arg::Text), false),
        ("contact_id", Some(Arg::Uuid(d.contact_id)), false),
        ("company_id", d.company_id.map(Arg::Uuid), false),
        ("status", Some(Arg::Text(d.status.as_str().to_string())), false),
        ("currency", Some(Arg::Text(d.currency.as_str().to_string())), false),
        ("total_minor", Some(Arg::I64(d.total_minor)), false),
        ("ordered_at", Some(Arg::Ts(d.ordered_at)), false),
        ("custom", Some(Arg::Text(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()))), true),
    ]
}

/// Writes the lines of an order (positions 0..n), replacing any it had.
async fn write_lines(tx: &mut Tx, order_id: Uuid, lines: &[OrderLine], replace: bool) -> Result<()> {
    if replace {
        let mut del = tx.sql("DELETE FROM order_lines WHERE order_id = ");
        del.bind(Arg::Uuid(order_id));
        tx.execute(del).await?;
    }
    // 8 parameters a line; 500 lines (the validated maximum) stay far below both backends' limits, and chunking
    // keeps it so whatever a caller passes.
    for (c, chunk) in lines.chunks(500).enumerate() {
        let mut sql = tx.sql(
            "INSERT INTO order_lines (order_id, position, product_id, description, quantity, unit_price_minor, \
             discount_minor, line_total_minor) VALUES ",
        );
        for (i, l) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(Arg::Uuid(order_id)).push(", ").bind(Arg::I64((c * 500 + i) as i64)).push(", ");
            push_value(&mut sql, l.product_id.map(Arg::Uuid), false);
            sql.push(", ").bind(Arg::Text(l.description.clone()));
            sql.push(", ").bind(Arg::I64(l.quantity));
            sql.push(", ").bind(Arg::I64(l.unit_price_minor));
            sql.push(", ").bind(Arg::I64(l.discount_minor));
            sql.push(", ").bind(Arg::I64(l.line_total_minor)).push(")");
        }
        tx.execute(sql).await?;
    }
    Ok(())
}

pub(crate) async fn insert_in(
    tx: &mut Tx,
    actor: &Actor,
    d: &OrderDraft,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Order> {
    check_parents(tx, actor, Some(d.contact_id), d.company_id, true).await?;
    let cols = column_values(d);
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql =
        tx.sql(&format!("INSERT INTO orders (id, {}, version, created_at, updated_at) VALUES (", names.join(", ")));
    sql.bind(Arg::Uuid(id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute_unique(sql, "number").await?;
    write_lines(tx, id, &d.lines, false).await?;
    Ok(Order {
        id,
        number: d.number.clone(),
        contact_id: d.contact_id,
        company_id: d.company_id,
        status: d.status,
        currency: d.currency,
        total_minor: d.total_minor,
        ordered_at: d.ordered_at,
        lines: d.lines.clone(),
        custom: d.custom.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// Creates an order with its lines. The contact (and company, when given) must be one the caller may change.
pub async fn create(db: &Db, actor: &Actor, d: &OrderDraft) -> Result<Order> {
    let mut tx = db.begin().await?;
    let o = insert_in(&mut tx, actor, d, guanxi_core::ids::new_id(), guanxi_core::ids::now()).await?;
    tx.commit().await?;
    Ok(o)
}

/// Creates many orders in one transaction: all or none, with every record's errors by index. An order number
/// that is taken (already stored or earlier in the batch) is a per-record `number` error.
pub async fn create_batch(db: &Db, actor: &Actor, drafts: &[OrderDraft]) -> Result<Vec<Order>, BatchError> {
    let numbers: Vec<String> = drafts.iter().filter_map(|d| d.number.clone()).collect();
    let taken = taken_numbers(db, &numbers).await.map_err(BatchError::Store)?;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut tx = db.begin().await.map_err(BatchError::Store)?;
    let now = guanxi_core::ids::now();
    let mut out = Vec::with_capacity(drafts.len());
    let mut errors: Vec<(usize, ValidationErrors)> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        if let Some(n) = d.number.as_deref()
            && (taken.contains(n) || !seen.insert(n))
        {
            let mut e = ValidationErrors::from(FieldError::new("number", "duplicate", "is already in use"));
            // Still check the parents so the client sees all of this record's problems at once.
            if let Err(StoreError::Invalid(more)) =
                check_parents(&mut tx, actor, Some(d.contact_id), d.company_id, true).await
            {
                e.errors.extend(more.errors);
            }
            errors.push((i, e));
            continue;
        }
        // After the first error nothing is inserted any more (it would be rolled back); records are only checked.
        if !errors.is_empty() {
            match check_parents(&mut tx, actor, Some(d.contact_id), d.company_id, true).await {
                Ok(()) => {}
                Err(StoreError::Invalid(e)) => errors.push((i, e)),
                Err(e) => return Err(BatchError::Store(e)),
            }
            continue;
        }
        match insert_in(&mut tx, actor, d, guanxi_core::ids::new_id(), now).await {
            Ok(o) => out.push(o),
            Err(StoreError::Invalid(e)) => errors.push((i, e)),
            Err(e) => return Err(BatchError::Store(e)),
        }
    }
    if !errors.is_empty() {
        return Err(BatchError::Invalid(errors));
    }
    tx.commit().await.map_err(BatchError::Store)?;
    Ok(out)
}

/// Which of these order numbers are already stored.
async fn taken_numbers(db: &Db, numbers: &[String]) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in numbers.chunks(500) {
        let mut sql = db.sql("SELECT number FROM orders WHERE number IN (");
        push_list(&mut sql, chunk.iter().map(|n| Arg::Text(n.clone())));
        sql.push(")");
        let rows: Vec<(String,)> = db.fetch_all(sql).await?;
        taken.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(taken)
}

/// An order with its lines, when the caller can see its contact.
pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Order> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM orders c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    push_visible_via_parent(&mut sql, "c", actor, false);
    let row: Option<OrderRow> = db.fetch_optional(sql).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    with_lines(db, vec![row]).await?.pop().ok_or(StoreError::NotFound)
}

/// Replaces the order and all its lines when the stored version is `expected_version`.
pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &OrderDraft) -> Result<Order> {
    let mut tx = db.begin().await?;
    if let Err(e) = check_parents(&mut tx, actor, Some(d.contact_id), d.company_id, true).await {
        drop(tx);
        return Err(reference_error(db, actor, id, e).await);
    }
    match update_in_tx(&mut tx, actor, id, expected_version, d).await? {
        Some(o) => {
            tx.commit().await?;
            Ok(o)
        }
        None => {
            drop(tx);
            Err(why_not_changed(db, actor, id).await)
        }
    }
}

/// [`update`] inside the caller's transaction, after the caller checked the draft's contact and company;
/// `None` when the order is invisible, read-only for the caller or at another version.
pub(crate) async fn update_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    expected_version: i64,
    d: &OrderDraft,
) -> Result<Option<Order>> {
    let mut sql = tx.sql("UPDATE orders SET ");
    for (col, v, is_json) in column_values(d) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    // UPDATE has no alias on SQLite, so the scope names the table; WHERE sees the old contact_id.
    push_changeable_via_parent(&mut sql, "orders", actor, false);
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<OrderRow> = tx.fetch_optional(sql).await.map_err(|e| duplicate_as(e, "number"))?;
    let Some(row) = row else { return Ok(None) };
    write_lines(tx, id, &d.lines, true).await?;
    Ok(Some(row.into_order(d.lines.clone())))
}

/// The writable fields of a stored order, as the draft that would write them again.
pub(crate) fn draft_of(o: &Order) -> OrderDraft {
    OrderDraft {
        number: o.number.clone(),
        contact_id: o.contact_id,
        company_id: o.company_id,
        status: o.status,
        currency: o.currency,
        ordered_at: o.ordered_at,
        lines: o.lines.clone(),
        total_minor: o.total_minor,
        custom: o.custom.clone(),
    }
}

/// A bad reference in the draft matters only to a caller who may change the record at all: others get the
/// 404 or 403 that the record itself calls for.
async fn reference_error(db: &Db, actor: &Actor, id: Uuid, e: StoreError) -> StoreError {
    if !matches!(e, StoreError::Invalid(_)) {
        return e;
    }
    match why_not_changed(db, actor, id).await {
        StoreError::VersionMismatch { .. } => e,
        access => access,
    }
}

/// After a conditional write matched nothing: invisible or absent (404), read-only for the caller (403) or at
/// another version (412).
async fn why_not_changed(db: &Db, actor: &Actor, id: Uuid) -> StoreError {
    if let Err(e) = get(db, actor, id).await {
        return e;
    }
    let mut sql = db.sql("SELECT c.version FROM orders c WHERE c.id = ");
    sql.bind(Arg::Uuid(id));
    push_changeable_via_parent(&mut sql, "c", actor, false);
    match db.fetch_optional::<(i64,)>(sql).await {
        Ok(Some((v,))) => StoreError::VersionMismatch { current: v },
        Ok(None) => StoreError::Forbidden,
        Err(e) => e,
    }
}

/// Deletes an order and its lines.
pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    let mut sql = db.sql("DELETE FROM orders WHERE id = ");
    sql.bind(Arg::Uuid(id));
    if let Some(v) = expected_version {
        sql.push(" AND version = ").bind(Arg::I64(v));
    }
    push_changeable_via_parent(&mut sql, "orders", actor, false);
    if db.execute(sql).await? == 0 {
        return Err(why_not_changed(db, actor, id).await);
    }
    Ok(())
}

/// A filtered, sorted page of the orders the caller can see, each with its lines.
pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Order>> {
    let mut filter = db.sql("");
    push_visible_via_parent(&mut filter, "c", actor, false);
    push_conditions(&mut filter, "c", "order", &q.conditions);
    let sort = sort_spec(db.dialect(), "c", q);
    let page = crate::page::fetch_page(
        db,
        "orders",
        COLUMNS,
        filter,
        sort.as_ref(),
        q,
        |r: OrderRow| r,
        |r| (sort_value(r, q), r.id),
    )
    .await?;
    let items = with_lines(db, page.items).await?;
    Ok(Page { items, next_cursor: page.next_cursor, total: page.total, total_is_estimate: page.total_is_estimate })
}

/// The value of the sort column, as the cursor carries it (matching the coalescing of `sort_spec`).
fn sort_value(o: &OrderRow, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    match s.field.name {
        "number" => Value::String(o.number.clone().unwrap_or_default()),
        "total_minor" => Value::from(o.total_minor),
        "ordered_at" => Value::String(o.ordered_at.to_rfc3339()),
        "created_at" => Value::String(o.created_at.to_rfc3339()),
        "updated_at" => Value::String(o.updated_at.to_rfc3339()),
        _ => Value::Null,
    }
}

/// The newest `limit` orders of a contact or company before `before`, with lines (the order side of
/// `activities::timeline`).
pub(crate) async fn for_timeline(
    db: &Db,
    actor: &Actor,
    parent: TimelineParent,
    before: Option<TimelineCursor>,
    limit: u32,
) -> Result<Vec<Order>> {
    let (col, id) = match parent {
        TimelineParent::Contact(id) => ("contact_id", id),
        TimelineParent::Company(id) => ("company_id", id),
    };
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM orders c WHERE c.{col} = "));
    sql.bind(Arg::Uuid(id));
    push_before(&mut sql, "c", "ordered_at", before);
    push_visible_via_parent(&mut sql, "c", actor, false);
    sql.push(&format!(" ORDER BY c.ordered_at DESC, c.id DESC LIMIT {limit}"));
    let rows: Vec<OrderRow> = db.fetch_all(sql).await?;
    with_lines(db, rows).await
}
