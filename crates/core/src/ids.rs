//! Record ids: UUIDv7, so ids sort by creation time, keep B-tree inserts local and double as a stable tie-breaker.

use uuid::Uuid;

/// A new time-ordered id. Ids made by one process are strictly increasing (the uuid crate keeps a counter for ids
/// made in the same millisecond).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Current time truncated to microseconds: PostgreSQL keeps microseconds, so both backends return exactly the
/// value that was written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let micros = now.timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or(now)
}
