//! Custom fields defined by admins per object type, and the validation of the values records carry.

use crate::money::Currency;
use crate::text_field::clean_text;
use crate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which record type a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Contact,
    Company,
    Product,
    Order,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Contact => "contact",
            ObjectType::Company => "company",
            ObjectType::Product => "product",
            ObjectType::Order => "order",
        }
    }

    pub fn parse(s: &str) -> Option<ObjectType> {
        match s {
            "contact" => Some(ObjectType::Contact),
            "company" => Some(ObjectType::Company),
            "product" => Some(ObjectType::Product),
            "order" => Some(ObjectType::Order),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldKind {
    Text,
    Number,
    /// `{"amount_minor": 1999, "currency": "CNY"}`
    Money,
    /// `YYYY-MM-DD`
    Date,
    Bool,
    SingleSelect,
    MultiSelect,
    Url,
}

impl CustomFieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomFieldKind::Text => "text",
            CustomFieldKind::Number => "number",
            CustomFieldKind::Money => "money",
            CustomFieldKind::Date => "date",
            CustomFieldKind::Bool => "bool",
            CustomFieldKind::SingleSelect => "single_select",
            CustomFieldKind::MultiSelect => "multi_select",
            CustomFieldKind::Url => "url",
        }
    }

    pub fn parse(s: &str) -> Option<CustomFieldKind> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// A custom field definition as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomFieldDef {
    pub id: uuid::Uuid,
    pub object: ObjectType,
    /// Stable machine key used in the `custom` object of records and in filters (`custom.vip_level`).
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    /// Allowed values for single and multi select.
    pub options: Vec<String>,
    pub required: bool,
    pub position: i32,
}

/// Input for creating a custom field.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    pub object: ObjectType,
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub position: i32,
}

impl CustomFieldInput {
    /// Checks the definition itself: a key usable in filters and JSON paths, options for selects.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 40
            && self.key.starts_with(|c: char| c.is_ascii_lowercase())
            && self.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            errs.push(FieldError::new(
                "key",
                "invalid_key",
                "must start with a letter and contain only a-z, 0-9 and _ (at most 40 characters)",
            ));
        }
        errs.take(
            clean_text(Some(&self.label), "label", 100)
                .and_then(|l| l.ok_or_else(|| FieldError::new("label", "required", "is required")).map(|_| ())),
        );
        let is_select = matches!(self.kind, CustomFieldKind::SingleSelect | CustomFieldKind::MultiSelect);
        if is_select && self.options.is_empty() {
            errs.push(FieldError::new("options", "required", "select fields need at least one option"));
        }
        if !is_select && !self.options.is_empty() {
            errs.push(FieldError::new("options", "not_allowed", "only select fields have options"));
        }
        if self.options.len() > 500 {
            errs.push(FieldError::new("options", "too_many", "at most 500 options"));
        }
        for (i, o) in self.options.iter().enumerate() {
            errs.take(clean_text(Some(o), &format!("options/{i}"), 100).map(|_| ()));
        }
        errs.into_result()
    }
}

/// Validates the `custom` object of a record against the definitions for its type. Unknown keys are errors (a
/// typo must not silently drop data); values are normalised (trimmed text, upper-case currency).
pub fn validate_custom_values(
    values: &Map<String, Value>,
    defs: &[CustomFieldDef],
) -> Result<Map<String, Value>, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let mut out = Map::new();
    for (key, value) in values {
        let field = format!("custom/{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            errs.push(FieldError::new(field, "unknown_field", "no custom field with this key is defined"));
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Some(v) = errs.take(validate_value(def, value, &field)) {
            out.insert(key.clone(), v);
        }
    }
    for def in defs.iter().filter(|d| d.required) {
        if !out.contains_key(&def.key) {
            errs.push(FieldError::new(format!("custom/{}", def.key), "required", "is required"));
        }
    }
    errs.into_result().map(|_| out)
}

