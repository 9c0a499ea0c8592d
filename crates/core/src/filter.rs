//! The list filter model shared by the API, the UI and saved views.
//!
//! A list request carries conditions as `filter=FIELD:OP:VALUE` strings, for example
//! `filter=address.city:eq:北京`, `filter=tags:has_tag:vip`, `filter=created_at:between:2024-01-01,2024-12-31`,
//! `filter=owner:eq:me`, `filter=custom.level:in:gold,silver`. Conditions are AND-ed. `sort=-created_at` sorts
//! descending; results are paged with an opaque cursor.

use crate::FieldError;
use crate::custom_field::{CustomFieldDef, CustomFieldKind};
use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// One of a fixed set of values.
    Enum(&'static [&'static str]),
    Date,
    Timestamp,
    Integer,
    Bool,
    Uuid,
    /// A list of tags; only `has_tag` and `is_empty` apply.
    Tags,
}

/// A filterable (and maybe sortable) field of an object. `column` is the store's column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: FieldKind,
    pub sortable: bool,
}

const fn f(name: &'static str, column: &'static str, kind: FieldKind, sortable: bool) -> FieldSpec {
    FieldSpec { name, column, kind, sortable }
}

const SOURCES: &[&str] =
    &["web_form", "import", "api", "manual", "event", "email", "phone", "social", "third_party", "referral"];
const GENDERS: &[&str] = &["female", "male", "other", "unknown"];
const VISIBILITIES: &[&str] = &["private", "team", "public"];
const ORDER_STATUSES: &[&str] = &["paid", "refunded", "cancelled"];
const ACTIVITY_KINDS: &[&str] =
    &["note", "call", "meeting", "visit", "email", "event_attendance", "complaint", "feedback", "web_visit", "system"];

pub const CONTACT_FIELDS: &[FieldSpec] = &[
    f("display_name", "display_name", FieldKind::Text, true),
    f("family_name", "family_name", FieldKind::Text, true),
    f("given_name", "given_name", FieldKind::Text, true),
    f("email", "primary_email", FieldKind::Text, true),
    f("phone", "primary_phone", FieldKind::Text, false),
    f("job_title", "job_title", FieldKind::Text, true),
    f("company_id", "company_id", FieldKind::Uuid, false),
    f("address.country", "address_country", FieldKind::Text, true),
    f("address.province", "address_province", FieldKind::Text, true),
    f("address.city", "address_city", FieldKind::Text, true),
    f("address.district", "address_district", FieldKind::Text, false),
    f("address.postcode", "address_postcode", FieldKind::Text, false),
    f("gender", "gender", FieldKind::Enum(GENDERS), false),
    f("birthday", "birthday", FieldKind::Date, true),
    f("preferred_language", "preferred_language", FieldKind::Text, false),
    f("source", "source", FieldKind::Enum(SOURCES), true),
    f("source_detail", "source_detail", FieldKind::Text, false),
    f("tags", "tags", FieldKind::Tags, false),
    f("owner", "owner_id", FieldKind::Uuid, false),
    f("team", "team_id", FieldKind::Uuid, false),
    f("visibility", "visibility", FieldKind::Enum(VISIBILITIES), false),
    f("created_at", "created_at", FieldKind::Timestamp, true),
    f("updated_at", "updated_at", FieldKind::Timestamp, true),
];

pub const COMPANY_FIELDS: &[FieldSpec] = &[
    f("name", "name", FieldKind::Text, true),
    f("domain", "domain", FieldKind::Text, true),
    f("industry", "industry", FieldKind::Text, true),
    f("size_band", "size_band", FieldKind::Enum(&["1-10", "11-50", "51-200", "201-1000", "1001+"]), false),
    f("address.country", "address_country", FieldKind::Text, true),
    f("address.province", "address_province", FieldKind::Text, true),
    f("address.city", "address_city", FieldKind::Text, true),
    f("tags", "tags", FieldKind::Tags, false),
    f("owner", "owner_id", FieldKind::Uuid, false),
    f("team", "team_id", FieldKind::Uuid, false),
    f("visibility", "visibility", FieldKind::Enum(VISIBILITIES), false),
    f("created_at", "created_at", FieldKind::Timestamp, true),
    f("updated_at", "updated_at", FieldKind::Timestamp, true),
];

