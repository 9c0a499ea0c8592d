//! The hot SQLite reads (a contact by id, a list page, search candidates, counts) on rusqlite connections, run
//! on the calling thread.
//!
//! Why not sqlx for these: sqlx-sqlite runs every connection on its own worker thread and hands each result row
//! to the async side through a channel, waking the task once per row. Profiles of the list and search phases of
//! `cargo xtask bench api` showed about half of the server's CPU time in the kernel switching threads for that
//! hand-over. Here a query runs to the end on the thread that asked for it and returns the whole result set.
//! sqlx stays for everything else (writes, transactions, PostgreSQL); both link the same `libsqlite3-sys`, so this
//! is the same SQLite library and file, with the same WAL snapshot rules.
//!
//! Values are bound exactly as sqlx-sqlite encodes them (UUIDs as 16-byte blobs, timestamps as RFC 3339 text with
//! `+00:00`, dates as `YYYY-MM-DD`, booleans as integers), so the same SQL text compares the same way on both.

use crate::Result;
use crate::sql::{Arg, Sql};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Row, ToSql};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use uuid::Uuid;

/// Read-only rusqlite connections to one database file, at most `max` of them (each holds its own page cache):
/// a reader waits for a free one, as with the sqlx pool.
pub(crate) struct Readers {
    path: PathBuf,
    max: usize,
    /// Idle connections, and how many exist in all (idle or in use).
    pool: Mutex<(Vec<Connection>, usize)>,
    freed: Condvar,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish()
    }
}

/// A row type the rusqlite path can decode, by column name (the names of the SELECT list without the table alias).
pub(crate) trait FromSqliteRow: Sized {
    /// False for row types that still go through sqlx (their `from_sqlite` is never called).
    const DECODES: bool = true;
    fn from_sqlite(row: &Row<'_>) -> rusqlite::Result<Self>;
}

/// Row types that share a generic hot path (a list page) but are not decoded here yet: they go through sqlx.
macro_rules! through_sqlx {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::sqlite_read::FromSqliteRow for $t {
            const DECODES: bool = false;
            fn from_sqlite(_: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Err(rusqlite::Error::InvalidQuery)
            }
        })*
    };
}
pub(crate) use through_sqlx;

impl Readers {
    pub(crate) fn new(path: PathBuf, max: usize) -> Readers {
        Readers { path, max: max.max(1), pool: Mutex::new((Vec::new(), 0)), freed: Condvar::new() }
    }

    /// An idle connection, a new one while fewer than `max` exist, or the next one given back.
    fn take(&self) -> rusqlite::Result<Connection> {
        let poisoned = |_| rusqlite::Error::InvalidQuery;
        let mut pool = self.pool.lock().map_err(poisoned)?;
        loop {
            if let Some(c) = pool.0.pop() {
                return Ok(c);
            }
            if pool.1 < self.max {
                pool.1 += 1;
                drop(pool);
                return self.open().inspect_err(|_| {
                    if let Ok(mut p) = self.pool.lock() {
                        p.1 -= 1;
                    }
                    self.freed.notify_one();
                });
            }
            pool = self.freed.wait(pool).map_err(poisoned)?;
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.0.push(conn);
        }
        self.freed.notify_one();
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // The same settings as the sqlx readers (see `Db::connect`).
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA temp_store = memory; PRAGMA cache_size = -8000;")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` with a connection, on this thread ([`on_this_thread`]).
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        on_this_thread(|| {
            let conn = self.take()?;
            let out = f(&conn);
            self.give_back(conn);
            out
        })
        .map_err(|e| store_error("sqlite read", e))
    }

    pub(crate) fn fetch_all<R: FromSqliteRow>(&self, sql: &Sql) -> Result<Vec<R>> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(&sql.text)?;
            let params: Vec<Bound<'_>> = sql.args.iter().map(Bound).collect();
            let rows = st.query_map(rusqlite::params_from_iter(params.iter()), |r| R::from_sqlite(r))?;
            rows.collect()
        })
    }

    pub(crate) fn fetch_optional<R: FromSqliteRow>(&self, sql: &Sql) -> Result<Option<R>> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(&sql.text)?;
            let params: Vec<Bound<'_>> = sql.args.iter().map(Bound).collect();
            let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
            match rows.next()? {
                Some(r) => Ok(Some(R::from_sqlite(r)?)),
                None => Ok(None),
            }
        })
    }

    pub(crate) fn fetch_i64(&self, sql: &Sql) -> Result<i64> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(&sql.text)?;
            let params: Vec<Bound<'_>> = sql.args.iter().map(Bound).collect();
            st.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, i64>(0))
        })
    }
}

