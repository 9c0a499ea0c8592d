//! Companies: storage, lists, search.

use crate::contacts::{owner_and_team, push_value};
use crate::db::{SearchTable, Tx};
use crate::scope::{push_changeable, push_visible};
use crate::search_index::push_match;
use crate::sql::{Arg, Page, push_conditions, sort_spec};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::ValidationErrors;
use guanxi_core::access::{Actor, Visibility};
use guanxi_core::company::{Company, CompanyDraft, SizeBand};
use guanxi_core::contact::PostalAddress;
use guanxi_core::filter::ListQuery;
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "c.seq, c.id, c.name, c.domain, c.industry, c.size_band, c.address_country, c.address_province, \
    c.address_city, c.address_district, c.address_street, c.address_postcode, c.tags, c.owner_id, c.team_id, \
    c.visibility, c.custom, c.version, c.created_at, c.updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CompanyRow {
    seq: i64,
    id: Uuid,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    size_band: Option<String>,
    address_country: Option<String>,
    address_province: Option<String>,
    address_city: Option<String>,
    address_district: Option<String>,
    address_street: Option<String>,
    address_postcode: Option<String>,
    tags: Json<Vec<String>>,
    owner_id: Option<Uuid>,
    team_id: Option<Uuid>,
    visibility: String,
    custom: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

// Lists of companies are not hot enough yet to decode on rusqlite.
crate::sqlite_read::through_sqlx!(CompanyRow);

impl CompanyRow {
    pub(crate) fn seq(&self) -> i64 {
        self.seq
    }

