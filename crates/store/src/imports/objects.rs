//! Matching and writing batches of companies, products, orders and activities (contacts are in the parent
//! module), and restoring them on undo. Every batch runs inside the runner's transaction, which also holds the
//! checkpoint; each record is written with the same repository code as the API's, so visibility and permission
//! rules are the same.

use super::{
    BatchContext, Later, MatchKey, OrderGroup, Policy, Read, Staged, UndoEntry, not_changeable, write_external_ids,
    write_undo,
};
use crate::activities::check_parents;
use crate::db::Tx;
use crate::scope::push_visible;
use crate::sql::{Arg, Sql};
use crate::{Db, Result, StoreError};
use guanxi_core::ValidationErrors;
use guanxi_core::access::Actor;
use guanxi_core::activity::{Activity, ActivityInput, ActivityKind};
use guanxi_core::company::{Company, CompanyDraft, CompanyInput};
use guanxi_core::order::{Order, OrderInput, OrderLineInput, Product, ProductDraft, ProductFacts, ProductInput};
use guanxi_io::mapping::ImportObject;
use guanxi_io::objects::{ActivityRow, CompanyRef, CompanyRow, ContactRef, Keyed, OrderLineRow, Origins, ProductRow};
use guanxi_io::read::RowError;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Validation errors of a record as row errors, each placed at the column its field came from.
fn field_errors(line: u64, origins: &Origins, errs: ValidationErrors) -> Vec<RowError> {
    errs.errors
        .into_iter()
        .map(|e| RowError::new(line, origins.column_of(&e.field), e.code, format!("{}: {}", e.field, e.message)))
        .collect()
}

/// Splits read results into the good ones and the count of failed rows (their errors go to `errors`).
fn good<T>(rows: Vec<Read<T>>, errors: &mut Vec<RowError>) -> (Vec<T>, i64) {
    let mut ok = Vec::with_capacity(rows.len());
    let mut failed = 0;
    for r in rows {
        match r {
            Ok(x) => ok.push(x),
            Err(e) => {
                failed += 1;
                errors.extend(e);
            }
        }
    }
    (ok, failed)
}