pub const PRODUCT_FIELDS: &[FieldSpec] = &[
    f("sku", "sku", FieldKind::Text, true),
    f("name", "name", FieldKind::Text, true),
    f("category", "category", FieldKind::Text, true),
    f("list_price_minor", "list_price_minor", FieldKind::Integer, true),
    f("currency", "currency", FieldKind::Text, false),
    f("active", "active", FieldKind::Bool, false),
    f("created_at", "created_at", FieldKind::Timestamp, true),
    f("updated_at", "updated_at", FieldKind::Timestamp, true),
];

pub const ORDER_FIELDS: &[FieldSpec] = &[
    f("number", "number", FieldKind::Text, true),
    f("contact_id", "contact_id", FieldKind::Uuid, false),
    f("company_id", "company_id", FieldKind::Uuid, false),
    f("status", "status", FieldKind::Enum(ORDER_STATUSES), false),
    f("currency", "currency", FieldKind::Text, false),
    f("total_minor", "total_minor", FieldKind::Integer, true),
    f("ordered_at", "ordered_at", FieldKind::Timestamp, true),
    f("created_at", "created_at", FieldKind::Timestamp, true),
    f("updated_at", "updated_at", FieldKind::Timestamp, true),
];

pub const ACTIVITY_FIELDS: &[FieldSpec] = &[
    f("kind", "kind", FieldKind::Enum(ACTIVITY_KINDS), false),
    f("contact_id", "contact_id", FieldKind::Uuid, false),
    f("company_id", "company_id", FieldKind::Uuid, false),
    f("actor", "actor_id", FieldKind::Uuid, false),
    f("subject", "subject", FieldKind::Text, true),
    f("occurred_at", "occurred_at", FieldKind::Timestamp, true),
    f("created_at", "created_at", FieldKind::Timestamp, true),
];

pub const TASK_FIELDS: &[FieldSpec] = &[
    f("title", "title", FieldKind::Text, true),
    f("assignee", "assignee_id", FieldKind::Uuid, false),
    f("contact_id", "contact_id", FieldKind::Uuid, false),
    f("company_id", "company_id", FieldKind::Uuid, false),
    f("done", "done", FieldKind::Bool, false),
    f("due_at", "due_at", FieldKind::Timestamp, true),
    f("remind_at", "remind_at", FieldKind::Timestamp, true),
    f("created_at", "created_at", FieldKind::Timestamp, true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Between,
    Contains,
    In,
    IsEmpty,
    HasTag,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "gt" => Op::Gt,
            "between" => Op::Between,
            "contains" => Op::Contains,
            "in" => Op::In,
            "is_empty" => Op::IsEmpty,
            "has_tag" => Op::HasTag,
            _ => return None,
        })
    }
}

/// A typed filter value; the store binds it as a parameter, never as SQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Uuid(Uuid),
}

/// Which value a condition reads: a built-in column or a custom field in the record's `custom` JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldRef {
    Builtin(FieldSpec),
    Custom { key: String, kind: CustomFieldKind },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: FieldRef,
    pub op: Op,
    /// One value for most ops, two for `between`, one or more for `in`, none for `is_empty` (which carries a
    /// bool: `is_empty:true` or `is_empty:false`).
    pub values: Vec<FilterValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub field: FieldSpec,
    pub descending: bool,
}

