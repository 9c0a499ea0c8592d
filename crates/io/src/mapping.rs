//! Which column of a file fills which field: proposed from the headers (Chinese and English, and the export
//! formats of Zoho CRM, HubSpot and Salesforce), adjustable, and saved for reuse as a plain JSON object
//! `{"columns": {"手机": "phone", "VIP等级": "custom.vip_level", "备注": "ignore"}}`.
//!
//! Each record type has a [`Spec`]: its targets, header aliases and presets. Proposing and checking a mapping is
//! the same for all of them; reading a row is per type (contacts here, the others in [`crate::objects`]).

use crate::dates::{DayMonthOrder, parse_date};
use crate::read::{Row, RowError};
use guanxi_core::access::Visibility;
use guanxi_core::contact::{ContactInput, EmailEntry, Gender, PhoneEntry, Source};
use guanxi_core::custom_field::{CustomFieldDef, CustomFieldKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A column mapping: source header -> target field (`ignore` skips a column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub date_order: DayMonthOrder,
    /// The offset from UTC of times written without one (`2024-03-05 14:30`), in minutes; default: the offset of
    /// the server's default region (China: +480).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
}

/// The export formats whose headers are known exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Zoho,
    Hubspot,
    Salesforce,
}

/// The record types a file can be imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportObject {
    Contact,
    Company,
    Product,
    Order,
    Activity,
}

impl ImportObject {
    pub const ALL: [ImportObject; 5] = [
        ImportObject::Contact,
        ImportObject::Company,
        ImportObject::Product,
        ImportObject::Order,
        ImportObject::Activity,
    ];

    /// The singular name stored with jobs and mappings: `contact`, `company`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ImportObject::Contact => "contact",
            ImportObject::Company => "company",
            ImportObject::Product => "product",
            ImportObject::Order => "order",
            ImportObject::Activity => "activity",
        }
    }

    /// The plural the API and CLI take (`type=companies`), or the singular.
    pub fn parse(s: &str) -> Option<ImportObject> {
        ImportObject::ALL.into_iter().find(|o| o.as_str() == s || o.plural() == s)
    }

    pub fn plural(self) -> &'static str {
        match self {
            ImportObject::Contact => "contacts",
            ImportObject::Company => "companies",
            ImportObject::Product => "products",
            ImportObject::Order => "orders",
            ImportObject::Activity => "activities",
        }
    }

    /// The record type whose custom fields a column can fill (activities have none).
    pub fn custom_fields(self) -> Option<guanxi_core::custom_field::ObjectType> {
        use guanxi_core::custom_field::ObjectType;
        match self {
            ImportObject::Contact => Some(ObjectType::Contact),
            ImportObject::Company => Some(ObjectType::Company),
            ImportObject::Product => Some(ObjectType::Product),
            ImportObject::Order => Some(ObjectType::Order),
            ImportObject::Activity => None,
        }
    }

    pub fn spec(self) -> &'static Spec {
        match self {
            ImportObject::Contact => &CONTACT_SPEC,
            ImportObject::Company => &crate::objects::COMPANY_SPEC,
            ImportObject::Product => &crate::objects::PRODUCT_SPEC,
            ImportObject::Order => &crate::objects::ORDER_SPEC,
            ImportObject::Activity => &crate::objects::ACTIVITY_SPEC,
        }
    }
}

/// The columns of one record type: what a column can fill, the header spellings that propose each target, the
/// exact headers of the CRMs' exports, and what every mapping must fill.
pub struct Spec {
    /// Fields a column can fill (plus `custom.KEY` when the type has custom fields); `ignore` skips a column.
    pub targets: &'static [&'static str],
    /// Targets that several columns may fill.
    pub multi: &'static [&'static str],
    /// Header spellings (compared after [`fold_header`]) for each target.
    pub aliases: &'static [(&'static str, &'static [&'static str])],
    /// Per export format: headers only that format writes (to recognise it), then its exact headers.
    pub presets: &'static [PresetTable],
    /// Groups of targets of which a mapping must fill at least one each (`[["ordered_at"], ["customer.email",
    /// "customer.phone", …]]`).
    pub required: &'static [&'static [&'static str]],
}

