//! Companies, products, orders (one row per order line) and activities: their column specs and how a row reads
//! into each. Like contacts (in [`crate::mapping`]), a cell that cannot be understood is an error naming its
//! column, returned with what the other cells gave, so one pass reports every problem of a row. What needs the
//! database (a customer by email, a product by SKU, matching) is left to the store.

use crate::dates::{DayMonthOrder, parse_datetime};
use crate::mapping::{
    Field, ImportObject, Mapping, Preset, Spec, cell_value, check_columns, country_code, custom_value,
    parse_visibility, split_list,
};
use crate::read::{Row, RowError};
use chrono::{DateTime, Utc};
use guanxi_core::activity::ActivityKind;
use guanxi_core::company::{CompanyInput, SizeBand};
use guanxi_core::contact_point::{EmailAddress, PhoneNumber, Region};
use guanxi_core::custom_field::CustomFieldDef;
use guanxi_core::money::Currency;
use guanxi_core::order::{OrderStatus, ProductInput};
use serde_json::{Map, Value};
use uuid::Uuid;

const ADDRESS: [&str; 6] =
    ["address.country", "address.province", "address.city", "address.district", "address.street", "address.postcode"];

pub static COMPANY_SPEC: Spec = Spec {
    targets: &[
        "external_id",
        "name",
        "domain",
        "industry",
        "size_band",
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        ADDRESS[4],
        ADDRESS[5],
        "tags",
        "visibility",
        "ignore",
    ],
    multi: &["tags", "ignore"],
    aliases: &[
        (
            "external_id",
            &["id", "externalid", "外部编号", "公司编号", "客户编号", "accountid", "companyid", "recordid"],
        ),
        (
            "name",
            &[
                "name",
                "companyname",
                "accountname",
                "account",
                "company",
                "organization",
                "organisation",
                "公司",
                "公司名称",
                "企业名称",
                "客户名称",
                "单位名称",
                "名称",
            ],
        ),
        ("domain", &["domain", "website", "web", "url", "companydomainname", "网址", "域名", "官网", "网站"]),
        ("industry", &["industry", "sector", "行业", "所属行业"]),
        (
            "size_band",
            &[
                "employees",
                "numberofemployees",
                "size",
                "companysize",
                "headcount",
                "规模",
                "人数",
                "员工人数",
                "公司规模",
            ],
        ),
        ("address.country", &["country", "countryregion", "billingcountry", "国家", "国家地区", "address.country"]),
        ("address.province", &["state", "province", "stateregion", "billingstate", "省", "省份", "address.province"]),
        ("address.city", &["city", "billingcity", "市", "城市", "address.city"]),
        ("address.district", &["district", "county", "区", "区县", "address.district"]),
        (
            "address.street",
            &["address", "street", "streetaddress", "billingstreet", "地址", "详细地址", "address.street"],
        ),
        (
            "address.postcode",
            &[
                "zip",
                "zipcode",
                "postalcode",
                "postcode",
                "billingcode",
                "billingpostalcode",
                "邮编",
                "address.postcode",
            ],
        ),
        ("tags", &["tags", "tag", "labels", "标签"]),
        ("visibility", &["visibility", "可见范围"]),
    ],
    presets: &[
        (
            Preset::Zoho,
            &["Account Owner", "Billing Code", "Account Number"],
            &[
                ("Record Id", "external_id"),
                ("Account Id", "external_id"),
                ("Account Name", "name"),
                ("Website", "domain"),
                ("Industry", "industry"),
                ("Employees", "size_band"),
                ("Billing Street", "address.street"),
                ("Billing City", "address.city"),
                ("Billing State", "address.province"),
                ("Billing Code", "address.postcode"),
                ("Billing Country", "address.country"),
                ("Tag", "tags"),
                ("Account Owner", "ignore"),
            ],
        ),
        (
            Preset::Hubspot,
            &["Company Domain Name", "Company owner", "Number of Employees"],
            &[
                ("Record ID", "external_id"),
                ("Company name", "name"),
                ("Company Domain Name", "domain"),
                ("Industry", "industry"),
                ("Number of Employees", "size_band"),
                ("Street Address", "address.street"),
                ("City", "address.city"),
                ("State/Region", "address.province"),
                ("Postal Code", "address.postcode"),
                ("Country/Region", "address.country"),
                ("Company owner", "ignore"),
            ],
        ),
        (
            Preset::Salesforce,
            &["BillingStreet", "BillingCity", "NumberOfEmployees"],
            &[
                ("Id", "external_id"),
                ("Name", "name"),
                ("Website", "domain"),
                ("Industry", "industry"),
                ("NumberOfEmployees", "size_band"),
                ("BillingStreet", "address.street"),
                ("BillingCity", "address.city"),
                ("BillingState", "address.province"),
                ("BillingPostalCode", "address.postcode"),
                ("BillingCountry", "address.country"),
                ("OwnerId", "ignore"),
            ],
        ),
    ],
    // A file that only updates (matched on id or domain) need not repeat names; rows that create need one.
    required: &[],
};

