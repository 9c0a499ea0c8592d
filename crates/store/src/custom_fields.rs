//! Custom field definitions.

use crate::sql::Arg;
use crate::{Db, Result, StoreError};
use guanxi_core::custom_field::{CustomFieldDef, CustomFieldInput, CustomFieldKind, ObjectType};
use sqlx::types::Json;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct DefRow {
    id: Uuid,
    object: String,
    key: String,
    label: String,
    kind: String,
    options: Json<Vec<String>>,
    required: bool,
    position: i64,
}

impl DefRow {
    fn into_def(self) -> Option<CustomFieldDef> {
        Some(CustomFieldDef {
            id: self.id,
            object: ObjectType::parse(&self.object)?,
            key: self.key,
            label: self.label,
            kind: CustomFieldKind::parse(&self.kind)?,
            options: self.options.0,
            required: self.required,
            position: i32::try_from(self.position).unwrap_or(0),
        })
    }
}

/// The definitions for one object type (or all). Every list and every write reads them, so they are kept in
/// memory until this process changes a definition or [`crate::db::COUNT_TTL`] passes (another instance's new field
/// is known here within that time).
pub async fn list(db: &Db, object: Option<ObjectType>) -> Result<Vec<CustomFieldDef>> {
    let key = object.map(|o| o.as_str()).unwrap_or("*");
    if let Some(hit) = db.custom_fields.get(key) {
        return Ok(hit);
    }
    let mut sql = db.sql("SELECT id, object, key, label, kind, options, required, position FROM custom_fields");
    if let Some(o) = object {
        sql.push(" WHERE object = ").bind(Arg::Text(o.as_str().into()));
    }
    sql.push(" ORDER BY object, position, key");
    let rows: Vec<DefRow> = db.fetch_all(sql).await?;
    let defs: Vec<CustomFieldDef> = rows.into_iter().filter_map(DefRow::into_def).collect();
    db.custom_fields.put(key, defs.clone());
    Ok(defs)
}

/// Adds a definition (admins only; checked by the caller). A key already used for the object is a duplicate.
pub async fn create(db: &Db, input: &CustomFieldInput) -> Result<CustomFieldDef> {
    input.validate()?;
    let id = guanxi_core::ids::new_id();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql(
        "INSERT INTO custom_fields (id, object, key, label, kind, options, required, position, created_at) VALUES (",
    );
    sql.bind(Arg::Uuid(id))
        .push(", ")
        .bind(Arg::Text(input.object.as_str().into()))
        .push(", ")
        .bind(Arg::Text(input.key.clone()));
    sql.push(", ")
        .bind(Arg::Text(input.label.trim().to_string()))
        .push(", ")
        .bind(Arg::Text(input.kind.as_str().into()))
        .push(", ");
    sql.bind(Arg::Text(serde_json::to_string(&input.options).unwrap_or_else(|_| "[]".into())));
    sql.push(crate::contacts::json_cast(tx.dialect()));
    sql.push(", ").bind(Arg::Bool(input.required)).push(", ").bind(Arg::I64(input.position as i64));
    sql.push(", ").bind(Arg::Ts(guanxi_core::ids::now())).push(")");
    tx.execute_unique(sql, "key").await?;
    tx.commit().await?;
    db.custom_fields.clear();
    Ok(CustomFieldDef {
        id,
        object: input.object,
        key: input.key.clone(),
        label: input.label.trim().to_string(),
        kind: input.kind,
        options: input.options.clone(),
        required: input.required,
        position: input.position,
    })
}

/// Changes a definition's label, options, required flag and position; its object, key and kind stay (stored
/// values and filters refer to them). The changed definition is validated like a new one.
pub async fn update(db: &Db, id: Uuid, input: &CustomFieldInput) -> Result<CustomFieldDef> {
    let mut sql =
        db.sql("SELECT id, object, key, label, kind, options, required, position FROM custom_fields WHERE id = ");
    sql.bind(Arg::Uuid(id));
    let row: Option<DefRow> = db.fetch_optional(sql).await?;
    let current = row.and_then(DefRow::into_def).ok_or(StoreError::NotFound)?;
    let merged = CustomFieldInput {
        object: current.object,
        key: current.key.clone(),
        kind: current.kind,
        label: input.label.clone(),
        options: input.options.clone(),
        required: input.required,
        position: input.position,
    };
    merged.validate()?;
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("UPDATE custom_fields SET label = ");
    sql.bind(Arg::Text(merged.label.trim().to_string())).push(", options = ");
    sql.bind(Arg::Text(serde_json::to_string(&merged.options).unwrap_or_else(|_| "[]".into())));
    sql.push(crate::contacts::json_cast(tx.dialect()));
    sql.push(", required = ").bind(Arg::Bool(merged.required));
    sql.push(", position = ").bind(Arg::I64(merged.position as i64));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id));
    tx.execute(sql).await?;
    tx.commit().await?;
    db.custom_fields.clear();
    Ok(CustomFieldDef {
        label: merged.label.trim().to_string(),
        options: merged.options,
        required: merged.required,
        position: merged.position,
        ..current
    })
}

/// Removes a definition; values already stored in records stay in their JSON until the record is next saved.
pub async fn delete(db: &Db, id: Uuid) -> Result<()> {
    let mut sql = db.sql("DELETE FROM custom_fields WHERE id = ");
    sql.bind(Arg::Uuid(id));
    let deleted = db.execute(sql).await?;
    db.custom_fields.clear();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
