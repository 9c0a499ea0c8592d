//! Contacts: storage, lookup by id, filtered lists, search and batch writes.

use crate::db::{InsertInto, SearchTable, Tx};
use crate::scope::{push_changeable, push_visible};
use crate::search_index::push_match;
use crate::sql::{Arg, COUNT_CAP, Page, Sql, push_conditions, sort_spec};
use crate::sqlite_read::{FromSqliteRow, RowExt};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_core::access::{Actor, Visibility};
use guanxi_core::contact::{Contact, ContactDraft, EmailEntry, Gender, PhoneEntry, PostalAddress, Source};
use guanxi_core::filter::ListQuery;
use guanxi_core::{FieldError, ValidationErrors};
use serde_json::{Map, Value};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "c.seq, c.id, c.family_name, c.given_name, c.display_name, c.emails, c.phones, \
    c.address_country, c.address_province, c.address_city, c.address_district, c.address_street, c.address_postcode, \
    c.company_id, c.job_title, c.gender, c.birthday, c.preferred_language, c.source, c.source_detail, c.tags, \
    c.owner_id, c.team_id, c.visibility, c.custom, c.version, c.created_at, c.updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    seq: i64,
    id: Uuid,
    family_name: Option<String>,
    given_name: Option<String>,
    display_name: String,
    emails: Json<Vec<EmailEntry>>,
    phones: Json<Vec<PhoneEntry>>,
    address_country: Option<String>,
    address_province: Option<String>,
    address_city: Option<String>,
    address_district: Option<String>,
    address_street: Option<String>,
    address_postcode: Option<String>,
    company_id: Option<Uuid>,
    job_title: Option<String>,
    gender: Option<String>,
    birthday: Option<NaiveDate>,
    preferred_language: Option<String>,
    source: String,
    source_detail: Option<String>,
    tags: Json<Vec<String>>,
    owner_id: Option<Uuid>,
    team_id: Option<Uuid>,
    visibility: String,
    custom: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl FromSqliteRow for ContactRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContactRow> {
        Ok(ContactRow {
            seq: r.get("seq")?,
            id: r.uuid("id")?,
            family_name: r.get("family_name")?,
            given_name: r.get("given_name")?,
            display_name: r.get("display_name")?,
            emails: Json(r.json("emails")?),
            phones: Json(r.json("phones")?),
            address_country: r.get("address_country")?,
            address_province: r.get("address_province")?,
            address_city: r.get("address_city")?,
            address_district: r.get("address_district")?,
            address_street: r.get("address_street")?,
            address_postcode: r.get("address_postcode")?,
            company_id: r.opt_uuid("company_id")?,
            job_title: r.get("job_title")?,
            gender: r.get("gender")?,
            birthday: r.opt_date("birthday")?,
            preferred_language: r.get("preferred_language")?,
            source: r.get("source")?,
            source_detail: r.get("source_detail")?,
            tags: Json(r.json("tags")?),
            owner_id: r.opt_uuid("owner_id")?,
            team_id: r.opt_uuid("team_id")?,
            visibility: r.get("visibility")?,
            custom: Json(r.json("custom")?),
            version: r.get("version")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
        })
    }
}

impl ContactRow {
    pub(crate) fn seq(&self) -> i64 {
        self.seq
    }