/// A column a mapping reads, as `(position, header, field)`.
pub type Column = (usize, String, Field);

/// What is wrong with a mapping: `(header, message)` pairs.
pub type MappingErrors = Vec<(String, String)>;

/// A column a mapping reads: its position, its header and the field it fills.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Builtin(&'static str),
    Custom(CustomFieldDef),
}

/// Checks a mapping against a spec: every header it names exists, every target is known, single-valued targets
/// are used once, required targets are filled. Errors are `(header, message)`; a missing required target has an
/// empty header. Columns come back in file order.
pub fn check_columns(
    spec: &Spec,
    mapping: &Mapping,
    headers: &[String],
    defs: &[CustomFieldDef],
) -> Result<Vec<Column>, MappingErrors> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    let mut used: Vec<&str> = Vec::new();
    for (header, target) in &mapping.columns {
        let Some(idx) = headers.iter().position(|h| h == header) else {
            errors.push((header.clone(), "the file has no such column".to_string()));
            continue;
        };
        if target == "ignore" {
            continue;
        }
        let field = match spec.targets.iter().find(|t| **t == target.as_str()) {
            Some(t) => Field::Builtin(t),
            None => match target.strip_prefix("custom.").and_then(|k| defs.iter().find(|d| d.key == k)) {
                Some(d) => Field::Custom(d.clone()),
                None => {
                    errors.push((header.clone(), format!("unknown field {target:?}")));
                    continue;
                }
            },
        };
        if !spec.multi.contains(&target.as_str()) {
            if used.contains(&target.as_str()) {
                errors.push((header.clone(), format!("{target} is already filled by another column")));
                continue;
            }
            used.push(target);
        }
        columns.push((idx, header.clone(), field));
    }
    if errors.is_empty() {
        for group in spec.required {
            if !columns.iter().any(|(_, _, f)| matches!(f, Field::Builtin(t) if group.contains(t))) {
                errors.push((String::new(), format!("no column is mapped to {}", group.join(" or "))));
            }
        }
    }
    // Columns in file order, so the first email column is the primary one.
    columns.sort_by_key(|c| c.0);
    if errors.is_empty() { Ok(columns) } else { Err(errors) }
}

/// Whether a mapping fills anything at all (a file none of whose headers fits a type is probably another type).
pub fn maps_anything(mapping: &Mapping) -> bool {
    mapping.columns.values().any(|t| t != "ignore")
}

/// Proposes a mapping for `headers`: the detected preset's exact headers, then the aliases, then custom fields
/// by key or label (`custom.KEY`); anything else is `ignore`. A single-valued target goes to its first column.
pub fn propose(spec: &Spec, headers: &[String], defs: &[CustomFieldDef]) -> (Mapping, Option<Preset>) {
    let has = |h: &str| headers.iter().any(|x| x.trim() == h);
    let preset = spec.presets.iter().find(|(_, markers, _)| markers.iter().any(|m| has(m)));
    let mut columns = BTreeMap::new();
    let mut taken: Vec<String> = Vec::new();
    for h in headers {
        if h.is_empty() || columns.contains_key(h) {
            continue;
        }
        let folded = fold_header(h);
        let from_preset =
            preset.and_then(|(_, _, t)| t.iter().find(|(n, _)| *n == h.trim()).map(|(_, t)| t.to_string()));
        let target = from_preset
            .or_else(|| spec.aliases.iter().find(|(_, a)| a.contains(&folded.as_str())).map(|(t, _)| t.to_string()))
            .or_else(|| {
                let key = folded.strip_prefix("custom.").unwrap_or(&folded);
                defs.iter()
                    .find(|d| d.key == key || fold_header(&d.label) == folded)
                    .map(|d| format!("custom.{}", d.key))
            })
            .filter(|t| spec.multi.contains(&t.as_str()) || !taken.contains(t))
            .unwrap_or_else(|| "ignore".to_string());
        taken.push(target.clone());
        columns.insert(h.clone(), target);
    }
    (Mapping { columns, date_order: DayMonthOrder::default(), utc_offset_minutes: None }, preset.map(|p| p.0))
}

