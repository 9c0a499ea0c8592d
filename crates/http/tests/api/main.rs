//! API tests: one binary (faster to link), every test on SQLite and PostgreSQL.

#[path = "../support/client.rs"]
mod client;

mod helpers;

mod access;
mod analytics;
mod auth;
mod contacts;
mod dedup;
mod errors;
mod exports;
mod imports;
mod imports_objects;
mod records;
mod search;