pub static PRODUCT_SPEC: Spec = Spec {
    targets: &["sku", "name", "category", "list_price", "list_price_minor", "currency", "active", "ignore"],
    multi: &["ignore"],
    aliases: &[
        (
            "sku",
            &["sku", "货号", "产品编码", "商品编码", "产品编号", "商品编号", "编码", "productcode", "itemcode", "code"],
        ),
        ("name", &["name", "productname", "itemname", "产品名称", "商品名称", "品名", "名称", "产品", "商品"]),
        (
            "category",
            &["category", "productcategory", "family", "type", "producttype", "类别", "分类", "品类", "产品类别"],
        ),
        ("list_price", &["price", "listprice", "unitprice", "价格", "单价", "售价", "标价", "零售价"]),
        ("list_price_minor", &["listpriceminor", "list_price_minor"]),
        ("currency", &["currency", "currencycode", "币种", "货币"]),
        ("active", &["active", "isactive", "productactive", "status", "在售", "状态", "是否在售", "上架"]),
    ],
    presets: &[
        (
            Preset::Zoho,
            &["Product Code", "Product Active", "Product Owner"],
            &[
                ("Product Code", "sku"),
                ("Product Name", "name"),
                ("Product Category", "category"),
                ("Unit Price", "list_price"),
                ("Product Active", "active"),
                ("Currency", "currency"),
                ("Product Owner", "ignore"),
            ],
        ),
        (
            Preset::Salesforce,
            &["ProductCode", "IsActive", "Family"],
            &[
                ("ProductCode", "sku"),
                ("Name", "name"),
                ("Family", "category"),
                ("IsActive", "active"),
                ("UnitPrice", "list_price"),
                ("CurrencyIsoCode", "currency"),
                ("Id", "ignore"),
            ],
        ),
    ],
    // The SKU finds the product; a price list that only updates need not repeat names.
    required: &[&["sku"]],
};

const CUSTOMER_KEYS: &[&str] = &["customer.email", "customer.phone", "customer.external_id", "contact_id"];

pub static ORDER_SPEC: Spec = Spec {
    targets: &[
        "number",
        "ordered_at",
        "status",
        "currency",
        "customer.email",
        "customer.phone",
        "customer.external_id",
        "contact_id",
        "line.sku",
        "line.product_id",
        "line.description",
        "line.quantity",
        "line.unit_price",
        "line.unit_price_minor",
        "line.discount",
        "line.discount_minor",
        "ignore",
    ],
    multi: &["ignore"],
    aliases: &[
        (
            "number",
            &[
                "number",
                "ordernumber",
                "orderno",
                "orderid",
                "订单号",
                "订单编号",
                "单号",
                "sonumber",
                "salesordernumber",
            ],
        ),
        (
            "ordered_at",
            &[
                "ordered_at",
                "orderedat",
                "orderdate",
                "date",
                "createdtime",
                "下单时间",
                "下单日期",
                "订单日期",
                "日期",
                "付款时间",
            ],
        ),
        ("status", &["status", "orderstatus", "状态", "订单状态"]),
        ("currency", &["currency", "currencycode", "币种", "货币"]),
        ("customer.email", &["email", "customeremail", "buyeremail", "客户邮箱", "邮箱", "买家邮箱"]),
        (
            "customer.phone",
            &["phone", "mobile", "customerphone", "客户手机", "手机", "手机号", "客户电话", "联系电话", "买家手机"],
        ),
        ("customer.external_id", &["customerid", "customerexternalid", "客户编号", "会员号", "会员编号", "客户id"]),
        ("contact_id", &["contactid", "contact_id"]),
        ("line.sku", &["sku", "货号", "产品编码", "商品编码", "productcode", "itemcode", "line.sku"]),
        ("line.product_id", &["productid", "line.product_id", "line.productid"]),
        (
            "line.description",
            &[
                "description",
                "productname",
                "itemname",
                "product",
                "item",
                "产品名称",
                "商品名称",
                "品名",
                "商品",
                "line.description",
            ],
        ),
        ("line.quantity", &["quantity", "qty", "数量", "件数", "line.quantity"]),
        ("line.unit_price", &["unitprice", "price", "单价", "价格", "售价"]),
        ("line.unit_price_minor", &["line.unit_price_minor", "line.unitpriceminor", "unitpriceminor"]),
        ("line.discount", &["discount", "折扣", "优惠", "优惠金额", "折扣金额"]),
        ("line.discount_minor", &["line.discount_minor", "line.discountminor", "discountminor"]),
    ],
    presets: &[],
    required: &[&["ordered_at"], CUSTOMER_KEYS],
};