/// Contact fields a column can fill. `email`, `phone` and `tags` may be filled by several columns.
pub const CONTACT_TARGETS: &[&str] = &[
    "external_id",
    "name",
    "family_name",
    "given_name",
    "email",
    "phone",
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
    "visibility",
    "ignore",
];

const MULTI: &[&str] = &["email", "phone", "tags", "ignore"];

pub static CONTACT_SPEC: Spec =
    Spec { targets: CONTACT_TARGETS, multi: MULTI, aliases: ALIASES, presets: PRESETS, required: &[] };

/// Header spellings (compared after [`fold_header`]) for each target.
const ALIASES: &[(&str, &[&str])] = &[
    ("external_id", &["id", "externalid", "外部编号", "客户编号", "编号", "recordid", "contactid", "客户id"]),
    (
        "name",
        &[
            "name",
            "fullname",
            "contactname",
            "displayname",
            "姓名",
            "名字",
            "联系人",
            "客户姓名",
            "联系人姓名",
            "客户名称",
        ],
    ),
    ("family_name", &["lastname", "surname", "familyname", "姓", "姓氏"]),
    ("given_name", &["firstname", "givenname", "名"]),
    (
        "email",
        &[
            "email",
            "e-mail",
            "emailaddress",
            "mail",
            "邮箱",
            "电子邮件",
            "电子邮箱",
            "邮件",
            "邮箱地址",
            "secondaryemail",
            "otheremail",
            "otheremails",
            "workemail",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "mobile",
            "mobilephone",
            "mobilephonenumber",
            "phonenumber",
            "telephone",
            "tel",
            "cell",
            "cellphone",
            "workphone",
            "homephone",
            "otherphone",
            "otherphones",
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "座机",
            "移动电话",
            "电话号码",
        ],
    ),
    (
        "company",
        &[
            "company",
            "companyname",
            "accountname",
            "account",
            "organization",
            "organisation",
            "公司",
            "公司名称",
            "单位",
            "企业",
            "工作单位",
        ],
    ),
    ("job_title", &["title", "jobtitle", "position", "designation", "职位", "职务", "头衔", "岗位"]),
    ("address.country", &["country", "countryregion", "mailingcountry", "国家", "国家地区", "address.country"]),
    (
        "address.province",
        &["state", "province", "stateregion", "region", "mailingstate", "省", "省份", "州", "address.province"],
    ),
    ("address.city", &["city", "mailingcity", "town", "市", "城市", "address.city"]),
    ("address.district", &["district", "county", "区", "区县", "县", "address.district"]),
    (
        "address.street",
        &[
            "address",
            "street",
            "streetaddress",
            "mailingstreet",
            "地址",
            "详细地址",
            "街道",
            "通讯地址",
            "address.street",
        ],
    ),
    (
        "address.postcode",
        &[
            "zip",
            "zipcode",
            "postalcode",
            "postcode",
            "mailingzip",
            "mailingpostalcode",
            "邮编",
            "邮政编码",
            "address.postcode",
        ],
    ),
    ("birthday", &["birthday", "dateofbirth", "birthdate", "dob", "生日", "出生日期", "出生年月日"]),
    ("gender", &["gender", "sex", "性别"]),
    ("source", &["source", "leadsource", "originalsource", "contactsource", "来源", "客户来源", "渠道"]),
    ("source_detail", &["sourcedetail", "来源说明", "来源详情"]),
    ("tags", &["tags", "tag", "labels", "标签", "分组"]),
    ("preferred_language", &["language", "preferredlanguage", "语言", "首选语言"]),
    ("visibility", &["visibility", "可见范围"]),
];