    pub(crate) fn into_contact(self) -> Contact {
        Contact {
            id: self.id,
            family_name: self.family_name,
            given_name: self.given_name,
            display_name: self.display_name,
            emails: self.emails.0,
            phones: self.phones.0,
            address: PostalAddress {
                country: self.address_country,
                province: self.address_province,
                city: self.address_city,
                district: self.address_district,
                street: self.address_street,
                postcode: self.address_postcode,
            },
            company_id: self.company_id,
            job_title: self.job_title,
            gender: self.gender.as_deref().and_then(Gender::parse),
            birthday: self.birthday,
            preferred_language: self.preferred_language,
            source: Source::parse(&self.source).unwrap_or_default(),
            source_detail: self.source_detail,
            tags: self.tags.0,
            owner_id: self.owner_id,
            team_id: self.team_id,
            visibility: Visibility::parse(&self.visibility).unwrap_or_default(),
            custom: self.custom.0,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The text a contact is found by.
pub(crate) fn search_tokens(d: &ContactDraft, company_name: Option<&str>) -> Vec<String> {
    let emails: Vec<&str> = d.emails.iter().map(|e| e.address.as_str()).collect();
    let phones: Vec<&str> = d.phones.iter().map(|p| p.number.as_str()).collect();
    crate::search_index::ContactText {
        display_name: &d.display_name,
        family_name: d.family_name.as_deref(),
        given_name: d.given_name.as_deref(),
        emails: &emails,
        phones: &phones,
        company_name,
        job_title: d.job_title.as_deref(),
        city: d.address.city.as_deref(),
    }
    .tokens()
}

/// Resolves the owner (the caller when not given) and the owner's team; an unknown owner is a field error.
pub(crate) async fn owner_and_team(tx: &mut Tx, actor: &Actor, owner_id: Option<Uuid>) -> Result<(Uuid, Option<Uuid>)> {
    let owner = owner_id.unwrap_or(actor.user_id);
    if owner == actor.user_id {
        return Ok((owner, actor.team_id));
    }
    let mut sql = tx.sql("SELECT team_id FROM users WHERE id = ");
    sql.bind(Arg::Uuid(owner));
    let row: Option<(Option<Uuid>,)> = tx.fetch_optional(sql).await?;
    match row {
        Some((team,)) => Ok((owner, team)),
        None => Err(ValidationErrors::from(FieldError::new("owner_id", "not_found", "no such user")).into()),
    }
}

/// The name of a company the caller can see, or a field error (a contact cannot point at a company its owner
/// cannot see, nor at one that does not exist).
pub(crate) async fn visible_company_name(
    tx: &mut Tx,
    actor: &Actor,
    company_id: Option<Uuid>,
) -> Result<Option<String>> {
    let Some(cid) = company_id else { return Ok(None) };
    let mut sql = tx.sql("SELECT c.name FROM companies c WHERE c.id = ");
    sql.bind(Arg::Uuid(cid));
    push_visible(&mut sql, "c", actor);
    let row: Option<(String,)> = tx.fetch_optional(sql).await?;
    match row {
        Some((name,)) => Ok(Some(name)),
        None => Err(ValidationErrors::from(FieldError::new("company_id", "not_found", "no such company")).into()),
    }
}

/// A contact about to be created, with the work that needs only its draft already done: the JSON columns and
/// the search tokens. An import makes these on its reader thread, so that the single writer only stores them.
pub struct PreparedContact {
    draft: ContactDraft,
    /// `emails`, `phones`, `tags` and `custom` as stored.
    json: [String; 4],
    /// The search tokens and the company name they were made with; `None` when they are left to the writer.
    tokens: Option<(Vec<String>, Option<String>)>,
}

impl PreparedContact {
    /// Prepares `draft`, with its search tokens made as if its company were named `company_name` (the stored
    /// name is checked when it is written, and the tokens made again if it differs).
    pub fn new(draft: ContactDraft, company_name: Option<&str>) -> PreparedContact {
        let tokens = search_tokens(&draft, company_name);
        PreparedContact { json: json_columns(&draft), tokens: Some((tokens, company_name.map(str::to_string))), draft }
    }

    /// Prepares `draft` without search tokens: the writer makes them once it knows the company's name.
    fn without_tokens(draft: ContactDraft) -> PreparedContact {
        PreparedContact { json: json_columns(&draft), tokens: None, draft }
    }

    pub fn draft(&self) -> &ContactDraft {
        &self.draft
    }

    /// Links the contact to a company (no column made so far depends on it).
    pub fn set_company(&mut self, id: Uuid) {
        self.draft.company_id = Some(id);
    }

    /// The search tokens for a contact whose company is named `company_name` as stored.
    fn tokens_for(&self, company_name: Option<&str>) -> std::borrow::Cow<'_, [String]> {
        match &self.tokens {
            Some((tokens, made_with)) if made_with.as_deref() == company_name => std::borrow::Cow::Borrowed(tokens),
            _ => std::borrow::Cow::Owned(search_tokens(&self.draft, company_name)),
        }
    }
}

/// The JSON columns of a contact: `emails`, `phones`, `tags`, `custom`.
fn json_columns(d: &ContactDraft) -> [String; 4] {
    [
        serde_json::to_string(&d.emails).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&d.phones).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()),
    ]
}

