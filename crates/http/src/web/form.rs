//! What every record page shares: form inputs with their field errors, posted form data, list tables, record
//! pages, money and time inputs. The pages of companies, products, orders, activities and tasks are built from
//! these parts and three templates (`record_form.html`, `record_list.html`, `record_show.html`), so labels,
//! error display and keyboard behaviour are the same everywhere.

use super::{Cx, Locale, OrPage, Page, WebError, WebResult, WebUser, page};
use crate::AppState;
use guanxi_core::ValidationErrors;
use guanxi_store::StoreError;
use uuid::Uuid;

/// One choice of a select input.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Opt {
        let value = value.into();
        let selected = value == current;
        Opt { value, label: label.into(), selected }
    }
}

/// One labelled input of a form. Its `name` is the validation path of the field with `/` written as `_`
/// (`address/city` -> `address_city`, `lines/0/quantity` -> `lines_0_quantity`), so field errors find their input.
pub struct Input {
    pub name: String,
    pub label: String,
    /// `text`, `email`, `url`, `number`, `date`, `datetime-local`, `password`, `select`, `textarea`, `checkbox`,
    /// `checkboxes` (one checkbox per option, each `selected` one checked).
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub error: Option<&'static str>,
    pub required: bool,
    pub hint: &'static str,
    /// Extra attributes for number inputs (`step`), as `inputmode` hints for phones.
    pub step: &'static str,
}

impl Input {
    pub fn new(
        name: impl Into<String>,
        label: impl Into<String>,
        kind: &'static str,
        value: impl Into<String>,
    ) -> Input {
        Input {
            name: name.into(),
            label: label.into(),
            kind,
            value: value.into(),
            options: Vec::new(),
            error: None,
            required: false,
            hint: "",
            step: "",
        }
    }

    pub fn text(name: &str, label: &'static str, value: impl Into<String>) -> Input {
        Input::new(name, label, "text", value)
    }

    pub fn select(name: &str, label: &'static str, options: Vec<Opt>) -> Input {
        let value = options.iter().find(|o| o.selected).map(|o| o.value.clone()).unwrap_or_default();
        Input { options, ..Input::new(name, label, "select", value) }
    }

    pub fn required(mut self) -> Input {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Input {
        self.hint = hint;
        self
    }

    pub fn money(name: &str, label: &'static str, value: impl Into<String>) -> Input {
        Input { step: "0.01", ..Input::new(name, label, "number", value) }
    }

    /// The `id` of the input element.
    pub fn id(&self) -> String {
        format!("f-{}", self.name)
    }
}

/// The input name a validation error path belongs to.
pub fn input_name(path: &str) -> String {
    path.replace(['/', '.'], "_")
}

/// Puts each error at its input; returns the messages of errors no input shows.
pub fn attach_errors(inputs: &mut [&mut Input], errors: &ValidationErrors, locale: Locale) -> Vec<&'static str> {
    let mut other = Vec::new();
    for e in &errors.errors {
        let name = input_name(&e.field);
        match inputs.iter_mut().find(|i| i.name == name) {
            Some(i) if i.error.is_none() => i.error = Some(locale.error(e.code)),
            Some(_) => {}
            None => other.push(locale.error(e.code)),
        }
    }
    other
}

/// A posted form as its pairs, in order (repeated names allowed).
#[derive(Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name) == "1"
    }
}

/// Money typed by a person (`1,234.5`, `¥99`, `12`) as minor units with `digits` decimals; `None` when it is not a
/// plain non-negative amount.
pub fn parse_money(s: &str, digits: u32) -> Option<i64> {
    let cleaned: String = s.trim().chars().filter(|c| !matches!(c, ',' | '，' | ' ' | '¥' | '$' | '€')).collect();
    if cleaned.is_empty() || cleaned.len() > 20 {
        return None;
    }
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > digits as usize {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac_val: i64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let scale = 10i64.pow(digits);
    let frac_scaled = frac_val * 10i64.pow(digits - frac.len() as u32);
    whole.checked_mul(scale)?.checked_add(frac_scaled)
}

pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}

