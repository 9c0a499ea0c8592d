//! Merging two records of one customer into one, and undoing a merge exactly.
//!
//! A merge keeps the survivor (its id, history and links) and deletes the merged-away record after moving every
//! link to the survivor: orders, activities, tasks and the analytics row of a contact; contacts, orders,
//! activities and tasks of a company. Emails, phones and tags are combined; every other field takes the value of
//! the side the caller chose (by default the survivor's, or the merged record's where the survivor has none).
//!
//! The merge log keeps both records as they were and the ids of every link that moved, so an undo puts
//! everything back: the merged record returns with its id, version and timestamps, its own links move back,
//! and the survivor gets its old field values (under a new version, so no client can overwrite them with a
//! stale copy). Moving a link changes only which record it belongs to, not the link itself, so links keep their
//! versions and timelines read exactly as before. **Undo rule:** an undo is refused (409) when the survivor was
//! changed after the merge (its version moved on: restoring the old values would silently discard that edit) or
//! when a moved link was deleted or moved elsewhere since (it could not be put back). Links added to the
//! survivor after the merge stay with it.
//!
//! Both operations run in one transaction and require the caller to be allowed to change both records.

use crate::contacts::{ContactRow, draft_of, json_cast, push_value};
use crate::db::{SearchTable, Tx};
use crate::dedup::{DedupObject, ordered};
use crate::scope::push_visible;
use crate::sql::{Arg, Page, Sql};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::{Actor, Ownership};
use guanxi_core::company::{Company, CompanyDraft};
use guanxi_core::contact::{Contact, ContactDraft, EmailEntry, PhoneEntry, PostalAddress};
use guanxi_core::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Which record a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Survivor,
    Merged,
}

/// Fields of a contact whose winning value can be chosen; `custom.KEY` chooses one custom field. Emails and
/// phones are always combined (the choice says whose primary stays primary); tags are always combined.
pub const CONTACT_FIELDS: &[&str] = &[
    "family_name",
    "given_name",
    "display_name",
    "emails",
    "phones",
    "address",
    "company_id",
    "job_title",
    "gender",
    "birthday",
    "preferred_language",
    "source",
    "source_detail",
    "owner",
    "visibility",
    "custom",
];

/// Fields of a company whose winning value can be chosen; tags are always combined.
pub const COMPANY_FIELDS: &[&str] =
    &["name", "domain", "industry", "size_band", "address", "owner", "visibility", "custom"];

/// Most emails or phones a contact may have (as in contact validation).
const MAX_POINTS: usize = 20;
/// Ids per `IN (...)` list when links move.
const ID_CHUNK: usize = 500;

/// What to merge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeRequest {
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    /// Field name → the side whose value wins. Fields not named take the survivor's value, or the merged
    /// record's when the survivor's is empty.
    pub fields: BTreeMap<String, Side>,
    /// The candidate pair this merge resolves; found by the two ids when not given.
    pub candidate_id: Option<Uuid>,
    /// When given, the merge is refused with a version mismatch if a record changed since it was read.
    pub survivor_version: Option<i64>,
    pub merged_version: Option<i64>,
}

/// Links that moved, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MovedCounts {
    pub orders: usize,
    pub activities: usize,
    pub tasks: usize,
    /// Contacts of a merged company.
    pub contacts: usize,
    /// Whether the merged contact's analytics row moved to the survivor (it had none of its own).
    pub metrics: bool,
}

/// An entry of the merge log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merge {
    pub id: Uuid,
    pub object: DedupObject,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    pub candidate_id: Option<Uuid>,
    pub merged_by: Option<Uuid>,
    pub merged_at: DateTime<Utc>,
    pub fields: BTreeMap<String, Side>,
    /// The survivor's version right after the merge; undo needs it unchanged.
    pub survivor_version: i64,
    pub moved: MovedCounts,
    /// The merged-away record as it was.
    pub merged_record: Value,
    pub undone_at: Option<DateTime<Utc>>,
    pub undone_by: Option<Uuid>,
}

/// The ids of every moved link, kept in the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Moved {
    #[serde(default)]
    orders: Vec<Uuid>,
    #[serde(default)]
    activities: Vec<Uuid>,
    #[serde(default)]
    tasks: Vec<Uuid>,
    #[serde(default)]
    contacts: Vec<Uuid>,
    /// `moved`: the merged contact's analytics row now belongs to the survivor. `kept`: the survivor kept its
    /// own and the merged one (deleted with its contact) is in `metrics_row`.
    #[serde(default)]
    metrics: Option<String>,
    #[serde(default)]
    metrics_row: Option<crate::analytics::CustomerMetrics>,
}