/// Inserts contacts inside `tx` in bulk ([`Tx::insert_rows`]): the rows, their contact points, tags and search
/// tokens. Owners and companies are resolved with one query each for the whole set. Returns the contacts in
/// input order, or every record's field errors by index (nothing is written then: the caller drops `tx`).
pub(crate) async fn insert_many(
    tx: &mut Tx,
    actor: &Actor,
    drafts: &[ContactDraft],
    now: DateTime<Utc>,
) -> Result<Vec<Contact>, BatchError> {
    let prepared: Vec<PreparedContact> = drafts.iter().map(|d| PreparedContact::without_tokens(d.clone())).collect();
    let made = insert_prepared(tx, actor, &prepared.iter().collect::<Vec<_>>(), now).await?;
    Ok(prepared
        .into_iter()
        .zip(made)
        .map(|(p, (id, owner, team))| contact_from_draft(p.draft, id, owner, team, now))
        .collect())
}

/// [`insert_many`] for prepared contacts; returns each one's id, owner and owner's team, in input order.
pub(crate) async fn insert_prepared(
    tx: &mut Tx,
    actor: &Actor,
    contacts: &[&PreparedContact],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid, Option<Uuid>)>, BatchError> {
    let store = |e: StoreError| BatchError::Store(e);
    let drafts = || contacts.iter().map(|p| &p.draft);
    let owners = resolve_owners(tx, actor, drafts().map(|d| d.owner_id)).await.map_err(store)?;
    let companies = resolve_companies(tx, actor, drafts().filter_map(|d| d.company_id)).await.map_err(store)?;
    let mut errors: Vec<(usize, ValidationErrors)> = Vec::new();
    for (i, d) in drafts().enumerate() {
        let mut e = ValidationErrors::new();
        if !owners.contains_key(&d.owner_id.unwrap_or(actor.user_id)) {
            e.push(FieldError::new("owner_id", "not_found", "no such user"));
        }
        if let Some(c) = d.company_id
            && !companies.contains_key(&c)
        {
            e.push(FieldError::new("company_id", "not_found", "no such company"));
        }
        if !e.is_empty() {
            errors.push((i, e));
        }
    }
    if !errors.is_empty() {
        return Err(BatchError::Invalid(errors));
    }
    let mut columns: Vec<(&str, bool)> = vec![("id", false)];
    let mut values: Vec<Option<Arg>> = Vec::with_capacity(contacts.len() * 29);
    let mut made: Vec<(Uuid, Uuid, Option<Uuid>)> = Vec::with_capacity(contacts.len());
    for (i, p) in contacts.iter().enumerate() {
        let id = guanxi_core::ids::new_id();
        let owner = p.draft.owner_id.unwrap_or(actor.user_id);
        let team = owners.get(&owner).copied().flatten();
        let cols = columns_with_json(&p.draft, p.json.clone(), owner, team);
        if i == 0 {
            columns.extend(cols.iter().map(|c| (c.0, c.2)));
            columns.extend([("version", false), ("created_at", false), ("updated_at", false)]);
        }
        values.push(Some(Arg::Uuid(id)));
        values.extend(cols.into_iter().map(|c| c.1));
        values.extend([Some(Arg::I64(1)), Some(Arg::Ts(now)), Some(Arg::Ts(now))]);
        made.push((id, owner, team));
    }
    let into = InsertInto { table: "contacts", columns: &columns, on_conflict: "" };
    let seqs = tx.insert_rows(&into, values, true).await.map_err(store)?;
    let mut points: Vec<Option<Arg>> = Vec::new();
    let mut tags: Vec<Option<Arg>> = Vec::new();
    let mut search: Vec<(i64, std::borrow::Cow<'_, [String]>)> = Vec::with_capacity(contacts.len());
    for ((p, (id, _, _)), seq) in contacts.iter().zip(&made).zip(&seqs) {
        let d = &p.draft;
        for (kind, value) in
            d.emails.iter().map(|e| ("email", &e.address)).chain(d.phones.iter().map(|p| ("phone", &p.number)))
        {
            points.extend([Some(Arg::Uuid(*id)), Some(Arg::Text(kind.into())), Some(Arg::Text(value.clone()))]);
        }
        for t in &d.tags {
            tags.extend([Some(Arg::Text("contact".into())), Some(Arg::Uuid(*id)), Some(Arg::Text(t.clone()))]);
        }
        let company_name = d.company_id.and_then(|c| companies.get(&c)).map(String::as_str);
        search.push((*seq, p.tokens_for(company_name)));
    }
    let into = InsertInto {
        table: "contact_points",
        columns: &[("contact_id", false), ("kind", false), ("value", false)],
        on_conflict: "",
    };
    tx.insert_rows(&into, points, false).await.map_err(store)?;
    let into = InsertInto {
        table: "record_tags",
        columns: &[("object", false), ("record_id", false), ("tag", false)],
        on_conflict: "",
    };
    tx.insert_rows(&into, tags, false).await.map_err(store)?;
    tx.insert_search_tokens(SearchTable::Contacts, &search).await.map_err(store)?;
    Ok(made)
}

fn contact_from_draft(d: ContactDraft, id: Uuid, owner: Uuid, team: Option<Uuid>, now: DateTime<Utc>) -> Contact {
    Contact {
        id,
        family_name: d.family_name,
        given_name: d.given_name,
        display_name: d.display_name,
        emails: d.emails,
        phones: d.phones,
        address: d.address,
        company_id: d.company_id,
        job_title: d.job_title,
        gender: d.gender,
        birthday: d.birthday,
        preferred_language: d.preferred_language,
        source: d.source,
        source_detail: d.source_detail,
        tags: d.tags,
        owner_id: Some(owner),
        team_id: team,
        visibility: d.visibility,
        custom: d.custom,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// The team of every distinct owner (the caller's own without a query); unknown users are absent.
async fn resolve_owners(
    tx: &mut Tx,
    actor: &Actor,
    owners: impl Iterator<Item = Option<Uuid>>,
) -> Result<HashMap<Uuid, Option<Uuid>>> {
    let mut out = HashMap::new();
    out.insert(actor.user_id, actor.team_id);
    let others: HashSet<Uuid> = owners.flatten().filter(|o| *o != actor.user_id).collect();
    for chunk in others.into_iter().collect::<Vec<_>>().chunks(500) {
        let mut sql = tx.sql("SELECT id, team_id FROM users WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Uuid(*id));
        }
        sql.push(")");
        let rows: Vec<(Uuid, Option<Uuid>)> = tx.fetch_all(sql).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Names of the companies the caller can see among `ids`; invisible or missing ones are absent.
async fn resolve_companies(
    tx: &mut Tx,
    actor: &Actor,
    ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = ids.collect();
    let mut out = HashMap::new();
    for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
        let mut sql = tx.sql("SELECT c.id, c.name FROM companies c WHERE c.id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Uuid(*id));
        }
        sql.push(")");
        push_visible(&mut sql, "c", actor);
        let rows: Vec<(Uuid, String)> = tx.fetch_all(sql).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The writable columns of a contact with their values (`None` = NULL) and whether the value is JSON; the one
/// source of truth for INSERT and UPDATE.
pub(crate) fn column_values(
    d: &ContactDraft,
    owner: Uuid,
    team: Option<Uuid>,
) -> [(&'static str, Option<Arg>, bool); 25] {
    columns_with_json(d, json_columns(d), owner, team)
}

/// [`column_values`] with the JSON columns already made ([`json_columns`]).
fn columns_with_json(
    d: &ContactDraft,
    json: [String; 4],
    owner: Uuid,
    team: Option<Uuid>,
) -> [(&'static str, Option<Arg>, bool); 25] {
    let opt = |s: &Option<String>| s.clone().map(Arg::Text);
    let [emails, phones, tags, custom] = json.map(|v| Some(Arg::Text(v)));
    [
        ("family_name", opt(&d.family_name), false),
        ("given_name", opt(&d.given_name), false),
        ("display_name", Some(Arg::Text(d.display_name.clone())), false),
        ("emails", emails, true),
        ("phones", phones, true),
        ("primary_email", d.primary_email().map(|s| Arg::Text(s.to_string())), false),
        ("primary_phone", d.primary_phone().map(|s| Arg::Text(s.to_string())), false),
        ("address_country", opt(&d.address.country), false),
        ("address_province", opt(&d.address.province), false),
        ("address_city", opt(&d.address.city), false),
        ("address_district", opt(&d.address.district), false),
        ("address_street", opt(&d.address.street), false),
        ("address_postcode", opt(&d.address.postcode), false),
        ("company_id", d.company_id.map(Arg::Uuid), false),
        ("job_title", opt(&d.job_title), false),
        ("gender", d.gender.map(|g| Arg::Text(g.as_str().into())), false),
        ("birthday", d.birthday.map(Arg::Date), false),
        ("preferred_language", opt(&d.preferred_language), false),
        ("source", Some(Arg::Text(d.source.as_str().into())), false),
        ("source_detail", opt(&d.source_detail), false),
        ("tags", tags, true),
        ("owner_id", Some(Arg::Uuid(owner)), false),
        ("team_id", team.map(Arg::Uuid), false),
        ("visibility", Some(Arg::Text(d.visibility.as_str().into())), false),
        ("custom", custom, true),
    ]
}

/// Appends one value: a placeholder (cast to jsonb on PostgreSQL for JSON) or NULL.
pub(crate) fn push_value(sql: &mut Sql, v: Option<Arg>, is_json: bool) {
    match v {
        Some(a) => {
            sql.bind(a);
            if is_json {
                sql.push(json_cast(sql.dialect));
            }
        }
        None => {
            sql.push("NULL");
        }
    }
}

/// JSON is bound as text; PostgreSQL needs it cast to jsonb, SQLite stores the text as is.
pub(crate) fn json_cast(d: crate::Dialect) -> &'static str {
    match d {
        crate::Dialect::Sqlite => "",
        crate::Dialect::Postgres => "::jsonb",
    }
}

pub(crate) async fn write_side_tables(
    tx: &mut Tx,
    id: Uuid,
    seq: i64,
    d: &ContactDraft,
    company_name: Option<&str>,
    replace: bool,
) -> Result<()> {
    if replace {
        let mut del = tx.sql("DELETE FROM contact_points WHERE contact_id = ");
        del.bind(Arg::Uuid(id));
        tx.execute(del).await?;
        let mut del = tx.sql("DELETE FROM record_tags WHERE object = 'contact' AND record_id = ");
        del.bind(Arg::Uuid(id));
        tx.execute(del).await?;
    }
    let points: Vec<(&str, &str)> = d
        .emails
        .iter()
        .map(|e| ("email", e.address.as_str()))
        .chain(d.phones.iter().map(|p| ("phone", p.number.as_str())))
        .collect();
    if !points.is_empty() {
        let mut sql = tx.sql("INSERT INTO contact_points (contact_id, kind, value) VALUES ");
        for (i, (kind, value)) in points.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(Arg::Uuid(id))
                .push(", ")
                .bind(Arg::Text(kind.to_string()))
                .push(", ")
                .bind(Arg::Text(value.to_string()))
                .push(")");
        }
        tx.execute(sql).await?;
    }
    if !d.tags.is_empty() {
        let mut sql = tx.sql("INSERT INTO record_tags (object, record_id, tag) VALUES ");
        for (i, t) in d.tags.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("('contact', ").bind(Arg::Uuid(id)).push(", ").bind(Arg::Text(t.clone())).push(")");
        }
        tx.execute(sql).await?;
    }
    tx.set_search_tokens(SearchTable::Contacts, seq, &search_tokens(d, company_name)).await
}

/// Rewrites the search tokens of a stored contact (after its company was renamed).
pub(crate) async fn reindex(tx: &mut Tx, seq: i64, c: &Contact) -> Result<()> {
    let company_name = match c.company_id {
        Some(cid) => {
            let mut sql = tx.sql("SELECT name FROM companies WHERE id = ");
            sql.bind(Arg::Uuid(cid));
            tx.fetch_scalar::<String>(sql).await?
        }
        None => None,
    };
    let draft = draft_of(c);
    tx.set_search_tokens(SearchTable::Contacts, seq, &search_tokens(&draft, company_name.as_deref())).await
}

/// The writable fields of a stored contact, as the draft that would write them again.
pub(crate) fn draft_of(c: &Contact) -> ContactDraft {
    ContactDraft {
        family_name: c.family_name.clone(),
        given_name: c.given_name.clone(),
        display_name: c.display_name.clone(),
        emails: c.emails.clone(),
        phones: c.phones.clone(),
        address: c.address.clone(),
        company_id: c.company_id,
        job_title: c.job_title.clone(),
        gender: c.gender,
        birthday: c.birthday,
        preferred_language: c.preferred_language.clone(),
        source: c.source,
        source_detail: c.source_detail.clone(),
        tags: c.tags.clone(),
        owner_id: c.owner_id,
        visibility: c.visibility,
        custom: c.custom.clone(),
    }
}

/// Display names of the contacts among `ids` that `actor` may see.
pub async fn visible_names(db: &Db, actor: &Actor, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    crate::scope::visible_names(db, actor, "contacts", "display_name", ids).await
}

/// Creates a contact.
pub async fn create(db: &Db, actor: &Actor, d: &ContactDraft) -> Result<Contact> {
    let mut tx = db.begin().await?;
    let mut created =
        insert_many(&mut tx, actor, std::slice::from_ref(d), guanxi_core::ids::now()).await.map_err(|e| match e {
            BatchError::Invalid(mut errs) => StoreError::Invalid(errs.pop().map(|(_, e)| e).unwrap_or_default()),
            BatchError::Store(e) => e,
        })?;
    tx.commit().await?;
    created.pop().ok_or(StoreError::NotFound)
}

/// Creates many contacts in one transaction: all or none. Returns every record's errors (by index) when any is
/// invalid, so a client can fix them all at once.
pub async fn create_batch(db: &Db, actor: &Actor, drafts: &[ContactDraft]) -> Result<Vec<Contact>, BatchError> {
    let mut tx = db.begin().await.map_err(BatchError::Store)?;
    let out = insert_many(&mut tx, actor, drafts, guanxi_core::ids::now()).await?;
    tx.commit().await.map_err(BatchError::Store)?;
    Ok(out)
}

#[derive(Debug)]
pub enum BatchError {
    /// Per-record validation errors, by index in the request.
    Invalid(Vec<(usize, ValidationErrors)>),
    Store(StoreError),
}

pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Contact> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM contacts c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    push_visible(&mut sql, "c", actor);
    let row: Option<ContactRow> = db.read_optional(sql).await?;
    row.map(ContactRow::into_contact).ok_or(StoreError::NotFound)
}

/// Replaces the writable fields when the stored version is `expected_version`.
pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &ContactDraft) -> Result<Contact> {
    let mut tx = db.begin().await?;
    match update_in_tx(&mut tx, actor, id, expected_version, d).await? {
        Some(c) => {
            tx.commit().await?;
            Ok(c)
        }
        None => {
            drop(tx);
            Err(why_not_changed(db, actor, id).await)
        }
    }
}

/// [`update`] inside the caller's transaction (imports update many contacts in one); `None` when the contact is
/// invisible, read-only for the caller or at another version.
pub(crate) async fn update_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    expected_version: i64,
    d: &ContactDraft,
) -> Result<Option<Contact>> {
    let (owner, team) = owner_and_team(tx, actor, d.owner_id).await?;
    let company_name = visible_company_name(tx, actor, d.company_id).await?;
    let now = guanxi_core::ids::now();
    let mut sql = tx.sql("UPDATE contacts SET ");
    for (col, v, is_json) in column_values(d, owner, team) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    // The alias-free form of the scope: UPDATE has no alias on SQLite, so qualify with the table name.
    push_changeable(&mut sql, "contacts", actor);
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<ContactRow> = tx.fetch_optional(sql).await?;
    let Some(row) = row else { return Ok(None) };
    let seq = row.seq;
    write_side_tables(tx, id, seq, d, company_name.as_deref(), true).await?;
    Ok(Some(row.into_contact()))
}

/// After a conditional write matched nothing: the record is invisible/absent (404), read-only for the caller
/// (403) or at another version (412).
pub(crate) async fn why_not_changed(db: &Db, actor: &Actor, id: Uuid) -> StoreError {
    match get(db, actor, id).await {
        Ok(c) if !actor.can_change(c.ownership()) => StoreError::Forbidden,
        Ok(c) => StoreError::VersionMismatch { current: c.version },
        Err(e) => e,
    }
}

pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    if crate::search_index::delete_tagged_record(db, actor, SearchTable::Contacts, id, expected_version).await? {
        Ok(())
    } else {
        Err(why_not_changed(db, actor, id).await)
    }
}

/// A filtered, sorted page of contacts the caller can see.
pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Contact>> {
    let search = q.q.as_deref().map(guanxi_text::parse_query);
    let mut filter = db.sql("");
    push_visible(&mut filter, "c", actor);
    push_conditions(&mut filter, "c", "contact", &q.conditions);
    if let Some(sq) = &search
        && !push_match(&mut filter, "c", "contact_fts", sq)
    {
        return Ok(Page { items: Vec::new(), next_cursor: None, total: 0, total_is_estimate: false });
    }
    let sort = sort_spec(db.dialect(), "c", q);
    crate::page::fetch_page(db, "contacts", COLUMNS, filter, sort.as_ref(), q, ContactRow::into_contact, |x| {
        (sort_value(x, q), x.id)
    })
    .await
}

pub(crate) fn invalid_cursor() -> StoreError {
    ValidationErrors::from(FieldError::new("cursor", "invalid_cursor", "does not fit this sort order")).into()
}

/// Counts matches up to [`COUNT_CAP`] (+1 to know whether it was reached).
pub(crate) async fn count(db: &Db, table: &str, filter: Sql) -> Result<(u64, bool)> {
    let mut sql = db.sql(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} c WHERE 1 = 1"));
    sql.push(&filter.text);
    sql.args = filter.args;
    sql.push(&format!(" LIMIT {}) t", COUNT_CAP + 1));
    let generation = db.generation();
    let key = format!("{}\u{0}{:?}", sql.text, sql.args);
    if let Some(hit) = db.counts.get(&key, generation) {
        return Ok(hit);
    }
    let n: i64 = db.read_i64(sql).await?;
    let value = if n > COUNT_CAP { (COUNT_CAP as u64, true) } else { (n as u64, false) };
    db.counts.put(key, value, generation);
    Ok(value)
}

/// The value of the sort column of a contact, as the cursor carries it.
fn sort_value(c: &Contact, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    let text = |v: &Option<String>| Value::String(v.clone().unwrap_or_default());
    match s.field.name {
        "display_name" => Value::String(c.display_name.clone()),
        "family_name" => text(&c.family_name),
        "given_name" => text(&c.given_name),
        "email" => Value::String(c.primary_email().unwrap_or("").to_string()),
        "job_title" => text(&c.job_title),
        "address.country" => text(&c.address.country),
        "address.province" => text(&c.address.province),
        "address.city" => text(&c.address.city),
        "birthday" => Value::String(c.birthday.map(|b| b.to_string()).unwrap_or_else(|| "0001-01-01".into())),
        "source" => Value::String(c.source.as_str().into()),
        "created_at" => Value::String(c.created_at.to_rfc3339()),
        "updated_at" => Value::String(c.updated_at.to_rfc3339()),
        _ => Value::Null,
    }
}

/// Contacts that already use one of these normalised emails or phones (for duplicate warnings), visible to the
/// caller.
pub async fn find_by_contact_points(
    db: &Db,
    actor: &Actor,
    emails: &[String],
    phones: &[String],
) -> Result<Vec<Contact>> {
    if emails.is_empty() && phones.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = db
        .sql(&format!("SELECT {COLUMNS} FROM contacts c WHERE c.id IN (SELECT contact_id FROM contact_points WHERE "));
    let mut first = true;
    for (kind, values) in [("email", emails), ("phone", phones)] {
        for v in values.iter().take(40) {
            if !first {
                sql.push(" OR ");
            }
            first = false;
            sql.push(&format!("(kind = '{kind}' AND value = ")).bind(Arg::Text(v.clone())).push(")");
        }
    }
    sql.push(")");
    push_visible(&mut sql, "c", actor);
    sql.push(" ORDER BY c.id LIMIT 20");
    let rows: Vec<ContactRow> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(ContactRow::into_contact).collect())
}

