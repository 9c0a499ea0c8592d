//! Tasks: follow-ups assigned to users, with reminders.
//!
//! A task is visible to its assignee, its creator, admins and anyone who can see its contact or company; it may be
//! changed by its assignee, its creator, admins and anyone who may change its contact or company.

use crate::activities::{check_parents, push_changeable_via_parent};
use crate::contacts::push_value;
use crate::db::Tx;
use crate::scope::push_visible_via_parent;
use crate::sql::{Arg, Page, Sql, push_conditions, sort_spec};
use crate::{Db, Dialect, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::{Actor, Role};
use guanxi_core::filter::{FieldKind, ListQuery};
use guanxi_core::task::{Task, TaskDraft};
use guanxi_core::{FieldError, ValidationErrors};
use serde_json::Value;
use std::fmt::Write;
use uuid::Uuid;

// Alias `c` as in every list query, because `contacts::count` wraps the filter text in `FROM {table} c`.
const COLUMNS: &str = "c.id, c.title, c.notes, c.due_at, c.remind_at, c.assignee_id, c.contact_id, c.company_id, c.done, \
    c.done_at, c.created_by, c.version, c.created_at, c.updated_at";

/// At most this many reminders are returned at once (oldest first); the rest come on the next poll.
pub const REMINDERS_MAX: u32 = 500;

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    title: String,
    notes: Option<String>,
    due_at: Option<DateTime<Utc>>,
    remind_at: Option<DateTime<Utc>>,
    assignee_id: Option<Uuid>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    done: bool,
    done_at: Option<DateTime<Utc>>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

// Lists of tasks are not hot enough yet to decode on rusqlite.
crate::sqlite_read::through_sqlx!(TaskRow);

impl TaskRow {
    fn into_task(self) -> Task {
        Task {
            id: self.id,
            title: self.title,
            notes: self.notes,
            due_at: self.due_at,
            remind_at: self.remind_at,
            assignee_id: self.assignee_id,
            contact_id: self.contact_id,
            company_id: self.company_id,
            done: self.done,
            done_at: self.done_at,
            created_by: self.created_by,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Appends ` AND (<the caller may see the task>)`.
fn push_task_visible(sql: &mut Sql, alias: &str, actor: &Actor) {
    push_task_scope(sql, alias, actor, false);
}

/// Appends ` AND (<the caller may change the task>)`.
fn push_task_changeable(sql: &mut Sql, alias: &str, actor: &Actor) {
    push_task_scope(sql, alias, actor, true);
}

fn push_task_scope(sql: &mut Sql, alias: &str, actor: &Actor, change: bool) {
    if actor.role == Role::Admin {
        return;
    }
    let _ = write!(sql.text, " AND ({alias}.assignee_id = ");
    sql.bind(Arg::Uuid(actor.user_id));
    let _ = write!(sql.text, " OR {alias}.created_by = ");
    sql.bind(Arg::Uuid(actor.user_id));
    // The parent helpers append ` AND (...)`; `1 = 1` gives them something to attach to inside the OR.
    sql.push(" OR (1 = 1");
    if change {
        push_changeable_via_parent(sql, alias, actor, true);
    } else {
        push_visible_via_parent(sql, alias, actor, true);
    }
    sql.push("))");
}

/// The assignee (the caller when not given); an unknown user is a field error.
async fn assignee(tx: &mut Tx, actor: &Actor, assignee_id: Option<Uuid>) -> Result<Uuid> {
    let a = assignee_id.unwrap_or(actor.user_id);
    if a == actor.user_id {
        return Ok(a);
    }
    let mut sql = tx.sql("SELECT id FROM users WHERE id = ");
    sql.bind(Arg::Uuid(a));
    let row: Option<(Uuid,)> = tx.fetch_optional(sql).await?;
    match row {
        Some(_) => Ok(a),
        None => Err(ValidationErrors::from(FieldError::new("assignee_id", "not_found", "no such user")).into()),
    }
}

/// Checks the assignee and the parents together, so every bad reference is reported at once.
async fn check_references(tx: &mut Tx, actor: &Actor, d: &TaskDraft) -> Result<Uuid> {
    let mut errs = ValidationErrors::new();
    let a = match assignee(tx, actor, d.assignee_id).await {
        Ok(a) => Some(a),
        Err(StoreError::Invalid(e)) => {
            errs.errors.extend(e.errors);
            None
        }
        Err(e) => return Err(e),
    };
    match check_parents(tx, actor, d.contact_id, d.company_id, false).await {
        Ok(()) => {}
        Err(StoreError::Invalid(e)) => errs.errors.extend(e.errors),
        Err(e) => return Err(e),
    }
    errs.into_result()?;
    Ok(a.unwrap_or(actor.user_id))
}

fn column_values(d: &TaskDraft, assignee: Uuid) -> [(&'static str, Option<Arg>, bool); 8] {
    [
        ("title", Some(Arg::Text(d.title.clone())), false),
        ("notes", d.notes.clone().map(Arg::Text), false),
        ("due_at", d.due_at.map(Arg::Ts), false),
        ("remind_at", d.remind_at.map(Arg::Ts), false),
        ("assignee_id", Some(Arg::Uuid(assignee)), false),
        ("contact_id", d.contact_id.map(Arg::Uuid), false),
        ("company_id", d.company_id.map(Arg::Uuid), false),
        ("done", Some(Arg::Bool(d.done)), false),
    ]
}

/// Creates a task by the caller, assigned to `assignee_id` or the caller.
pub async fn create(db: &Db, actor: &Actor, d: &TaskDraft) -> Result<Task> {
    let mut tx = db.begin().await?;
    let assignee = check_references(&mut tx, actor, d).await?;
    let id = guanxi_core::ids::new_id();
    let now = guanxi_core::ids::now();
    let done_at = d.done.then_some(now);
    let cols = column_values(d, assignee);
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql = tx.sql(&format!(
        "INSERT INTO tasks (id, {}, done_at, created_by, version, created_at, updated_at) VALUES (",
        names.join(", ")
    ));
    sql.bind(Arg::Uuid(id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", ");
    push_value(&mut sql, done_at.map(Arg::Ts), false);
    sql.push(", ").bind(Arg::Uuid(actor.user_id));
    sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute(sql).await?;
    tx.commit().await?;
    Ok(Task {
        id,
        title: d.title.clone(),
        notes: d.notes.clone(),
        due_at: d.due_at,
        remind_at: d.remind_at,
        assignee_id: Some(assignee),
        contact_id: d.contact_id,
        company_id: d.company_id,
        done: d.done,
        done_at,
        created_by: Some(actor.user_id),
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Task> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM tasks c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    push_task_visible(&mut sql, "c", actor);
    let row: Option<TaskRow> = db.fetch_optional(sql).await?;
    row.map(TaskRow::into_task).ok_or(StoreError::NotFound)
}

/// Replaces the writable fields when the stored version is `expected_version`. Marking a task done stamps
/// `done_at` (once: a task already done keeps its time); reopening clears it.
pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &TaskDraft) -> Result<Task> {
    let mut tx = db.begin().await?;
    let assignee = match check_references(&mut tx, actor, d).await {
        Ok(a) => a,
        Err(e) => {
            drop(tx);
            return Err(reference_error(db, actor, id, e).await);
        }
    };
    let now = guanxi_core::ids::now();
    let mut sql = tx.sql("UPDATE tasks SET ");
    for (col, v, is_json) in column_values(d, assignee) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    if d.done {
        sql.push("done_at = COALESCE(done_at, ").bind(Arg::Ts(now)).push("), ");
    } else {
        sql.push("done_at = NULL, ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    // UPDATE has no alias on SQLite, so the scope names the table.
    push_task_changeable(&mut sql, "tasks", actor);
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<TaskRow> = tx.fetch_optional(sql).await?;
    let Some(row) = row else {
        drop(tx);
        return Err(why_not_changed(db, actor, id).await);
    };
    tx.commit().await?;
    Ok(row.into_task())
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
    let mut sql = db.sql("SELECT c.version FROM tasks c WHERE c.id = ");
    sql.bind(Arg::Uuid(id));
    push_task_changeable(&mut sql, "c", actor);
    match db.fetch_optional::<(i64,)>(sql).await {
        Ok(Some((v,))) => StoreError::VersionMismatch { current: v },
        Ok(None) => StoreError::Forbidden,
        Err(e) => e,
    }
}

pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    let mut sql = db.sql("DELETE FROM tasks WHERE id = ");
    sql.bind(Arg::Uuid(id));
    if let Some(v) = expected_version {
        sql.push(" AND version = ").bind(Arg::I64(v));
    }
    push_task_changeable(&mut sql, "tasks", actor);
    if db.execute(sql).await? == 0 {
        return Err(why_not_changed(db, actor, id).await);
    }
    Ok(())
}

/// Tasks without a due or reminder time sort after all others (ascending), on both backends alike: the generic
/// `sort_spec` leaves timestamps uncoalesced, and a NULL would fall out of the keyset comparison.
const NO_TIME: &str = "9999-12-31T00:00:00+00:00";

fn no_time_literal(d: Dialect) -> &'static str {
    match d {
        // The text sqlx writes for this instant, so SQLite's text comparison matches the bound cursor value.
        Dialect::Sqlite => "'9999-12-31T00:00:00+00:00'",
        Dialect::Postgres => "TIMESTAMPTZ '9999-12-31 00:00:00+00'",
    }
}

/// A filtered, sorted page of the tasks the caller can see.
pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Task>> {
    let mut filter = db.sql("");
    push_task_visible(&mut filter, "c", actor);
    push_conditions(&mut filter, "c", "task", &q.conditions);
    let mut sort = sort_spec(db.dialect(), "c", q);
    if let Some(s) = sort.as_mut()
        && s.kind == FieldKind::Timestamp
        && matches!(q.sort.as_ref().map(|s| s.field.name), Some("due_at" | "remind_at"))
    {
        s.expr = format!("COALESCE({}, {})", s.expr, no_time_literal(db.dialect()));
    }
    crate::page::fetch_page(db, "tasks", COLUMNS, filter, sort.as_ref(), q, TaskRow::into_task, |x| {
        (sort_value(x, q), x.id)
    })
    .await
}

fn sort_value(t: &Task, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    let time =
        |v: Option<DateTime<Utc>>| Value::String(v.map(|t| t.to_rfc3339()).unwrap_or_else(|| NO_TIME.to_string()));
    match s.field.name {
        "title" => Value::String(t.title.clone()),
        "due_at" => time(t.due_at),
        "remind_at" => time(t.remind_at),
        "created_at" => Value::String(t.created_at.to_rfc3339()),
        _ => Value::Null,
    }
}

/// The caller's open tasks whose reminder time has come (`remind_at <= now`), oldest reminder first; at most
/// [`REMINDERS_MAX`]. Served by the `(assignee_id, done, remind_at)` index.
pub async fn reminders_due(db: &Db, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Task>> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM tasks c WHERE c.assignee_id = "));
    sql.bind(Arg::Uuid(actor.user_id));
    sql.push(" AND c.done = ").bind(Arg::Bool(false));
    sql.push(" AND c.remind_at <= ").bind(Arg::Ts(now));
    sql.push(&format!(" ORDER BY c.remind_at, c.id LIMIT {REMINDERS_MAX}"));
    let rows: Vec<TaskRow> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(TaskRow::into_task).collect())
}
