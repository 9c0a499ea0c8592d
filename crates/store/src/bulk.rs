//! Bulk actions on a selection of contacts (add a tag, assign an owner, delete).
//!
//! All or nothing: the whole action runs in one transaction, and when the caller may not change even one of the
//! selected contacts (or cannot see it), nothing is changed and the refused ids are reported, so the user can
//! narrow the selection knowingly instead of getting a silently partial result.

use crate::contacts::{owner_and_team, push_value};
use crate::db::{SearchTable, Tx};
use crate::products::push_list;
use crate::scope::push_changeable;
use crate::sql::Arg;
use crate::{Db, StoreError};
use guanxi_core::access::Actor;
use guanxi_core::text_field::clean_tags;
use guanxi_core::{FieldError, ValidationErrors};
use sqlx::types::Json;
use std::collections::HashSet;
use uuid::Uuid;

/// At most this many contacts per action (a page of the list is at most 200).
pub const MAX_SELECTION: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    AddTag(String),
    AssignOwner(Uuid),
    Delete,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The caller may not change these selected contacts (or cannot see them); nothing was changed.
    #[error("{} selected contacts may not be changed", .0.len())]
    Refused(Vec<Uuid>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `action` to every contact in `ids` (duplicates ignored); returns how many were changed.
pub async fn contacts(db: &Db, actor: &Actor, ids: &[Uuid], action: &BulkAction) -> Result<u64, BulkError> {
    let ids: Vec<Uuid> = {
        let mut seen = HashSet::new();
        ids.iter().copied().filter(|id| seen.insert(*id)).collect()
    };
    if ids.is_empty() {
        return Err(
            StoreError::from(ValidationErrors::from(FieldError::new("ids", "required", "select contacts"))).into()
        );
    }
    if ids.len() > MAX_SELECTION {
        return Err(StoreError::from(ValidationErrors::from(FieldError::new("ids", "too_many", "at most 500"))).into());
    }
    if !actor.can_write() {
        return Err(BulkError::Refused(ids));
    }
    let tag = match action {
        BulkAction::AddTag(t) => {
            let cleaned =
                clean_tags(std::slice::from_ref(t), "tag").map_err(|e| StoreError::from(ValidationErrors::from(e)))?;
            match cleaned.into_iter().next() {
                Some(t) => Some(t),
                None => {
                    return Err(StoreError::from(ValidationErrors::from(FieldError::new(
                        "tag",
                        "required",
                        "is required",
                    )))
                    .into());
                }
            }
        }
        _ => None,
    };
    let mut tx = db.begin().await?;
    // Lock-free check then write inside one transaction: SQLite has a single writer, and on PostgreSQL the
    // version bump below re-checks the scope row by row through the same WHERE clause.
    let mut sql = tx.sql("SELECT c.id, c.seq, c.tags FROM contacts c WHERE c.id IN (");
    push_list(&mut sql, ids.iter().map(|id| Arg::Uuid(*id)));
    sql.push(")");
    push_changeable(&mut sql, "c", actor);
    let rows: Vec<(Uuid, i64, Json<Vec<String>>)> = tx.fetch_all(sql).await?;
    let allowed: HashSet<Uuid> = rows.iter().map(|r| r.0).collect();
    let refused: Vec<Uuid> = ids.iter().copied().filter(|id| !allowed.contains(id)).collect();
    if !refused.is_empty() {
        return Err(BulkError::Refused(refused));
    }
    let now = guanxi_core::ids::now();
    let changed = match action {
        BulkAction::AddTag(_) => {
            let tag = tag.unwrap_or_default();
            let mut n = 0;
            for (id, _, Json(tags)) in rows {
                if tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
                    continue;
                }
                if tags.len() >= 100 {
                    return Err(StoreError::from(ValidationErrors::from(FieldError::new(
                        "tag",
                        "too_many",
                        "a contact has at most 100 tags",
                    )))
                    .into());
                }
                let mut new_tags = tags;
                new_tags.push(tag.clone());
                let mut up = tx.sql("UPDATE contacts SET tags = ");
                push_value(&mut up, Some(Arg::Text(serde_json::to_string(&new_tags).unwrap_or_default())), true);
                up.push(", version = version + 1, updated_at = ").bind(Arg::Ts(now));
                up.push(" WHERE id = ").bind(Arg::Uuid(id));
                tx.execute(up).await?;
                let mut ins = tx.sql("INSERT INTO record_tags (object, record_id, tag) VALUES ('contact', ");
                ins.bind(Arg::Uuid(id)).push(", ").bind(Arg::Text(tag.clone())).push(")");
                tx.execute(ins).await?;
                n += 1;
            }
            n
        }
        BulkAction::AssignOwner(owner) => {
            let (owner, team) = owner_and_team(&mut tx, actor, Some(*owner)).await?;
            let mut up = tx.sql("UPDATE contacts SET owner_id = ");
            up.bind(Arg::Uuid(owner)).push(", team_id = ");
            push_value(&mut up, team.map(Arg::Uuid), false);
            up.push(", version = version + 1, updated_at = ").bind(Arg::Ts(now)).push(" WHERE id IN (");
            push_list(&mut up, ids.iter().map(|id| Arg::Uuid(*id)));
            up.push(")");
            tx.execute(up).await?
        }
        BulkAction::Delete => delete_rows(&mut tx, &rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>()).await?,
    };
    tx.commit().await?;
    Ok(changed)
}

async fn delete_rows(tx: &mut Tx, rows: &[(Uuid, i64)]) -> Result<u64, StoreError> {
    let mut del = tx.sql("DELETE FROM record_tags WHERE object = 'contact' AND record_id IN (");
    push_list(&mut del, rows.iter().map(|r| Arg::Uuid(r.0)));
    del.push(")");
    tx.execute(del).await?;
    for (_, seq) in rows {
        tx.delete_search_tokens(SearchTable::Contacts, *seq).await?;
    }
    let mut del = tx.sql("DELETE FROM contacts WHERE id IN (");
    push_list(&mut del, rows.iter().map(|r| Arg::Uuid(r.0)));
    del.push(")");
    tx.execute(del).await
}