pub static ACTIVITY_SPEC: Spec = Spec {
    targets: &[
        "external_id",
        "kind",
        "occurred_at",
        "subject",
        "body",
        "contact.email",
        "contact.phone",
        "contact.external_id",
        "contact_id",
        "company.name",
        "company.domain",
        "company_id",
        "ignore",
    ],
    multi: &["ignore"],
    aliases: &[
        ("external_id", &["id", "externalid", "activityid", "外部编号", "活动编号", "记录编号"]),
        ("kind", &["kind", "type", "activitytype", "活动类型", "类型", "跟进方式", "方式"]),
        (
            "occurred_at",
            &["occurred_at", "occurredat", "date", "time", "activitydate", "发生时间", "时间", "日期", "跟进时间"],
        ),
        ("subject", &["subject", "title", "主题", "标题"]),
        (
            "body",
            &["body", "content", "notes", "note", "description", "details", "内容", "备注", "详情", "跟进内容", "记录"],
        ),
        ("contact.email", &["email", "contactemail", "客户邮箱", "邮箱", "联系人邮箱"]),
        ("contact.phone", &["phone", "mobile", "contactphone", "客户手机", "手机", "电话", "联系电话"]),
        ("contact.external_id", &["contactexternalid", "customerid", "客户编号", "联系人编号", "whoid"]),
        ("contact_id", &["contactid", "contact_id"]),
        ("company.name", &["company", "companyname", "accountname", "公司", "公司名称", "客户名称"]),
        ("company.domain", &["domain", "website", "companydomain", "网址", "域名"]),
        ("company_id", &["companyid", "company_id"]),
    ],
    presets: &[],
    required: &[
        &["occurred_at"],
        &[
            "contact.email",
            "contact.phone",
            "contact.external_id",
            "contact_id",
            "company.name",
            "company.domain",
            "company_id",
        ],
    ],
};

/// The offset from UTC of times written without one, for a region (its standard time; the zones of the regions
/// Guanxi's users work in have no daylight saving): China, Hong Kong, Taiwan, Singapore +8, Japan and Korea +9,
/// anywhere else UTC.
pub fn default_utc_offset(region: Region) -> i32 {
    match region.as_str() {
        "CN" | "HK" | "MO" | "TW" | "SG" | "MY" | "PH" => 480,
        "JP" | "KR" => 540,
        _ => 0,
    }
}

/// A mapping checked against a file's headers for one record type.
#[derive(Debug, Clone)]
pub struct Plan {
    pub object: ImportObject,
    columns: Vec<crate::mapping::Column>,
    date_order: DayMonthOrder,
    utc_offset_minutes: i32,
    region: Region,
}

impl Plan {
    /// Where every mapped field comes from, also when a row leaves its cell empty (a required field's error then
    /// still names its column). Paths are those of the record inputs; a line's fields have no `lines/i/` prefix.
    fn origins(&self) -> Origins {
        let mut o = Origins::default();
        for (_, header, field) in &self.columns {
            let path = match field {
                Field::Custom(d) => format!("custom/{}", d.key),
                Field::Builtin(t) => match *t {
                    "list_price" => "list_price_minor".to_string(),
                    "line.unit_price" => "unit_price_minor".to_string(),
                    "line.discount" => "discount_minor".to_string(),
                    t => t.strip_prefix("line.").unwrap_or(t).replace('.', "/"),
                },
            };
            o.add(&path, header);
        }
        o
    }

    /// Whether a column fills `target`.
    pub fn has(&self, target: &str) -> bool {
        self.columns.iter().any(|(_, _, f)| matches!(f, Field::Builtin(t) if *t == target))
    }
}

/// Checks a mapping for `object` (not contacts: see [`crate::mapping::contact_plan`]). Errors are `(header,
/// message)`, with an empty header for a required field no column fills.
pub fn plan(
    object: ImportObject,
    mapping: &Mapping,
    headers: &[String],
    defs: &[CustomFieldDef],
    region: Region,
) -> Result<Plan, Vec<(String, String)>> {
    let columns = check_columns(object.spec(), mapping, headers, defs)?;
    Ok(Plan {
        object,
        columns,
        date_order: mapping.date_order,
        utc_offset_minutes: mapping.utc_offset_minutes.unwrap_or_else(|| default_utc_offset(region)),
        region,
    })
}

/// Field path prefix (`address/city`, `lines/0/quantity`) -> the header it came from, to place validation errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origins(pub Vec<(String, String)>);

impl Origins {
    /// The column a validation error of `field` came from.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(p, _)| field == p || field.starts_with(&format!("{p}/"))).map(|(_, h)| h.as_str())
    }

    fn add(&mut self, path: &str, header: &str) {
        self.0.push((path.to_string(), header.to_string()));
    }
}

/// A value from a column, with the column's header (to name it in an error about the value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keyed {
    pub value: String,
    pub column: String,
}

/// How a row names a contact: by id, email, phone or external id (the first given is used).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactRef {
    pub id: Option<(Uuid, String)>,
    /// Normalised like stored emails.
    pub email: Option<Keyed>,
    /// Normalised like stored phones (E.164, with the extension).
    pub phone: Option<Keyed>,
    pub external_id: Option<Keyed>,
}

impl ContactRef {
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.email.is_none() && self.phone.is_none() && self.external_id.is_none()
    }
}