/// Exact headers of the three CRMs' contact exports, checked before the general aliases.
/// A CRM's export: headers only it writes (to recognise it), then its exact headers and their targets.
pub type PresetTable = (Preset, &'static [&'static str], &'static [(&'static str, &'static str)]);
const PRESETS: &[PresetTable] = &[
    (
        Preset::Zoho,
        &["Contact Id", "Contact Owner", "Mailing Zip"],
        &[
            ("Contact Id", "external_id"),
            ("Record Id", "external_id"),
            ("First Name", "given_name"),
            ("Last Name", "family_name"),
            ("Email", "email"),
            ("Secondary Email", "email"),
            ("Phone", "phone"),
            ("Mobile", "phone"),
            ("Home Phone", "phone"),
            ("Account Name", "company"),
            ("Title", "job_title"),
            ("Mailing Street", "address.street"),
            ("Mailing City", "address.city"),
            ("Mailing State", "address.province"),
            ("Mailing Zip", "address.postcode"),
            ("Mailing Country", "address.country"),
            ("Date of Birth", "birthday"),
            ("Lead Source", "source"),
            ("Tag", "tags"),
            ("Contact Owner", "ignore"),
        ],
    ),
    (
        Preset::Hubspot,
        &["Record ID", "State/Region", "Mobile Phone Number"],
        &[
            ("Record ID", "external_id"),
            ("First Name", "given_name"),
            ("Last Name", "family_name"),
            ("Email", "email"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phone"),
            ("Company Name", "company"),
            ("Job Title", "job_title"),
            ("Street Address", "address.street"),
            ("City", "address.city"),
            ("State/Region", "address.province"),
            ("Postal Code", "address.postcode"),
            ("Country/Region", "address.country"),
            ("Original Source", "source"),
            ("Contact owner", "ignore"),
            ("Lifecycle Stage", "ignore"),
        ],
    ),
    (
        Preset::Salesforce,
        &["MailingStreet", "LastName", "MailingPostalCode"],
        &[
            ("Id", "external_id"),
            ("FirstName", "given_name"),
            ("LastName", "family_name"),
            ("Email", "email"),
            ("Phone", "phone"),
            ("MobilePhone", "phone"),
            ("HomePhone", "phone"),
            ("OtherPhone", "phone"),
            ("Account.Name", "company"),
            ("AccountName", "company"),
            ("Title", "job_title"),
            ("MailingStreet", "address.street"),
            ("MailingCity", "address.city"),
            ("MailingState", "address.province"),
            ("MailingPostalCode", "address.postcode"),
            ("MailingCountry", "address.country"),
            ("Birthdate", "birthday"),
            ("LeadSource", "source"),
            ("OwnerId", "ignore"),
            ("AccountId", "ignore"),
        ],
    ),
];

/// Lowercase, without spaces, underscores, hyphens, slashes, colons or full-width punctuation.
pub fn fold_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '/' | ':' | '：' | '（' | '）' | '(' | ')' | '*' | '\u{3000}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which preset a contact header row comes from, by headers only that CRM writes.
pub fn detect_preset(headers: &[String]) -> Option<Preset> {
    propose(&CONTACT_SPEC, headers, &[]).1
}

/// Proposes a contact mapping for `headers` (see [`propose`]).
pub fn propose_contacts(headers: &[String], defs: &[CustomFieldDef]) -> (Mapping, Option<Preset>) {
    propose(&CONTACT_SPEC, headers, defs)
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    ExternalId,
    Name,
    FamilyName,
    GivenName,
    Email,
    Phone,
    Company,
    JobTitle,
    Address(&'static str),
    Birthday,
    Gender,
    Source,
    SourceDetail,
    Tags,
    Language,
    Visibility,
    Custom(CustomFieldDef),
}

/// A mapping checked against the file's headers and the custom fields: what to read from each column.
#[derive(Debug, Clone)]
pub struct ContactPlan {
    columns: Vec<(usize, String, Target)>,
    date_order: DayMonthOrder,
}

/// Which match keys a plan can use.
impl ContactPlan {
    pub fn has_email(&self) -> bool {
        self.columns.iter().any(|c| c.2 == Target::Email)
    }
    pub fn has_phone(&self) -> bool {
        self.columns.iter().any(|c| c.2 == Target::Phone)
    }
    pub fn has_external_id(&self) -> bool {
        self.columns.iter().any(|c| c.2 == Target::ExternalId)
    }
}

/// Checks a contact mapping (see [`check_columns`]). Errors are `(header, message)`.
pub fn contact_plan(
    mapping: &Mapping,
    headers: &[String],
    defs: &[CustomFieldDef],
) -> Result<ContactPlan, Vec<(String, String)>> {
    let checked = check_columns(&CONTACT_SPEC, mapping, headers, defs)?;
    let columns = checked
        .into_iter()
        .map(|(idx, header, field)| {
            let t = match field {
                Field::Custom(d) => Target::Custom(d),
                Field::Builtin(name) => match name {
                    "external_id" => Target::ExternalId,
                    "name" => Target::Name,
                    "family_name" => Target::FamilyName,
                    "given_name" => Target::GivenName,
                    "email" => Target::Email,
                    "phone" => Target::Phone,
                    "company" => Target::Company,
                    "job_title" => Target::JobTitle,
                    "address.country" => Target::Address("country"),
                    "address.province" => Target::Address("province"),
                    "address.city" => Target::Address("city"),
                    "address.district" => Target::Address("district"),
                    "address.street" => Target::Address("street"),
                    "address.postcode" => Target::Address("postcode"),
                    "birthday" => Target::Birthday,
                    "gender" => Target::Gender,
                    "source" => Target::Source,
                    "source_detail" => Target::SourceDetail,
                    "tags" => Target::Tags,
                    "preferred_language" => Target::Language,
                    _ => Target::Visibility,
                },
            };
            (idx, header, t)
        })
        .collect();
    Ok(ContactPlan { columns, date_order: mapping.date_order })
}

/// A row read into a contact input, with what the store resolves (company by name) and matches on.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub line: u64,
    pub input: ContactInput,
    pub external_id: Option<String>,
    pub company_name: Option<String>,
    /// Field path prefix (`emails/0`, `address/city`) -> the header it came from, to place validation errors.
    pub origins: Vec<(String, String)>,
}

impl ContactRow {
    /// The column a validation error of `field` came from.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.origins.iter().find(|(p, _)| field == p || field.starts_with(&format!("{p}/"))).map(|(_, h)| h.as_str())
    }
}

