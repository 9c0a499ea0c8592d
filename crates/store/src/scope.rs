//! The visibility rule of `guanxi_core::access` as SQL, applied inside every query over owned records.

use crate::sql::{Arg, Sql};
use guanxi_core::access::{Actor, Role};
use std::fmt::Write;

/// Appends ` AND (<the caller may see the row aliased `alias`>)`.
pub fn push_visible(sql: &mut Sql, alias: &str, actor: &Actor) {
    match actor.role {
        Role::Admin => {}
        Role::Manager => {
            let _ = write!(sql.text, " AND ({alias}.visibility = 'public' OR {alias}.owner_id = ");
            sql.bind(Arg::Uuid(actor.user_id));
            push_team_eq(sql, alias, actor);
            sql.push(")");
        }
        Role::Member => {
            let _ = write!(sql.text, " AND ({alias}.visibility = 'public' OR {alias}.owner_id = ");
            sql.bind(Arg::Uuid(actor.user_id));
            if let Some(team) = actor.team_id {
                let _ = write!(sql.text, " OR ({alias}.visibility = 'team' AND {alias}.team_id = ");
                sql.bind(Arg::Uuid(team)).push(")");
            }
            sql.push(")");
        }
    }
}

/// Appends ` AND (<the caller may change the row>)`: like seeing, but public rows of other teams are read-only.
pub fn push_changeable(sql: &mut Sql, alias: &str, actor: &Actor) {
    match actor.role {
        Role::Admin => {}
        Role::Manager => {
            let _ = write!(sql.text, " AND ({alias}.owner_id = ");
            sql.bind(Arg::Uuid(actor.user_id));
            push_team_eq(sql, alias, actor);
            sql.push(")");
        }
        Role::Member => {
            let _ = write!(sql.text, " AND ({alias}.owner_id = ");
            sql.bind(Arg::Uuid(actor.user_id));
            if let Some(team) = actor.team_id {
                let _ = write!(sql.text, " OR ({alias}.visibility <> 'private' AND {alias}.team_id = ");
                sql.bind(Arg::Uuid(team)).push(")");
            }
            sql.push(")");
        }
    }
}

fn push_team_eq(sql: &mut Sql, alias: &str, actor: &Actor) {
    if let Some(team) = actor.team_id {
        let _ = write!(sql.text, " OR {alias}.team_id = ");
        sql.bind(Arg::Uuid(team));
    }
}

/// Records without owners of their own (orders, activities) are visible when the contact or company they belong to
/// is: appends ` AND (<contact visible> OR <company visible>)` for the columns `alias.contact_id`/`alias.company_id`.
pub fn push_visible_via_parent(sql: &mut Sql, alias: &str, actor: &Actor, has_company: bool) {
    if actor.role == Role::Admin {
        return;
    }
    let _ = write!(sql.text, " AND (EXISTS (SELECT 1 FROM contacts pc WHERE pc.id = {alias}.contact_id");
    push_visible(sql, "pc", actor);
    sql.push(")");
    if has_company {
        let _ = write!(sql.text, " OR EXISTS (SELECT 1 FROM companies pco WHERE pco.id = {alias}.company_id");
        push_visible(sql, "pco", actor);
        sql.push(")");
    }
    sql.push(")");
}

/// `id → name` of the records of `table` among `ids` that `actor` may see, in one query per 500 ids (for lists that
/// show the names of the records they point at).
pub(crate) async fn visible_names(
    db: &crate::Db,
    actor: &Actor,
    table: &str,
    name_column: &str,
    ids: &[uuid::Uuid],
) -> crate::Result<std::collections::HashMap<uuid::Uuid, String>> {
    let mut out = std::collections::HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let mut sql = db.sql(&format!("SELECT r.id, r.{name_column} FROM {table} r WHERE r.id IN ("));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(crate::sql::Arg::Uuid(*id));
        }
        sql.push(")");
        push_visible(&mut sql, "r", actor);
        let rows: Vec<(uuid::Uuid, String)> = db.fetch_all(sql).await?;
        out.extend(rows);
    }
    Ok(out)
}