/// How a row names a company: by id, name (compared as the dedup company key) or domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyRef {
    pub id: Option<(Uuid, String)>,
    pub name: Option<Keyed>,
    pub domain: Option<Keyed>,
}

impl CompanyRef {
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.name.is_none() && self.domain.is_none()
    }
}

/// A company row.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyRow {
    pub line: u64,
    pub input: CompanyInput,
    pub external_id: Option<String>,
    pub origins: Origins,
}

/// A product row.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow {
    pub line: u64,
    pub input: ProductInput,
    pub origins: Origins,
}

/// One line of an order, with the order's fields as this row gives them (a file repeats them on every line).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineRow {
    pub line: u64,
    /// The order number: consecutive rows with the same number are one order.
    pub number: Option<String>,
    pub customer: ContactRef,
    pub status: Option<OrderStatus>,
    pub currency: Option<Currency>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub sku: Option<Keyed>,
    pub product_id: Option<Uuid>,
    pub description: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price_minor: Option<i64>,
    pub discount_minor: Option<i64>,
    pub custom: Map<String, Value>,
    /// Paths are those of the order (`number`, `ordered_at`, `custom/…`) and of a line without its index
    /// (`quantity`, `unit_price_minor`).
    pub origins: Origins,
}

/// An activity row.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub line: u64,
    pub external_id: Option<String>,
    pub kind: Option<ActivityKind>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub contact: ContactRef,
    pub company: CompanyRef,
    pub origins: Origins,
}

/// The non-empty cells of a row with their header and field.
fn cells<'a>(row: &'a Row, plan: &'a Plan) -> impl Iterator<Item = (&'a str, &'a Field, &'a str)> {
    plan.columns.iter().filter_map(move |(idx, header, field)| {
        let v = cell_value(row.cells.get(*idx).map(String::as_str).unwrap_or(""));
        (!v.is_empty()).then_some((header.as_str(), field, v))
    })
}

/// A custom field's cell into `custom`, or an error naming its column.
fn read_custom(
    row: &Row,
    plan: &Plan,
    header: &str,
    def: &CustomFieldDef,
    v: &str,
    custom: &mut Map<String, Value>,
    errors: &mut Vec<RowError>,
) {
    match custom_value(def, v, plan.date_order) {
        Ok(val) => {
            custom.insert(def.key.clone(), val);
        }
        Err(m) => errors.push(err(row, header, "invalid_value", m)),
    }
}

fn err(row: &Row, header: &str, code: &str, message: String) -> RowError {
    RowError::new(row.line, Some(header), code, message)
}

fn keyed(v: &str, header: &str) -> Keyed {
    Keyed { value: v.to_string(), column: header.to_string() }
}

fn uuid_cell(row: &Row, header: &str, v: &str, errors: &mut Vec<RowError>) -> Option<(Uuid, String)> {
    match Uuid::parse_str(v) {
        Ok(u) => Some((u, header.to_string())),
        Err(_) => {
            errors.push(err(row, header, "invalid_id", format!("{v:?} is not an id")));
            None
        }
    }
}

/// Reads the contact columns (`<prefix>.email`, `.phone`, `.external_id`, `contact_id`) of a row.
fn contact_ref(row: &Row, plan: &Plan, prefix: &str, errors: &mut Vec<RowError>) -> ContactRef {
    let mut out = ContactRef::default();
    for (header, field, v) in cells(row, plan) {
        let Field::Builtin(t) = field else { continue };
        match t.strip_prefix(prefix).and_then(|t| t.strip_prefix('.')) {
            Some("email") => match EmailAddress::parse(v) {
                Ok(e) => out.email = Some(keyed(&e.into_string(), header)),
                Err(e) => errors.push(err(row, header, e.code, e.message)),
            },
            Some("phone") => match PhoneNumber::parse(v, plan.region) {
                Ok(p) => out.phone = Some(keyed(&p.to_string(), header)),
                Err(e) => errors.push(err(row, header, e.code, e.message)),
            },
            Some("external_id") => out.external_id = Some(keyed(v, header)),
            _ if *t == "contact_id" => out.id = uuid_cell(row, header, v, errors),
            _ => {}
        }
    }
    out
}

