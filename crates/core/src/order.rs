//! Products and orders: the purchase history that analytics (RFM, lifetime value) reads.

use crate::money::Currency;
use crate::text_field::{clean_text, required_text};
use crate::{FieldError, ValidationErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub list_price_minor: i64,
    pub currency: Currency,
    pub active: bool,
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    pub fn to_input(&self) -> ProductInput {
        ProductInput {
            sku: Some(self.sku.clone()),
            name: Some(self.name.clone()),
            category: self.category.clone(),
            list_price_minor: Some(self.list_price_minor),
            currency: Some(self.currency.as_str().to_string()),
            active: Some(self.active),
            custom: self.custom.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub list_price_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub list_price_minor: i64,
    pub currency: Currency,
    pub active: bool,
    pub custom: Map<String, Value>,
}

impl ProductInput {
    pub fn validate(
        &self,
        custom_fields: &[crate::custom_field::CustomFieldDef],
    ) -> Result<ProductDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let sku = errs.take(required_text(self.sku.as_deref(), "sku", 64));
        if let Some(s) = &sku
            && s.chars().any(char::is_whitespace)
        {
            errs.push(FieldError::new("sku", "invalid_sku", "must not contain spaces"));
        }
        let name = errs.take(required_text(self.name.as_deref(), "name", 200));
        let category = errs.take(clean_text(self.category.as_deref(), "category", 100)).flatten();
        let list_price_minor = self.list_price_minor.unwrap_or(0);
        if list_price_minor < 0 {
            errs.push(FieldError::new("list_price_minor", "out_of_range", "must not be negative"));
        }
        let currency = errs.take(Currency::parse(self.currency.as_deref().unwrap_or("CNY"), "currency"));
        let custom = crate::custom_field::validate_custom_values(&self.custom, custom_fields).unwrap_or_else(|e| {
            errs.errors.extend(e.errors);
            Map::new()
        });
        errs.into_result()?;
        Ok(ProductDraft {
            sku: sku.unwrap_or_default(),
            name: name.unwrap_or_default(),
            category,
            list_price_minor,
            currency: currency.unwrap_or(Currency::CNY),
            active: self.active.unwrap_or(true),
            custom,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    #[default]
    Paid,
    Refunded,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        [OrderStatus::Paid, OrderStatus::Refunded, OrderStatus::Cancelled].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub product_id: Option<Uuid>,
    /// The product's name at the time of the order, so history survives product renames and deletions.
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    /// Discount on the whole line, in minor units.
    pub discount_minor: i64,
    pub line_total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub number: Option<String>,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    pub status: OrderStatus,
    pub currency: Currency,
    pub total_minor: i64,
    pub ordered_at: DateTime<Utc>,
    pub lines: Vec<OrderLine>,
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    pub fn to_input(&self) -> OrderInput {
        OrderInput {
            number: self.number.clone(),
            contact_id: Some(self.contact_id),
            company_id: self.company_id,
            status: Some(self.status),
            currency: Some(self.currency.as_str().to_string()),
            ordered_at: Some(self.ordered_at),
            lines: self
                .lines
                .iter()
                .map(|l| OrderLineInput {
                    product_id: l.product_id,
                    description: Some(l.description.clone()),
                    quantity: Some(l.quantity),
                    unit_price_minor: Some(l.unit_price_minor),
                    discount_minor: Some(l.discount_minor),
                })
                .collect(),
            custom: self.custom.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// Defaults to the product's name.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Defaults to the product's list price.
    #[serde(default)]
    pub unit_price_minor: Option<i64>,
    #[serde(default)]
    pub discount_minor: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The shop's own order number (unique when given).
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub currency: Option<String>,
    /// Defaults to now.
    #[serde(default)]
    pub ordered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub lines: Vec<OrderLineInput>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderDraft {
    pub number: Option<String>,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    pub status: OrderStatus,
    pub currency: Currency,
    pub ordered_at: DateTime<Utc>,
    pub lines: Vec<OrderLine>,
    pub total_minor: i64,
    pub custom: Map<String, Value>,
}

/// The catalogue facts an order line needs when it names a product.
#[derive(Debug, Clone)]
pub struct ProductFacts {
    pub id: Uuid,
    pub name: String,
    pub list_price_minor: i64,
    pub currency: Currency,
}

impl OrderInput {
    /// `products` holds the catalogue entries for the product ids the lines name (missing ones are errors).
    pub fn validate(
        &self,
        products: &[ProductFacts],
        custom_fields: &[crate::custom_field::CustomFieldDef],
        now: DateTime<Utc>,
    ) -> Result<OrderDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let number = errs.take(clean_text(self.number.as_deref(), "number", 64)).flatten();
        if self.contact_id.is_none() {
            errs.push(FieldError::new("contact_id", "required", "an order belongs to a contact"));
        }
        let currency = errs.take(Currency::parse(self.currency.as_deref().unwrap_or("CNY"), "currency"));
        if self.lines.is_empty() {
            errs.push(FieldError::new("lines", "required", "an order needs at least one line"));
        }
        if self.lines.len() > 500 {
            errs.push(FieldError::new("lines", "too_many", "at most 500 lines"));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut total: i64 = 0;
        for (i, l) in self.lines.iter().enumerate().take(500) {
            let f = |name: &str| format!("lines/{i}/{name}");
            let product = match l.product_id {
                Some(pid) => match products.iter().find(|p| p.id == pid) {
                    Some(p) => Some(p),
                    None => {
                        errs.push(FieldError::new(f("product_id"), "not_found", "no such product"));
                        None
                    }
                },
                None => None,
            };
            let description = errs.take(clean_text(l.description.as_deref(), &f("description"), 300)).flatten();
            let description = match description.or_else(|| product.map(|p| p.name.clone())) {
                Some(d) => d,
                None => {
                    errs.push(FieldError::new(f("description"), "required", "a line needs a product or a description"));
                    continue;
                }
            };
            let quantity = l.quantity.unwrap_or(1);
            if !(1..=1_000_000).contains(&quantity) {
                errs.push(FieldError::new(f("quantity"), "out_of_range", "must be between 1 and 1,000,000"));
                continue;
            }
            let Some(unit) = l.unit_price_minor.or(product.map(|p| p.list_price_minor)) else {
                errs.push(FieldError::new(f("unit_price_minor"), "required", "a line without a product needs a price"));
                continue;
            };
            let discount = l.discount_minor.unwrap_or(0);
            if unit < 0 || discount < 0 {
                errs.push(FieldError::new(
                    f("unit_price_minor"),
                    "out_of_range",
                    "prices and discounts must not be negative",
                ));
                continue;
            }
            let Some(gross) = unit.checked_mul(quantity) else {
                errs.push(FieldError::new(f("quantity"), "out_of_range", "line total is too large"));
                continue;
            };
            if discount > gross {
                errs.push(FieldError::new(f("discount_minor"), "out_of_range", "discount exceeds the line total"));
                continue;
            }
            let line_total = gross - discount;
            match total.checked_add(line_total) {
                Some(t) => total = t,
                None => {
                    errs.push(FieldError::new("lines", "out_of_range", "order total is too large"));
                    continue;
                }
            }
            lines.push(OrderLine {
                product_id: l.product_id,
                description,
                quantity,
                unit_price_minor: unit,
                discount_minor: discount,
                line_total_minor: line_total,
            });
        }
        let custom = crate::custom_field::validate_custom_values(&self.custom, custom_fields).unwrap_or_else(|e| {
            errs.errors.extend(e.errors);
            Map::new()
        });
        errs.into_result()?;
        Ok(OrderDraft {
            number,
            contact_id: self.contact_id.unwrap_or_default(),
            company_id: self.company_id,
            status: self.status.unwrap_or_default(),
            currency: currency.unwrap_or(Currency::CNY),
            ordered_at: self.ordered_at.unwrap_or(now),
            lines,
            total_minor: total,
            custom,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_total_is_computed_from_lines_with_product_defaults() {
        let pid = Uuid::from_u128(7);
        let products =
            vec![ProductFacts { id: pid, name: "绿茶".into(), list_price_minor: 1999, currency: Currency::CNY }];
        let input = OrderInput {
            contact_id: Some(Uuid::from_u128(1)),
            lines: vec![
                OrderLineInput {
                    product_id: Some(pid),
                    quantity: Some(3),
                    discount_minor: Some(97),
                    ..Default::default()
                },
                OrderLineInput {
                    description: Some("运费".into()), unit_price_minor: Some(1000), ..Default::default()
                },
            ],
            ..Default::default()
        };
        let d = input.validate(&products, &[], Utc::now()).unwrap();
        assert_eq!(d.lines[0].description, "绿茶");
        assert_eq!(d.total_minor, 3 * 1999 - 97 + 1000);
    }

    #[test]
    fn bad_lines_are_reported_per_field() {
        let input = OrderInput {
            lines: vec![OrderLineInput {
                product_id: Some(Uuid::from_u128(9)),
                quantity: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        };
        let errs = input.validate(&[], &[], Utc::now()).unwrap_err();
        let fields: Vec<_> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"contact_id"));
        assert!(fields.contains(&"lines/0/product_id"));
    }
}