    pub(crate) fn into_company(self) -> Company {
        Company {
            id: self.id,
            name: self.name,
            domain: self.domain,
            industry: self.industry,
            size_band: self.size_band.as_deref().and_then(SizeBand::parse),
            address: PostalAddress {
                country: self.address_country,
                province: self.address_province,
                city: self.address_city,
                district: self.address_district,
                street: self.address_street,
                postcode: self.address_postcode,
            },
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

pub(crate) fn column_values(
    d: &CompanyDraft,
    owner: Uuid,
    team: Option<Uuid>,
) -> [(&'static str, Option<Arg>, bool); 16] {
    let opt = |s: &Option<String>| s.clone().map(Arg::Text);
    [
        ("name", Some(Arg::Text(d.name.clone())), false),
        // Imports match companies on this key (an index, rather than normalising every stored name per batch).
        ("name_key", Some(Arg::Text(guanxi_dedup::company_key(&d.name))), false),
        ("domain", opt(&d.domain), false),
        ("industry", opt(&d.industry), false),
        ("size_band", d.size_band.map(|s| Arg::Text(s.as_str().into())), false),
        ("address_country", opt(&d.address.country), false),
        ("address_province", opt(&d.address.province), false),
        ("address_city", opt(&d.address.city), false),
        ("address_district", opt(&d.address.district), false),
        ("address_street", opt(&d.address.street), false),
        ("address_postcode", opt(&d.address.postcode), false),
        ("tags", Some(Arg::Text(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()))), true),
        ("owner_id", Some(Arg::Uuid(owner)), false),
        ("team_id", team.map(Arg::Uuid), false),
        ("visibility", Some(Arg::Text(d.visibility.as_str().into())), false),
        ("custom", Some(Arg::Text(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()))), true),
    ]
}

fn search_tokens(d: &CompanyDraft) -> Vec<String> {
    crate::search_index::company_tokens(&d.name, d.domain.as_deref(), d.industry.as_deref(), d.address.city.as_deref())
}

pub(crate) async fn write_side_tables(tx: &mut Tx, id: Uuid, seq: i64, d: &CompanyDraft, replace: bool) -> Result<()> {
    if replace {
        let mut del = tx.sql("DELETE FROM record_tags WHERE object = 'company' AND record_id = ");
        del.bind(Arg::Uuid(id));
        tx.execute(del).await?;
    }
    if !d.tags.is_empty() {
        let mut sql = tx.sql("INSERT INTO record_tags (object, record_id, tag) VALUES ");
        for (i, t) in d.tags.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("('company', ").bind(Arg::Uuid(id)).push(", ").bind(Arg::Text(t.clone())).push(")");
        }
        tx.execute(sql).await?;
    }
    tx.set_search_tokens(SearchTable::Companies, seq, &search_tokens(d)).await
}

pub(crate) async fn insert_in(tx: &mut Tx, actor: &Actor, d: &CompanyDraft, now: DateTime<Utc>) -> Result<Company> {
    let (owner, team) = owner_and_team(tx, actor, d.owner_id).await?;
    let id = guanxi_core::ids::new_id();
    let cols = column_values(d, owner, team);
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sql =
        tx.sql(&format!("INSERT INTO companies (id, {}, version, created_at, updated_at) VALUES (", names.join(", ")));
    sql.bind(Arg::Uuid(id));
    for (_, v, is_json) in cols {
        sql.push(", ");
        push_value(&mut sql, v, is_json);
    }
    sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(") RETURNING seq");
    let seq: i64 = tx.fetch_scalar(sql).await?.ok_or(StoreError::NotFound)?;
    write_side_tables(tx, id, seq, d, false).await?;
    Ok(Company {
        id,
        name: d.name.clone(),
        domain: d.domain.clone(),
        industry: d.industry.clone(),
        size_band: d.size_band,
        address: d.address.clone(),
        tags: d.tags.clone(),
        owner_id: Some(owner),
        team_id: team,
        visibility: d.visibility,
        custom: d.custom.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

pub async fn create(db: &Db, actor: &Actor, d: &CompanyDraft) -> Result<Company> {
    let mut tx = db.begin().await?;
    let c = insert_in(&mut tx, actor, d, guanxi_core::ids::now()).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn create_batch(
    db: &Db,
    actor: &Actor,
    drafts: &[CompanyDraft],
) -> Result<Vec<Company>, crate::contacts::BatchError> {
    use crate::contacts::BatchError;
    let mut tx = db.begin().await.map_err(BatchError::Store)?;
    let now = guanxi_core::ids::now();
    let mut out = Vec::with_capacity(drafts.len());
    let mut errors: Vec<(usize, ValidationErrors)> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match insert_in(&mut tx, actor, d, now).await {
            Ok(c) => out.push(c),
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

pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Company> {
    let mut sql = db.sql(&format!("SELECT {COLUMNS} FROM companies c WHERE c.id = "));
    sql.bind(Arg::Uuid(id));
    push_visible(&mut sql, "c", actor);
    let row: Option<CompanyRow> = db.fetch_optional(sql).await?;
    row.map(CompanyRow::into_company).ok_or(StoreError::NotFound)
}

pub(crate) async fn why_not_changed(db: &Db, actor: &Actor, id: Uuid) -> StoreError {
    match get(db, actor, id).await {
        Ok(c) if !actor.can_change(c.ownership()) => StoreError::Forbidden,
        Ok(c) => StoreError::VersionMismatch { current: c.version },
        Err(e) => e,
    }
}

pub async fn update(db: &Db, actor: &Actor, id: Uuid, expected_version: i64, d: &CompanyDraft) -> Result<Company> {
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

/// [`update`] inside the caller's transaction (imports update many companies in one); `None` when the company
/// is invisible, read-only for the caller or at another version.
pub(crate) async fn update_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    expected_version: i64,
    d: &CompanyDraft,
) -> Result<Option<Company>> {
    let (owner, team) = owner_and_team(tx, actor, d.owner_id).await?;
    let now = guanxi_core::ids::now();
    let mut sql = tx.sql("UPDATE companies SET ");
    for (col, v, is_json) in column_values(d, owner, team) {
        sql.push(col).push(" = ");
        push_value(&mut sql, v, is_json);
        sql.push(", ");
    }
    sql.push("version = version + 1, updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND version = ").bind(Arg::I64(expected_version));
    push_changeable(&mut sql, "companies", actor);
    sql.push(" RETURNING ").push(&COLUMNS.replace("c.", ""));
    let row: Option<CompanyRow> = tx.fetch_optional(sql).await?;
    let Some(row) = row else { return Ok(None) };
    write_side_tables(tx, id, row.seq, d, true).await?;
    // Contacts are found by their company's name: re-index them when it changes.
    reindex_contacts_of(tx, id).await?;
    Ok(Some(row.into_company()))
}

/// The writable fields of a stored company, as the draft that would write them again.
pub(crate) fn draft_of(c: &Company) -> CompanyDraft {
    CompanyDraft {
        name: c.name.clone(),
        domain: c.domain.clone(),
        industry: c.industry.clone(),
        size_band: c.size_band,
        address: c.address.clone(),
        tags: c.tags.clone(),
        owner_id: c.owner_id,
        visibility: c.visibility,
        custom: c.custom.clone(),
    }
}

/// Fills the name key of companies stored before it existed (migration 0007), in batches; a no-op afterwards.
pub(crate) async fn fill_name_keys(db: &Db) -> Result<()> {
    loop {
        let mut tx = db.begin().await?;
        let sql = tx.sql("SELECT id, name FROM companies WHERE name_key IS NULL LIMIT 2000");
        let rows: Vec<(Uuid, String)> = tx.fetch_all(sql).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for (id, name) in rows {
            let mut up = tx.sql("UPDATE companies SET name_key = ");
            up.bind(Arg::Text(guanxi_dedup::company_key(&name))).push(" WHERE id = ").bind(Arg::Uuid(id));
            tx.execute(up).await?;
        }
        tx.commit().await?;
    }
}

/// Rewrites the search tokens of a company's contacts (they include the company name).
pub(crate) async fn reindex_contacts_of(tx: &mut Tx, company_id: Uuid) -> Result<()> {
    let mut sql = tx.sql(&format!("SELECT {} FROM contacts c WHERE c.company_id = ", crate::contacts::COLUMNS));
    sql.bind(Arg::Uuid(company_id)).push(" LIMIT 10000");
    let rows: Vec<crate::contacts::ContactRow> = tx.fetch_all(sql).await?;
    for row in rows {
        let seq = row.seq();
        let c = row.into_contact();
        crate::contacts::reindex(tx, seq, &c).await?;
    }
    Ok(())
}

pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: Option<i64>) -> Result<()> {
    if crate::search_index::delete_tagged_record(db, actor, SearchTable::Companies, id, expected_version).await? {
        Ok(())
    } else {
        Err(why_not_changed(db, actor, id).await)
    }
}

pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Company>> {
    let search = q.q.as_deref().map(guanxi_text::parse_query);
    let mut filter = db.sql("");
    push_visible(&mut filter, "c", actor);
    push_conditions(&mut filter, "c", "company", &q.conditions);
    if let Some(sq) = &search
        && !push_match(&mut filter, "c", "company_fts", sq)
    {
        return Ok(Page { items: Vec::new(), next_cursor: None, total: 0, total_is_estimate: false });
    }
    let sort = sort_spec(db.dialect(), "c", q);
    crate::page::fetch_page(db, "companies", COLUMNS, filter, sort.as_ref(), q, CompanyRow::into_company, |x| {
        (sort_value(x, q), x.id)
    })
    .await
}

fn sort_value(c: &Company, q: &ListQuery) -> Value {
    let Some(s) = &q.sort else { return Value::Null };
    let text = |v: &Option<String>| Value::String(v.clone().unwrap_or_default());
    match s.field.name {
        "name" => Value::String(c.name.clone()),
        "domain" => text(&c.domain),
        "industry" => text(&c.industry),
        "address.country" => text(&c.address.country),
        "address.province" => text(&c.address.province),
        "address.city" => text(&c.address.city),
        "created_at" => Value::String(c.created_at.to_rfc3339()),
        "updated_at" => Value::String(c.updated_at.to_rfc3339()),
        _ => Value::Null,
    }
}

pub async fn search(db: &Db, actor: &Actor, q: &str, limit: usize) -> Result<Vec<(Company, u32)>> {
    let sq = guanxi_text::parse_query(q);
    let Some(mut sql) = crate::search_index::candidates_sql(db.dialect(), COLUMNS, "companies", "company_fts", &sq)
    else {
        return Ok(Vec::new());
    };
    push_visible(&mut sql, "c", actor);
    crate::search_index::push_candidate_order(&mut sql, "company_fts", crate::contacts::SEARCH_CANDIDATES);
    let rows: Vec<CompanyRow> = db.fetch_all(sql).await?;
    let mut scored: Vec<(Company, u32)> = rows
        .into_iter()
        .map(CompanyRow::into_company)
        .map(|c| {
            let other: Vec<&str> = c.domain.iter().chain(c.industry.iter()).map(String::as_str).collect();
            let doc = guanxi_text::RankDoc {
                display_name: &c.name,
                names: &[],
                company: None,
                emails: &[],
                phones: &[],
                other: &other,
            };
            let s = guanxi_text::rank(q, &doc);
            (c, s)
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    scored.truncate(limit);
    Ok(scored)
}

/// Names of the companies among `ids` that the caller can see (exports show a contact's company by name).
pub async fn visible_names(db: &Db, actor: &Actor, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>> {
    crate::scope::visible_names(db, actor, "companies", "name", ids).await
}
