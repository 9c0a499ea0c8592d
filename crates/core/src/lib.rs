//! Guanxi's domain: the records a CRM keeps (contacts, companies, products, orders, activities, tasks), the rules
//! that make an input valid, the list filter model and the permission model. Pure: no IO, no HTTP, no SQL.

pub mod access;
pub mod activity;
pub mod company;
pub mod contact;
pub mod contact_point;
pub mod custom_field;
pub mod error;
pub mod filter;
pub mod ids;
pub mod money;
pub mod order;
pub mod person_name;
pub mod task;
pub mod text_field;

pub use error::{FieldError, ValidationErrors};