/// Reads a company row.
pub fn company_from_row(row: &Row, plan: &Plan) -> (CompanyRow, Vec<RowError>) {
    let mut input = CompanyInput::default();
    let mut out =
        CompanyRow { line: row.line, input: CompanyInput::default(), external_id: None, origins: plan.origins() };
    let mut errors = Vec::new();
    for (header, field, v) in cells(row, plan) {
        match field {
            Field::Custom(def) => read_custom(row, plan, header, def, v, &mut input.custom, &mut errors),
            Field::Builtin(t) => match *t {
                "external_id" => out.external_id = Some(v.to_string()),
                "name" => {
                    input.name = Some(v.to_string());
                    out.origins.add("name", header);
                }
                "domain" => {
                    input.domain = Some(v.to_string());
                    out.origins.add("domain", header);
                }
                "industry" => {
                    input.industry = Some(v.to_string());
                    out.origins.add("industry", header);
                }
                "size_band" => match parse_size_band(v) {
                    Some(b) => input.size_band = Some(b),
                    None => errors.push(err(
                        row,
                        header,
                        "invalid_size",
                        format!("{v:?} is not a head count (120, 51-200, 50-99人)"),
                    )),
                },
                "tags" => {
                    out.origins.add("tags", header);
                    input.tags.extend(split_list(v).map(str::to_string));
                }
                "visibility" => match parse_visibility(v) {
                    Some(vis) => input.visibility = Some(vis),
                    None => errors.push(err(
                        row,
                        header,
                        "invalid_visibility",
                        format!("{v:?} is not private, team or public"),
                    )),
                },
                part => {
                    let Some(part) = part.strip_prefix("address.") else { continue };
                    let a = &mut input.address;
                    let slot = match part {
                        "country" => &mut a.country,
                        "province" => &mut a.province,
                        "city" => &mut a.city,
                        "district" => &mut a.district,
                        "street" => &mut a.street,
                        _ => &mut a.postcode,
                    };
                    *slot = Some(if part == "country" { country_code(v) } else { v.to_string() });
                    out.origins.add(&format!("address/{part}"), header);
                }
            },
        }
    }
    out.input = input;
    (out, errors)
}

/// A head count as a band: a band's own name (`51-200`), a number (`120`), or a range (`50-99人`, `1000+`) by
/// its largest number.
pub fn parse_size_band(v: &str) -> Option<SizeBand> {
    if let Some(b) = SizeBand::parse(v.trim()) {
        return Some(b);
    }
    let cleaned = v.replace([',', '，'], "");
    let n = cleaned
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse::<u64>().ok())
        .max()?;
    Some(match n {
        0..=10 => SizeBand::Micro,
        11..=50 => SizeBand::Small,
        51..=200 => SizeBand::Medium,
        201..=1000 => SizeBand::Large,
        _ => SizeBand::Enterprise,
    })
}

/// An amount in major units (`199`, `1,299.50`, `¥ 12.5`, `CNY 199`) as minor units of `currency`, exactly (no
/// floating point). A currency code written in the cell is returned too.
pub fn parse_amount(v: &str, currency: Currency) -> Result<(i64, Option<Currency>), String> {
    let bad = || format!("{v:?} is not an amount (write it as 1299.50)");
    let mut text = v.trim().to_string();
    let mut named = None;
    for part in v.split_whitespace() {
        if part.len() == 3 && part.chars().all(|c| c.is_ascii_alphabetic()) {
            named = Currency::parse(part, "currency").ok();
            text = text.replace(part, "");
        }
    }
    let digits_of = named.unwrap_or(currency).minor_digits() as usize;
    let t: String =
        text.chars().filter(|c| !matches!(c, ' ' | ',' | '，' | '¥' | '￥' | '$' | '€' | '£' | '元')).collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.as_str()),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > digits_of {
        return Err(format!("{v:?} has more decimals than the currency has ({digits_of})"));
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac_minor: i64 =
        if frac.is_empty() { 0 } else { format!("{frac:0<digits_of$}").parse().map_err(|_| bad())? };
    let minor =
        whole.checked_mul(10i64.pow(digits_of as u32)).and_then(|w| w.checked_add(frac_minor)).ok_or_else(bad)?;
    Ok((if neg { -minor } else { minor }, named))
}

fn parse_whole(v: &str) -> Option<i64> {
    let t = v.replace([',', '，', ' '], "");
    let t = t.strip_suffix(".0").unwrap_or(&t);
    t.parse().ok()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" | "在售" | "上架" | "active" | "启用" => Some(true),
        "false" | "no" | "n" | "0" | "否" | "停售" | "下架" | "inactive" | "停用" => Some(false),
        _ => None,
    }
}

/// Money columns are read once the row's currency is known: `(field path, header, raw text, in minor units)`.
type PendingMoney<'a> = Vec<(&'static str, &'a str, &'a str, bool)>;

fn read_money(
    row: &Row,
    pending: PendingMoney<'_>,
    currency: &mut Option<Currency>,
    errors: &mut Vec<RowError>,
) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (path, header, v, minor) in pending {
        if minor {
            match parse_whole(v) {
                Some(n) => out.push((path, n)),
                None => errors.push(err(row, header, "invalid_amount", format!("{v:?} is not a whole number"))),
            }
            continue;
        }
        match parse_amount(v, currency.unwrap_or(Currency::CNY)) {
            Ok((n, named)) => {
                if currency.is_none() {
                    *currency = named;
                }
                out.push((path, n));
            }
            Err(m) => errors.push(err(row, header, "invalid_amount", m)),
        }
    }
    out
}