fn validate_value(def: &CustomFieldDef, value: &Value, field: &str) -> Result<Value, FieldError> {
    let wrong = |what: &str| FieldError::new(field, "invalid_type", format!("must be {what}"));
    match def.kind {
        CustomFieldKind::Text => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            Ok(clean_text(Some(s), field, 2000)?.map(Value::String).unwrap_or(Value::Null))
        }
        CustomFieldKind::Number => {
            let n = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| wrong("a number"))?;
            Ok(serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null))
        }
        CustomFieldKind::Money => {
            let obj =
                value.as_object().ok_or_else(|| wrong(r#"an object {"amount_minor": 1999, "currency": "CNY"}"#))?;
            let amount =
                obj.get("amount_minor").and_then(Value::as_i64).ok_or_else(|| wrong("an integer amount_minor"))?;
            let cur = obj.get("currency").and_then(Value::as_str).ok_or_else(|| wrong("a currency"))?;
            let cur = Currency::parse(cur, field)?;
            Ok(serde_json::json!({"amount_minor": amount, "currency": cur.as_str()}))
        }
        CustomFieldKind::Date => {
            let s = value.as_str().ok_or_else(|| wrong("a date YYYY-MM-DD"))?;
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| wrong("a date YYYY-MM-DD"))?;
            Ok(Value::String(s.trim().to_string()))
        }
        CustomFieldKind::Bool => value.as_bool().map(Value::Bool).ok_or_else(|| wrong("true or false")),
        CustomFieldKind::SingleSelect => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if def.options.iter().any(|o| o == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(FieldError::new(field, "invalid_option", format!("must be one of: {}", def.options.join(", "))))
            }
        }
        CustomFieldKind::MultiSelect => {
            let arr = value.as_array().ok_or_else(|| wrong("an array of strings"))?;
            let mut picked = Vec::new();
            for v in arr {
                let s = v.as_str().ok_or_else(|| wrong("an array of strings"))?;
                if !def.options.iter().any(|o| o == s) {
                    return Err(FieldError::new(
                        field,
                        "invalid_option",
                        format!("{s:?} is not one of: {}", def.options.join(", ")),
                    ));
                }
                if !picked.contains(&s) {
                    picked.push(s);
                }
            }
            Ok(Value::Array(picked.into_iter().map(|s| Value::String(s.to_string())).collect()))
        }
        CustomFieldKind::Url => {
            let s = value.as_str().ok_or_else(|| wrong("a URL"))?.trim();
            let ok = (s.starts_with("https://") || s.starts_with("http://"))
                && s.len() <= 2000
                && s.len() > 8
                && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            if ok {
                Ok(Value::String(s.to_string()))
            } else {
                Err(FieldError::new(field, "invalid_url", "must be a web address starting with https:// or http://"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, kind: CustomFieldKind, options: &[&str], required: bool) -> CustomFieldDef {
        CustomFieldDef {
            id: uuid::Uuid::nil(),
            object: ObjectType::Contact,
            key: key.into(),
            label: key.into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            required,
            position: 0,
        }
    }

    #[test]
    fn values_are_checked_by_kind() {
        let defs = vec![
            def("level", CustomFieldKind::SingleSelect, &["gold", "silver"], false),
            def("score", CustomFieldKind::Number, &[], false),
            def("since", CustomFieldKind::Date, &[], true),
            def("budget", CustomFieldKind::Money, &[], false),
            def("site", CustomFieldKind::Url, &[], false),
        ];
        let ok = json!({"level": "gold", "score": 3.5, "since": "2024-03-05", "budget": {"amount_minor": 100, "currency": "cny"}});
        let out = validate_custom_values(ok.as_object().unwrap(), &defs).unwrap();
        assert_eq!(out["budget"]["currency"], "CNY");
        let bad = json!({"level": "bronze", "score": "x", "nope": 1, "site": "www.example.com"});
        let errs = validate_custom_values(bad.as_object().unwrap(), &defs).unwrap_err();
        let codes: Vec<_> = errs.errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(codes.contains(&("custom/level", "invalid_option")));
        assert!(codes.contains(&("custom/score", "invalid_type")));
        assert!(codes.contains(&("custom/nope", "unknown_field")));
        assert!(codes.contains(&("custom/site", "invalid_url")), "a URL-specific code, not a type error");
        let not_text = json!({"since": "2024-03-05", "site": 5});
        let errs = validate_custom_values(not_text.as_object().unwrap(), &defs).unwrap_err();
        assert_eq!(errs.errors[0].code, "invalid_type");
        assert!(codes.contains(&("custom/since", "required")));
    }
}
