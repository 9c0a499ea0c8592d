//! Guanxi's store: the only place SQL lives.
//!
//! One [`Db`] value wraps either embedded SQLite (a writer connection and a pool of readers, WAL mode) or a
//! PostgreSQL pool. Repositories take a `&Db` and return domain types from `guanxi-core`. Queries are written
//! once with `$N` placeholders, which both sqlx drivers accept; the few places where the dialects differ
//! (search, JSON access, case-insensitive matching) go through [`Dialect`].

pub mod accounts;
pub mod activities;
pub mod analytics;
pub mod bulk;
pub mod companies;
pub mod contacts;
pub mod custom_fields;
mod db;
pub mod dedup;
mod error;
pub mod idempotency;
pub mod imports;
pub mod merges;
pub mod orders;
mod page;
pub mod products;
pub mod saved_views;
mod scope;
mod search_index;
pub mod sql;
mod sqlite_read;
pub mod tasks;
pub mod testing;

pub use db::{Backend, Db, DbConfig, Dialect};
pub use error::StoreError;
pub use sql::Page;
pub use sqlite_read::on_this_thread;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