/// Undoes the `'` an export puts before formula characters, so an exported file imports back unchanged.
pub(crate) fn cell_value(s: &str) -> &str {
    let t = s.trim();
    match t.strip_prefix('\'') {
        Some(rest) if matches!(rest.trim_start_matches(' ').chars().next(), Some('=' | '+' | '-' | '@')) => rest,
        _ => t,
    }
}

pub(crate) fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ';', '，', '；', '、', '|']).map(str::trim).filter(|x| !x.is_empty())
}

/// Reads one row. Cells that cannot be understood (a date that is not one, an unknown gender) are errors naming
/// the column, returned with the contact read from the other cells, so that the contact's own validation can
/// report the rest of the row's problems in the same pass.
pub fn contact_from_row(row: &Row, plan: &ContactPlan) -> (ContactRow, Vec<RowError>) {
    let mut input = ContactInput::default();
    let mut out = ContactRow {
        line: row.line,
        input: ContactInput::default(),
        external_id: None,
        company_name: None,
        origins: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut full_name: Option<(String, String)> = None;
    let err = |h: &str, code: &str, msg: String| RowError::new(row.line, Some(h), code, msg);
    for (idx, header, target) in &plan.columns {
        let raw = row.cells.get(*idx).map(String::as_str).unwrap_or("");
        let v = cell_value(raw);
        if v.is_empty() {
            continue;
        }
        let origin = |p: &str| (p.to_string(), header.clone());
        match target {
            Target::ExternalId => out.external_id = Some(v.to_string()),
            Target::Name => full_name = Some((v.to_string(), header.clone())),
            Target::FamilyName => {
                input.family_name = Some(v.to_string());
                out.origins.push(origin("family_name"));
            }
            Target::GivenName => {
                input.given_name = Some(v.to_string());
                out.origins.push(origin("given_name"));
            }
            Target::Email => {
                for e in split_list(v) {
                    out.origins.push(origin(&format!("emails/{}", input.emails.len())));
                    input.emails.push(EmailEntry { address: e.to_string(), primary: false });
                }
            }
            Target::Phone => {
                // Commas and semicolons may introduce an extension (`138…;ext=12`), so phones split on `/` and `、`.
                for p in v.split(['/', '、', '|']).map(str::trim).filter(|x| !x.is_empty()) {
                    out.origins.push(origin(&format!("phones/{}", input.phones.len())));
                    input.phones.push(PhoneEntry { number: p.to_string(), primary: false });
                }
            }
            Target::Company => out.company_name = Some(v.to_string()),
            Target::JobTitle => {
                input.job_title = Some(v.to_string());
                out.origins.push(origin("job_title"));
            }
            Target::Address(part) => {
                let a = &mut input.address;
                let slot = match *part {
                    "country" => &mut a.country,
                    "province" => &mut a.province,
                    "city" => &mut a.city,
                    "district" => &mut a.district,
                    "street" => &mut a.street,
                    _ => &mut a.postcode,
                };
                *slot = Some(if *part == "country" { country_code(v) } else { v.to_string() });
                out.origins.push(origin(&format!("address/{part}")));
            }
            Target::Birthday => match parse_date(v, plan.date_order) {
                Ok(d) => {
                    input.birthday = Some(d);
                    out.origins.push(origin("birthday"));
                }
                Err(m) => errors.push(err(header, "invalid_date", m)),
            },
            Target::Gender => match parse_gender(v) {
                Some(g) => input.gender = Some(g),
                None => {
                    errors.push(err(header, "invalid_gender", format!("{v:?} is not a gender (男/女, male/female)")))
                }
            },
            Target::Source => {
                let (s, detail) = parse_source(v);
                input.source = Some(s);
                if detail && input.source_detail.is_none() {
                    input.source_detail = Some(v.to_string());
                    out.origins.push(origin("source_detail"));
                }
            }
            Target::SourceDetail => {
                input.source_detail = Some(v.to_string());
                out.origins.push(origin("source_detail"));
            }
            Target::Tags => {
                out.origins.push(origin("tags"));
                input.tags.extend(split_list(v).map(str::to_string));
            }
            Target::Language => {
                input.preferred_language = Some(v.to_string());
                out.origins.push(origin("preferred_language"));
            }
            Target::Visibility => match parse_visibility(v) {
                Some(vis) => input.visibility = Some(vis),
                None => errors.push(err(header, "invalid_visibility", format!("{v:?} is not private, team or public"))),
            },
            Target::Custom(def) => match custom_value(def, v, plan.date_order) {
                Ok(val) => {
                    out.origins.push(origin(&format!("custom/{}", def.key)));
                    input.custom.insert(def.key.clone(), val);
                }
                Err(m) => errors.push(err(header, "invalid_value", m)),
            },
        }
    }
    if let Some((full, header)) = full_name {
        if input.family_name.is_none() && input.given_name.is_none() {
            let (f, g) = guanxi_core::person_name::split_full_name(&full);
            input.family_name = f;
            input.given_name = g;
            out.origins.push(("family_name".into(), header.clone()));
            out.origins.push(("given_name".into(), header.clone()));
        }
        input.display_name = Some(full);
        out.origins.push(("display_name".into(), header));
    }
    if input.source.is_none() {
        input.source = Some(Source::Import);
    }
    out.input = input;
    (out, errors)
}

pub(crate) fn country_code(v: &str) -> String {
    match v.trim() {
        "中国" | "中国大陆" | "China" | "CHINA" | "PRC" | "中华人民共和国" => "CN".into(),
        "香港" | "Hong Kong" => "HK".into(),
        "台湾" | "Taiwan" => "TW".into(),
        "美国" | "United States" | "USA" | "US" => "US".into(),
        "英国" | "United Kingdom" | "UK" => "GB".into(),
        "日本" | "Japan" => "JP".into(),
        "新加坡" | "Singapore" => "SG".into(),
        "德国" | "Germany" => "DE".into(),
        other => other.to_string(),
    }
}

fn parse_gender(v: &str) -> Option<Gender> {
    match v.trim().to_lowercase().as_str() {
        "男" | "m" | "male" | "man" | "先生" => Some(Gender::Male),
        "女" | "f" | "female" | "woman" | "女士" | "小姐" => Some(Gender::Female),
        "其他" | "other" | "o" | "diverse" => Some(Gender::Other),
        "未知" | "unknown" | "u" | "保密" => Some(Gender::Unknown),
        _ => None,
    }
}

pub(crate) fn parse_visibility(v: &str) -> Option<Visibility> {
    match v.trim().to_lowercase().as_str() {
        "private" | "私有" | "仅自己" => Some(Visibility::Private),
        "team" | "团队" => Some(Visibility::Team),
        "public" | "公开" => Some(Visibility::Public),
        _ => None,
    }
}

/// The source, and whether the original text should be kept as its detail (it said more than the category).
fn parse_source(v: &str) -> (Source, bool) {
    let folded = fold_header(v);
    if let Some(s) = Source::parse(&folded) {
        return (s, false);
    }
    let s = match folded.as_str() {
        "web" | "website" | "webform" | "网站" | "官网" | "表单" | "在线表单" => Source::WebForm,
        "tradeshow" | "event" | "seminar" | "展会" | "活动" | "会议" => Source::Event,
        "referral" | "employeereferral" | "externalreferral" | "partnerreferral" | "推荐" | "转介绍" | "介绍" => {
            Source::Referral
        }
        "coldcall" | "phoneinquiry" | "电话" | "来电" | "电话营销" => Source::Phone,
        "email" | "emailmarketing" | "邮件" | "邮件营销" => Source::Email,
        "social" | "socialmedia" | "wechat" | "weibo" | "微信" | "微博" | "抖音" | "小红书" | "社交媒体" => {
            Source::Social
        }
        "partner" | "thirdparty" | "合作伙伴" | "第三方" | "代理商" => Source::ThirdParty,
        _ => return (Source::Import, true),
    };
    (s, true)
}

pub(crate) fn custom_value(def: &CustomFieldDef, v: &str, order: DayMonthOrder) -> Result<Value, String> {
    Ok(match def.kind {
        CustomFieldKind::Number => {
            let n: f64 = v.replace([',', '，'], "").parse().map_err(|_| format!("{v:?} is not a number"))?;
            serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(|| format!("{v:?} is not a number"))?
        }
        CustomFieldKind::Bool => match v.to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "是" | "对" => Value::Bool(true),
            "false" | "no" | "n" | "0" | "否" | "不是" => Value::Bool(false),
            _ => return Err(format!("{v:?} is not yes or no")),
        },
        CustomFieldKind::Date => Value::String(parse_date(v, order)?.format("%Y-%m-%d").to_string()),
        CustomFieldKind::MultiSelect => Value::Array(split_list(v).map(|s| Value::String(s.to_string())).collect()),
        CustomFieldKind::Money => {
            // `199.00 CNY`, `CNY 199`, `199`: amount in major units, currency optional (the field's validation
            // decides whether one is needed).
            let mut amount = None;
            let mut currency = None;
            for part in v.split_whitespace() {
                if part.chars().all(|c| c.is_ascii_alphabetic()) && part.len() == 3 {
                    currency = Some(part.to_ascii_uppercase());
                } else {
                    amount = part.replace(',', "").parse::<f64>().ok();
                }
            }
            let amount = amount.ok_or_else(|| format!("{v:?} is not an amount"))?;
            let mut m = serde_json::Map::new();
            m.insert("amount_minor".into(), Value::from((amount * 100.0).round() as i64));
            m.insert("currency".into(), Value::String(currency.unwrap_or_else(|| "CNY".into())));
            Value::Object(m)
        }
        _ => Value::String(v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chinese_and_english_headers_are_recognised() {
        let h = headers(&[
            "姓名",
            "手机",
            "电话",
            "邮箱",
            "公司",
            "职位",
            "地址",
            "省",
            "市",
            "生日",
            "来源",
            "First Name",
            "E-mail",
            "备注",
        ]);
        let (m, preset) = propose_contacts(&h, &[]);
        assert_eq!(preset, None);
        let t = |k: &str| m.columns[k].as_str();
        assert_eq!(
            [
                t("姓名"),
                t("手机"),
                t("电话"),
                t("邮箱"),
                t("公司"),
                t("职位"),
                t("地址"),
                t("省"),
                t("市"),
                t("生日"),
                t("来源")
            ],
            [
                "name",
                "phone",
                "phone",
                "email",
                "company",
                "job_title",
                "address.street",
                "address.province",
                "address.city",
                "birthday",
                "source"
            ]
        );
        assert_eq!((t("First Name"), t("E-mail"), t("备注")), ("given_name", "email", "ignore"));
    }

    #[test]
    fn presets_are_detected() {
        let sf = headers(&["Id", "FirstName", "LastName", "Email", "MobilePhone", "MailingCity", "LeadSource"]);
        let (m, p) = propose_contacts(&sf, &[]);
        assert_eq!(p, Some(Preset::Salesforce));
        assert_eq!(m.columns["Id"], "external_id");
        assert_eq!(m.columns["MailingCity"], "address.city");
        let hs = headers(&["Record ID", "First Name", "Last Name", "Email", "Phone Number", "State/Region"]);
        let (m, p) = propose_contacts(&hs, &[]);
        assert_eq!(p, Some(Preset::Hubspot));
        assert_eq!(m.columns["State/Region"], "address.province");
        let zo = headers(&["Contact Id", "Contact Owner", "First Name", "Last Name", "Mailing Zip", "Secondary Email"]);
        let (m, p) = propose_contacts(&zo, &[]);
        assert_eq!(p, Some(Preset::Zoho));
        assert_eq!(m.columns["Secondary Email"], "email");
        assert_eq!(m.columns["Contact Owner"], "ignore");
    }

    #[test]
    fn a_row_becomes_a_contact_input() {
        let h = headers(&["姓名", "手机", "邮箱", "生日", "性别", "来源", "标签"]);
        let (m, _) = propose_contacts(&h, &[]);
        let plan = contact_plan(&m, &h, &[]).unwrap();
        let row = Row {
            line: 2,
            cells: [
                "欧阳娜娜",
                "138 0013 8000 转 12",
                "a@example.com; b@example.com",
                "2024年3月5日",
                "女",
                "展会",
                "vip、老客户",
            ]
            .map(str::to_string)
            .to_vec(),
        };
        let (r, errs) = contact_from_row(&row, &plan);
        assert!(errs.is_empty());
        assert_eq!(r.input.family_name.as_deref(), Some("欧阳"));
        assert_eq!(r.input.given_name.as_deref(), Some("娜娜"));
        assert_eq!(r.input.emails.len(), 2);
        assert_eq!(r.input.phones[0].number, "138 0013 8000 转 12");
        assert_eq!(r.input.birthday, NaiveDateExt::ymd(2024, 3, 5));
        assert_eq!(r.input.source, Some(Source::Event));
        assert_eq!(r.input.source_detail.as_deref(), Some("展会"));
        assert_eq!(r.input.tags, vec!["vip", "老客户"]);
        assert_eq!(r.column_of("emails/1/address"), Some("邮箱"));

        let bad = Row { line: 3, cells: ["张伟", "", "", "someday", "?", "", ""].map(str::to_string).to_vec() };
        let (_, errs) = contact_from_row(&bad, &plan);
        let cols: Vec<_> = errs.iter().map(|e| (e.line, e.column.clone().unwrap(), e.code.clone())).collect();
        assert_eq!(cols, vec![(3, "生日".into(), "invalid_date".into()), (3, "性别".into(), "invalid_gender".into())]);
    }

    struct NaiveDateExt;
    impl NaiveDateExt {
        fn ymd(y: i32, m: u32, d: u32) -> Option<chrono::NaiveDate> {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
        }
    }

    #[test]
    fn bad_mappings_are_explained() {
        let h = headers(&["a", "b"]);
        let m = Mapping {
            columns: [("a", "email"), ("b", "birthday"), ("c", "phone")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let errs = contact_plan(&m, &h, &[]).unwrap_err();
        assert_eq!(errs, vec![("c".to_string(), "the file has no such column".to_string())]);
        let m2 = Mapping { columns: [("a".to_string(), "nonsense".to_string())].into(), ..Default::default() };
        assert_eq!(contact_plan(&m2, &h, &[]).unwrap_err()[0].1, "unknown field \"nonsense\"");
    }

    #[test]
    fn exported_formula_guards_are_removed_on_import() {
        assert_eq!(cell_value("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(cell_value("'quoted"), "'quoted");
    }
}