/// Values of a text column -> the ids of the rows holding them, for `select` ending in `IN (`; `scope` appends
/// conditions after the list (visibility). Chunked to stay far below both backends' parameter limits.
async fn ids_by(
    tx: &mut Tx,
    select: &str,
    values: &[String],
    scope: impl Fn(&mut Sql),
) -> Result<HashMap<String, Vec<Uuid>>> {
    let mut values = values.to_vec();
    values.sort();
    values.dedup();
    let mut out: HashMap<String, Vec<Uuid>> = HashMap::new();
    for chunk in values.chunks(500) {
        let mut sql = tx.sql(select);
        crate::products::push_list(&mut sql, chunk.iter().map(|v| Arg::Text(v.clone())));
        sql.push(")");
        scope(&mut sql);
        let rows: Vec<(String, Uuid)> = tx.fetch_all(sql).await?;
        for (k, id) in rows {
            let ids = out.entry(k).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(out)
}

/// Which of `ids` exist in `table` and are visible to the caller.
async fn visible_ids(tx: &mut Tx, actor: &Actor, table: &str, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let mut out = HashSet::new();
    let unique: Vec<Uuid> = ids.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    for chunk in unique.chunks(500) {
        let mut sql = tx.sql(&format!("SELECT r.id FROM {table} r WHERE r.id IN ("));
        crate::products::push_list(&mut sql, chunk.iter().map(|id| Arg::Uuid(*id)));
        sql.push(")");
        push_visible(&mut sql, "r", actor);
        let rows: Vec<(Uuid,)> = tx.fetch_all(sql).await?;
        out.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(out)
}

/// What to do with a row after matching.
enum Decision {
    Create,
    Update(Uuid),
    Reject(RowError),
}

/// Matches rows against stored records (every record counts, visible to the caller or not: a duplicate the
/// caller cannot see is still a duplicate) and against earlier rows of the file, by the job's policy.
struct Matcher {
    key: Option<MatchKey>,
    policy: Policy,
    noun: &'static str,
    stored: HashMap<String, Vec<Uuid>>,
    seen: HashMap<String, u64>,
}

impl Matcher {
    fn new(b: &BatchContext<'_>, noun: &'static str) -> Matcher {
        Matcher { key: b.job.match_key, policy: b.job.policy, noun, stored: HashMap::new(), seen: HashMap::new() }
    }

    fn decide(&mut self, line: u64, keys: &[String]) -> Decision {
        let Some(key) = self.key else { return Decision::Create };
        let (what, noun) = (key.as_str(), self.noun);
        if let Some(first) = keys.iter().find_map(|k| self.seen.get(k)) {
            let m = format!("same {what} as line {first} of this file");
            return Decision::Reject(RowError::new(line, None, "duplicate_in_file", m));
        }
        for k in keys {
            self.seen.insert(k.clone(), line);
        }
        let ids: HashSet<Uuid> = keys.iter().filter_map(|k| self.stored.get(k)).flatten().copied().collect();
        let reject = |code: &str, m: String| Decision::Reject(RowError::new(line, None, code, m));
        match (ids.iter().next().copied(), ids.len(), self.policy) {
            (None, _, Policy::UpdateOnly) => reject("not_found", format!("no {noun} has this {what}")),
            (None, _, _) => Decision::Create,
            (Some(id), 1, Policy::CreateOnly) => reject("duplicate", format!("{noun} {id} already has this {what}")),
            (Some(id), 1, _) => Decision::Update(id),
            (Some(_), n, _) => reject("ambiguous_match", format!("{n} records have this {what}")),
        }
    }
}

/// The stored records each match key value points at, for the keys of one batch.
async fn stored_by_key(
    tx: &mut Tx,
    object: ImportObject,
    key: MatchKey,
    values: &[String],
) -> Result<HashMap<String, Vec<Uuid>>> {
    let select = match (object, key) {
        (ImportObject::Company, MatchKey::ExternalId) => {
            "SELECT x.external_id, x.record_id FROM external_ids x JOIN companies c ON c.id = x.record_id WHERE x.object = 'company' AND x.external_id IN ("
        }
        (ImportObject::Company, MatchKey::Domain) => "SELECT c.domain, c.id FROM companies c WHERE c.domain IN (",
        (ImportObject::Company, MatchKey::Name) => "SELECT c.name_key, c.id FROM companies c WHERE c.name_key IN (",
        (ImportObject::Product, MatchKey::Sku) => "SELECT c.sku, c.id FROM products c WHERE c.sku IN (",
        (ImportObject::Order, MatchKey::Number) => "SELECT c.number, c.id FROM orders c WHERE c.number IN (",
        (ImportObject::Activity, MatchKey::ExternalId) => {
            "SELECT x.external_id, x.record_id FROM external_ids x JOIN activities c ON c.id = x.record_id WHERE x.object = 'activity' AND x.external_id IN ("
        }
        (o, k) => {
            let m = format!("{} cannot be matched on {}", o.plural(), k.as_str());
            return Err(StoreError::Invalid(ValidationErrors::from(guanxi_core::FieldError::new(
                "match",
                "invalid_value",
                m,
            ))));
        }
    };
    if values.is_empty() {
        return Ok(HashMap::new());
    }
    ids_by(tx, select, values, |_| {}).await
}

fn set(dst: &mut Option<String>, src: &Option<String>) {
    if src.is_some() {
        dst.clone_from(src);
    }
}

/// The file's values over a stored company: fields the file fills replace, tags are added, custom values merged.
fn merge_company(cur: &Company, file: &CompanyInput) -> CompanyInput {
    let mut m = cur.to_input();
    set(&mut m.name, &file.name);
    set(&mut m.domain, &file.domain);
    set(&mut m.industry, &file.industry);
    if file.size_band.is_some() {
        m.size_band = file.size_band;
    }
    let a = &mut m.address;
    set(&mut a.country, &file.address.country);
    set(&mut a.province, &file.address.province);
    set(&mut a.city, &file.address.city);
    set(&mut a.district, &file.address.district);
    set(&mut a.street, &file.address.street);
    set(&mut a.postcode, &file.address.postcode);
    for t in &file.tags {
        if !m.tags.contains(t) {
            m.tags.push(t.clone());
        }
    }
    if file.visibility.is_some() {
        m.visibility = file.visibility;
    }
    for (k, v) in &file.custom {
        m.custom.insert(k.clone(), v.clone());
    }
    m
}

pub(super) async fn stage_companies(
    tx: &mut Tx,
    b: &BatchContext<'_>,
    rows: Vec<Read<(CompanyRow, Later<CompanyDraft>)>>,
    errors: &mut Vec<RowError>,
) -> Result<Staged> {
    let (ok, mut failed) = good(rows, errors);
    // Keys from the row as read (a row that only updates may not validate on its own), normalised as stored.
    let keys_of = |key: Option<MatchKey>, row: &CompanyRow, _: &Later<CompanyDraft>| -> Vec<String> {
        let key = match key {
            Some(MatchKey::ExternalId) => row.external_id.clone(),
            Some(MatchKey::Domain) => row.input.domain.as_deref().map(guanxi_dedup::domain_key),
            Some(MatchKey::Name) => row.input.name.as_deref().map(guanxi_dedup::company_key),
            _ => None,
        };
        key.filter(|k| !k.is_empty()).into_iter().collect()
    };
    let mut matcher = Matcher::new(b, "company");
    if let Some(key) = b.job.match_key {
        let all: Vec<String> = ok.iter().flat_map(|(r, d)| keys_of(Some(key), r, d)).collect();
        matcher.stored = stored_by_key(tx, ImportObject::Company, key, &all).await?;
    }
    let now = guanxi_core::ids::now();
    let (mut created, mut updated) = (0i64, 0i64);
    let mut undo: Vec<UndoEntry> = Vec::new();
    let mut external: Vec<(String, Uuid)> = Vec::new();
    let mut updates: Vec<(CompanyRow, Uuid)> = Vec::new();
    for (row, d) in ok {
        match matcher.decide(row.line, &keys_of(b.job.match_key, &row, &d)) {
            Decision::Reject(e) => {
                failed += 1;
                errors.push(e);
            }
            Decision::Update(id) => updates.push((row, id)),
            Decision::Create => {
                let made = match d {
                    Ok(d) => crate::companies::insert_in(tx, b.actor, &d, now).await,
                    Err(e) => Err(StoreError::Invalid(e)),
                };
                match made {
                    Ok(c) => {
                        created += 1;
                        undo.push((c.id, "created", c.version, None));
                        if let Some(x) = &row.external_id {
                            external.push((x.clone(), c.id));
                        }
                    }
                    Err(StoreError::Invalid(e)) => {
                        failed += 1;
                        errors.extend(field_errors(row.line, &row.origins, e));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    if !updates.is_empty() {
        let ids: Vec<Uuid> = updates.iter().map(|u| u.1).collect();
        let mut current: HashMap<Uuid, Company> = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut sql = tx.sql(&format!("SELECT {} FROM companies c WHERE c.id IN (", crate::companies::COLUMNS));
            crate::products::push_list(&mut sql, chunk.iter().map(|id| Arg::Uuid(*id)));
            sql.push(")");
            let rows: Vec<crate::companies::CompanyRow> = tx.fetch_all(sql).await?;
            current.extend(rows.into_iter().map(|r| r.into_company()).map(|c| (c.id, c)));
        }
        for (row, id) in updates {
            let Some(cur) = current.get(&id) else {
                failed += 1;
                errors.push(RowError::new(row.line, None, "not_found", "the matching company was deleted meanwhile"));
                continue;
            };
            let draft = match merge_company(cur, &row.input).validate(b.rules.custom_fields) {
                Ok(d) => d,
                Err(e) => {
                    failed += 1;
                    errors.extend(field_errors(row.line, &row.origins, e));
                    continue;
                }
            };
            match crate::companies::update_in_tx(tx, b.actor, id, cur.version, &draft).await? {
                Some(after) => {
                    updated += 1;
                    undo.push((id, "updated", after.version, serde_json::to_string(cur).ok()));
                    if let Some(x) = &row.external_id {
                        external.push((x.clone(), id));
                    }
                }
                None => {
                    failed += 1;
                    errors.push(not_changeable(row.line, "company", id));
                }
            }
        }
    }
    write_undo(tx, b.job.id, &undo).await?;
    write_external_ids(tx, "company", &external).await?;
    Ok(Staged { created, updated, failed })
}

/// The file's values over a stored product.
fn merge_product(cur: &Product, file: &ProductInput) -> ProductInput {
    let mut m = cur.to_input();
    set(&mut m.sku, &file.sku);
    set(&mut m.name, &file.name);
    set(&mut m.category, &file.category);
    set(&mut m.currency, &file.currency);
    if file.list_price_minor.is_some() {
        m.list_price_minor = file.list_price_minor;
    }
    if file.active.is_some() {
        m.active = file.active;
    }
    for (k, v) in &file.custom {
        m.custom.insert(k.clone(), v.clone());
    }
    m
}

/// A product row's SKU as stored (trimmed).
fn sku_of(row: &ProductRow) -> Option<String> {
    row.input.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

pub(super) async fn stage_products(
    tx: &mut Tx,
    b: &BatchContext<'_>,
    rows: Vec<Read<(ProductRow, Later<ProductDraft>)>>,
    errors: &mut Vec<RowError>,
) -> Result<Staged> {
    // The catalogue is kept by admins and managers; anyone else's product import stops here, with the reason.
    crate::products::require_catalogue_writer(b.actor)?;
    let (ok, mut failed) = good(rows, errors);
    let mut matcher = Matcher::new(b, "product");
    if let Some(key) = b.job.match_key {
        let all: Vec<String> = ok.iter().filter_map(|(r, _)| sku_of(r)).collect();
        matcher.stored = stored_by_key(tx, ImportObject::Product, key, &all).await?;
    }
    let now = guanxi_core::ids::now();
    let (mut created, mut updated) = (0i64, 0i64);
    let mut undo: Vec<UndoEntry> = Vec::new();
    let mut updates: Vec<(ProductRow, Uuid)> = Vec::new();
    for (row, d) in ok {
        let keys: Vec<String> = sku_of(&row).into_iter().collect();
        match (matcher.decide(row.line, &keys), d) {
            (Decision::Reject(e), _) => {
                failed += 1;
                errors.push(e);
            }
            (Decision::Update(id), _) => updates.push((row, id)),
            (Decision::Create, Err(e)) => {
                failed += 1;
                errors.extend(field_errors(row.line, &row.origins, e));
            }
            (Decision::Create, Ok(d)) => {
                let p = crate::products::insert_in(tx, &d, guanxi_core::ids::new_id(), now).await?;
                created += 1;
                undo.push((p.id, "created", p.version, None));
            }
        }
    }
    for (row, id) in updates {
        let cur = crate::products::get_in_tx(tx, id).await?;
        let Some(cur) = cur else {
            failed += 1;
            errors.push(RowError::new(row.line, None, "not_found", "the matching product was deleted meanwhile"));
            continue;
        };
        let draft = match merge_product(&cur, &row.input).validate(b.rules.custom_fields) {
            Ok(d) => d,
            Err(e) => {
                failed += 1;
                errors.extend(field_errors(row.line, &row.origins, e));
                continue;
            }
        };
        match crate::products::update_in_tx(tx, id, cur.version, &draft).await? {
            Some(after) => {
                updated += 1;
                undo.push((id, "updated", after.version, serde_json::to_string(&cur).ok()));
            }
            None => {
                failed += 1;
                errors.push(RowError::new(row.line, None, "conflict", "the matching product changed meanwhile"));
            }
        }
    }
    write_undo(tx, b.job.id, &undo).await?;
    Ok(Staged { created, updated, failed })
}

/// Contacts the caller can see, by the keys rows name them with.
#[derive(Default)]
struct People {
    ids: HashSet<Uuid>,
    email: HashMap<String, Vec<Uuid>>,
    phone: HashMap<String, Vec<Uuid>>,
    external: HashMap<String, Vec<Uuid>>,
}

impl People {
    async fn load<'a>(tx: &mut Tx, actor: &Actor, refs: impl Iterator<Item = &'a ContactRef>) -> Result<People> {
        let (mut ids, mut emails, mut phones, mut external) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in refs {
            ids.extend(r.id.as_ref().map(|i| i.0));
            emails.extend(r.email.as_ref().map(|k| k.value.clone()));
            phones.extend(r.phone.as_ref().map(|k| k.value.clone()));
            external.extend(r.external_id.as_ref().map(|k| k.value.clone()));
        }
        let scope = |sql: &mut Sql| push_visible(sql, "c", actor);
        let point = |kind: &str| {
            format!(
                "SELECT p.value, p.contact_id FROM contact_points p JOIN contacts c ON c.id = p.contact_id WHERE p.kind = '{kind}' AND p.value IN ("
            )
        };
        Ok(People {
            ids: visible_ids(tx, actor, "contacts", &ids).await?,
            email: if emails.is_empty() { HashMap::new() } else { ids_by(tx, &point("email"), &emails, scope).await? },
            phone: if phones.is_empty() { HashMap::new() } else { ids_by(tx, &point("phone"), &phones, scope).await? },
            external: if external.is_empty() {
                HashMap::new()
            } else {
                ids_by(
                    tx,
                    "SELECT x.external_id, x.record_id FROM external_ids x JOIN contacts c ON c.id = x.record_id WHERE x.object = 'contact' AND x.external_id IN (",
                    &external,
                    scope,
                )
                .await?
            },
        })
    }

    /// The contact a row names by its first key (id, external id, email, phone); `None` when it names none.
    fn find(&self, line: u64, r: &ContactRef) -> std::result::Result<Option<Uuid>, RowError> {
        if let Some((id, column)) = &r.id {
            return if self.ids.contains(id) {
                Ok(Some(*id))
            } else {
                Err(RowError::new(line, Some(column), "unknown_contact", format!("no contact {id}")))
            };
        }
        let keyed = [
            (&r.external_id, &self.external, "external id"),
            (&r.email, &self.email, "email"),
            (&r.phone, &self.phone, "phone"),
        ];
        for (k, map, what) in keyed {
            if let Some(Keyed { value, column }) = k {
                return match map.get(value).map(Vec::as_slice) {
                    Some([id]) => Ok(Some(*id)),
                    Some(many) if many.len() > 1 => Err(RowError::new(
                        line,
                        Some(column),
                        "ambiguous_contact",
                        format!("{} contacts have the {what} {value:?}", many.len()),
                    )),
                    _ => Err(RowError::new(
                        line,
                        Some(column),
                        "unknown_contact",
                        format!("no contact has the {what} {value:?}: import or create it first"),
                    )),
                };
            }
        }
        Ok(None)
    }
}

/// Companies the caller can see, by the keys rows name them with.
#[derive(Default)]
struct Firms {
    ids: HashSet<Uuid>,
    name: HashMap<String, Vec<Uuid>>,
    domain: HashMap<String, Vec<Uuid>>,
}

fn clean_domain(v: &str) -> String {
    guanxi_dedup::domain_key(v)
}

impl Firms {
    async fn load<'a>(tx: &mut Tx, actor: &Actor, refs: impl Iterator<Item = &'a CompanyRef>) -> Result<Firms> {
        let (mut ids, mut names, mut domains) = (Vec::new(), Vec::new(), Vec::new());
        for r in refs {
            ids.extend(r.id.as_ref().map(|i| i.0));
            names.extend(r.name.as_ref().map(|k| guanxi_dedup::company_key(&k.value)));
            domains.extend(r.domain.as_ref().map(|k| clean_domain(&k.value)));
        }
        let scope = |sql: &mut Sql| push_visible(sql, "c", actor);
        Ok(Firms {
            ids: visible_ids(tx, actor, "companies", &ids).await?,
            name: if names.is_empty() {
                HashMap::new()
            } else {
                ids_by(tx, "SELECT c.name_key, c.id FROM companies c WHERE c.name_key IN (", &names, scope).await?
            },
            domain: if domains.is_empty() {
                HashMap::new()
            } else {
                ids_by(tx, "SELECT c.domain, c.id FROM companies c WHERE c.domain IN (", &domains, scope).await?
            },
        })
    }

    fn find(&self, line: u64, r: &CompanyRef) -> std::result::Result<Option<Uuid>, RowError> {
        if let Some((id, column)) = &r.id {
            return if self.ids.contains(id) {
                Ok(Some(*id))
            } else {
                Err(RowError::new(line, Some(column), "unknown_company", format!("no company {id}")))
            };
        }
        let keyed = [
            (r.domain.as_ref().map(|k| (clean_domain(&k.value), k)), &self.domain, "domain"),
            (r.name.as_ref().map(|k| (guanxi_dedup::company_key(&k.value), k)), &self.name, "name"),
        ];
        for (k, map, what) in keyed {
            if let Some((key, Keyed { value, column })) = k {
                return match map.get(&key).map(Vec::as_slice) {
                    Some([id]) => Ok(Some(*id)),
                    Some(many) if many.len() > 1 => Err(RowError::new(
                        line,
                        Some(column),
                        "ambiguous_company",
                        format!("{} companies have the {what} {value:?}", many.len()),
                    )),
                    _ => Err(RowError::new(
                        line,
                        Some(column),
                        "unknown_company",
                        format!("no company has the {what} {value:?}: import or create it first"),
                    )),
                };
            }
        }
        Ok(None)
    }
}

/// An order read from its lines: the input, with where each line came from.
struct OrderRead {
    lines: Vec<OrderLineRow>,
    input: OrderInput,
}

impl OrderRead {
    fn first(&self) -> &OrderLineRow {
        &self.lines[0]
    }

    /// The row and column of an order validation error: `lines/i/…` on line i, anything else on the first line.
    fn place(&self, e: guanxi_core::FieldError) -> RowError {
        let msg = format!("{}: {}", e.field, e.message);
        if let Some(rest) = e.field.strip_prefix("lines/")
            && let Some((i, sub)) = rest.split_once('/')
            && let Some(l) = i.parse::<usize>().ok().and_then(|i| self.lines.get(i))
        {
            let column = match sub {
                "product_id" => l.sku.as_ref().map(|k| k.column.as_str()).or(l.origins.column_of("product_id")),
                other => l.origins.column_of(other),
            };
            return RowError::new(l.line, column, e.code, msg);
        }
        let first = self.first();
        let column = match e.field.as_str() {
            "contact_id" => [&first.customer.email, &first.customer.phone, &first.customer.external_id]
                .into_iter()
                .flatten()
                .map(|k| k.column.as_str())
                .next()
                .or(first.customer.id.as_ref().map(|i| i.1.as_str())),
            f => first.origins.column_of(f),
        };
        RowError::new(first.line, column, e.code, msg)
    }
}

/// Rejects every row of an order: the rows' own errors, and `order_rejected` on the rows that had none.
fn reject_order(lines: &[OrderLineRow], own: Vec<RowError>, errors: &mut Vec<RowError>) -> i64 {
    let bad: HashSet<u64> = own.iter().map(|e| e.line).collect();
    errors.extend(own);
    for l in lines.iter().filter(|l| !bad.contains(&l.line)) {
        errors.push(RowError::new(l.line, None, "order_rejected", "another line of this order has errors"));
    }
    lines.len() as i64
}

pub(super) async fn stage_orders(
    db: &Db,
    tx: &mut Tx,
    b: &BatchContext<'_>,
    groups: Vec<OrderGroup>,
    errors: &mut Vec<RowError>,
) -> Result<Staged> {
    let mut failed = 0i64;
    // 1. An order with a bad line, or too many, is rejected whole.
    let mut whole: Vec<Vec<OrderLineRow>> = Vec::with_capacity(groups.len());
    for g in groups {
        if g.dropped == 0 && g.lines.iter().all(|l| l.is_ok()) {
            whole.push(g.lines.into_iter().filter_map(|l| l.ok()).collect());
            continue;
        }
        failed += g.rows() as i64;
        let first = g
            .lines
            .iter()
            .map(|l| l.as_ref().map(|x| x.line).unwrap_or_else(|e| e.first().map(|e| e.line).unwrap_or(0)))
            .next();
        let mut ok = Vec::new();
        let mut own = Vec::new();
        for l in g.lines {
            match l {
                Ok(l) => ok.push(l),
                Err(e) => own.extend(e),
            }
        }
        if g.dropped > 0
            && let Some(line) = first
        {
            own.push(RowError::new(line, None, "too_many", "an order has at most 500 lines"));
        }
        let bad: HashSet<u64> = own.iter().map(|e| e.line).collect();
        errors.extend(own);
        for l in ok.iter().filter(|l| !bad.contains(&l.line)) {
            errors.push(RowError::new(l.line, None, "order_rejected", "another line of this order has errors"));
        }
    }
    // 2. Customers (contacts the caller can see) and products (the catalogue, by SKU or id) for the whole batch.
    let refs = whole.iter().filter_map(|ls| ls.iter().map(|l| &l.customer).find(|c| !c.is_empty()));
    let people = People::load(tx, b.actor, refs).await?;
    let skus: Vec<String> = whole.iter().flatten().filter_map(|l| l.sku.as_ref().map(|k| k.value.clone())).collect();
    let by_sku = ids_by(tx, "SELECT c.sku, c.id FROM products c WHERE c.sku IN (", &skus, |_| {}).await?;
    let mut product_ids: Vec<Uuid> = by_sku.values().flatten().copied().collect();
    product_ids.extend(whole.iter().flatten().filter_map(|l| l.product_id));
    let facts: Vec<ProductFacts> = crate::products::facts(db, &product_ids).await?;
    // 3. Each order's input, validated as the API validates it.
    let now = guanxi_core::ids::now();
    let mut ready: Vec<(OrderRead, guanxi_core::order::OrderDraft)> = Vec::new();
    for lines in whole {
        let mut own: Vec<RowError> = Vec::new();
        let first_with = |f: fn(&OrderLineRow) -> bool| lines.iter().find(|l| f(l));
        let customer = lines.iter().map(|l| (l.line, &l.customer)).find(|(_, c)| !c.is_empty());
        let contact_id = match customer {
            Some((line, c)) => people.find(line, c).unwrap_or_else(|e| {
                own.push(e);
                None
            }),
            None => {
                own.push(RowError::new(
                    lines[0].line,
                    None,
                    "required",
                    "no customer (email, phone or id) on this order",
                ));
                None
            }
        };
        let mut line_inputs = Vec::with_capacity(lines.len());
        for l in &lines {
            let product_id = match &l.sku {
                Some(k) => match by_sku.get(&k.value).and_then(|ids| ids.first()) {
                    Some(id) => Some(*id),
                    None => {
                        own.push(RowError::new(
                            l.line,
                            Some(&k.column),
                            "unknown_product",
                            format!("no product has the SKU {:?}: import or create it first", k.value),
                        ));
                        None
                    }
                },
                None => l.product_id,
            };
            line_inputs.push(OrderLineInput {
                product_id,
                description: l.description.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                discount_minor: l.discount_minor,
            });
        }
        let first = &lines[0];
        if first.ordered_at.is_none() {
            let column = first.origins.column_of("ordered_at");
            own.push(RowError::new(first.line, column, "required", "ordered_at: the order date is required"));
        }
        let mut custom = serde_json::Map::new();
        for l in &lines {
            for (k, v) in &l.custom {
                custom.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let input = OrderInput {
            number: first.number.clone(),
            // A customer that was not found is already an error of this order; the placeholder keeps validation
            // from adding "contact_id required" to it. Nothing is written with it (the order is rejected).
            contact_id: contact_id.or(Some(Uuid::nil())),
            company_id: None,
            status: first_with(|l| l.status.is_some()).and_then(|l| l.status),
            currency: first_with(|l| l.currency.is_some()).and_then(|l| l.currency).map(|c| c.as_str().to_string()),
            ordered_at: first.ordered_at,
            lines: line_inputs,
            custom,
        };
        let read = OrderRead { lines, input };
        match read.input.validate(&facts, b.rules.custom_fields, now) {
            Ok(d) if own.is_empty() => ready.push((read, d)),
            Ok(_) => failed += reject_order(&read.lines, own, errors),
            Err(e) => {
                // A line already reported (an unknown product) is not reported again for what that left empty.
                let reported: HashSet<u64> = own.iter().map(|x| x.line).collect();
                own.extend(e.errors.into_iter().map(|f| read.place(f)).filter(|x| !reported.contains(&x.line)));
                failed += reject_order(&read.lines, own, errors);
            }
        }
    }
    // 4. Match on the order number, then create or update each order whole.
    let mut matcher = Matcher::new(b, "order");
    if let Some(key) = b.job.match_key {
        let all: Vec<String> = ready.iter().filter_map(|(_, d)| d.number.clone()).collect();
        matcher.stored = stored_by_key(tx, ImportObject::Order, key, &all).await?;
    }
    let (mut created, mut updated) = (0i64, 0i64);
    let mut undo: Vec<UndoEntry> = Vec::new();
    for (read, mut d) in ready {
        let rows = read.lines.len() as i64;
        let keys: Vec<String> = d.number.iter().cloned().collect();
        match matcher.decide(read.first().line, &keys) {
            Decision::Reject(e) => failed += reject_order(&read.lines, vec![e], errors),
            Decision::Create => {
                match crate::orders::insert_in(tx, b.actor, &d, guanxi_core::ids::new_id(), now).await {
                    Ok(o) => {
                        created += rows;
                        undo.push((o.id, "created", o.version, None));
                    }
                    Err(StoreError::Invalid(e)) => {
                        let own = e.errors.into_iter().map(|f| read.place(f)).collect();
                        failed += reject_order(&read.lines, own, errors);
                    }
                    Err(e) => return Err(e),
                }
            }
            Decision::Update(id) => {
                let cur = match crate::orders::get(db, b.actor, id).await {
                    Ok(o) => o,
                    Err(StoreError::NotFound) => {
                        let e = not_changeable(read.first().line, "order", id);
                        failed += reject_order(&read.lines, vec![e], errors);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                // The file's order replaces the stored one (lines included); its company stays.
                d.company_id = cur.company_id;
                let parents = check_parents(tx, b.actor, Some(d.contact_id), d.company_id, true).await;
                let after = match parents {
                    Ok(()) => crate::orders::update_in_tx(tx, b.actor, id, cur.version, &d).await?,
                    Err(StoreError::Invalid(e)) => {
                        let own = e.errors.into_iter().map(|f| read.place(f)).collect();
                        failed += reject_order(&read.lines, own, errors);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match after {
                    Some(after) => {
                        updated += rows;
                        undo.push((id, "updated", after.version, serde_json::to_string(&cur).ok()));
                    }
                    None => {
                        let e = not_changeable(read.first().line, "order", id);
                        failed += reject_order(&read.lines, vec![e], errors);
                    }
                }
            }
        }
    }
    write_undo(tx, b.job.id, &undo).await?;
    Ok(Staged { created, updated, failed })
}

/// The file's values over a stored activity.
fn merge_activity(cur: &Activity, file: &ActivityInput) -> ActivityInput {
    let mut m = cur.to_input();
    if file.kind.is_some() {
        m.kind = file.kind;
    }
    if file.contact_id.is_some() || file.company_id.is_some() {
        m.contact_id = file.contact_id;
        m.company_id = file.company_id;
    }
    if file.occurred_at.is_some() {
        m.occurred_at = file.occurred_at;
    }
    set(&mut m.subject, &file.subject);
    set(&mut m.body, &file.body);
    m
}

pub(super) async fn stage_activities(
    db: &Db,
    tx: &mut Tx,
    b: &BatchContext<'_>,
    rows: Vec<Read<ActivityRow>>,
    errors: &mut Vec<RowError>,
) -> Result<Staged> {
    let (ok, mut failed) = good(rows, errors);
    let people = People::load(tx, b.actor, ok.iter().map(|a| &a.contact)).await?;
    let firms = Firms::load(tx, b.actor, ok.iter().map(|a| &a.company)).await?;
    let now = guanxi_core::ids::now();
    let mut ready: Vec<(ActivityRow, ActivityInput, guanxi_core::activity::ActivityDraft)> = Vec::new();
    for row in ok {
        let mut own = Vec::new();
        let contact_id = people.find(row.line, &row.contact).unwrap_or_else(|e| {
            own.push(e);
            None
        });
        let company_id = firms.find(row.line, &row.company).unwrap_or_else(|e| {
            own.push(e);
            None
        });
        if row.occurred_at.is_none() {
            let column = row.origins.column_of("occurred_at");
            own.push(RowError::new(row.line, column, "required", "occurred_at: when it happened is required"));
        }
        let input = ActivityInput {
            kind: Some(row.kind.unwrap_or(ActivityKind::Note)),
            contact_id,
            company_id,
            occurred_at: row.occurred_at,
            subject: row.subject.clone(),
            body: row.body.clone(),
            metadata: serde_json::Map::new(),
        };
        match input.validate(now) {
            // A parent that was named but not found is reported as such, not as a missing parent.
            Ok(d) if own.is_empty() => ready.push((row, input, d)),
            Ok(_) => {
                failed += 1;
                errors.extend(own);
            }
            Err(e) => {
                failed += 1;
                let named = !row.contact.is_empty() || !row.company.is_empty();
                own.extend(
                    field_errors(row.line, &row.origins, e)
                        .into_iter()
                        .filter(|x| !(named && x.code == "required" && x.message.starts_with("contact_id"))),
                );
                errors.extend(own);
            }
        }
    }
    let mut matcher = Matcher::new(b, "activity");
    if let Some(key) = b.job.match_key {
        let all: Vec<String> = ready.iter().filter_map(|(r, _, _)| r.external_id.clone()).collect();
        matcher.stored = stored_by_key(tx, ImportObject::Activity, key, &all).await?;
    }
    let (mut created, mut updated) = (0i64, 0i64);
    let mut undo: Vec<UndoEntry> = Vec::new();
    let mut external: Vec<(String, Uuid)> = Vec::new();
    for (row, input, d) in ready {
        let keys: Vec<String> = row.external_id.iter().cloned().collect();
        match matcher.decide(row.line, &keys) {
            Decision::Reject(e) => {
                failed += 1;
                errors.push(e);
            }
            Decision::Create => {
                match crate::activities::insert_in(tx, b.actor, &d, guanxi_core::ids::new_id(), now).await {
                    Ok(a) => {
                        created += 1;
                        undo.push((a.id, "created", a.version, None));
                        if let Some(x) = &row.external_id {
                            external.push((x.clone(), a.id));
                        }
                    }
                    Err(StoreError::Invalid(e)) => {
                        failed += 1;
                        errors.extend(field_errors(row.line, &row.origins, e));
                    }
                    Err(e) => return Err(e),
                }
            }
            Decision::Update(id) => {
                let cur = match crate::activities::get(db, b.actor, id).await {
                    Ok(a) => a,
                    Err(StoreError::NotFound) => {
                        failed += 1;
                        errors.push(not_changeable(row.line, "activity", id));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let draft = match merge_activity(&cur, &input).validate(now) {
                    Ok(d) => d,
                    Err(e) => {
                        failed += 1;
                        errors.extend(field_errors(row.line, &row.origins, e));
                        continue;
                    }
                };
                if let Err(e) = check_parents(tx, b.actor, draft.contact_id, draft.company_id, false).await {
                    match e {
                        StoreError::Invalid(e) => {
                            failed += 1;
                            errors.extend(field_errors(row.line, &row.origins, e));
                            continue;
                        }
                        e => return Err(e),
                    }
                }
                match crate::activities::update_in_tx(tx, b.actor, id, cur.version, &draft).await? {
                    Some(after) => {
                        updated += 1;
                        undo.push((id, "updated", after.version, serde_json::to_string(&cur).ok()));
                        if let Some(x) = &row.external_id {
                            external.push((x.clone(), id));
                        }
                    }
                    None => {
                        failed += 1;
                        errors.push(not_changeable(row.line, "activity", id));
                    }
                }
            }
        }
    }
    write_undo(tx, b.job.id, &undo).await?;
    write_external_ids(tx, "activity", &external).await?;
    Ok(Staged { created, updated, failed })
}

/// Puts a record an import updated back as it was (its snapshot), unless it changed since or the caller may not
/// change it; `true` when restored.
pub(super) async fn restore(
    tx: &mut Tx,
    actor: &Actor,
    object: ImportObject,
    id: Uuid,
    version: i64,
    snapshot: &Value,
) -> Result<bool> {
    let restored = match object {
        ImportObject::Contact => match serde_json::from_value::<guanxi_core::contact::Contact>(snapshot.clone()) {
            Ok(c) => {
                crate::contacts::update_in_tx(tx, actor, id, version, &crate::contacts::draft_of(&c)).await?.is_some()
            }
            Err(_) => false,
        },
        ImportObject::Company => match serde_json::from_value::<Company>(snapshot.clone()) {
            Ok(c) => {
                crate::companies::update_in_tx(tx, actor, id, version, &crate::companies::draft_of(&c)).await?.is_some()
            }
            Err(_) => false,
        },
        ImportObject::Product => match serde_json::from_value::<Product>(snapshot.clone()) {
            Ok(p) if crate::products::require_catalogue_writer(actor).is_ok() => {
                crate::products::update_in_tx(tx, id, version, &crate::products::draft_of(&p)).await?.is_some()
            }
            _ => false,
        },
        ImportObject::Order => match serde_json::from_value::<Order>(snapshot.clone()) {
            Ok(o) => match check_parents(tx, actor, Some(o.contact_id), o.company_id, true).await {
                Ok(()) => {
                    crate::orders::update_in_tx(tx, actor, id, version, &crate::orders::draft_of(&o)).await?.is_some()
                }
                Err(StoreError::Invalid(_)) => false,
                Err(e) => return Err(e),
            },
            Err(_) => false,
        },
        ImportObject::Activity => match serde_json::from_value::<Activity>(snapshot.clone()) {
            Ok(a) => crate::activities::update_in_tx(tx, actor, id, version, &crate::activities::draft_of(&a))
                .await?
                .is_some(),
            Err(_) => false,
        },
    };
    Ok(restored)
}
