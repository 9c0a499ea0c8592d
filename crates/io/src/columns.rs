//! The spreadsheet columns of each record type: what CSV and XLSX exports write, and the names an import of an
//! exported file recognises again (see `mapping`).

use guanxi_core::activity::Activity;
use guanxi_core::company::Company;
use guanxi_core::contact::Contact;
use guanxi_core::custom_field::CustomFieldDef;
use guanxi_core::order::{Order, Product};
use serde_json::{Map, Value};

/// One spreadsheet cell: text (neutralised against formulas when written), a whole number, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Text the system produced and validated (E.164 phone numbers such as `+8613800138000`): written as is,
    /// because it cannot hold a formula and a `'` would corrupt it.
    Checked(String),
    Int(i64),
    Empty,
}

impl Cell {
    fn opt(v: &Option<String>) -> Cell {
        v.as_ref().map(|s| Cell::Text(s.clone())).unwrap_or(Cell::Empty)
    }

    fn text(v: impl ToString) -> Cell {
        Cell::Text(v.to_string())
    }
}

/// The header row of an export: built-in columns, then one `custom.<key>` column per custom field.
#[derive(Debug, Clone)]
pub struct Columns {
    headers: Vec<String>,
    custom: Vec<String>,
}

impl Columns {
    fn new(builtin: &[&str], defs: &[CustomFieldDef]) -> Columns {
        let custom: Vec<String> = defs.iter().map(|d| d.key.clone()).collect();
        let mut headers: Vec<String> = builtin.iter().map(|s| s.to_string()).collect();
        headers.extend(custom.iter().map(|k| format!("custom.{k}")));
        Columns { headers, custom }
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    fn push_custom(&self, row: &mut Vec<Cell>, values: &Map<String, Value>) {
        for k in &self.custom {
            row.push(match values.get(k) {
                None | Some(Value::Null) => Cell::Empty,
                Some(Value::String(s)) => Cell::Text(s.clone()),
                Some(Value::Number(n)) => n.as_i64().map(Cell::Int).unwrap_or_else(|| Cell::text(n)),
                Some(Value::Bool(b)) => Cell::text(b),
                Some(Value::Array(a)) => Cell::Text(
                    a.iter()
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Some(Value::Object(o)) => match (o.get("amount_minor").and_then(Value::as_i64), o.get("currency")) {
                    (Some(a), Some(Value::String(c))) => Cell::Text(format!("{a} {c}")),
                    _ => Cell::text(Value::Object(o.clone())),
                },
            });
        }
    }
}

pub const CONTACT_COLUMNS: &[&str] = &[
    "id",
    "display_name",
    "family_name",
    "given_name",
    "email",
    "other_emails",
    "phone",
    "other_phones",
    "company_id",
    "company",
    "job_title",
    "address.country",
    "address.province",
    "address.city",
    "address.district",
    "address.street",
    "address.postcode",
    "birthday",
    "gender",
    "source",
    "source_detail",
    "tags",
    "preferred_language",
    "owner_id",
    "visibility",
    "created_at",
    "updated_at",
];

pub fn contact_columns(defs: &[CustomFieldDef]) -> Columns {
    Columns::new(CONTACT_COLUMNS, defs)
}

fn ts(t: &chrono::DateTime<chrono::Utc>) -> Cell {
    Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn uuid_cell(u: Option<uuid::Uuid>) -> Cell {
    u.map(Cell::text).unwrap_or(Cell::Empty)
}

fn joined<'a>(items: impl Iterator<Item = &'a str>) -> Cell {
    let v: Vec<&str> = items.collect();
    if v.is_empty() { Cell::Empty } else { Cell::Text(v.join(", ")) }
}

pub fn contact_row(c: &Contact, company_name: Option<&str>, cols: &Columns) -> Vec<Cell> {
    let a = &c.address;
    let mut row = vec![
        Cell::text(c.id),
        Cell::Text(c.display_name.clone()),
        Cell::opt(&c.family_name),
        Cell::opt(&c.given_name),
        c.primary_email().map(Cell::text).unwrap_or(Cell::Empty),
        joined(c.emails.iter().filter(|e| !e.primary).map(|e| e.address.as_str())),
        c.primary_phone().map(|p| Cell::Checked(p.to_string())).unwrap_or(Cell::Empty),
        match joined(c.phones.iter().filter(|p| !p.primary).map(|p| p.number.as_str())) {
            Cell::Text(t) => Cell::Checked(t),
            other => other,
        },
        uuid_cell(c.company_id),
        company_name.map(Cell::text).unwrap_or(Cell::Empty),
        Cell::opt(&c.job_title),
        Cell::opt(&a.country),
        Cell::opt(&a.province),
        Cell::opt(&a.city),
        Cell::opt(&a.district),
        Cell::opt(&a.street),
        Cell::opt(&a.postcode),
        c.birthday.map(|b| Cell::text(b.format("%Y-%m-%d"))).unwrap_or(Cell::Empty),
        c.gender.map(|g| Cell::text(g.as_str())).unwrap_or(Cell::Empty),
        Cell::text(c.source.as_str()),
        Cell::opt(&c.source_detail),
        joined(c.tags.iter().map(String::as_str)),
        Cell::opt(&c.preferred_language),
        uuid_cell(c.owner_id),
        Cell::text(c.visibility.as_str()),
        ts(&c.created_at),
        ts(&c.updated_at),
    ];
    cols.push_custom(&mut row, &c.custom);
    row
}

pub const COMPANY_COLUMNS: &[&str] = &[
    "id",
    "name",
    "domain",
    "industry",
    "size_band",
    "address.country",
    "address.province",
    "address.city",
    "address.district",
    "address.street",
    "address.postcode",
    "tags",
    "owner_id",
    "visibility",
    "created_at",
    "updated_at",
];

pub fn company_columns(defs: &[CustomFieldDef]) -> Columns {
    Columns::new(COMPANY_COLUMNS, defs)
}

pub fn company_row(c: &Company, cols: &Columns) -> Vec<Cell> {
    let a = &c.address;
    let mut row = vec![
        Cell::text(c.id),
        Cell::Text(c.name.clone()),
        Cell::opt(&c.domain),
        Cell::opt(&c.industry),
        c.size_band.map(|s| Cell::text(s.as_str())).unwrap_or(Cell::Empty),
        Cell::opt(&a.country),
        Cell::opt(&a.province),
        Cell::opt(&a.city),
        Cell::opt(&a.district),
        Cell::opt(&a.street),
        Cell::opt(&a.postcode),
        joined(c.tags.iter().map(String::as_str)),
        uuid_cell(c.owner_id),
        Cell::text(c.visibility.as_str()),
        ts(&c.created_at),
        ts(&c.updated_at),
    ];
    cols.push_custom(&mut row, &c.custom);
    row
}

pub const PRODUCT_COLUMNS: &[&str] =
    &["id", "sku", "name", "category", "list_price_minor", "currency", "active", "created_at", "updated_at"];

pub fn product_columns(defs: &[CustomFieldDef]) -> Columns {
    Columns::new(PRODUCT_COLUMNS, defs)
}

pub fn product_row(p: &Product, cols: &Columns) -> Vec<Cell> {
    let mut row = vec![
        Cell::text(p.id),
        Cell::Text(p.sku.clone()),
        Cell::Text(p.name.clone()),
        Cell::opt(&p.category),
        Cell::Int(p.list_price_minor),
        Cell::text(p.currency.as_str()),
        Cell::text(p.active),
        ts(&p.created_at),
        ts(&p.updated_at),
    ];
    cols.push_custom(&mut row, &p.custom);
    row
}

/// Orders are written one row per line (the order's columns repeated), the shape spreadsheets and order imports
/// use; an order without lines still gets one row.
pub const ORDER_COLUMNS: &[&str] = &[
    "id",
    "number",
    "contact_id",
    "company_id",
    "status",
    "currency",
    "total_minor",
    "ordered_at",
    "line.product_id",
    "line.description",
    "line.quantity",
    "line.unit_price_minor",
    "line.discount_minor",
    "line.total_minor",
    "created_at",
    "updated_at",
];

pub fn order_columns(defs: &[CustomFieldDef]) -> Columns {
    Columns::new(ORDER_COLUMNS, defs)
}

pub fn order_rows(o: &Order, cols: &Columns) -> Vec<Vec<Cell>> {
    let head = |row: &mut Vec<Cell>| {
        row.extend([
            Cell::text(o.id),
            Cell::opt(&o.number),
            Cell::text(o.contact_id),
            uuid_cell(o.company_id),
            Cell::text(o.status.as_str()),
            Cell::text(o.currency.as_str()),
            Cell::Int(o.total_minor),
            ts(&o.ordered_at),
        ])
    };
    let tail = |row: &mut Vec<Cell>| {
        row.extend([ts(&o.created_at), ts(&o.updated_at)]);
        cols.push_custom(row, &o.custom);
    };
    if o.lines.is_empty() {
        let mut row = Vec::new();
        head(&mut row);
        row.extend(std::iter::repeat_n(Cell::Empty, 6));
        tail(&mut row);
        return vec![row];
    }
    o.lines
        .iter()
        .map(|l| {
            let mut row = Vec::new();
            head(&mut row);
            row.extend([
                uuid_cell(l.product_id),
                Cell::Text(l.description.clone()),
                Cell::Int(l.quantity),
                Cell::Int(l.unit_price_minor),
                Cell::Int(l.discount_minor),
                Cell::Int(l.line_total_minor),
            ]);
            tail(&mut row);
            row
        })
        .collect()
}

pub const ACTIVITY_COLUMNS: &[&str] =
    &["id", "kind", "contact_id", "company_id", "occurred_at", "actor_id", "subject", "body", "created_at"];

pub fn activity_columns() -> Columns {
    Columns::new(ACTIVITY_COLUMNS, &[])
}

pub fn activity_row(a: &Activity) -> Vec<Cell> {
    vec![
        Cell::text(a.id),
        Cell::text(a.kind.as_str()),
        uuid_cell(a.contact_id),
        uuid_cell(a.company_id),
        ts(&a.occurred_at),
        uuid_cell(a.actor_id),
        Cell::opt(&a.subject),
        Cell::opt(&a.body),
        ts(&a.created_at),
    ]
}