/// Reads a product row. Prices in major units (`list_price`) are converted with the row's currency.
pub fn product_from_row(row: &Row, plan: &Plan) -> (ProductRow, Vec<RowError>) {
    let mut input = ProductInput::default();
    let mut origins = plan.origins();
    let mut errors = Vec::new();
    let mut money: PendingMoney = Vec::new();
    let mut currency = None;
    for (header, field, v) in cells(row, plan) {
        match field {
            Field::Custom(def) => read_custom(row, plan, header, def, v, &mut input.custom, &mut errors),
            Field::Builtin(t) => match *t {
                "sku" => {
                    input.sku = Some(v.to_string());
                    origins.add("sku", header);
                }
                "name" => {
                    input.name = Some(v.to_string());
                    origins.add("name", header);
                }
                "category" => {
                    input.category = Some(v.to_string());
                    origins.add("category", header);
                }
                "list_price" => money.push(("list_price_minor", header, v, false)),
                "list_price_minor" => money.push(("list_price_minor", header, v, true)),
                "currency" => match Currency::parse(v, "currency") {
                    Ok(c) => {
                        currency = Some(c);
                        input.currency = Some(c.as_str().to_string());
                        origins.add("currency", header);
                    }
                    Err(e) => errors.push(err(row, header, e.code, e.message)),
                },
                "active" => match parse_bool(v) {
                    Some(b) => input.active = Some(b),
                    None => errors.push(err(row, header, "invalid_value", format!("{v:?} is not yes or no"))),
                },
                _ => {}
            },
        }
    }
    let headers: Vec<(&str, &str)> = money.iter().map(|m| (m.0, m.1)).collect();
    for (path, n) in read_money(row, money, &mut currency, &mut errors) {
        input.list_price_minor = Some(n);
        if let Some((_, h)) = headers.iter().find(|(p, _)| *p == path) {
            origins.add(path, h);
        }
    }
    if input.currency.is_none() {
        input.currency = currency.map(|c| c.as_str().to_string());
    }
    (ProductRow { line: row.line, input, origins }, errors)
}

/// An order status: paid, refunded or cancelled, in English or Chinese.
pub fn parse_order_status(v: &str) -> Option<OrderStatus> {
    let f = crate::mapping::fold_header(v);
    match f.as_str() {
        "paid" | "completed" | "complete" | "closedwon" | "delivered" | "shipped" | "fulfilled" | "已支付"
        | "已付款" | "已完成" | "完成" | "交易成功" | "已发货" | "已签收" | "支付成功" => {
            Some(OrderStatus::Paid)
        }
        "refunded" | "returned" | "已退款" | "退款" | "退款成功" | "已退货" => Some(OrderStatus::Refunded),
        "cancelled" | "canceled" | "void" | "closedlost" | "已取消" | "取消" | "已关闭" | "交易关闭" => {
            Some(OrderStatus::Cancelled)
        }
        _ => None,
    }
}

/// Reads one order line row.
pub fn order_line_from_row(row: &Row, plan: &Plan) -> (OrderLineRow, Vec<RowError>) {
    let mut errors = Vec::new();
    let customer = contact_ref(row, plan, "customer", &mut errors);
    let mut out = OrderLineRow {
        line: row.line,
        number: None,
        customer,
        status: None,
        currency: None,
        ordered_at: None,
        sku: None,
        product_id: None,
        description: None,
        quantity: None,
        unit_price_minor: None,
        discount_minor: None,
        custom: Map::new(),
        origins: plan.origins(),
    };
    let mut money: PendingMoney = Vec::new();
    for (header, field, v) in cells(row, plan) {
        match field {
            Field::Custom(def) => read_custom(row, plan, header, def, v, &mut out.custom, &mut errors),
            Field::Builtin(t) => match *t {
                "number" => {
                    out.number = Some(v.to_string());
                    out.origins.add("number", header);
                }
                "ordered_at" => match parse_datetime(v, plan.date_order, plan.utc_offset_minutes) {
                    Ok(at) => {
                        out.ordered_at = Some(at);
                        out.origins.add("ordered_at", header);
                    }
                    Err(m) => errors.push(err(row, header, "invalid_date", m)),
                },
                "status" => match parse_order_status(v) {
                    Some(s) => out.status = Some(s),
                    None => errors.push(err(
                        row,
                        header,
                        "invalid_status",
                        format!("{v:?} is not paid, refunded or cancelled (已支付/已退款/已取消)"),
                    )),
                },
                "currency" => match Currency::parse(v, "currency") {
                    Ok(c) => {
                        out.currency = Some(c);
                        out.origins.add("currency", header);
                    }
                    Err(e) => errors.push(err(row, header, e.code, e.message)),
                },
                "line.sku" => out.sku = Some(keyed(v, header)),
                "line.product_id" => {
                    out.product_id = uuid_cell(row, header, v, &mut errors).map(|p| p.0);
                    out.origins.add("product_id", header);
                }
                "line.description" => {
                    out.description = Some(v.to_string());
                    out.origins.add("description", header);
                }
                "line.quantity" => match parse_whole(v) {
                    Some(q) => {
                        out.quantity = Some(q);
                        out.origins.add("quantity", header);
                    }
                    None => errors.push(err(row, header, "invalid_quantity", format!("{v:?} is not a whole number"))),
                },
                "line.unit_price" => money.push(("unit_price_minor", header, v, false)),
                "line.unit_price_minor" => money.push(("unit_price_minor", header, v, true)),
                "line.discount" => money.push(("discount_minor", header, v, false)),
                "line.discount_minor" => money.push(("discount_minor", header, v, true)),
                _ => {}
            },
        }
    }
    let headers: Vec<(&str, &str)> = money.iter().map(|m| (m.0, m.1)).collect();
    let mut currency = out.currency;
    for (path, n) in read_money(row, money, &mut currency, &mut errors) {
        if path == "unit_price_minor" {
            out.unit_price_minor = Some(n);
        } else {
            out.discount_minor = Some(n);
        }
        if let Some((_, h)) = headers.iter().find(|(p, _)| *p == path) {
            out.origins.add(path, h);
        }
    }
    out.currency = currency;
    (out, errors)
}

