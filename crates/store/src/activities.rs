//! Activities (notes, calls, visits, …) and the timeline of a contact or company, which merges them with orders.
//!
//! Activities have no owner of their own: one is visible when its contact or its company is, and may be changed by
//! whoever may change that contact or company, or by its author while the author can still see it.

use crate::contacts::{BatchError, push_value};
use crate::db::Tx;
use crate::products::push_list;
use crate::scope::{push_changeable, push_visible, push_visible_via_parent};
use crate::sql::{Arg, Page, Sql, push_conditions, sort_spec};
use crate::{Db, Dialect, Result, StoreError, orders};
use chrono::{DateTime, Utc};
use guanxi_core::access::{Actor, Role};
use guanxi_core::activity::{Activity, ActivityDraft, ActivityKind, TimelineEntry};
use guanxi_core::filter::{ListQuery, MAX_LIMIT};
use guanxi_core::{FieldError, ValidationErrors};
use serde_json::{Map, Value};
use sqlx::types::Json;
use std::fmt::Write;
use uuid::Uuid;

// Alias `c` as in every list query, because `contacts::count` wraps the filter text in `FROM {table} c`.
const COLUMNS: &str = "c.id, c.kind, c.contact_id, c.company_id, c.occurred_at, c.actor_id, c.subject, c.body, c.metadata, \
    c.version, c.created_at, c.updated_at";

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: Uuid,
    kind: String,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    subject: Option<String>,
    body: Option<String>,
    metadata: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

// Lists of activities are not hot enough yet to decode on rusqlite.
crate::sqlite_read::through_sqlx!(ActivityRow);

