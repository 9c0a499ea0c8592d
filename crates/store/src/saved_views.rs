//! Saved list views: a name plus the query string of a list page (filters, sort, columns). A personal view is
//! seen only by its owner; a shared view by every user. Only the owner (or an admin) deletes a view. The records
//! a view lists are always scoped by the viewer's own permissions, so sharing a view shares no data.

use crate::sql::Arg;
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::Actor;
use guanxi_core::text_field::required_text;
use guanxi_core::{FieldError, ValidationErrors};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    pub id: Uuid,
    pub owner_id: Uuid,
    /// The list it belongs to: `contacts`, `companies`, …
    pub object: String,
    pub name: String,
    /// The list page's query string, without a leading `?` and without a cursor.
    pub query: String,
    pub shared: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: Uuid,
    owner_id: Uuid,
    object: String,
    name: String,
    query: String,
    shared: bool,
    created_at: DateTime<Utc>,
}

impl From<ViewRow> for SavedView {
    fn from(r: ViewRow) -> SavedView {
        SavedView {
            id: r.id,
            owner_id: r.owner_id,
            object: r.object,
            name: r.name,
            query: r.query,
            shared: r.shared,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, owner_id, object, name, query, shared, created_at";

/// The lists views can be saved for.
pub const OBJECTS: [&str; 5] = ["contacts", "companies", "orders", "products", "activities"];

pub struct NewView<'a> {
    pub object: &'a str,
    pub name: &'a str,
    pub query: &'a str,
    pub shared: bool,
}

/// Saves a view for the caller. The name is required (at most 100 characters) and unique among the caller's
/// views of that list; the query at most 4,000 characters.
pub async fn create(db: &Db, actor: &Actor, v: &NewView<'_>) -> Result<SavedView> {
    let mut errs = ValidationErrors::new();
    let name = errs.take(required_text(Some(v.name), "name", 100));
    if !OBJECTS.contains(&v.object) {
        errs.push(FieldError::new("object", "invalid_value", "not a list that has views"));
    }
    let query = v.query.trim_start_matches('?');
    if query.len() > 4000 {
        errs.push(FieldError::new("query", "too_long", "must be at most 4,000 characters"));
    }
    errs.into_result()?;
    let name = name.unwrap_or_default();
    let id = guanxi_core::ids::new_id();
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql(&format!("INSERT INTO saved_views ({COLUMNS}) VALUES ("));
    sql.bind(Arg::Uuid(id)).push(", ").bind(Arg::Uuid(actor.user_id)).push(", ");
    sql.bind(Arg::Text(v.object.to_string())).push(", ").bind(Arg::Text(name.clone())).push(", ");
    sql.bind(Arg::Text(query.to_string())).push(", ").bind(Arg::Bool(v.shared)).push(", ");
    sql.bind(Arg::Ts(now)).push(")");
    tx.execute_unique(sql, "name").await?;
    tx.commit().await?;
    Ok(SavedView {
        id,
        owner_id: actor.user_id,
        object: v.object.to_string(),
        name,
        query: query.to_string(),
        shared: v.shared,
        created_at: now,
    })
}

/// The views of one list the caller may use: its own and every shared one, by name.
pub async fn list(db: &Db, actor: &Actor, object: &str) -> Result<Vec<SavedView>> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM saved_views WHERE object = "));
    sql.bind(Arg::Text(object.to_string()));
    sql.push(" AND (shared OR owner_id = ").bind(Arg::Uuid(actor.user_id)).push(") ORDER BY name, id");
    let rows: Vec<ViewRow> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(SavedView::from).collect())
}

/// One view the caller may use (404 for another user's personal view).
pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<SavedView> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM saved_views WHERE id = "));
    sql.bind(Arg::Uuid(id)).push(" AND (shared OR owner_id = ").bind(Arg::Uuid(actor.user_id)).push(")");
    let row: Option<ViewRow> = db.fetch_optional(sql).await?;
    row.map(SavedView::from).ok_or(StoreError::NotFound)
}

/// Deletes a view: its owner or an admin may; others who can see it (shared) get `Forbidden`.
pub async fn delete(db: &Db, actor: &Actor, id: Uuid) -> Result<()> {
    let mut sql = db.sql("DELETE FROM saved_views WHERE id = ");
    sql.bind(Arg::Uuid(id));
    if !actor.is_admin() {
        sql.push(" AND owner_id = ").bind(Arg::Uuid(actor.user_id));
    }
    if db.execute(sql).await? == 0 {
        // Tell a visible-but-not-yours view apart from one that does not exist for this caller.
        return Err(match get(db, actor, id).await {
            Ok(_) => StoreError::Forbidden,
            Err(e) => e,
        });
    }
    Ok(())
}