/// A cell of a list table; the first cell of a row is its header.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub nowrap: bool,
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Cell {
        Cell { text: t.into(), href: None, nowrap: false }
    }

    pub fn link(t: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell { text: t.into(), href: Some(href.into()), nowrap: false }
    }

    pub fn nowrap(t: impl Into<String>) -> Cell {
        Cell { text: t.into(), href: None, nowrap: true }
    }
}

/// A table of related records on a record page (a company's contacts, an order's lines).
pub struct Section {
    pub id: &'static str,
    pub heading: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: &'static str,
    /// Links under the table: (href, text).
    pub links: Vec<(String, &'static str)>,
}

/// A form page: create or edit one record.
#[derive(askama::Template)]
#[template(path = "record_form.html")]
pub struct FormPage {
    pub cx: Cx,
    pub heading: String,
    pub back_url: String,
    pub back_label: &'static str,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub inputs: Vec<Input>,
    /// Groups of inputs shown as fieldsets (order lines).
    pub groups: Vec<(String, Vec<Input>)>,
    pub other_errors: Vec<&'static str>,
    pub has_errors: bool,
    pub submit: &'static str,
    /// The delete question of the record the form edits, for records whose form is their page.
    pub delete_url: Option<String>,
}

/// A list page: filters (a GET form), a table, a total and cursor pages.
#[derive(askama::Template)]
#[template(path = "record_list.html")]
pub struct ListPage {
    pub cx: Cx,
    pub heading: &'static str,
    pub action: &'static str,
    pub new_links: Vec<(String, &'static str)>,
    pub filters: Vec<Input>,
    pub errors: Vec<String>,
    pub total: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: &'static str,
    pub next_url: Option<String>,
    pub first_url: Option<String>,
    /// What the page says it just did (`?deleted=1`: a record was deleted).
    pub notice: Option<&'static str>,
}

/// One record: a header card with facts, action links, related tables and maybe a timeline.
#[derive(askama::Template)]
#[template(path = "record_show.html")]
pub struct ShowPage {
    pub cx: Cx,
    pub back_url: String,
    pub back_label: &'static str,
    pub heading: String,
    pub sub: String,
    pub tags: Vec<String>,
    /// (label, value, link)
    pub facts: Vec<(&'static str, String, Option<String>)>,
    /// The record's custom values: (label, value, link).
    pub custom_facts: Vec<(String, String, Option<String>)>,
    pub actions: Vec<(String, &'static str)>,
    pub saved: bool,
    pub sections: Vec<Section>,
    pub timeline: Option<Vec<super::contacts::TimelineItem>>,
    pub older_url: Option<String>,
}

page!(FormPage, ListPage, ShowPage);

/// A list URL with another cursor (or none, for the first page).
pub fn page_url(path: &str, query: &str, cursor: Option<&str>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "cursor" && k != "deleted" {
            ser.append_pair(&k, &v);
        }
    }
    if let Some(c) = cursor {
        ser.append_pair("cursor", c);
    }
    format!("{path}?{}", ser.finish())
}

/// The total line of a list page: "1,234 companies" / "10,000+ companies".
pub fn total_text(locale: Locale, key: &str, total: u64, estimate: bool) -> String {
    let n = locale.int(total);
    let n = if estimate { format!("{n}+") } else { n };
    locale.t1(key, &n)
}

/// The list query of a list page: the API's own `filter=`/`sort=`/`q=`/`cursor=`/`limit=` parameters plus the
/// conditions the page's simple filter inputs stand for. Bad input comes back as messages to show above the list.
pub fn list_query(
    raw: &crate::extract::RawQuery,
    extra: &[String],
    fields: &[guanxi_core::filter::FieldSpec],
    defs: &[guanxi_core::custom_field::CustomFieldDef],
    me: Uuid,
    locale: Locale,
) -> Result<guanxi_core::filter::ListQuery, Vec<String>> {
    let mut filters = raw.filters.clone();
    filters.extend(extra.iter().cloned());
    let limit = raw.limit().ok().flatten().map(|l| l.clamp(1, 200)).unwrap_or(50);
    let params = guanxi_core::filter::ListParams {
        filters: &filters,
        sort: raw.sort.as_deref(),
        limit: Some(limit),
        cursor: raw.cursor.as_deref(),
        q: raw.q.as_deref(),
    };
    guanxi_core::filter::parse_list_query(&params, fields, defs, me).map_err(|e| messages(&e, locale))
}

/// A list page of the records under `path` (`/companies`, `/tasks`), without its new links, filters and columns,
/// which the caller adds: the first page `query` selects (or why the query is bad), its rows, its total and cursor
/// links. Catalogue entries follow the path: `companies.title`, `companies.total`, `companies.empty`; `section` is
/// the nav entry that stays lit.
#[allow(clippy::too_many_arguments)]
pub async fn list_page<T>(
    w: &WebUser,
    section: &'static str,
    path: &'static str,
    uri: &axum::http::Uri,
    raw: &crate::extract::RawQuery,
    query: Result<guanxi_core::filter::ListQuery, Vec<String>>,
    fetch: impl AsyncFnOnce(&guanxi_core::filter::ListQuery) -> Result<guanxi_store::Page<T>, StoreError>,
    rows: impl AsyncFnOnce(&[T]) -> WebResult<Vec<Vec<Cell>>>,
) -> WebResult<ListPage> {
    let locale = w.locale;
    let key = path.trim_start_matches('/');
    let params = uri.query().unwrap_or("");
    let mut page = ListPage {
        cx: Cx::for_user(
            w,
            section,
            uri.path_and_query().map(|p| p.as_str()).unwrap_or(path),
            locale.t(&format!("{key}.title")).to_string(),
        ),
        heading: locale.t(&format!("{key}.title")),
        action: path,
        new_links: vec![],
        filters: vec![],
        errors: vec![],
        total: String::new(),
        columns: vec![],
        rows: vec![],
        empty: locale.t(&format!("{key}.empty")),
        next_url: None,
        first_url: raw.cursor.as_ref().map(|_| page_url(path, params, None)),
        notice: raw.get("deleted").map(|_| locale.t("delete.done")),
    };
    match query {
        Err(e) => page.errors = e,
        Ok(lq) => match fetch(&lq).await {
            Ok(found) => {
                page.rows = rows(&found.items).await?;
                page.total = total_text(locale, &format!("{key}.total"), found.total, found.total_is_estimate);
                page.next_url = found.next_cursor.map(|c| page_url(path, params, Some(&c)));
            }
            Err(StoreError::Invalid(e)) => page.errors = messages(&e, locale),
            Err(e) => return Err(WebError::store(e, locale)),
        },
    }
    Ok(page)
}

/// Validation errors as `field: message` lines (for errors not tied to one input, such as list filters).
pub fn messages(e: &ValidationErrors, locale: Locale) -> Vec<String> {
    e.errors.iter().map(|e| format!("{}: {}", e.field, locale.error(e.code))).collect()
}

/// The input of one custom field, filled from the stored value or from a posted form: a select for a single
/// choice, a group of checkboxes for a multiple choice, a checkbox for yes/no, and number, date and URL inputs.
pub fn custom_input(
    d: &guanxi_core::custom_field::CustomFieldDef,
    stored: Option<&serde_json::Value>,
    posted: Option<&FormData>,
    locale: Locale,
) -> Input {
    use guanxi_core::custom_field::CustomFieldKind as K;
    use serde_json::Value;
    let name = format!("custom_{}", d.key);
    let value = match (posted, stored) {
        (Some(f), _) => f.get(&name).to_string(),
        (None, None | Some(Value::Null)) => String::new(),
        (None, Some(Value::String(s))) => s.clone(),
        (None, Some(Value::Bool(b))) => if *b { "1" } else { "" }.to_string(),
        (None, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        (None, Some(v @ Value::Object(_))) => {
            money_value(v).map(|(m, c)| guanxi_core::money::format_minor(m, c)).unwrap_or_default()
        }
        (None, Some(Value::Number(n))) => number_text(n),
    };
    let label = d.label.clone();
    let mut input = match d.kind {
        K::SingleSelect => {
            let mut opts = vec![Opt::new("", locale.t("form.none"), &value)];
            opts.extend(d.options.iter().map(|o| Opt::new(o.clone(), o.clone(), &value)));
            Input { options: opts, ..Input::new(name, label, "select", value) }
        }
        K::MultiSelect => {
            let picked: Vec<String> = match (posted, stored) {
                (Some(f), _) => f.all(&name).into_iter().map(str::to_string).collect(),
                (None, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                _ => vec![],
            };
            let options = d
                .options
                .iter()
                .map(|o| Opt { value: o.clone(), label: o.clone(), selected: picked.contains(o) })
                .collect();
            Input { options, ..Input::new(name, label, "checkboxes", value) }
        }
        K::Bool => Input::new(name, label, "checkbox", value),
        K::Date => Input::new(name, label, "date", value),
        K::Number => Input { step: "any", ..Input::new(name, label, "number", value) },
        K::Money => {
            let currency = stored.and_then(money_value).map(|(_, c)| c).unwrap_or(guanxi_core::money::Currency::CNY);
            // The currency is part of the label: the amount is kept in it when saved.
            Input { step: "0.01", ..Input::new(name, format!("{label} ({currency})"), "number", value) }
        }
        K::Url => Input::new(name, label, "url", value),
        K::Text => Input::new(name, label, "text", value),
    };
    input.required = d.required;
    input
}

/// Inputs for an object's custom fields, filled from the record's values or from a posted form.
pub fn custom_inputs(
    defs: &[guanxi_core::custom_field::CustomFieldDef],
    current: &serde_json::Map<String, serde_json::Value>,
    posted: Option<&FormData>,
    locale: Locale,
) -> Vec<Input> {
    defs.iter().map(|d| custom_input(d, current.get(&d.key), posted, locale)).collect()
}

/// A number without a fraction as an integer (validation stores custom numbers as floats: `42.0`).
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // Below 2^53 every whole float is exact, so the cast loses nothing.
        (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

/// A number as typed into an input: `42`, not `42.0`.
fn number_text(n: &serde_json::Number) -> String {
    whole_number(n).map(|i| i.to_string()).unwrap_or_else(|| n.to_string())
}

/// A stored money value: `{"amount_minor": 1999, "currency": "CNY"}`.
fn money_value(v: &serde_json::Value) -> Option<(i64, guanxi_core::money::Currency)> {
    let amount = v.get("amount_minor")?.as_i64()?;
    let currency = guanxi_core::money::Currency::parse(v.get("currency")?.as_str()?, "").ok()?;
    Some((amount, currency))
}

/// The custom values a form posted, as the JSON the core validation checks (a value it cannot read is passed on
/// as text so validation reports it at its field). Money keeps the currency of the value stored in `current`.
pub fn custom_values(
    defs: &[guanxi_core::custom_field::CustomFieldDef],
    form: &FormData,
    current: Option<&serde_json::Map<String, serde_json::Value>>,
) -> serde_json::Map<String, serde_json::Value> {
    use guanxi_core::custom_field::CustomFieldKind as K;
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for d in defs {
        let name = format!("custom_{}", d.key);
        let raw = form.get(&name).trim();
        let v = match d.kind {
            K::Bool => Value::Bool(form.checked(&name)),
            K::MultiSelect => {
                let picked: Vec<Value> = form
                    .all(&name)
                    .into_iter()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect();
                if picked.is_empty() {
                    continue;
                }
                Value::Array(picked)
            }
            _ if raw.is_empty() => continue,
            K::Number => raw
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| raw.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::String(raw.to_string())),
            K::Money => {
                let currency = current
                    .and_then(|c| c.get(&d.key))
                    .and_then(money_value)
                    .map(|(_, c)| c)
                    .unwrap_or(guanxi_core::money::Currency::CNY);
                match parse_money(raw, currency.minor_digits()) {
                    Some(m) => serde_json::json!({"amount_minor": m, "currency": currency.as_str()}),
                    None => Value::String(raw.to_string()),
                }
            }
            _ => Value::String(raw.to_string()),
        };
        out.insert(d.key.clone(), v);
    }
    out
}

/// A stored custom value as a page shows it, in the user's language: money with its currency, dates, yes/no,
/// the choices of a multiple choice.
pub fn custom_shown(d: &guanxi_core::custom_field::CustomFieldDef, v: &serde_json::Value, locale: Locale) -> String {
    use guanxi_core::custom_field::CustomFieldKind as K;
    use serde_json::Value;
    match (d.kind, v) {
        (_, Value::Null) => String::new(),
        (K::Bool, Value::Bool(b)) => locale.t(if *b { "form.yes" } else { "form.no" }).to_string(),
        (K::Money, v) if money_value(v).is_some() => {
            money_value(v).map(|(m, c)| locale.money(m, &c)).unwrap_or_default()
        }
        (K::Date, Value::String(s)) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(date) => locale.date(date),
            Err(_) => s.clone(),
        },
        (K::Number, Value::Number(n)) => match whole_number(n) {
            Some(i) if i < 0 => format!("-{}", locale.int(i.unsigned_abs())),
            Some(i) => locale.int(i.unsigned_abs()),
            None => n.to_string(),
        },
        (_, Value::Array(a)) => locale.join(&a.iter().filter_map(Value::as_str).collect::<Vec<_>>()),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// A record's custom values as facts of its page: (label, shown value, link for a URL), in the fields' order.
pub fn custom_facts(
    defs: &[guanxi_core::custom_field::CustomFieldDef],
    values: &serde_json::Map<String, serde_json::Value>,
    locale: Locale,
) -> Vec<(String, String, Option<String>)> {
    defs.iter()
        .filter_map(|d| {
            let v = values.get(&d.key)?;
            let shown = custom_shown(d, v, locale);
            let link =
                (d.kind == guanxi_core::custom_field::CustomFieldKind::Url && !shown.is_empty()).then(|| shown.clone());
            Some((d.label.clone(), shown, link))
        })
        .collect()
}

/// Which record a reference input names.
#[derive(Clone, Copy)]
pub enum RefKind {
    Contact,
    Company,
}

/// Reads a contact or company reference typed into a form: an id, the name it was filled with (kept as
/// `<name>_ref`), or words that find exactly one record the caller can see. `Err` is an error code for the input.
pub async fn resolve_ref(
    state: &AppState,
    w: &WebUser,
    kind: RefKind,
    f: &FormData,
    name: &str,
) -> Result<Option<Uuid>, &'static str> {
    let text = f.get(name).trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(id) = parse_uuid(text) {
        return Ok(Some(id));
    }
    if let Some(prev) = parse_uuid(f.get(&format!("{name}_ref")))
        && ref_label(state, w, kind, Some(prev)).await == text
    {
        return Ok(Some(prev));
    }
    let hits: Vec<(Uuid, String)> = match kind {
        RefKind::Contact => guanxi_store::contacts::search(&state.db, &w.actor, text, 10)
            .await
            .map_err(|_| "not_found")?
            .into_iter()
            .map(|(c, _)| (c.id, c.display_name))
            .collect(),
        RefKind::Company => guanxi_store::companies::search(&state.db, &w.actor, text, 10)
            .await
            .map_err(|_| "not_found")?
            .into_iter()
            .map(|(c, _)| (c.id, c.name))
            .collect(),
    };
    let exact: Vec<&(Uuid, String)> = hits.iter().filter(|(_, n)| n == text).collect();
    match (exact.len(), hits.len()) {
        (1, _) => Ok(Some(exact[0].0)),
        (_, 0) => Err("not_found"),
        (0, 1) => Ok(Some(hits[0].0)),
        _ => Err("ambiguous"),
    }
}

/// The contact and company a form's reference inputs (`contact_id`, `company_id`) name; an input that finds no single
/// record the caller can see is reported in `errs` and read as none.
pub async fn resolve_parents(
    state: &AppState,
    w: &WebUser,
    f: &FormData,
    errs: &mut ValidationErrors,
) -> (Option<Uuid>, Option<Uuid>) {
    let contact = resolve_ref(state, w, RefKind::Contact, f, "contact_id").await.unwrap_or_else(|code| {
        errs.push(guanxi_core::FieldError::new("contact_id", code, "no such contact"));
        None
    });
    let company = resolve_ref(state, w, RefKind::Company, f, "company_id").await.unwrap_or_else(|code| {
        errs.push(guanxi_core::FieldError::new("company_id", code, "no such company"));
        None
    });
    (contact, company)
}

/// The name a reference input shows for a record (empty when the caller cannot see it).
pub async fn ref_label(state: &AppState, w: &WebUser, kind: RefKind, id: Option<Uuid>) -> String {
    let Some(id) = id else { return String::new() };
    match kind {
        RefKind::Contact => {
            guanxi_store::contacts::get(&state.db, &w.actor, id).await.map(|c| c.display_name).unwrap_or_default()
        }
        RefKind::Company => {
            guanxi_store::companies::get(&state.db, &w.actor, id).await.map(|c| c.name).unwrap_or_default()
        }
    }
}

/// The record id in a page's path; a malformed one is a missing page, like an id nobody has.
pub fn record_id(raw: &str, w: &WebUser) -> WebResult<Uuid> {
    parse_uuid(raw).ok_or(WebError::NotFound(w.locale))
}

/// The stored record a form edits (`None` for a create form); a missing or hidden one is an error page.
pub async fn load<T>(
    id: Option<Uuid>,
    locale: Locale,
    get: impl AsyncFnOnce(Uuid) -> Result<T, StoreError>,
) -> WebResult<Option<T>> {
    match id {
        Some(id) => Ok(Some(get(id).await.or_page(locale)?)),
        None => Ok(None),
    }
}

/// A form page with one list of inputs, in the nav `section`; `back` is the link above it as (href, text).
#[allow(clippy::too_many_arguments)]
pub fn record_form(
    w: &WebUser,
    section: &'static str,
    heading: String,
    action: String,
    back: (String, &'static str),
    hidden: Vec<(String, String)>,
    inputs: Vec<Input>,
    other: Vec<&'static str>,
    has_errors: bool,
) -> FormPage {
    FormPage {
        cx: Cx::for_user(w, section, &action, heading.clone()),
        heading,
        back_url: back.0,
        back_label: back.1,
        action,
        hidden,
        inputs,
        groups: vec![],
        other_errors: other,
        has_errors,
        submit: w.locale.t("action.save"),
        delete_url: None,
    }
}

/// The record a form page edits: its name for the heading, its version to detect a concurrent save.
pub struct Editing<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub version: i64,
}

/// The create or edit form of a record kept under `/{section}` (companies, products, orders): the heading, the
/// action and the way back follow from whether it edits a stored record. `hidden` comes before the version.
pub fn section_form(
    w: &WebUser,
    section: &'static str,
    editing: Option<Editing>,
    mut hidden: Vec<(String, String)>,
    inputs: Vec<Input>,
    other: Vec<&'static str>,
    has_errors: bool,
) -> FormPage {
    let locale = w.locale;
    let (heading, action, back) = match editing {
        Some(e) => {
            hidden.push(("version".to_string(), e.version.to_string()));
            (
                locale.t1("companies.edit", e.name),
                format!("/{section}/{}/edit", e.id),
                (format!("/{section}/{}", e.id), locale.t("action.back")),
            )
        }
        None => (
            locale.t(&format!("{section}.new")).to_string(),
            format!("/{section}/new"),
            (format!("/{section}"), locale.t(&format!("{section}.title"))),
        ),
    };
    record_form(w, section, heading, action, back, hidden, inputs, other, has_errors)
}

/// The two POST handlers of a record form, `$create` (`/…/new`) and `$update` (`/…/{id}/edit`), which hand the
/// posted pairs to the module's `$save(state, user, id, form)`.
macro_rules! form_posts {
    ($create:ident, $update:ident, $save:ident) => {
        pub async fn $create(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            w: $crate::web::WebUser,
            ::axum::Form(f): ::axum::Form<Vec<(String, String)>>,
        ) -> $crate::web::WebResult<::axum::response::Response> {
            $save(&state, &w, None, $crate::web::form::FormData(f)).await
        }

        pub async fn $update(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            w: $crate::web::WebUser,
            ::axum::extract::Path(raw_id): ::axum::extract::Path<String>,
            ::axum::Form(f): ::axum::Form<Vec<(String, String)>>,
        ) -> $crate::web::WebResult<::axum::response::Response> {
            let id = $crate::web::form::record_id(&raw_id, &w)?;
            $save(&state, &w, Some(id), $crate::web::form::FormData(f)).await
        }
    };
}
pub(crate) use form_posts;

/// Hidden inputs that remember which contact and company the reference inputs were filled with, so a name typed
/// back unchanged keeps pointing at the same record (see [`resolve_ref`]).
pub fn ref_hidden(contact: Option<Uuid>, company: Option<Uuid>) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Some(c) = contact {
        out.push(("contact_id_ref".to_string(), c.to_string()));
    }
    if let Some(c) = company {
        out.push(("company_id_ref".to_string(), c.to_string()));
    }
    out
}

/// Puts a refused form's errors at their inputs; after an edit conflict the conflict notice comes first.
pub fn form_errors(
    inputs: &mut [&mut Input],
    errors: &ValidationErrors,
    conflict: bool,
    locale: Locale,
) -> Vec<&'static str> {
    let mut other = attach_errors(inputs, errors, locale);
    if conflict {
        other.insert(0, locale.t("edit.conflict_body"));
    }
    other
}

/// The core validation's verdict joined with what the form itself could not read (`errs`, reported first): the
/// draft only when both are clean.
pub fn validated<T>(errs: ValidationErrors, verdict: Result<T, ValidationErrors>) -> Result<T, ValidationErrors> {
    match verdict {
        Ok(d) if errs.is_empty() => Ok(d),
        Ok(_) => Err(errs),
        Err(e) => {
            let mut errs = errs;
            errs.errors.extend(e.errors);
            Err(errs)
        }
    }
}

/// A store refusal the form shows again to be corrected.
pub enum Refusal {
    Invalid(ValidationErrors),
    /// Someone saved the record since the form was opened; `current` is the stored version.
    Conflict {
        current: i64,
    },
}

/// Sorts a store error from saving a form: refusals go back to the form, anything else becomes an error page.
/// `unique` is for record types with a unique field a person types (SKU, order number), whose clash is theirs to
/// fix at that input.
pub fn refusal(e: StoreError, unique: bool, locale: Locale) -> WebResult<Refusal> {
    match e {
        StoreError::Invalid(e) => Ok(Refusal::Invalid(e)),
        StoreError::Duplicate { field } if unique => {
            Ok(Refusal::Invalid(guanxi_core::FieldError::new(field, "duplicate", "is already in use").into()))
        }
        StoreError::VersionMismatch { current } => Ok(Refusal::Conflict { current }),
        e => Err(WebError::store(e, locale)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanxi_core::custom_field::CustomFieldDef;

    #[test]
    fn money_is_read_as_minor_units() {
        assert_eq!(parse_money("12", 2), Some(1200));
        assert_eq!(parse_money("1,234.5", 2), Some(123_450));
        assert_eq!(parse_money("¥0.05", 2), Some(5));
        assert_eq!(parse_money(".5", 2), Some(50));
        assert_eq!(parse_money("100", 0), Some(100));
        for bad in ["", "-1", "1.234", "abc", "1.2.3", ".", "99999999999999999999"] {
            assert_eq!(parse_money(bad, 2), None, "{bad}");
        }
    }

    fn def(key: &str, kind: guanxi_core::custom_field::CustomFieldKind, options: &[&str]) -> CustomFieldDef {
        CustomFieldDef {
            id: Uuid::nil(),
            object: guanxi_core::custom_field::ObjectType::Contact,
            key: key.into(),
            label: key.into(),
            kind,
            options: options.iter().map(|o| o.to_string()).collect(),
            required: false,
            position: 0,
        }
    }

    #[test]
    fn custom_values_are_read_and_shown_by_type() {
        use guanxi_core::custom_field::CustomFieldKind as K;
        use serde_json::json;
        let defs = vec![
            def("channels", K::MultiSelect, &["wechat", "phone"]),
            def("budget", K::Money, &[]),
            def("vip", K::Bool, &[]),
            def("score", K::Number, &[]),
            def("note", K::Text, &[]),
        ];
        let posted = FormData(vec![
            ("custom_channels".into(), "wechat".into()),
            ("custom_channels".into(), "phone".into()),
            ("custom_budget".into(), "1,234.5".into()),
            ("custom_score".into(), "x".into()),
            ("custom_note".into(), "  ".into()),
        ]);
        let stored = json!({"budget": {"amount_minor": 1, "currency": "USD"}});
        let values = custom_values(&defs, &posted, stored.as_object());
        assert_eq!(
            serde_json::Value::Object(values),
            json!({
                "channels": ["wechat", "phone"],
                "budget": {"amount_minor": 123_450, "currency": "USD"},
                "vip": false,
                "score": "x",
            }),
            "money keeps its currency, an unchecked box is false, blank text is left out, bad input goes to validation"
        );
        let shown = |d: &CustomFieldDef, v: serde_json::Value, l: Locale| custom_shown(d, &v, l);
        assert_eq!(shown(&defs[0], json!(["wechat", "phone"]), Locale::ZhCn), "wechat、phone");
        assert_eq!(shown(&defs[1], json!({"amount_minor": 123_450, "currency": "USD"}), Locale::En), "$1,234.50");
        assert_eq!(shown(&defs[2], json!(true), Locale::ZhCn), "是");
        assert_eq!(shown(&defs[3], json!(12345.0), Locale::En), "12,345");
        assert_eq!(shown(&defs[3], json!(-2.5), Locale::En), "-2.5");
        let input = custom_input(&defs[0], Some(&json!(["phone"])), None, Locale::En);
        let picked: Vec<_> = input.options.iter().map(|o| (o.value.as_str(), o.selected)).collect();
        assert_eq!((input.kind, picked), ("checkboxes", vec![("wechat", false), ("phone", true)]));
        assert_eq!(custom_input(&defs[3], Some(&json!(42.0)), None, Locale::En).value, "42");
        assert_eq!(custom_input(&defs[1], stored.get("budget"), None, Locale::En).label, "budget (USD)");
    }

    #[test]
    fn error_paths_name_inputs() {
        assert_eq!(input_name("lines/0/quantity"), "lines_0_quantity");
        assert_eq!(input_name("address/city"), "address_city");
        let mut a = Input::text("name", "Name", "");
        let mut b = Input::text("lines_1_quantity", "Qty", "");
        let errs = ValidationErrors {
            errors: vec![
                guanxi_core::FieldError::new("name", "required", ""),
                guanxi_core::FieldError::new("lines/1/quantity", "out_of_range", ""),
                guanxi_core::FieldError::new("custom/x", "invalid_type", ""),
            ],
        };
        let other = attach_errors(&mut [&mut a, &mut b], &errs, Locale::En);
        assert_eq!(a.error, Some(Locale::En.error("required")));
        assert_eq!(b.error, Some(Locale::En.error("out_of_range")));
        assert_eq!(other, vec![Locale::En.error("invalid_type")]);
    }
}