impl ActivityRow {
    fn into_activity(self) -> Activity {
        Activity {
            id: self.id,
            kind: ActivityKind::parse(&self.kind).unwrap_or(ActivityKind::Note),
            contact_id: self.contact_id,
            company_id: self.company_id,
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            subject: self.subject,
            body: self.body,
            metadata: self.metadata.0,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The record a timeline (and an activity, order or task) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineParent {
    Contact(Uuid),
    Company(Uuid),
}

impl TimelineParent {
    fn table_and_field(self) -> (&'static str, Uuid, &'static str) {
        match self {
            TimelineParent::Contact(id) => ("contacts", id, "contact_id"),
            TimelineParent::Company(id) => ("companies", id, "company_id"),
        }
    }
}

/// Where a timeline page ended: the time and id of its last entry.
pub type TimelineCursor = (DateTime<Utc>, Uuid);

/// `SELECT 1` when the caller may see (and with `must_change`, change) the parent record.
fn parent_query(dialect: Dialect, actor: &Actor, parent: TimelineParent, must_change: bool) -> Sql {
    let (table, id, _) = parent.table_and_field();
    let mut sql = Sql::new(dialect, &format!("SELECT 1 FROM {table} p WHERE p.id = "));
    sql.bind(Arg::Uuid(id));
    push_visible(&mut sql, "p", actor);
    if must_change {
        push_changeable(&mut sql, "p", actor);
    }
    sql
}

/// Checks inside a write that a record points at a contact or company the caller can see (and, with
/// `must_change`, change). Anything else is a `contact_id`/`company_id` not_found field error, so a caller learns
/// nothing about records it cannot see.
pub(crate) async fn check_parent(tx: &mut Tx, actor: &Actor, parent: TimelineParent, must_change: bool) -> Result<()> {
    let (_, _, field) = parent.table_and_field();
    let found: Option<(i32,)> = tx.fetch_optional(parent_query(tx.dialect(), actor, parent, must_change)).await?;
    match found {
        Some(_) => Ok(()),
        None => {
            let what = if field == "contact_id" { "no such contact" } else { "no such company" };
            Err(ValidationErrors::from(FieldError::new(field, "not_found", what)).into())
        }
    }
}

/// [`check_parent`] for the contact and company a draft names, collecting both errors.
pub(crate) async fn check_parents(
    tx: &mut Tx,
    actor: &Actor,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    must_change: bool,
) -> Result<()> {
    let mut errs = ValidationErrors::new();
    let parents = contact_id.map(TimelineParent::Contact).into_iter().chain(company_id.map(TimelineParent::Company));
    for parent in parents {
        match check_parent(tx, actor, parent, must_change).await {
            Ok(()) => {}
            Err(StoreError::Invalid(e)) => errs.errors.extend(e.errors),
            Err(e) => return Err(e),
        }
    }
    errs.into_result().map_err(StoreError::from)
}

/// Appends ` AND (<the caller may change the contact> OR <… the company>)` for `alias.contact_id` /
/// `alias.company_id`: the change counterpart of `scope::push_visible_via_parent`.
pub(crate) fn push_changeable_via_parent(sql: &mut Sql, alias: &str, actor: &Actor, has_company: bool) {
    if actor.role == Role::Admin {
        return;
    }
    let _ = write!(sql.text, " AND (EXISTS (SELECT 1 FROM contacts pc WHERE pc.id = {alias}.contact_id");
    push_changeable(sql, "pc", actor);
    sql.push(")");
    if has_company {
        let _ = write!(sql.text, " OR EXISTS (SELECT 1 FROM companies pco WHERE pco.id = {alias}.company_id");
        push_changeable(sql, "pco", actor);
        sql.push(")");
    }
    sql.push(")");
}

/// Appends ` AND (<the caller may change the activity>)`: via its parent, or as its author while it is visible.
pub(crate) fn push_activity_changeable(sql: &mut Sql, alias: &str, actor: &Actor) {
    if actor.role == Role::Admin {
        return;
    }
    let _ = write!(sql.text, " AND (({alias}.actor_id = ");
    sql.bind(Arg::Uuid(actor.user_id));
    push_visible_via_parent(sql, alias, actor, true);
    sql.push(") OR (1 = 1");
    push_changeable_via_parent(sql, alias, actor, true);
    sql.push("))");
}

fn column_values(d: &ActivityDraft) -> [(&'static str, Option<Arg>, bool); 7] {
    [
        ("kind", Some(Arg::Text(d.kind.as_str().to_string())), false),
        ("contact_id", d.contact_id.map(Arg::Uuid), false),
        ("company_id", d.company_id.map(Arg::Uuid), false),
        ("occurred_at", Some(Arg::Ts(d.occurred_at)), false),
        ("subject", d.subject.clone().map(Arg::Text), false),
        ("body", d.body.clone().map(Arg::Text), false),
        ("metadata", Some(Arg::Text(serde_json::to_string(&d.metadata).unwrap_or_else(|_| "{}".into()))), true),
    ]
}

pub(crate) async fn insert_in(
    tx: &mut Tx,
    actor: &Actor,
    d: &ActivityDraft,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Activity> {
    check_parents(tx, actor, d.contact_id, d.company_id, false).await?;
    let cols = column_values(d);
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql = tx.sql(&format!(
        "INSERT INTO activities (id, actor_id, {}, version, created_at, updated_at) VALUES (",
        names.join(", ")
    ));
    sql.bind(Arg::Uuid(id)).push(", ").bind(Arg::Uuid(actor.user_id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute(sql).await?;
    Ok(Activity {
        id,
        kind: d.kind,
        contact_id: d.contact_id,
        company_id: d.company_id,
        occurred_at: d.occurred_at,
        actor_id: Some(actor.user_id),
        subject: d.subject.clone(),
        body: d.body.clone(),
        metadata: d.metadata.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// Records an activity by the caller on a contact and/or company the caller can see.
pub async fn create(db: &Db, actor: &Actor, d: &ActivityDraft) -> Result<Activity> {
    let mut tx = db.begin().await?;
    let a = insert_in(&mut tx, actor, d, guanxi_core::ids::new_id(), guanxi_core::ids::now()).await?;
    tx.commit().await?;
    Ok(a)
}

/// Creates many activities in one transaction: all or none, with every record's errors by index.
pub async fn create_batch(db: &Db, actor: &Actor, drafts: &[ActivityDraft]) -> Result<Vec<Activity>, BatchError> {
    let mut tx = db.begin().await.map_err(BatchError::Store)?;
    let now = guanxi_core::ids::now();
    let mut out = Vec::with_capacity(drafts.len());
    let mut errors = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match insert_in(&mut tx, actor, d, guanxi_core::ids::new_id(), now).await {
            Ok(a) => out.push(a),
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

pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Activity> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM activities c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    push_visible_via_parent(&mut sql, "c", actor, true);
    let row: Option<ActivityRow> = db.fetch_optional(sql).await?;
    row.map(ActivityRow::into_activity).ok_or(StoreError::NotFound)
}

/// Replaces the writable fields when the stored version is `expected_version`; the author stays who it was.
pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &ActivityDraft) -> Result<Activity> {
    let mut tx = db.begin().await?;
    if let Err(e) = check_parents(&mut tx, actor, d.contact_id, d.company_id, false).await {
        drop(tx);
        return Err(reference_error(db, actor, id, e).await);
    }
    match update_in_tx(&mut tx, actor, id, expected_version, d).await? {
        Some(a) => {
            tx.commit().await?;
            Ok(a)
        }
        None => {
            drop(tx);
            Err(why_not_changed(db, actor, id).await)
        }
    }
}

/// [`update`] inside the caller's transaction, after the caller checked the draft's contact and company;
/// `None` when the activity is invisible, read-only for the caller or at another version.
pub(crate) async fn update_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    expected_version: i64,
    d: &ActivityDraft,
) -> Result<Option<Activity>> {
    let mut sql = tx.sql("UPDATE activities SET ");
    for (col, v, is_json) in column_values(d) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    // UPDATE has no alias on SQLite, so the scope names the table.
    push_activity_changeable(&mut sql, "activities", actor);
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<ActivityRow> = tx.fetch_optional(sql).await?;
    Ok(row.map(ActivityRow::into_activity))
}

/// The writable fields of a stored activity, as the draft that would write them again.
pub(crate) fn draft_of(a: &Activity) -> ActivityDraft {
    ActivityDraft {
        kind: a.kind,
        contact_id: a.contact_id,
        company_id: a.company_id,
        occurred_at: a.occurred_at,
        subject: a.subject.clone(),
        body: a.body.clone(),
        metadata: a.metadata.clone(),
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
    let mut sql = db.sql("SELECT c.version FROM activities c WHERE c.id = ");
    sql.bind(Arg::Uuid(id));
    push_activity_changeable(&mut sql, "c", actor);
    match db.fetch_optional::<(i64,)>(sql).await {
        Ok(Some((v,))) => StoreError::VersionMismatch { current: v },
        Ok(None) => StoreError::Forbidden,
        Err(e) => e,
    }
}

pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    let mut sql = db.sql("DELETE FROM activities WHERE id = ");
    sql.bind(Arg::Uuid(id));
    if let Some(v) = expected_version {
        sql.push(" AND version = ").bind(Arg::I64(v));
    }
    push_activity_changeable(&mut sql, "activities", actor);
    if db.execute(sql).await? == 0 {
        return Err(why_not_changed(db, actor, id).await);
    }
    Ok(())
}

/// A filtered, sorted page of the activities the caller can see.
pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Activity>> {
    let mut filter = db.sql("");
    push_visible_via_parent(&mut filter, "c", actor, true);
    push_conditions(&mut filter, "c", "activity", &q.conditions);
    let sort = sort_spec(db.dialect(), "c", q);
    crate::page::fetch_page(db, "activities", COLUMNS, filter, sort.as_ref(), q, ActivityRow::into_activity, |x| {
        (sort_value(x, q), x.id)
    })
    .await
}

fn sort_value(a: &Activity, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    match s.field.name {
        "subject" => Value::String(a.subject.clone().unwrap_or_default()),
        "occurred_at" => Value::String(a.occurred_at.to_rfc3339()),
        "created_at" => Value::String(a.created_at.to_rfc3339()),
        _ => Value::Null,
    }
}

/// Appends the keyset condition of a newest-first timeline: rows strictly before `(at, id)`. The redundant
/// `col <= at` gives both planners a range on the (parent, time) index.
pub(crate) fn push_before(sql: &mut Sql, alias: &str, time_col: &str, before: Option<TimelineCursor>) {
    if let Some((at, id)) = before {
        let _ = write!(sql.text, " AND {alias}.{time_col} <= ");
        sql.bind(Arg::Ts(at));
        let _ = write!(sql.text, " AND ({alias}.{time_col} < ");
        sql.bind(Arg::Ts(at));
        let _ = write!(sql.text, " OR {alias}.id < ");
        sql.bind(Arg::Uuid(id)).push(")");
    }
}

/// One page of the timeline of a contact or company: its activities (of `kinds`, all when `None`) and, with
/// `include_orders`, its orders, newest first (time desc, then id desc). Pass the returned cursor as `before` for
/// the next page; it is `None` on the last page.
///
/// Each side is one index-backed query limited to `limit + 1` rows; the two are merged here, so a page costs the
/// same however long the history is.
pub async fn timeline(
    db: &Db,
    actor: &Actor,
    parent: TimelineParent,
    kinds: Option<&[ActivityKind]>,
    include_orders: bool,
    before: Option<TimelineCursor>,
    limit: u32,
) -> Result<(Vec<TimelineEntry>, Option<TimelineCursor>)> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let visible: Option<(i32,)> = db.fetch_optional(parent_query(db.dialect(), actor, parent, false)).await?;
    if visible.is_none() {
        return Err(StoreError::NotFound);
    }
    let (_, parent_id, parent_col) = parent.table_and_field();
    let mut entries: Vec<TimelineEntry> = Vec::new();
    if kinds.is_none_or(|k| !k.is_empty()) {
        let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM activities c WHERE c.{parent_col} = "));
        sql.bind(Arg::Uuid(parent_id));
        if let Some(kinds) = kinds {
            sql.push(" AND c.kind IN (");
            push_list(&mut sql, kinds.iter().map(|k| Arg::Text(k.as_str().to_string())));
            sql.push(")");
        }
        push_before(&mut sql, "c", "occurred_at", before);
        push_visible_via_parent(&mut sql, "c", actor, true);
        sql.push(&format!(" ORDER BY c.occurred_at DESC, c.id DESC LIMIT {}", limit + 1));
        let rows: Vec<ActivityRow> = db.fetch_all(sql).await?;
        entries.extend(rows.into_iter().map(|r| TimelineEntry::Activity(r.into_activity())));
    }
    if include_orders {
        let orders = orders::for_timeline(db, actor, parent, before, limit + 1).await?;
        entries.extend(orders.into_iter().map(TimelineEntry::Order));
    }
    entries.sort_by_key(|e| std::cmp::Reverse((e.occurred_at(), e.id())));
    // Each side brought up to limit + 1 rows, so the first `limit` merged entries are the true first `limit`, and
    // more than `limit` entries means there is a next page.
    let next = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|e| (e.occurred_at(), e.id()))
    } else {
        None
    };
    Ok((entries, next))
}
