//! API tests: one binary (faster to link), every test on SQLite and PostgreSQL.

mod helpers;

mod access;
mod auth;
mod contacts;
mod errors;
mod records;
mod search;