/// An activity type, in English (also the CRMs' own words) or Chinese.
pub fn parse_activity_kind(v: &str) -> Option<ActivityKind> {
    let f = crate::mapping::fold_header(v);
    if let Some(k) = ActivityKind::parse(&v.trim().to_lowercase()).filter(|k| *k != ActivityKind::System) {
        return Some(k);
    }
    Some(match f.as_str() {
        "备注" | "笔记" | "记录" | "notes" | "task" | "todo" | "other" | "其他" | "跟进" => {
            ActivityKind::Note
        }
        "电话" | "通话" | "来电" | "去电" | "phone" | "phonecall" | "calls" | "loggedcall" => {
            ActivityKind::Call
        }
        "会议" | "开会" | "meetings" | "线上会议" => ActivityKind::Meeting,
        "拜访" | "上门" | "走访" | "面访" | "visits" | "sitevisit" => ActivityKind::Visit,
        "邮件" | "电子邮件" | "e-mail" | "emails" | "mail" => ActivityKind::Email,
        "活动" | "参会" | "展会" | "eventattendance" | "event" | "webinar" | "参加活动" => {
            ActivityKind::EventAttendance
        }
        "投诉" | "complaints" | "客诉" => ActivityKind::Complaint,
        "反馈" | "建议" | "意见" | "survey" => ActivityKind::Feedback,
        "webvisit" | "pageview" | "访问网站" | "网页访问" | "浏览网站" => ActivityKind::WebVisit,
        _ => return None,
    })
}