/// Ranked search over the contacts the caller can see: a bounded candidate set (never the whole match set,
/// which can be most of a million rows for a common surname) ranked in the app by `guanxi_text::rank`.
pub async fn search(db: &Db, actor: &Actor, q: &str, limit: usize) -> Result<Vec<(Contact, u32)>> {
    let sq = guanxi_text::parse_query(q);
    // Rank on a few plain columns of each candidate, then load whole records only for the winners: decoding every
    // candidate's JSON columns cost more than the search itself.
    const RANK_COLUMNS: &str =
        "c.id, c.display_name, c.family_name, c.given_name, c.primary_email, c.primary_phone, c.job_title";
    let Some(mut sql) = crate::search_index::candidates_sql(db.dialect(), RANK_COLUMNS, "contacts", "contact_fts", &sq)
    else {
        return Ok(Vec::new());
    };
    push_visible(&mut sql, "c", actor);
    crate::search_index::push_candidate_order(&mut sql, "contact_fts", SEARCH_CANDIDATES);
    let candidates: Vec<RankCandidate> = db.read_all(sql).await?;
    let mut scored: Vec<(Uuid, u32)> = candidates
        .iter()
        .map(|c| {
            let names: Vec<&str> = c.family_name.iter().chain(c.given_name.iter()).map(String::as_str).collect();
            let emails: Vec<&str> = c.primary_email.iter().map(String::as_str).collect();
            let phones: Vec<&str> = c.primary_phone.iter().map(String::as_str).collect();
            let other: Vec<&str> = c.job_title.iter().map(String::as_str).collect();
            let doc = guanxi_text::RankDoc {
                display_name: &c.display_name,
                names: &names,
                company: None,
                emails: &emails,
                phones: &phones,
                other: &other,
            };
            (c.id, guanxi_text::rank(q, &doc))
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(limit);
    if scored.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM contacts c WHERE c.id IN ("));
    for (i, (id, _)) in scored.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Uuid(*id));
    }
    sql.push(")");
    let rows: Vec<ContactRow> = db.read_all(sql).await?;
    let mut by_id: HashMap<Uuid, Contact> = rows.into_iter().map(|r| r.into_contact()).map(|c| (c.id, c)).collect();
    Ok(scored.into_iter().filter_map(|(id, score)| by_id.remove(&id).map(|c| (c, score))).collect())
}

/// The columns search ranks on.
#[derive(sqlx::FromRow)]
struct RankCandidate {
    id: Uuid,
    display_name: String,
    family_name: Option<String>,
    given_name: Option<String>,
    primary_email: Option<String>,
    primary_phone: Option<String>,
    job_title: Option<String>,
}

impl FromSqliteRow for RankCandidate {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<RankCandidate> {
        Ok(RankCandidate {
            id: r.uuid("id")?,
            display_name: r.get("display_name")?,
            family_name: r.get("family_name")?,
            given_name: r.get("given_name")?,
            primary_email: r.get("primary_email")?,
            primary_phone: r.get("primary_phone")?,
            job_title: r.get("job_title")?,
        })
    }
}

/// How many matching records are ranked per search; more matches than this are cut in `seq` (creation) order.
pub const SEARCH_CANDIDATES: usize = 200;