impl Moved {
    fn counts(&self) -> MovedCounts {
        MovedCounts {
            orders: self.orders.len(),
            activities: self.activities.len(),
            tasks: self.tasks.len(),
            contacts: self.contacts.len(),
            metrics: self.metrics.as_deref() == Some("moved"),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MergeRow {
    id: Uuid,
    object: String,
    survivor_id: Uuid,
    merged_id: Uuid,
    candidate_id: Option<Uuid>,
    merged_by: Option<Uuid>,
    merged_at: DateTime<Utc>,
    fields: Json<BTreeMap<String, Side>>,
    survivor_before: Json<Value>,
    survivor_version: i64,
    merged_record: Json<Value>,
    moved: Json<Moved>,
    undone_at: Option<DateTime<Utc>>,
    undone_by: Option<Uuid>,
}

const MERGE_COLUMNS: &str = "g.id, g.object, g.survivor_id, g.merged_id, g.candidate_id, g.merged_by, g.merged_at, \
    g.fields, g.survivor_before, g.survivor_version, g.merged_record, g.moved, g.undone_at, g.undone_by";

impl MergeRow {
    fn into_merge(self) -> Merge {
        Merge {
            id: self.id,
            object: DedupObject::parse(&self.object).unwrap_or(DedupObject::Contact),
            survivor_id: self.survivor_id,
            merged_id: self.merged_id,
            candidate_id: self.candidate_id,
            merged_by: self.merged_by,
            merged_at: self.merged_at,
            fields: self.fields.0,
            survivor_version: self.survivor_version,
            moved: self.moved.0.counts(),
            merged_record: self.merged_record.0,
            undone_at: self.undone_at,
            undone_by: self.undone_by,
        }
    }
}

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(ValidationErrors::from(FieldError::new(field, code, message)))
}

/// Checks the request's shape: two different records and only known field names.
fn check_request(req: &MergeRequest, allowed: &[&str]) -> Result<()> {
    if req.survivor_id == req.merged_id {
        return Err(invalid("merged_id", "same_record", "a record cannot be merged into itself"));
    }
    let mut errs = ValidationErrors::new();
    for name in req.fields.keys() {
        let custom_key = name.strip_prefix("custom.").is_some_and(|k| !k.is_empty());
        if !allowed.contains(&name.as_str()) && !custom_key {
            let why = if name == "tags" {
                "tags are always combined".to_string()
            } else {
                format!("unknown field; choose among {}, custom.KEY", allowed.join(", "))
            };
            errs.push(FieldError::new(format!("fields/{name}"), "unknown_field", why));
        }
    }
    Ok(errs.into_result()?)
}

/// Loads a contact inside the transaction for a change: `NotFound` when the caller cannot see it, `Forbidden`
/// when it may not change it, `VersionMismatch` when `version` is given and stale.
async fn lock_contact(tx: &mut Tx, actor: &Actor, id: Uuid, version: Option<i64>) -> Result<(i64, Contact)> {
    let mut sql = tx.sql(&format!("SELECT {} FROM contacts c WHERE c.id = ", crate::contacts::COLUMNS));
    sql.bind(Arg::Uuid(id));
    push_visible(&mut sql, "c", actor);
    sql.for_update();
    let row: ContactRow = tx.fetch_optional(sql).await?.ok_or(StoreError::NotFound)?;
    let seq = row.seq();
    let c = row.into_contact();
    check_change(actor, c.ownership(), c.version, version)?;
    Ok((seq, c))
}

async fn lock_company(tx: &mut Tx, actor: &Actor, id: Uuid, version: Option<i64>) -> Result<(i64, Company)> {
    let mut sql = tx.sql(&format!("SELECT {} FROM companies c WHERE c.id = ", crate::companies::COLUMNS));
    sql.bind(Arg::Uuid(id));
    push_visible(&mut sql, "c", actor);
    sql.for_update();
    let row: crate::companies::CompanyRow = tx.fetch_optional(sql).await?.ok_or(StoreError::NotFound)?;
    let seq = row.seq();
    let c = row.into_company();
    check_change(actor, c.ownership(), c.version, version)?;
    Ok((seq, c))
}

fn check_change(actor: &Actor, ownership: Ownership, current: i64, expected: Option<i64>) -> Result<()> {
    if !actor.can_change(ownership) {
        return Err(StoreError::Forbidden);
    }
    match expected {
        Some(v) if v != current => Err(StoreError::VersionMismatch { current }),
        _ => Ok(()),
    }
}

/// The value of one field: the chosen side's, else the survivor's unless it is empty.
fn pick<T: Clone>(choice: Option<Side>, survivor: &T, merged: &T, is_empty: impl Fn(&T) -> bool) -> T {
    match choice {
        Some(Side::Survivor) => survivor.clone(),
        Some(Side::Merged) => merged.clone(),
        None if is_empty(survivor) && !is_empty(merged) => merged.clone(),
        None => survivor.clone(),
    }
}

fn none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// Both sides' entries, the winner's first; only the winner's primary stays primary (the loser's when the
/// winner has none).
fn combine_points<T: Clone>(
    winner: &[T],
    loser: &[T],
    key: impl Fn(&T) -> &str,
    primary: impl Fn(&T) -> bool,
    set_primary: impl Fn(&mut T, bool),
) -> Vec<T> {
    let mut out: Vec<T> = winner.to_vec();
    let winner_has_primary = winner.iter().any(&primary);
    for e in loser {
        if !out.iter().any(|x| key(x) == key(e)) {
            let mut e = e.clone();
            if winner_has_primary {
                set_primary(&mut e, false);
            }
            out.push(e);
        }
    }
    out
}

fn combine_tags(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|t| !a.contains(t)).cloned());
    out
}