/// Where the previous page ended: the sort value and the id of the last row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "v")]
    pub sort_value: serde_json::Value,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Result<Cursor, FieldError> {
        let bad = || FieldError::new("cursor", "invalid_cursor", "is not a cursor this server issued");
        if s.len() > 2048 {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub conditions: Vec<Condition>,
    pub sort: Option<Sort>,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub q: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// Parses the raw list parameters of one object type. `me` is the caller (for `owner:eq:me`).
pub struct ListParams<'a> {
    pub filters: &'a [String],
    pub sort: Option<&'a str>,
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
    pub q: Option<&'a str>,
}

pub fn parse_list_query(
    params: &ListParams<'_>,
    fields: &[FieldSpec],
    custom_fields: &[CustomFieldDef],
    me: Uuid,
) -> Result<ListQuery, crate::ValidationErrors> {
    let mut errs = crate::ValidationErrors::new();
    if params.filters.len() > 50 {
        errs.push(FieldError::new("filter", "too_many", "at most 50 filters"));
        return Err(errs);
    }
    let mut conditions = Vec::new();
    for (i, raw) in params.filters.iter().enumerate() {
        if let Some(c) =
            errs.take(parse_condition(raw, fields, custom_fields, me).map_err(|e| e.under(&format!("filter/{i}"))))
        {
            conditions.push(c);
        }
    }
    let sort = match params.sort.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let (descending, name) = match s.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, s),
            };
            match fields.iter().find(|f| f.name == name && f.sortable) {
                Some(spec) => Some(Sort { field: *spec, descending }),
                None => {
                    errs.push(FieldError::new("sort", "invalid_sort", format!("cannot sort by {name:?}")));
                    None
                }
            }
        }
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        errs.push(FieldError::new("limit", "out_of_range", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let cursor = params.cursor.filter(|c| !c.is_empty()).and_then(|c| errs.take(Cursor::decode(c)));
    let q = params.q.map(str::trim).filter(|q| !q.is_empty()).map(|q| q.chars().take(200).collect());
    errs.into_result()?;
    Ok(ListQuery { conditions, sort, limit, cursor, q })
}

fn parse_condition(
    raw: &str,
    fields: &[FieldSpec],
    custom_fields: &[CustomFieldDef],
    me: Uuid,
) -> Result<Condition, FieldError> {
    let mut parts = raw.splitn(3, ':');
    let name = parts.next().unwrap_or("").trim();
    let op_s = parts.next().unwrap_or("").trim();
    let value = parts.next().unwrap_or("");
    let op = Op::parse(op_s).ok_or_else(|| {
        FieldError::new(
            "",
            "invalid_operator",
            format!("unknown operator {op_s:?}; use eq, ne, lt, gt, between, contains, in, is_empty or has_tag"),
        )
    })?;
    let field = if let Some(key) = name.strip_prefix("custom.") {
        let def = custom_fields
            .iter()
            .find(|d| d.key == key)
            .ok_or_else(|| FieldError::new("", "unknown_field", format!("no custom field {key:?}")))?;
        FieldRef::Custom { key: def.key.clone(), kind: def.kind }
    } else {
        let spec = fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| FieldError::new("", "unknown_field", format!("cannot filter by {name:?}")))?;
        FieldRef::Builtin(*spec)
    };
    let kind = match &field {
        FieldRef::Builtin(s) => s.kind,
        FieldRef::Custom { kind, .. } => custom_kind(*kind),
    };
    let allowed = match kind {
        FieldKind::Tags => matches!(op, Op::HasTag | Op::IsEmpty),
        FieldKind::Text => !matches!(op, Op::HasTag),
        FieldKind::Enum(_) | FieldKind::Uuid | FieldKind::Bool => matches!(op, Op::Eq | Op::Ne | Op::In | Op::IsEmpty),
        FieldKind::Date | FieldKind::Timestamp | FieldKind::Integer => {
            matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Gt | Op::Between | Op::In | Op::IsEmpty)
        }
    };
    if !allowed {
        return Err(FieldError::new("", "invalid_operator", format!("{op_s} does not apply to {name}")));
    }
    let values = match op {
        Op::IsEmpty => match value.trim() {
            "" | "true" => vec![FilterValue::Bool(true)],
            "false" => vec![FilterValue::Bool(false)],
            _ => return Err(FieldError::new("", "invalid_value", "is_empty takes true or false")),
        },
        Op::Between => {
            let (a, b) = value
                .split_once(',')
                .ok_or_else(|| FieldError::new("", "invalid_value", "between takes two values: FROM,TO"))?;
            vec![parse_value(kind, a, me, false)?, parse_value(kind, b, me, true)?]
        }
        Op::In => {
            let vals: Vec<&str> = value.split(',').collect();
            if vals.len() > 100 {
                return Err(FieldError::new("", "too_many", "in takes at most 100 values"));
            }
            vals.into_iter().map(|v| parse_value(kind, v, me, false)).collect::<Result<_, _>>()?
        }
        Op::HasTag | Op::Contains => {
            let v = value.trim();
            if v.is_empty() || v.chars().count() > 200 {
                return Err(FieldError::new("", "invalid_value", "needs a value of 1 to 200 characters"));
            }
            vec![FilterValue::Text(v.to_string())]
        }
        _ => vec![parse_value(kind, value, me, false)?],
    };
    Ok(Condition { field, op, values })
}