/// Runs blocking SQLite work on this thread; on a multi-threaded runtime the worker's other tasks move to another
/// thread meanwhile (`block_in_place`), so a slow statement never stalls them.
pub fn on_this_thread<T>(run: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread { tokio::task::block_in_place(run) } else { run() }
}

/// A rusqlite error as the store's database error (`what` says which path failed).
pub(crate) fn store_error(what: &str, e: rusqlite::Error) -> crate::StoreError {
    crate::StoreError::Database(sqlx::Error::Protocol(format!("{what}: {e}")))
}

/// An argument bound as sqlx-sqlite would bind it.
pub(crate) struct Bound<'a>(pub &'a Arg);

/// An optional argument: `None` binds NULL.
pub(crate) struct OptBound<'a>(pub Option<&'a Arg>);

impl ToSql for OptBound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self.0 {
            Some(a) => Ok(arg_output(a)),
            None => Ok(ToSqlOutput::Owned(rusqlite::types::Value::Null)),
        }
    }
}

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(arg_output(self.0))
    }
}

fn arg_output(a: &Arg) -> ToSqlOutput<'_> {
    match a {
        Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Arg::I64(v) => ToSqlOutput::Owned((*v).into()),
        Arg::F64(v) => ToSqlOutput::Owned((*v).into()),
        Arg::Bool(v) => ToSqlOutput::Owned(i64::from(*v).into()),
        Arg::Uuid(u) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
        Arg::Date(d) => ToSqlOutput::Owned(d.format("%F").to_string().into()),
        Arg::Ts(t) => ToSqlOutput::Owned(t.to_rfc3339_opts(SecondsFormat::AutoSi, false).into()),
        Arg::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

/// A UUID stored as sqlx stores it: 16 bytes (text is accepted too, as sqlx does).
pub(crate) struct SqlUuid(pub Uuid);

impl FromSql for SqlUuid {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        match v {
            ValueRef::Blob(b) => Uuid::from_slice(b).map(SqlUuid).map_err(|e| FromSqlError::Other(Box::new(e))),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| Uuid::parse_str(s).ok())
                .map(SqlUuid)
                .ok_or(FromSqlError::InvalidType),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

/// A UTC timestamp as sqlx writes it (RFC 3339), or as SQLite's own functions write it (`YYYY-MM-DD HH:MM:SS`).
pub(crate) struct SqlTs(pub DateTime<Utc>);

impl FromSql for SqlTs {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(SqlTs(t.with_timezone(&Utc)));
        }
        for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                return Ok(SqlTs(t.and_utc()));
            }
        }
        Err(FromSqlError::Other(format!("not a timestamp: {s:?}").into()))
    }
}

/// A date as `YYYY-MM-DD`.
pub(crate) struct SqlDate(pub NaiveDate);

impl FromSql for SqlDate {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map(SqlDate).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A JSON column (text).
pub(crate) struct SqlJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromSql for SqlJson<T> {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let bytes = match v {
            ValueRef::Text(t) | ValueRef::Blob(t) => t,
            _ => return Err(FromSqlError::InvalidType),
        };
        serde_json::from_slice(bytes).map(SqlJson).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Column accessors for [`FromSqliteRow`] implementations.
pub(crate) trait RowExt {
    fn uuid(&self, col: &str) -> rusqlite::Result<Uuid>;
    fn opt_uuid(&self, col: &str) -> rusqlite::Result<Option<Uuid>>;
    fn ts(&self, col: &str) -> rusqlite::Result<DateTime<Utc>>;
    fn opt_date(&self, col: &str) -> rusqlite::Result<Option<NaiveDate>>;
    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T>;
}

impl RowExt for Row<'_> {
    fn uuid(&self, col: &str) -> rusqlite::Result<Uuid> {
        self.get::<_, SqlUuid>(col).map(|u| u.0)
    }
    fn opt_uuid(&self, col: &str) -> rusqlite::Result<Option<Uuid>> {
        self.get::<_, Option<SqlUuid>>(col).map(|u| u.map(|u| u.0))
    }
    fn ts(&self, col: &str) -> rusqlite::Result<DateTime<Utc>> {
        self.get::<_, SqlTs>(col).map(|t| t.0)
    }
    fn opt_date(&self, col: &str) -> rusqlite::Result<Option<NaiveDate>> {
        self.get::<_, Option<SqlDate>>(col).map(|d| d.map(|d| d.0))
    }
    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T> {
        self.get::<_, SqlJson<T>>(col).map(|j| j.0)
    }
}
