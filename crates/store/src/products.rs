//! Products: the catalogue that order lines point at.
//!
//! Catalogue data is not owned: every signed-in user sees every product, and only admins and managers change it.

use crate::contacts::{BatchError, push_value};
use crate::db::Tx;
use crate::sql::{Arg, Page, push_conditions, sort_spec};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::{Actor, Role};
use guanxi_core::filter::ListQuery;
use guanxi_core::money::Currency;
use guanxi_core::order::{Product, ProductDraft, ProductFacts};
use guanxi_core::{FieldError, ValidationErrors};
use serde_json::{Map, Value};
use sqlx::types::Json;
use std::collections::HashSet;
use uuid::Uuid;

// The alias is `c` as in every list query, because `contacts::count` wraps the filter text in `FROM {table} c`.
const COLUMNS: &str = "c.id, c.sku, c.name, c.category, c.list_price_minor, c.currency, c.active, c.custom, c.version, c.created_at, c.updated_at";

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    sku: String,
    name: String,
    category: Option<String>,
    list_price_minor: i64,
    currency: String,
    active: bool,
    custom: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

// Lists of products are not hot enough yet to decode on rusqlite.
crate::sqlite_read::through_sqlx!(ProductRow);

impl ProductRow {
    fn into_product(self) -> Product {
        Product {
            id: self.id,
            sku: self.sku,
            name: self.name,
            category: self.category,
            list_price_minor: self.list_price_minor,
            currency: parse_currency(&self.currency),
            active: self.active,
            custom: self.custom.0,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Stored currencies were validated on the way in; a hand-edited row falls back to CNY rather than failing reads.
pub(crate) fn parse_currency(s: &str) -> Currency {
    Currency::parse(s, "currency").unwrap_or(Currency::CNY)
}

/// Only admins and managers keep the catalogue; read-only tokens change nothing.
pub(crate) fn require_catalogue_writer(actor: &Actor) -> Result<()> {
    if matches!(actor.role, Role::Admin | Role::Manager) && actor.can_write() {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// The writable columns with their values and whether the value is JSON; the one source for INSERT and UPDATE.
fn column_values(d: &ProductDraft) -> [(&'static str, Option<Arg>, bool); 7] {
    [
        ("sku", Some(Arg::Text(d.sku.clone())), false),
        ("name", Some(Arg::Text(d.name.clone())), false),
        ("category", d.category.clone().map(Arg::Text), false),
        ("list_price_minor", Some(Arg::I64(d.list_price_minor)), false),
        ("currency", Some(Arg::Text(d.currency.as_str().to_string())), false),
        ("active", Some(Arg::Bool(d.active)), false),
        ("custom", Some(Arg::Text(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()))), true),
    ]
}

pub(crate) async fn insert_in(tx: &mut Tx, d: &ProductDraft, id: Uuid, now: DateTime<Utc>) -> Result<Product> {
    let cols = column_values(d);
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql =
        tx.sql(&format!("INSERT INTO products (id, {}, version, created_at, updated_at) VALUES (", names.join(", ")));
    sql.bind(Arg::Uuid(id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute_unique(sql, "sku").await?;
    Ok(Product {
        id,
        sku: d.sku.clone(),
        name: d.name.clone(),
        category: d.category.clone(),
        list_price_minor: d.list_price_minor,
        currency: d.currency,
        active: d.active,
        custom: d.custom.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// Creates a product (admins and managers only).
pub async fn create(db: &Db, actor: &Actor, d: &ProductDraft) -> Result<Product> {
    require_catalogue_writer(actor)?;
    let mut tx = db.begin().await?;
    let p = insert_in(&mut tx, d, guanxi_core::ids::new_id(), guanxi_core::ids::now()).await?;
    tx.commit().await?;
    Ok(p)
}

/// Creates many products in one transaction: all or none. A SKU that is taken (in the catalogue or earlier in the
/// batch) is reported as a per-record `sku` error, like any other invalid field.
pub async fn create_batch(db: &Db, actor: &Actor, drafts: &[ProductDraft]) -> Result<Vec<Product>, BatchError> {
    require_catalogue_writer(actor).map_err(BatchError::Store)?;
    let skus: Vec<String> = drafts.iter().map(|d| d.sku.clone()).collect();
    let taken = taken_skus(db, &skus).await.map_err(BatchError::Store)?;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut errors = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        if taken.contains(&d.sku) || !seen.insert(d.sku.as_str()) {
            errors.push((i, ValidationErrors::from(FieldError::new("sku", "duplicate", "is already in use"))));
        }
    }
    if !errors.is_empty() {
        return Err(BatchError::Invalid(errors));
    }
    let mut tx = db.begin().await.map_err(BatchError::Store)?;
    let now = guanxi_core::ids::now();
    let mut out = Vec::with_capacity(drafts.len());
    for d in drafts {
        // A SKU taken between the check and here still fails the whole batch, as Duplicate.
        out.push(insert_in(&mut tx, d, guanxi_core::ids::new_id(), now).await.map_err(BatchError::Store)?);
    }
    tx.commit().await.map_err(BatchError::Store)?;
    Ok(out)
}

/// Which of these SKUs are already in the catalogue.
async fn taken_skus(db: &Db, skus: &[String]) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    // Chunked to stay far below SQLite's bound-parameter limit whatever the batch size.
    for chunk in skus.chunks(500) {
        let mut sql = db.sql("SELECT sku FROM products WHERE sku IN (");
        push_list(&mut sql, chunk.iter().map(|s| Arg::Text(s.clone())));
        sql.push(")");
        let rows: Vec<(String,)> = db.fetch_all(sql).await?;
        taken.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(taken)
}

/// Appends `$1, $2, ...` for the values (the caller writes the parentheses and never passes an empty list).
pub(crate) fn push_list(sql: &mut crate::sql::Sql, values: impl IntoIterator<Item = Arg>) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
}

pub async fn get(db: &Db, _actor: &Actor, id: Uuid) -> Result<Product> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM products c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    let row: Option<ProductRow> = db.fetch_optional(sql).await?;
    row.map(ProductRow::into_product).ok_or(StoreError::NotFound)
}

/// A product read inside the caller's transaction.
pub(crate) async fn get_in_tx(tx: &mut Tx, id: Uuid) -> Result<Option<Product>> {
    let mut sql = tx.sql(&format!("SELECT {COLUMNS} FROM products c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    let row: Option<ProductRow> = tx.fetch_optional(sql).await?;
    Ok(row.map(ProductRow::into_product))
}

/// Replaces the writable fields when the stored version is `expected_version`.
pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &ProductDraft) -> Result<Product> {
    require_catalogue_writer(actor)?;
    let mut tx = db.begin().await?;
    match update_in_tx(&mut tx, id, expected_version, d).await? {
        Some(p) => {
            tx.commit().await?;
            Ok(p)
        }
        None => {
            drop(tx);
            Err(why_not_changed(db, actor, id).await)
        }
    }
}

/// [`update`] inside the caller's transaction, for a caller already checked to keep the catalogue; `None` when
/// the product is gone or at another version.
pub(crate) async fn update_in_tx(
    tx: &mut Tx,
    id: Uuid,
    expected_version: i64,
    d: &ProductDraft,
) -> Result<Option<Product>> {
    let mut sql = tx.sql("UPDATE products SET ");
    for (col, v, is_json) in column_values(d) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<ProductRow> = tx.fetch_optional(sql).await.map_err(|e| duplicate_as(e, "sku"))?;
    Ok(row.map(ProductRow::into_product))
}

/// The writable fields of a stored product, as the draft that would write them again.
pub(crate) fn draft_of(p: &Product) -> ProductDraft {
    ProductDraft {
        sku: p.sku.clone(),
        name: p.name.clone(),
        category: p.category.clone(),
        list_price_minor: p.list_price_minor,
        currency: p.currency,
        active: p.active,
        custom: p.custom.clone(),
    }
}

/// A unique violation from a statement run through the plain fetch helpers, as [`StoreError::Duplicate`].
pub(crate) fn duplicate_as(e: StoreError, field: &'static str) -> StoreError {
    match e {
        StoreError::Database(e) => StoreError::unique_as(e, field),
        other => other,
    }
}

/// After a conditional write matched nothing: absent (404) or at another version (412).
async fn why_not_changed(db: &Db, actor: &Actor, id: Uuid) -> StoreError {
    match get(db, actor, id).await {
        Ok(p) => StoreError::VersionMismatch { current: p.version },
        Err(e) => e,
    }
}

/// Deletes a product that no order line points at. A product that was sold is refused
/// ([`StoreError::Conflict`]): dropping the link would rewrite purchase history that analytics (repeat purchase,
/// cross-selling) reads by product; such a product is made inactive instead.
pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    require_catalogue_writer(actor)?;
    let mut tx = db.begin().await?;
    // The row lock makes an order line written meanwhile wait (its foreign key check shares the row), so the count
    // below sees every line that can exist when the delete commits.
    let mut sql = tx.sql("SELECT version FROM products WHERE id = ");
    sql.bind(Arg::Uuid(id)).for_update();
    let current: i64 = tx.fetch_scalar(sql).await?.ok_or(StoreError::NotFound)?;
    if expected_version.is_some_and(|v| v != current) {
        return Err(StoreError::VersionMismatch { current });
    }
    let mut sql = tx.sql("SELECT COUNT(*) FROM order_lines WHERE product_id = ");
    sql.bind(Arg::Uuid(id));
    let lines: i64 = tx.fetch_scalar(sql).await?.unwrap_or(0);
    if lines > 0 {
        return Err(StoreError::Conflict(format!(
            "the product is on {lines} order line(s); deleting it would change past orders, so mark it inactive instead"
        )));
    }
    let mut sql = tx.sql("DELETE FROM products WHERE id = ");
    sql.bind(Arg::Uuid(id));
    tx.execute(sql).await?;
    tx.commit().await
}

/// A filtered, sorted page of the catalogue.
pub async fn list(db: &Db, _actor: &Actor, q: &ListQuery) -> Result<Page<Product>> {
    let mut filter = db.sql("");
    push_conditions(&mut filter, "c", "product", &q.conditions);
    let sort = sort_spec(db.dialect(), "c", q);
    crate::page::fetch_page(db, "products", COLUMNS, filter, sort.as_ref(), q, ProductRow::into_product, |x| {
        (sort_value(x, q), x.id)
    })
    .await
}

/// The value of the sort column of a product, as the cursor carries it (matching the coalescing of `sort_spec`).
fn sort_value(p: &Product, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    match s.field.name {
        "sku" => Value::String(p.sku.clone()),
        "name" => Value::String(p.name.clone()),
        "category" => Value::String(p.category.clone().unwrap_or_default()),
        "list_price_minor" => Value::from(p.list_price_minor),
        "created_at" => Value::String(p.created_at.to_rfc3339()),
        "updated_at" => Value::String(p.updated_at.to_rfc3339()),
        _ => Value::Null,
    }
}

/// The catalogue facts of these products, for validating order lines; unknown ids are simply absent, and
/// inactive products are included (an imported order may name a discontinued product).
pub async fn facts(db: &Db, ids: &[Uuid]) -> Result<Vec<ProductFacts>> {
    let unique: Vec<Uuid> = ids.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let mut out = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(500) {
        let mut sql = db.sql("SELECT id, name, list_price_minor, currency FROM products WHERE id IN (");
        push_list(&mut sql, chunk.iter().map(|id| Arg::Uuid(*id)));
        sql.push(")");
        let rows: Vec<(Uuid, String, i64, String)> = db.fetch_all(sql).await?;
        out.extend(rows.into_iter().map(|(id, name, list_price_minor, currency)| ProductFacts {
            id,
            name,
            list_price_minor,
            currency: parse_currency(&currency),
        }));
    }
    Ok(out)
}