/// Custom fields: the chosen side's map (default survivor), keys only the other side has added, then
/// per-key choices (`custom.KEY`).
fn combine_custom(
    fields: &BTreeMap<String, Side>,
    survivor: &Map<String, Value>,
    merged: &Map<String, Value>,
) -> Map<String, Value> {
    let (base, other) = match fields.get("custom") {
        Some(Side::Merged) => (merged, survivor),
        _ => (survivor, merged),
    };
    let mut out = base.clone();
    for (k, v) in other {
        if !out.contains_key(k) || out.get(k).is_some_and(Value::is_null) {
            out.insert(k.clone(), v.clone());
        }
    }
    for (name, side) in fields {
        if let Some(key) = name.strip_prefix("custom.") {
            let from = if *side == Side::Merged { merged } else { survivor };
            match from.get(key) {
                Some(v) => {
                    out.insert(key.to_string(), v.clone());
                }
                None => {
                    out.remove(key);
                }
            }
        }
    }
    out
}

/// The survivor's fields after the merge, and its owner and team.
fn combine_contacts(
    fields: &BTreeMap<String, Side>,
    s: &Contact,
    m: &Contact,
) -> Result<(ContactDraft, Option<Uuid>, Option<Uuid>)> {
    let f = |name: &str| fields.get(name).copied();
    let opt_text = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    let email_winner = pick(f("emails"), &s.emails, &m.emails, Vec::is_empty);
    let email_loser = if email_winner == s.emails { &m.emails } else { &s.emails };
    let emails = combine_points(
        &email_winner,
        email_loser,
        |e: &EmailEntry| e.address.as_str(),
        |e| e.primary,
        |e, p| e.primary = p,
    );
    let phone_winner = pick(f("phones"), &s.phones, &m.phones, Vec::is_empty);
    let phone_loser = if phone_winner == s.phones { &m.phones } else { &s.phones };
    let phones = combine_points(
        &phone_winner,
        phone_loser,
        |p: &PhoneEntry| p.number.as_str(),
        |p| p.primary,
        |p, v| p.primary = v,
    );
    let mut errs = ValidationErrors::new();
    for (name, n) in [("emails", emails.len()), ("phones", phones.len())] {
        if n > MAX_POINTS {
            errs.push(FieldError::new(
                name,
                "too_many",
                format!("the merged contact would have {n} {name}; at most {MAX_POINTS} are allowed"),
            ));
        }
    }
    errs.into_result()?;
    let owner_side = pick(f("owner"), &Side::Survivor, &Side::Merged, |_| false);
    let (owner, team) = match owner_side {
        Side::Survivor => (s.owner_id, s.team_id),
        Side::Merged => (m.owner_id, m.team_id),
    };
    let draft = ContactDraft {
        family_name: pick(f("family_name"), &s.family_name, &m.family_name, opt_text),
        given_name: pick(f("given_name"), &s.given_name, &m.given_name, opt_text),
        display_name: pick(f("display_name"), &s.display_name, &m.display_name, String::is_empty),
        emails,
        phones,
        address: pick(f("address"), &s.address, &m.address, PostalAddress::is_empty),
        company_id: pick(f("company_id"), &s.company_id, &m.company_id, none),
        job_title: pick(f("job_title"), &s.job_title, &m.job_title, opt_text),
        gender: pick(f("gender"), &s.gender, &m.gender, none),
        birthday: pick(f("birthday"), &s.birthday, &m.birthday, none),
        preferred_language: pick(f("preferred_language"), &s.preferred_language, &m.preferred_language, opt_text),
        source: pick(f("source"), &s.source, &m.source, |_| false),
        source_detail: pick(f("source_detail"), &s.source_detail, &m.source_detail, opt_text),
        tags: combine_tags(&s.tags, &m.tags),
        owner_id: owner,
        visibility: pick(f("visibility"), &s.visibility, &m.visibility, |_| false),
        custom: combine_custom(fields, &s.custom, &m.custom),
    };
    Ok((draft, owner, team))
}

fn combine_companies(
    fields: &BTreeMap<String, Side>,
    s: &Company,
    m: &Company,
) -> (CompanyDraft, Option<Uuid>, Option<Uuid>) {
    let f = |name: &str| fields.get(name).copied();
    let opt_text = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    let (owner, team) = match pick(f("owner"), &Side::Survivor, &Side::Merged, |_| false) {
        Side::Survivor => (s.owner_id, s.team_id),
        Side::Merged => (m.owner_id, m.team_id),
    };
    let draft = CompanyDraft {
        name: pick(f("name"), &s.name, &m.name, String::is_empty),
        domain: pick(f("domain"), &s.domain, &m.domain, opt_text),
        industry: pick(f("industry"), &s.industry, &m.industry, opt_text),
        size_band: pick(f("size_band"), &s.size_band, &m.size_band, none),
        address: pick(f("address"), &s.address, &m.address, PostalAddress::is_empty),
        tags: combine_tags(&s.tags, &m.tags),
        owner_id: owner,
        visibility: pick(f("visibility"), &s.visibility, &m.visibility, |_| false),
        custom: combine_custom(fields, &s.custom, &m.custom),
    };
    (draft, owner, team)
}