fn custom_kind(k: CustomFieldKind) -> FieldKind {
    match k {
        CustomFieldKind::Number | CustomFieldKind::Money => FieldKind::Integer,
        CustomFieldKind::Date => FieldKind::Date,
        CustomFieldKind::Bool => FieldKind::Bool,
        CustomFieldKind::MultiSelect => FieldKind::Tags,
        CustomFieldKind::Text | CustomFieldKind::SingleSelect | CustomFieldKind::Url => FieldKind::Text,
    }
}

/// `end_of_range`: a bare date as the upper bound of a timestamp range means the end of that day.
fn parse_value(kind: FieldKind, raw: &str, me: Uuid, end_of_range: bool) -> Result<FilterValue, FieldError> {
    let v = raw.trim();
    let bad = |what: &str| FieldError::new("", "invalid_value", format!("{v:?} is not {what}"));
    if v.chars().count() > 200 {
        return Err(FieldError::new("", "invalid_value", "values are at most 200 characters"));
    }
    Ok(match kind {
        FieldKind::Text | FieldKind::Tags => FilterValue::Text(v.to_string()),
        FieldKind::Enum(allowed) => {
            if !allowed.contains(&v) {
                return Err(FieldError::new("", "invalid_value", format!("must be one of: {}", allowed.join(", "))));
            }
            FilterValue::Text(v.to_string())
        }
        FieldKind::Integer => {
            if let Ok(i) = v.parse::<i64>() {
                FilterValue::Int(i)
            } else {
                FilterValue::Float(v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| bad("a number"))?)
            }
        }
        FieldKind::Bool => FilterValue::Bool(match v {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("true or false")),
        }),
        FieldKind::Date => {
            FilterValue::Date(NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad("a date YYYY-MM-DD"))?)
        }
        FieldKind::Timestamp => {
            if let Ok(ts) = DateTime::parse_from_rfc3339(v) {
                FilterValue::Timestamp(ts.with_timezone(&Utc))
            } else {
                let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad("a date or an RFC 3339 time"))?;
                let t = if end_of_range {
                    NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)
                } else {
                    Some(NaiveTime::MIN)
                };
                FilterValue::Timestamp(d.and_time(t.unwrap_or(NaiveTime::MIN)).and_utc())
            }
        }
        FieldKind::Uuid => {
            if v == "me" {
                FilterValue::Uuid(me)
            } else {
                FilterValue::Uuid(Uuid::parse_str(v).map_err(|_| bad("an id"))?)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(filters: &[&str], sort: Option<&str>) -> Result<ListQuery, crate::ValidationErrors> {
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let p = ListParams { filters: &filters, sort, limit: None, cursor: None, q: None };
        parse_list_query(&p, CONTACT_FIELDS, &[], Uuid::from_u128(5))
    }

    #[test]
    fn filters_parse_into_typed_conditions() {
        let q = parse(
            &["address.city:eq:北京", "owner:eq:me", "created_at:between:2024-01-01,2024-12-31", "tags:has_tag:vip"],
            Some("-created_at"),
        )
        .unwrap();
        assert_eq!(q.conditions.len(), 4);
        assert_eq!(q.conditions[1].values, vec![FilterValue::Uuid(Uuid::from_u128(5))]);
        match &q.conditions[2].values[1] {
            FilterValue::Timestamp(t) => assert_eq!(t.to_rfc3339(), "2024-12-31T23:59:59.999999+00:00"),
            v => panic!("unexpected {v:?}"),
        }
        assert!(q.sort.unwrap().descending);
    }

    #[test]
    fn bad_filters_name_the_problem() {
        let e =
            parse(&["nope:eq:1", "source:eq:fax", "tags:lt:3", "birthday:gt:yesterday"], Some("phone")).unwrap_err();
        let codes: Vec<_> = e.errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("filter/0", "unknown_field"),
                ("filter/1", "invalid_value"),
                ("filter/2", "invalid_operator"),
                ("filter/3", "invalid_value"),
                ("sort", "invalid_sort")
            ]
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor { sort_value: serde_json::json!("张伟"), id: Uuid::from_u128(9) };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("!!!").is_err());
    }
}