/// Reads an activity row.
pub fn activity_from_row(row: &Row, plan: &Plan) -> (ActivityRow, Vec<RowError>) {
    let mut errors = Vec::new();
    let contact = contact_ref(row, plan, "contact", &mut errors);
    let mut out = ActivityRow {
        line: row.line,
        external_id: None,
        kind: None,
        occurred_at: None,
        subject: None,
        body: None,
        contact,
        company: CompanyRef::default(),
        origins: plan.origins(),
    };
    for (header, field, v) in cells(row, plan) {
        let Field::Builtin(t) = field else { continue };
        match *t {
            "external_id" => out.external_id = Some(v.to_string()),
            "kind" => match parse_activity_kind(v) {
                Some(k) => out.kind = Some(k),
                None => errors.push(err(
                    row,
                    header,
                    "invalid_kind",
                    format!("{v:?} is not an activity type (note, call, meeting, visit, email, 备注, 电话, 拜访…)"),
                )),
            },
            "occurred_at" => match parse_datetime(v, plan.date_order, plan.utc_offset_minutes) {
                Ok(at) => {
                    out.occurred_at = Some(at);
                    out.origins.add("occurred_at", header);
                }
                Err(m) => errors.push(err(row, header, "invalid_date", m)),
            },
            "subject" => {
                out.subject = Some(v.to_string());
                out.origins.add("subject", header);
            }
            "body" => {
                out.body = Some(v.to_string());
                out.origins.add("body", header);
            }
            "company.name" => out.company.name = Some(keyed(v, header)),
            "company.domain" => out.company.domain = Some(keyed(v, header)),
            "company_id" => out.company.id = uuid_cell(row, header, v, &mut errors),
            _ => {}
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::propose;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    fn row(line: u64, cells: &[&str]) -> Row {
        Row { line, cells: cells.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn headers_are_proposed_per_type() {
        let h = headers(&["公司名称", "网址", "行业", "规模", "外部编号"]);
        let (m, _) = propose(&COMPANY_SPEC, &h, &[]);
        let t: Vec<&str> = h.iter().map(|x| m.columns[x].as_str()).collect();
        assert_eq!(t, ["name", "domain", "industry", "size_band", "external_id"]);
        let h = headers(&["货号", "产品名称", "类别", "单价", "币种"]);
        let (m, _) = propose(&PRODUCT_SPEC, &h, &[]);
        let t: Vec<&str> = h.iter().map(|x| m.columns[x].as_str()).collect();
        assert_eq!(t, ["sku", "name", "category", "list_price", "currency"]);
        let h = headers(&["订单号", "下单时间", "状态", "客户邮箱", "客户手机", "SKU", "数量", "单价", "折扣", "币种"]);
        let (m, _) = propose(&ORDER_SPEC, &h, &[]);
        let t: Vec<&str> = h.iter().map(|x| m.columns[x].as_str()).collect();
        assert_eq!(
            t,
            [
                "number",
                "ordered_at",
                "status",
                "customer.email",
                "customer.phone",
                "line.sku",
                "line.quantity",
                "line.unit_price",
                "line.discount",
                "currency"
            ]
        );
        let h = headers(&["活动类型", "发生时间", "内容", "客户邮箱", "公司"]);
        let (m, _) = propose(&ACTIVITY_SPEC, &h, &[]);
        let t: Vec<&str> = h.iter().map(|x| m.columns[x].as_str()).collect();
        assert_eq!(t, ["kind", "occurred_at", "body", "contact.email", "company.name"]);
        let sf = headers(&["Id", "Name", "Website", "BillingCity", "NumberOfEmployees"]);
        let (m, p) = propose(&COMPANY_SPEC, &sf, &[]);
        assert_eq!(
            (p, m.columns["Name"].as_str(), m.columns["Id"].as_str()),
            (Some(Preset::Salesforce), "name", "external_id")
        );
    }

    #[test]
    fn amounts_are_exact_minor_units() {
        let cny = Currency::CNY;
        assert_eq!(parse_amount("1,299.50", cny), Ok((129_950, None)));
        assert_eq!(parse_amount("¥12.5", cny), Ok((1250, None)));
        assert_eq!(parse_amount("199", cny), Ok((19_900, None)));
        assert_eq!(parse_amount("JPY 1200", cny), Ok((1200, Currency::parse("JPY", "c").ok())));
        assert_eq!(parse_amount("0.1", cny), Ok((10, None)));
        assert!(parse_amount("1.005", cny).is_err());
        assert!(parse_amount("abc", cny).is_err());
        assert!(parse_amount("99999999999999999999", cny).is_err());
    }

    #[test]
    fn an_order_line_row_reads_with_its_errors() {
        let h = headers(&["订单号", "下单时间", "状态", "客户邮箱", "SKU", "数量", "单价", "币种"]);
        let (m, _) = propose(&ORDER_SPEC, &h, &[]);
        let p = plan(ImportObject::Order, &m, &h, &[], Region::CN).unwrap();
        let (r, errs) = order_line_from_row(
            &row(2, &["SO-1", "2024/3/5 14:30", "已支付", "A@Example.com", "TEA-1", "2", "19.90", "cny"]),
            &p,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(r.number.as_deref(), Some("SO-1"));
        assert_eq!(r.status, Some(OrderStatus::Paid));
        assert_eq!(r.customer.email.as_ref().map(|k| k.value.as_str()), Some("a@example.com"));
        assert_eq!((r.quantity, r.unit_price_minor), (Some(2), Some(1990)));
        assert_eq!(r.ordered_at.map(|t| t.to_rfc3339()).as_deref(), Some("2024-03-05T06:30:00+00:00"));
        let (_, errs) =
            order_line_from_row(&row(3, &["SO-2", "someday", "lost", "bad@", "X", "two", "1.999", "CNY"]), &p);
        let cols: Vec<(&str, &str)> =
            errs.iter().map(|e| (e.column.as_deref().unwrap_or(""), e.code.as_str())).collect();
        assert_eq!(
            cols,
            [
                ("客户邮箱", "invalid_email"),
                ("下单时间", "invalid_date"),
                ("状态", "invalid_status"),
                ("数量", "invalid_quantity"),
                ("单价", "invalid_amount")
            ]
        );
    }

    #[test]
    fn orders_need_a_date_and_a_customer() {
        let h = headers(&["订单号", "SKU"]);
        let (m, _) = propose(&ORDER_SPEC, &h, &[]);
        let errs = plan(ImportObject::Order, &m, &h, &[], Region::CN).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].1.contains("ordered_at"), "{errs:?}");
    }

    #[test]
    fn kinds_sizes_and_statuses() {
        assert_eq!(parse_activity_kind("拜访"), Some(ActivityKind::Visit));
        assert_eq!(parse_activity_kind("Call"), Some(ActivityKind::Call));
        assert_eq!(parse_activity_kind("event_attendance"), Some(ActivityKind::EventAttendance));
        assert_eq!(parse_activity_kind("system"), None);
        assert_eq!(parse_size_band("50-99人"), Some(SizeBand::Medium));
        assert_eq!(parse_size_band("1,500"), Some(SizeBand::Enterprise));
        assert_eq!(parse_size_band("51-200"), Some(SizeBand::Medium));
        assert_eq!(parse_order_status("已退款"), Some(OrderStatus::Refunded));
        assert_eq!(parse_order_status("Canceled"), Some(OrderStatus::Cancelled));
    }
}