/// Column values of a contact with the owner and team written exactly as given (also when absent).
fn contact_columns(
    d: &ContactDraft,
    owner: Option<Uuid>,
    team: Option<Uuid>,
) -> Vec<(&'static str, Option<Arg>, bool)> {
    let mut cols = crate::contacts::column_values(d, owner.unwrap_or_default(), team).to_vec();
    for c in &mut cols {
        if c.0 == "owner_id" {
            c.1 = owner.map(Arg::Uuid);
        }
    }
    cols
}

fn company_columns(
    d: &CompanyDraft,
    owner: Option<Uuid>,
    team: Option<Uuid>,
) -> Vec<(&'static str, Option<Arg>, bool)> {
    let mut cols = crate::companies::column_values(d, owner.unwrap_or_default(), team).to_vec();
    for c in &mut cols {
        if c.0 == "owner_id" {
            c.1 = owner.map(Arg::Uuid);
        }
    }
    cols
}

/// `UPDATE table SET <cols>, version = version + 1, updated_at = now WHERE id = id AND version = version`;
/// returns whether a row changed.
async fn rewrite(
    tx: &mut Tx,
    table: &str,
    cols: Vec<(&'static str, Option<Arg>, bool)>,
    id: Uuid,
    version: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut sql = tx.sql(&format!("UPDATE {table} SET "));
    for (col, v, is_json) in cols {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(version));
    Ok(tx.execute(sql).await? == 1)
}

/// Inserts a record again exactly as it was (id, version, timestamps); returns its new `seq`.
async fn reinsert(
    tx: &mut Tx,
    table: &str,
    cols: Vec<(&'static str, Option<Arg>, bool)>,
    id: Uuid,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) -> Result<i64> {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql =
        tx.sql(&format!("INSERT INTO {table} (id, {}, version, created_at, updated_at) VALUES (", names.join(", ")));
    sql.bind(Arg::Uuid(id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", ").bind(Arg::I64(version));
    sql.push(", ").bind(Arg::Ts(created_at)).push(", ").bind(Arg::Ts(updated_at)).push(") RETURNING seq");
    tx.fetch_scalar::<i64>(sql).await?.ok_or(StoreError::NotFound)
}

/// Moves every row of `table` whose `column` is `from` to `to`; returns the ids moved.
async fn move_links(tx: &mut Tx, table: &str, column: &str, from: Uuid, to: Uuid) -> Result<Vec<Uuid>> {
    let mut sel = tx.sql(&format!("SELECT id FROM {table} WHERE {column} = "));
    sel.bind(Arg::Uuid(from)).push(" ORDER BY id");
    let ids: Vec<(Uuid,)> = tx.fetch_all(sel).await?;
    if !ids.is_empty() {
        let mut upd = tx.sql(&format!("UPDATE {table} SET {column} = "));
        upd.bind(Arg::Uuid(to)).push(&format!(" WHERE {column} = ")).bind(Arg::Uuid(from));
        tx.execute(upd).await?;
    }
    Ok(ids.into_iter().map(|r| r.0).collect())
}

/// Checks that the rows `ids` of `table` still belong to `owner` (nothing deleted or moved since the merge).
async fn still_linked(tx: &mut Tx, table: &str, column: &str, ids: &[Uuid], owner: Uuid, what: &str) -> Result<()> {
    let mut found = 0i64;
    for chunk in ids.chunks(ID_CHUNK) {
        let mut sql = tx.sql(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = "));
        sql.bind(Arg::Uuid(owner)).push(" AND id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Uuid(*id));
        }
        sql.push(")");
        found += tx.fetch_scalar::<i64>(sql).await?.unwrap_or(0);
    }
    let missing = ids.len() as i64 - found;
    if missing > 0 {
        return Err(StoreError::Conflict(format!(
            "{missing} of the {} {what} moved by this merge were deleted or moved elsewhere since, so the merge \
             cannot be undone exactly",
            ids.len()
        )));
    }
    Ok(())
}

/// Sets `column` back to `to` for the rows `ids`.
async fn move_back(tx: &mut Tx, table: &str, column: &str, ids: &[Uuid], to: Uuid) -> Result<()> {
    for chunk in ids.chunks(ID_CHUNK) {
        let mut sql = tx.sql(&format!("UPDATE {table} SET {column} = "));
        sql.bind(Arg::Uuid(to)).push(" WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Uuid(*id));
        }
        sql.push(")");
        tx.execute(sql).await?;
    }
    Ok(())
}

async fn company_name(tx: &mut Tx, id: Option<Uuid>) -> Result<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    let mut sql = tx.sql("SELECT name FROM companies WHERE id = ");
    sql.bind(Arg::Uuid(id));
    tx.fetch_scalar::<String>(sql).await
}

/// Sets the candidate pair of these two records (or `candidate_id`) to `status`. A given candidate id must be
/// this pair's.
async fn decide_candidate(
    tx: &mut Tx,
    actor: &Actor,
    object: DedupObject,
    pair: (Uuid, Uuid),
    candidate_id: Option<Uuid>,
    status: &str,
) -> Result<Option<Uuid>> {
    let (a, b) = ordered(pair.0, pair.1);
    let mut find = tx.sql("SELECT id FROM dedup_candidates WHERE object = ");
    find.bind(Arg::Text(object.as_str().into()));
    find.push(" AND record_a = ").bind(Arg::Uuid(a)).push(" AND record_b = ").bind(Arg::Uuid(b));
    let found: Option<Uuid> = tx.fetch_scalar(find).await?;
    if let Some(given) = candidate_id
        && found != Some(given)
    {
        return Err(invalid("candidate_id", "not_this_pair", "this candidate is not the pair being merged"));
    }
    if let Some(id) = found {
        let now = guanxi_core::ids::now();
        let mut upd = tx.sql("UPDATE dedup_candidates SET status = ");
        upd.bind(Arg::Text(status.into())).push(", decided_by = ").bind(Arg::Uuid(actor.user_id));
        upd.push(", decided_at = ").bind(Arg::Ts(now)).push(", updated_at = ").bind(Arg::Ts(now));
        upd.push(" WHERE id = ").bind(Arg::Uuid(id));
        tx.execute(upd).await?;
    }
    Ok(found)
}

#[allow(clippy::too_many_arguments)]
async fn log_merge(
    tx: &mut Tx,
    actor: &Actor,
    object: DedupObject,
    req: &MergeRequest,
    candidate_id: Option<Uuid>,
    survivor_before: &impl Serialize,
    survivor_version: i64,
    merged_record: &impl Serialize,
    moved: &Moved,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = guanxi_core::ids::new_id();
    let json = json_cast(tx.dialect());
    let mut sql = tx.sql(
        "INSERT INTO merges (id, object, survivor_id, merged_id, candidate_id, merged_by, merged_at, fields, \
         survivor_before, survivor_version, merged_record, moved) VALUES (",
    );
    sql.bind(Arg::Uuid(id)).push(", ").bind(Arg::Text(object.as_str().into()));
    sql.push(", ").bind(Arg::Uuid(req.survivor_id)).push(", ").bind(Arg::Uuid(req.merged_id)).push(", ");
    push_value(&mut sql, candidate_id.map(Arg::Uuid), false);
    sql.push(", ").bind(Arg::Uuid(actor.user_id)).push(", ").bind(Arg::Ts(now));
    sql.push(", ").bind(Arg::Text(to_json(&req.fields))).push(json);
    sql.push(", ").bind(Arg::Text(to_json(survivor_before))).push(json);
    sql.push(", ").bind(Arg::I64(survivor_version));
    sql.push(", ").bind(Arg::Text(to_json(merged_record))).push(json);
    sql.push(", ").bind(Arg::Text(to_json(moved))).push(json).push(")");
    tx.execute(sql).await?;
    Ok(id)
}

/// JSON text of a log value (serialising these plain data types cannot fail; `{}` is written if it did).
fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// Merges `req.merged_id` into `req.survivor_id` (contacts). Returns the log entry and the survivor as it is now.
pub async fn merge_contacts(db: &Db, actor: &Actor, req: &MergeRequest) -> Result<(Merge, Contact)> {
    check_request(req, CONTACT_FIELDS)?;
    let mut tx = db.begin().await?;
    // Lock in id order so that two merges of overlapping pairs cannot deadlock on PostgreSQL.
    let (s_seq, s, m_seq, m) = if req.survivor_id < req.merged_id {
        let (a, s) = lock_contact(&mut tx, actor, req.survivor_id, req.survivor_version).await?;
        let (b, m) = lock_contact(&mut tx, actor, req.merged_id, req.merged_version).await?;
        (a, s, b, m)
    } else {
        let (b, m) = lock_contact(&mut tx, actor, req.merged_id, req.merged_version).await?;
        let (a, s) = lock_contact(&mut tx, actor, req.survivor_id, req.survivor_version).await?;
        (a, s, b, m)
    };
    let (draft, owner, team) = combine_contacts(&req.fields, &s, &m)?;
    let now = guanxi_core::ids::now();
    if !rewrite(&mut tx, "contacts", contact_columns(&draft, owner, team), s.id, s.version, now).await? {
        return Err(StoreError::VersionMismatch { current: s.version });
    }
    let mut moved = Moved {
        orders: move_links(&mut tx, "orders", "contact_id", m.id, s.id).await?,
        activities: move_links(&mut tx, "activities", "contact_id", m.id, s.id).await?,
        tasks: move_links(&mut tx, "tasks", "contact_id", m.id, s.id).await?,
        ..Moved::default()
    };
    // The analytics row: the survivor's own stays; otherwise the merged one moves over. Either way the next
    // analysis run recomputes it from the combined orders.
    let mut sql = tx.sql(&format!(
        "SELECT {} FROM customer_metrics m WHERE m.contact_id = ",
        crate::analytics::select_metrics("m")
    ));
    sql.bind(Arg::Uuid(m.id));
    let merged_metrics: Option<crate::analytics::CustomerMetrics> = tx.fetch_optional(sql).await?;
    if let Some(row) = merged_metrics {
        let mut has = tx.sql("SELECT COUNT(*) FROM customer_metrics WHERE contact_id = ");
        has.bind(Arg::Uuid(s.id));
        if tx.fetch_scalar::<i64>(has).await?.unwrap_or(0) == 0 {
            let mut mv = tx.sql("UPDATE customer_metrics SET contact_id = ");
            mv.bind(Arg::Uuid(s.id)).push(" WHERE contact_id = ").bind(Arg::Uuid(m.id));
            tx.execute(mv).await?;
            moved.metrics = Some("moved".into());
        } else {
            moved.metrics = Some("kept".into());
            moved.metrics_row = Some(row);
        }
    }
    let mut del = tx.sql("DELETE FROM record_tags WHERE object = 'contact' AND record_id = ");
    del.bind(Arg::Uuid(m.id));
    tx.execute(del).await?;
    tx.delete_search_tokens(SearchTable::Contacts, m_seq).await?;
    let mut del = tx.sql("DELETE FROM contacts WHERE id = ");
    del.bind(Arg::Uuid(m.id));
    tx.execute(del).await?;
    let name = company_name(&mut tx, draft.company_id).await?;
    crate::contacts::write_side_tables(&mut tx, s.id, s_seq, &draft, name.as_deref(), true).await?;
    let candidate =
        decide_candidate(&mut tx, actor, DedupObject::Contact, (s.id, m.id), req.candidate_id, "merged").await?;
    let id =
        log_merge(&mut tx, actor, DedupObject::Contact, req, candidate, &s, s.version + 1, &m, &moved, now).await?;
    tx.commit().await?;
    db.write_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let merge = get_merge(db, actor, id).await?;
    let survivor = crate::contacts::get(db, actor, s.id).await?;
    Ok((merge, survivor))
}

/// Merges `req.merged_id` into `req.survivor_id` (companies): the merged company's contacts, orders,
/// activities and tasks move to the survivor.
pub async fn merge_companies(db: &Db, actor: &Actor, req: &MergeRequest) -> Result<(Merge, Company)> {
    check_request(req, COMPANY_FIELDS)?;
    let mut tx = db.begin().await?;
    let (s_seq, s, m_seq, m) = if req.survivor_id < req.merged_id {
        let (a, s) = lock_company(&mut tx, actor, req.survivor_id, req.survivor_version).await?;
        let (b, m) = lock_company(&mut tx, actor, req.merged_id, req.merged_version).await?;
        (a, s, b, m)
    } else {
        let (b, m) = lock_company(&mut tx, actor, req.merged_id, req.merged_version).await?;
        let (a, s) = lock_company(&mut tx, actor, req.survivor_id, req.survivor_version).await?;
        (a, s, b, m)
    };
    let (draft, owner, team) = combine_companies(&req.fields, &s, &m);
    let now = guanxi_core::ids::now();
    if !rewrite(&mut tx, "companies", company_columns(&draft, owner, team), s.id, s.version, now).await? {
        return Err(StoreError::VersionMismatch { current: s.version });
    }
    let moved = Moved {
        contacts: move_links(&mut tx, "contacts", "company_id", m.id, s.id).await?,
        orders: move_links(&mut tx, "orders", "company_id", m.id, s.id).await?,
        activities: move_links(&mut tx, "activities", "company_id", m.id, s.id).await?,
        tasks: move_links(&mut tx, "tasks", "company_id", m.id, s.id).await?,
        ..Moved::default()
    };
    let mut del = tx.sql("DELETE FROM record_tags WHERE object = 'company' AND record_id = ");
    del.bind(Arg::Uuid(m.id));
    tx.execute(del).await?;
    tx.delete_search_tokens(SearchTable::Companies, m_seq).await?;
    let mut del = tx.sql("DELETE FROM companies WHERE id = ");
    del.bind(Arg::Uuid(m.id));
    tx.execute(del).await?;
    crate::companies::write_side_tables(&mut tx, s.id, s_seq, &draft, true).await?;
    // Contacts are found by their company's name: the moved ones now carry the survivor's.
    crate::companies::reindex_contacts_of(&mut tx, s.id).await?;
    let candidate =
        decide_candidate(&mut tx, actor, DedupObject::Company, (s.id, m.id), req.candidate_id, "merged").await?;
    let id =
        log_merge(&mut tx, actor, DedupObject::Company, req, candidate, &s, s.version + 1, &m, &moved, now).await?;
    tx.commit().await?;
    db.write_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let merge = get_merge(db, actor, id).await?;
    let survivor = crate::companies::get(db, actor, s.id).await?;
    Ok((merge, survivor))
}

/// Undoes a merge (see the module docs for the rule). Returns the log entry, now marked undone.
pub async fn undo(db: &Db, actor: &Actor, merge_id: Uuid) -> Result<Merge> {
    let mut tx = db.begin().await?;
    let mut sql = tx.sql(&format!("SELECT {MERGE_COLUMNS} FROM merges g WHERE g.id = "));
    sql.bind(Arg::Uuid(merge_id));
    sql.for_update();
    let row: MergeRow = tx.fetch_optional(sql).await?.ok_or(StoreError::NotFound)?;
    if let Some(at) = row.undone_at {
        return Err(StoreError::Conflict(format!("this merge was already undone at {}", at.to_rfc3339())));
    }
    let object = DedupObject::parse(&row.object).ok_or(StoreError::NotFound)?;
    let moved = row.moved.0.clone();
    let now = guanxi_core::ids::now();
    let corrupt = |e: serde_json::Error| StoreError::Conflict(format!("the merge log entry cannot be read: {e}"));
    match object {
        DedupObject::Contact => {
            let before: Contact = serde_json::from_value(row.survivor_before.0.clone()).map_err(corrupt)?;
            let merged: Contact = serde_json::from_value(row.merged_record.0.clone()).map_err(corrupt)?;
            let (s_seq, current) = lock_survivor_contact(&mut tx, actor, row.survivor_id).await?;
            check_undo(actor, merged.ownership(), current.version, row.survivor_version, "contact")?;
            still_linked(&mut tx, "orders", "contact_id", &moved.orders, current.id, "orders").await?;
            still_linked(&mut tx, "activities", "contact_id", &moved.activities, current.id, "activities").await?;
            still_linked(&mut tx, "tasks", "contact_id", &moved.tasks, current.id, "tasks").await?;
            let draft = draft_of(&merged);
            let cols = contact_columns(&draft, merged.owner_id, merged.team_id);
            let seq =
                reinsert(&mut tx, "contacts", cols, merged.id, merged.version, merged.created_at, merged.updated_at)
                    .await
                    .map_err(|e| already_back(e, "contact"))?;
            let name = company_name(&mut tx, merged.company_id).await?;
            crate::contacts::write_side_tables(&mut tx, merged.id, seq, &draft, name.as_deref(), false).await?;
            move_back(&mut tx, "orders", "contact_id", &moved.orders, merged.id).await?;
            move_back(&mut tx, "activities", "contact_id", &moved.activities, merged.id).await?;
            move_back(&mut tx, "tasks", "contact_id", &moved.tasks, merged.id).await?;
            match (moved.metrics.as_deref(), &moved.metrics_row) {
                (Some("moved"), _) => {
                    let mut mv = tx.sql("UPDATE customer_metrics SET contact_id = ");
                    mv.bind(Arg::Uuid(merged.id)).push(" WHERE contact_id = ").bind(Arg::Uuid(current.id));
                    tx.execute(mv).await?;
                }
                (Some("kept"), Some(m)) => {
                    let mut ins = tx.sql(&format!(
                        "INSERT INTO customer_metrics ({}) VALUES ",
                        crate::analytics::METRIC_COLUMNS.join(", ")
                    ));
                    crate::analytics::push_metrics_row(&mut ins, m);
                    tx.execute(ins).await?;
                }
                _ => {}
            }
            let draft = draft_of(&before);
            let cols = contact_columns(&draft, before.owner_id, before.team_id);
            if !rewrite(&mut tx, "contacts", cols, current.id, row.survivor_version, now).await? {
                return Err(changed_since("contact", current.version, row.survivor_version));
            }
            let name = company_name(&mut tx, before.company_id).await?;
            crate::contacts::write_side_tables(&mut tx, current.id, s_seq, &draft, name.as_deref(), true).await?;
        }
        DedupObject::Company => {
            let before: Company = serde_json::from_value(row.survivor_before.0.clone()).map_err(corrupt)?;
            let merged: Company = serde_json::from_value(row.merged_record.0.clone()).map_err(corrupt)?;
            let (s_seq, current) = lock_survivor_company(&mut tx, actor, row.survivor_id).await?;
            check_undo(actor, merged.ownership(), current.version, row.survivor_version, "company")?;
            still_linked(&mut tx, "contacts", "company_id", &moved.contacts, current.id, "contacts").await?;
            still_linked(&mut tx, "orders", "company_id", &moved.orders, current.id, "orders").await?;
            still_linked(&mut tx, "activities", "company_id", &moved.activities, current.id, "activities").await?;
            still_linked(&mut tx, "tasks", "company_id", &moved.tasks, current.id, "tasks").await?;
            let draft = crate::companies::draft_of(&merged);
            let cols = company_columns(&draft, merged.owner_id, merged.team_id);
            let seq =
                reinsert(&mut tx, "companies", cols, merged.id, merged.version, merged.created_at, merged.updated_at)
                    .await
                    .map_err(|e| already_back(e, "company"))?;
            crate::companies::write_side_tables(&mut tx, merged.id, seq, &draft, false).await?;
            move_back(&mut tx, "contacts", "company_id", &moved.contacts, merged.id).await?;
            move_back(&mut tx, "orders", "company_id", &moved.orders, merged.id).await?;
            move_back(&mut tx, "activities", "company_id", &moved.activities, merged.id).await?;
            move_back(&mut tx, "tasks", "company_id", &moved.tasks, merged.id).await?;
            let draft = crate::companies::draft_of(&before);
            let cols = company_columns(&draft, before.owner_id, before.team_id);
            if !rewrite(&mut tx, "companies", cols, current.id, row.survivor_version, now).await? {
                return Err(changed_since("company", current.version, row.survivor_version));
            }
            crate::companies::write_side_tables(&mut tx, current.id, s_seq, &draft, true).await?;
            crate::companies::reindex_contacts_of(&mut tx, current.id).await?;
            crate::companies::reindex_contacts_of(&mut tx, merged.id).await?;
        }
    }
    let mut done = tx.sql("UPDATE merges SET undone_at = ");
    done.bind(Arg::Ts(now)).push(", undone_by = ").bind(Arg::Uuid(actor.user_id));
    done.push(" WHERE id = ").bind(Arg::Uuid(merge_id));
    tx.execute(done).await?;
    if let Some(c) = row.candidate_id {
        let mut reopen =
            tx.sql("UPDATE dedup_candidates SET status = 'open', decided_by = NULL, decided_at = NULL, updated_at = ");
        reopen.bind(Arg::Ts(now)).push(" WHERE id = ").bind(Arg::Uuid(c));
        tx.execute(reopen).await?;
    }
    tx.commit().await?;
    db.write_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    get_merge(db, actor, merge_id).await
}

fn changed_since(what: &str, current: i64, at_merge: i64) -> StoreError {
    StoreError::Conflict(format!(
        "the surviving {what} was changed after the merge (it is at version {current}, the merge left it at \
         {at_merge}); undoing would discard that change, so the merge can no longer be undone"
    ))
}

fn already_back(e: StoreError, what: &str) -> StoreError {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            StoreError::Conflict(format!("the merged {what} exists again, so the merge cannot be undone"))
        }
        other => other,
    }
}

/// The caller must be able to change the survivor (checked by the lock) and the record that comes back; the
/// survivor must be exactly as the merge left it.
fn check_undo(actor: &Actor, merged: Ownership, current: i64, at_merge: i64, what: &str) -> Result<()> {
    if !actor.can_change(merged) {
        return Err(StoreError::Forbidden);
    }
    if current != at_merge {
        return Err(changed_since(what, current, at_merge));
    }
    Ok(())
}

/// The survivor for an undo: `NotFound` when invisible, `Conflict` when it was deleted after the merge.
async fn lock_survivor_contact(tx: &mut Tx, actor: &Actor, id: Uuid) -> Result<(i64, Contact)> {
    match lock_contact(tx, actor, id, None).await {
        Err(StoreError::NotFound) if !exists(tx, "contacts", id).await? => Err(StoreError::Conflict(
            "the surviving contact was deleted after the merge; there is nothing to undo into".into(),
        )),
        other => other,
    }
}

async fn lock_survivor_company(tx: &mut Tx, actor: &Actor, id: Uuid) -> Result<(i64, Company)> {
    match lock_company(tx, actor, id, None).await {
        Err(StoreError::NotFound) if !exists(tx, "companies", id).await? => Err(StoreError::Conflict(
            "the surviving company was deleted after the merge; there is nothing to undo into".into(),
        )),
        other => other,
    }
}

async fn exists(tx: &mut Tx, table: &str, id: Uuid) -> Result<bool> {
    let mut sql = tx.sql(&format!("SELECT COUNT(*) FROM {table} WHERE id = "));
    sql.bind(Arg::Uuid(id));
    Ok(tx.fetch_scalar::<i64>(sql).await?.unwrap_or(0) > 0)
}

/// Appends the scope of the merge log: admins see every entry; others the merges they did and those whose
/// survivor they can see.
fn push_log_scope(sql: &mut Sql, actor: &Actor) {
    if actor.is_admin() {
        return;
    }
    sql.push(" AND (g.merged_by = ").bind(Arg::Uuid(actor.user_id));
    for (object, table) in [("contact", "contacts"), ("company", "companies")] {
        sql.push(&format!(" OR (g.object = '{object}' AND EXISTS (SELECT 1 FROM {table} v WHERE v.id = g.survivor_id"));
        push_visible(sql, "v", actor);
        sql.push("))");
    }
    sql.push(")");
}

pub async fn get_merge(db: &Db, actor: &Actor, id: Uuid) -> Result<Merge> {
    let mut sql = db.sql(&format!("SELECT {MERGE_COLUMNS} FROM merges g WHERE g.id = "));
    sql.bind(Arg::Uuid(id));
    push_log_scope(&mut sql, actor);
    let row: Option<MergeRow> = db.fetch_optional(sql).await?;
    row.map(MergeRow::into_merge).ok_or(StoreError::NotFound)
}

/// The merge log, newest first; `before` is the id of the last entry of the previous page.
pub async fn list_merges(
    db: &Db,
    actor: &Actor,
    object: Option<DedupObject>,
    before: Option<Uuid>,
    limit: usize,
) -> Result<Page<Merge>> {
    let mut sql = db.sql(&format!("SELECT {MERGE_COLUMNS} FROM merges g WHERE 1 = 1"));
    if let Some(o) = object {
        sql.push(" AND g.object = ").bind(Arg::Text(o.as_str().into()));
    }
    push_log_scope(&mut sql, actor);
    if let Some(b) = before {
        sql.push(" AND g.id < ").bind(Arg::Uuid(b));
    }
    sql.push(&format!(" ORDER BY g.id DESC LIMIT {}", limit + 1));
    let mut rows: Vec<MergeRow> = db.fetch_all(sql).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items: Vec<Merge> = rows.into_iter().map(MergeRow::into_merge).collect();
    let next_cursor = if more { items.last().map(|m| m.id.to_string()) } else { None };
    let total = items.len() as u64;
    Ok(Page { items, next_cursor, total, total_is_estimate: more })
}
