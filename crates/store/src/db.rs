use crate::Result;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// sqlx logs statements slower than this with their whole SQL text at WARN by default: a 1,000-row batch insert
/// stalled by a checkpoint printed 100 KB of placeholders into the server log and onto `guanxi import`'s output.
/// They are kept at DEBUG (`RUST_LOG=sqlx=debug` shows them).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
const SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

/// Where the data lives. `Debug` never prints a password.
#[derive(Clone)]
pub enum DbConfig {
    /// An SQLite database file (created when missing).
    Sqlite { path: PathBuf },
    /// A `postgres://` URL.
    Postgres { url: String, max_connections: u32 },
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbConfig::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            DbConfig::Postgres { url, max_connections } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl DbConfig {
    /// Chooses the backend from a URL: `postgres://`/`postgresql://` or `sqlite://PATH`; anything else is an error
    /// that says what is accepted.
    pub fn from_url(url: &str) -> std::result::Result<DbConfig, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbConfig::Postgres { url: url.to_string(), max_connections: 16 })
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Ok(DbConfig::Sqlite { path: PathBuf::from(path) })
        } else {
            Err(format!(
                "unsupported database URL {:?}: use postgres://user@host/db or sqlite://path/to/guanxi.db",
                redact_url(url)
            ))
        }
    }
}

#[derive(Clone, Debug)]
pub enum Backend {
    /// One writer connection (SQLite has one writer at a time; queuing in the pool beats busy retries) and a pool
    /// of readers.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// The SQL differences between the backends that the shared query text cannot hide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database handle every repository takes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pub backend: Backend,
    /// Bumped by every write this process commits; cached counts taken at an older generation are stale.
    pub(crate) write_generation: Arc<AtomicU64>,
    pub(crate) counts: Arc<CountCache>,
    pub(crate) custom_fields: Arc<DefinitionCache>,
    /// SQLite only: the hot reads on rusqlite (see `sqlite_read`); `None` on PostgreSQL, or when
    /// `GUANXI_SQLITE_READS=sqlx` asks for sqlx everywhere (to compare the two in a benchmark).
    pub(crate) sqlite_reads: Option<Arc<crate::sqlite_read::Readers>>,
}

/// Custom field definitions by object type, see `custom_fields::list`.
#[derive(Default, Debug)]
pub(crate) struct DefinitionCache {
    entries: Mutex<HashMap<&'static str, (Vec<guanxi_core::custom_field::CustomFieldDef>, Instant)>>,
}

impl DefinitionCache {
    pub(crate) fn get(&self, key: &str) -> Option<Vec<guanxi_core::custom_field::CustomFieldDef>> {
        let map = self.entries.lock().ok()?;
        map.get(key).filter(|e| e.1.elapsed() < COUNT_TTL).map(|e| e.0.clone())
    }

    pub(crate) fn put(&self, key: &'static str, defs: Vec<guanxi_core::custom_field::CustomFieldDef>) {
        if let Ok(mut map) = self.entries.lock() {
            map.insert(key, (defs, Instant::now()));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

/// Recently computed list totals, keyed by the exact count query (filters, search and the caller's visibility).
/// Paging through a list asks the same total again and again; a total is reused until this process writes or
/// [`COUNT_TTL`] passes (other instances' writes show after at most that long).
#[derive(Default, Debug)]
pub(crate) struct CountCache {
    entries: Mutex<HashMap<String, (u64, bool, Instant, u64)>>,
}

pub(crate) const COUNT_TTL: Duration = Duration::from_secs(10);

impl CountCache {
    pub(crate) fn get(&self, key: &str, generation: u64) -> Option<(u64, bool)> {
        let map = self.entries.lock().ok()?;
        map.get(key).filter(|e| e.3 == generation && e.2.elapsed() < COUNT_TTL).map(|e| (e.0, e.1))
    }

    pub(crate) fn put(&self, key: String, value: (u64, bool), generation: u64) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= 4096 {
                map.clear();
            }
            map.insert(key, (value.0, value.1, Instant::now(), generation));
        }
    }
}

impl Db {
    fn with_backend(backend: Backend) -> Db {
        Db {
            backend,
            write_generation: Arc::new(AtomicU64::new(0)),
            counts: Arc::new(CountCache::default()),
            custom_fields: Arc::new(DefinitionCache::default()),
            sqlite_reads: None,
        }
    }

    /// This database with every read through sqlx, never rusqlite (tests compare the two read paths).
    #[doc(hidden)]
    pub fn with_sqlx_reads(&self) -> Db {
        let mut db = self.clone();
        db.sqlite_reads = None;
        db
    }

    /// Whether the hot reads go through rusqlite (SQLite, unless `GUANXI_SQLITE_READS=sqlx`).
    pub fn has_fast_reads(&self) -> bool {
        self.sqlite_reads.is_some()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.write_generation.load(Ordering::Acquire)
    }

    pub async fn connect(config: &DbConfig) -> Result<Db> {
        match config {
            DbConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", "-8000")
                    .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
                // The one writer gets a larger page cache: bulk loads touch index pages all over the file, and
                // with 8 MB at 1M contacts a third of the writer's time went to re-reading evicted pages. Fewer,
                // larger checkpoints write each hot page once per checkpoint instead of once per few MB of WAL: a
                // 2,000-row import batch at 1M contacts dirties ~20 MB of random index pages (names, e-mails,
                // phones), so checkpoints every 16 MB copied nearly every batch into the database file twice over;
                // every 160 MB made the 1M import 22 % faster. The WAL file is cut back to 64 MB after each.
                let write_opts = opts
                    .clone()
                    .pragma("cache_size", "-32000")
                    .pragma("wal_autocheckpoint", "40000")
                    .pragma("journal_size_limit", "67108864");
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(write_opts)
                    .await?;
                let readers = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2).clamp(2, 8) * 2;
                let read = SqlitePoolOptions::new()
                    .max_connections(readers)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts.read_only(true))
                    .await;
                // A read-only connection cannot open a database that the writer has not created yet; the writer
                // above created it, so this only fails for real problems.
                let read = read?;
                let mut db = Db::with_backend(Backend::Sqlite { write, read });
                if std::env::var("GUANXI_SQLITE_READS").map_or(true, |v| v != "sqlx") {
                    db.sqlite_reads = Some(Arc::new(crate::sqlite_read::Readers::new(path.clone(), readers as usize)));
                }
                Ok(db)
            }
            DbConfig::Postgres { url, max_connections } => {
                let opts = PgConnectOptions::from_str(url)?.log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
                let pool = PgPoolOptions::new()
                    .max_connections(*max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                Ok(Db::with_backend(Backend::Postgres(pool)))
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Applies the embedded migrations, then rebuilds the search index if it was made by an older tokeniser. On
    /// PostgreSQL sqlx holds an advisory lock while migrating, so several instances starting at once apply each
    /// migration exactly once.
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Backend::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        // Then the data migrations that need Rust code.
        crate::search_index::bring_up_to_date(self).await?;
        crate::companies::fill_name_keys(self).await
    }

    /// Answers when the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query("SELECT 1").execute(read).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Online backup of an SQLite database into a new file (`VACUUM INTO`).
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> Result<()> {
        match &self.backend {
            Backend::Sqlite { write, .. } => {
                sqlx::query("VACUUM INTO $1").bind(target.to_string_lossy().to_string()).execute(write).await?;
                Ok(())
            }
            Backend::Postgres(_) => Err(sqlx::Error::Configuration("use pg_dump to back up PostgreSQL".into()).into()),
        }
    }
}

/// Runs the same query code against whichever backend `$db` holds. `read` uses the reader pool on SQLite,
/// `write` the single writer; the body is compiled once per backend, so it can use any type both drivers encode.
#[macro_export]
macro_rules! on_db {
    ($db:expr, read, |$p:ident| $body:expr) => {
        match &$db.backend {
            $crate::Backend::Sqlite { read: $p, .. } => $body,
            $crate::Backend::Postgres($p) => $body,
        }
    };
    ($db:expr, write, |$p:ident| $body:expr) => {
        match &$db.backend {
            $crate::Backend::Sqlite { write: $p, .. } => $body,
            $crate::Backend::Postgres($p) => $body,
        }
    };
}

/// A row type both drivers can decode (every `#[derive(sqlx::FromRow)]` struct whose fields both support).
pub trait BothRow:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin
{
}
impl<T> BothRow for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

/// A scalar both drivers can decode.
pub trait BothScalar:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + Send
    + Unpin
{
}
impl<T> BothScalar for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Unpin
{
}

use crate::bind_args;
use crate::sql::{Arg, Sql};
use crate::sqlite_read::FromSqliteRow;

/// Where [`Tx::insert_rows`] writes: a table, its columns (each with whether it holds JSON, bound as text and
/// cast to jsonb on PostgreSQL) and an optional `ON CONFLICT …` clause.
pub(crate) struct InsertInto<'a> {
    pub table: &'a str,
    pub columns: &'a [(&'a str, bool)],
    pub on_conflict: &'a str,
}
use sqlx::AssertSqlSafe;

impl Db {
    pub fn sql(&self, text: &str) -> Sql {
        Sql::new(self.dialect(), text)
    }

    pub async fn fetch_all<R: BothRow>(&self, sql: Sql) -> Result<Vec<R>> {
        Ok(on_db!(self, read, |p| bind_args!(sqlx::query_as::<_, R>, sql).fetch_all(p).await?))
    }

    pub async fn fetch_optional<R: BothRow>(&self, sql: Sql) -> Result<Option<R>> {
        Ok(on_db!(self, read, |p| bind_args!(sqlx::query_as::<_, R>, sql).fetch_optional(p).await?))
    }

    /// [`Db::fetch_all`] for the hot reads: on SQLite through rusqlite when the row type decodes there.
    pub(crate) async fn read_all<R: BothRow + FromSqliteRow>(&self, sql: Sql) -> Result<Vec<R>> {
        match &self.sqlite_reads {
            Some(r) if R::DECODES => r.fetch_all(&sql),
            _ => self.fetch_all(sql).await,
        }
    }

    /// [`Db::fetch_optional`] for the hot reads, see [`Db::read_all`].
    pub(crate) async fn read_optional<R: BothRow + FromSqliteRow>(&self, sql: Sql) -> Result<Option<R>> {
        match &self.sqlite_reads {
            Some(r) if R::DECODES => r.fetch_optional(&sql),
            _ => self.fetch_optional(sql).await,
        }
    }

    /// A count (or any one integer) for the hot reads, see [`Db::read_all`].
    pub(crate) async fn read_i64(&self, sql: Sql) -> Result<i64> {
        match &self.sqlite_reads {
            Some(r) => r.fetch_i64(&sql),
            None => self.fetch_scalar(sql).await,
        }
    }

    pub async fn fetch_scalar<T: BothScalar>(&self, sql: Sql) -> Result<T> {
        Ok(on_db!(self, read, |p| bind_args!(sqlx::query_scalar::<_, T>, sql).fetch_one(p).await?))
    }

    /// One statement on the writer, in its own transaction.
    pub async fn execute(&self, sql: Sql) -> Result<u64> {
        self.write_generation.fetch_add(1, Ordering::AcqRel);
        Ok(on_db!(self, write, |p| bind_args!(sqlx::query, sql).execute(p).await?.rows_affected()))
    }

    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.backend {
            Backend::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
            Backend::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx { inner, generation: self.write_generation.clone() })
    }
}

/// A write transaction on either backend. Dropping it without [`Tx::commit`] rolls back, so an error anywhere in
/// a use case leaves nothing half-written.
pub struct Tx {
    inner: TxInner,
    generation: Arc<AtomicU64>,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }

    pub fn sql(&self, text: &str) -> Sql {
        Sql::new(self.dialect(), text)
    }

    pub async fn execute(&mut self, sql: Sql) -> Result<u64> {
        Ok(on_tx!(self, |c| bind_args!(sqlx::query, sql).execute(c).await?.rows_affected()))
    }

    pub async fn fetch_optional<R: BothRow>(&mut self, sql: Sql) -> Result<Option<R>> {
        Ok(on_tx!(self, |c| bind_args!(sqlx::query_as::<_, R>, sql).fetch_optional(c).await?))
    }

    pub async fn fetch_all<R: BothRow>(&mut self, sql: Sql) -> Result<Vec<R>> {
        Ok(on_tx!(self, |c| bind_args!(sqlx::query_as::<_, R>, sql).fetch_all(c).await?))
    }

    pub async fn fetch_scalar<T: BothScalar>(&mut self, sql: Sql) -> Result<Option<T>> {
        Ok(on_tx!(self, |c| bind_args!(sqlx::query_scalar::<_, T>, sql).fetch_optional(c).await?))
    }

    /// Like [`Tx::execute`] but a unique violation becomes [`crate::StoreError::Duplicate`] naming `field`.
    pub async fn execute_unique(&mut self, sql: Sql, field: &'static str) -> Result<u64> {
        on_tx!(self, |c| bind_args!(sqlx::query, sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| crate::StoreError::unique_as(e, field)))
    }

    pub async fn commit(self) -> Result<()> {
        // Bump before and after: a count cached while the commit was in flight is invalid either way.
        self.generation.fetch_add(1, Ordering::AcqRel);
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Replaces the search tokens of one record (`table` is `contact_fts` or `company_fts`).
    pub(crate) async fn set_search_tokens(&mut self, table: SearchTable, seq: i64, tokens: &[String]) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                let (del, ins) = match table {
                    SearchTable::Contacts => (
                        "DELETE FROM contact_fts WHERE rowid = $1",
                        "INSERT INTO contact_fts(rowid, tokens) VALUES ($1, $2)",
                    ),
                    SearchTable::Companies => (
                        "DELETE FROM company_fts WHERE rowid = $1",
                        "INSERT INTO company_fts(rowid, tokens) VALUES ($1, $2)",
                    ),
                };
                sqlx::query(del).bind(seq).execute(&mut **t).await?;
                if !tokens.is_empty() {
                    sqlx::query(ins).bind(seq).bind(tokens.join(" ")).execute(&mut **t).await?;
                }
            }
            TxInner::Postgres(t) => {
                let sql = match table {
                    SearchTable::Contacts => {
                        "INSERT INTO contact_fts(seq, tokens) VALUES ($1, array_to_tsvector($2::text[])) ON CONFLICT (seq) DO UPDATE SET tokens = EXCLUDED.tokens"
                    }
                    SearchTable::Companies => {
                        "INSERT INTO company_fts(seq, tokens) VALUES ($1, array_to_tsvector($2::text[])) ON CONFLICT (seq) DO UPDATE SET tokens = EXCLUDED.tokens"
                    }
                };
                sqlx::query(sql).bind(seq).bind(tokens).execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    /// Inserts rows into `into.table`: `values` holds `into.columns.len()` values per row (`None` is NULL). With
    /// `returning_seq` it returns each row's `seq` in input order; the first column must then be the record's `id`.
    ///
    /// On SQLite the rows go through one prepared statement executed per row on the transaction's own connection,
    /// on this thread: a bulk insert through sqlx built one multi-row statement of thousands of bound values per
    /// 200 rows, which SQLite parsed and planned afresh each time, and handed every value to the connection's
    /// worker thread (`docs/benchmarks.md`, "Import and export"). PostgreSQL keeps multi-row statements: there a
    /// round trip per row would be the cost.
    pub(crate) async fn insert_rows(
        &mut self,
        into: &InsertInto<'_>,
        values: Vec<Option<Arg>>,
        returning_seq: bool,
    ) -> Result<Vec<i64>> {
        let width = into.columns.len();
        if width == 0 || values.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = into.columns.iter().map(|c| c.0).collect();
        let head = format!("INSERT INTO {} ({}) VALUES ", into.table, names.join(", "));
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                let mut text = head;
                text.push('(');
                text.push_str(&vec!["?"; width].join(", "));
                text.push(')');
                if !into.on_conflict.is_empty() {
                    text.push(' ');
                    text.push_str(into.on_conflict);
                }
                let mut handle = (**t).lock_handle().await?;
                let raw = handle.as_raw_handle();
                let out = crate::sqlite_read::on_this_thread(|| -> rusqlite::Result<Vec<i64>> {
                    // SAFETY: `handle` gives this thread the connection alone (sqlx's worker waits) until it is
                    // dropped below, after `conn`; a connection made with `from_handle` never closes the handle.
                    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }?;
                    let mut st = conn.prepare(&text)?;
                    let mut seqs = Vec::with_capacity(if returning_seq { values.len() / width } else { 0 });
                    for row in values.chunks(width) {
                        st.execute(rusqlite::params_from_iter(
                            row.iter().map(|v| crate::sqlite_read::OptBound(v.as_ref())),
                        ))?;
                        if returning_seq {
                            seqs.push(conn.last_insert_rowid());
                        }
                    }
                    drop(st);
                    drop(conn);
                    Ok(seqs)
                });
                drop(handle);
                out.map_err(|e| crate::sqlite_read::store_error("sqlite insert", e))
            }
            TxInner::Postgres(_) => {
                // Well below PostgreSQL's 65,535 bound parameters per statement.
                let rows_per_statement = (20_000 / width).clamp(1, 1_000);
                let mut seqs = Vec::new();
                let mut values = values.into_iter();
                let total_rows = values.len() / width;
                let mut done = 0;
                while done < total_rows {
                    let n = rows_per_statement.min(total_rows - done);
                    let mut sql = self.sql(&head);
                    let mut ids = Vec::with_capacity(if returning_seq { n } else { 0 });
                    for i in 0..n {
                        sql.push(if i == 0 { "(" } else { ", (" });
                        for (j, (_, is_json)) in into.columns.iter().enumerate() {
                            let v = values.next().flatten();
                            if j == 0 && returning_seq {
                                ids.push(match &v {
                                    Some(Arg::Uuid(id)) => *id,
                                    _ => return Err(crate::StoreError::NotFound),
                                });
                            }
                            if j > 0 {
                                sql.push(", ");
                            }
                            crate::contacts::push_value(&mut sql, v, *is_json);
                        }
                        sql.push(")");
                    }
                    if !into.on_conflict.is_empty() {
                        sql.push(" ").push(into.on_conflict);
                    }
                    if returning_seq {
                        sql.push(" RETURNING id, seq");
                        let rows: Vec<(uuid::Uuid, i64)> = self.fetch_all(sql).await?;
                        let by_id: HashMap<uuid::Uuid, i64> = rows.into_iter().collect();
                        for id in ids {
                            seqs.push(*by_id.get(&id).ok_or(crate::StoreError::NotFound)?);
                        }
                    } else {
                        self.execute(sql).await?;
                    }
                    done += n;
                }
                Ok(seqs)
            }
        }
    }

    /// Indexes new records (no previous tokens to delete).
    pub(crate) async fn insert_search_tokens<T: AsRef<[String]> + Sync>(
        &mut self,
        table: SearchTable,
        rows: &[(i64, T)],
    ) -> Result<()> {
        let name = match table {
            SearchTable::Contacts => "contact_fts",
            SearchTable::Companies => "company_fts",
        };
        if self.dialect() == Dialect::Sqlite {
            let values: Vec<Option<Arg>> = rows
                .iter()
                .filter(|(_, t)| !t.as_ref().is_empty())
                .flat_map(|(seq, tokens)| [Some(Arg::I64(*seq)), Some(Arg::Text(tokens.as_ref().join(" ")))])
                .collect();
            let into = InsertInto { table: name, columns: &[("rowid", false), ("tokens", false)], on_conflict: "" };
            self.insert_rows(&into, values, false).await?;
            return Ok(());
        }
        for chunk in rows.chunks(500) {
            let rows: Vec<&(i64, T)> = chunk.iter().filter(|(_, t)| !t.as_ref().is_empty()).collect();
            if rows.is_empty() {
                continue;
            }
            if let TxInner::Postgres(t) = &mut self.inner {
                let mut sql = format!("INSERT INTO {name}(seq, tokens) VALUES ");
                for i in 0..rows.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("(${}, array_to_tsvector(${}::text[]))", 2 * i + 1, 2 * i + 2));
                }
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (seq, tokens) in &rows {
                    q = q.bind(*seq).bind(tokens.as_ref());
                }
                q.execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    /// Removes a record from the search index. On PostgreSQL the row goes with the record (foreign key cascade);
    /// a contentless FTS5 table has no foreign keys, so SQLite deletes it explicitly.
    pub(crate) async fn delete_search_tokens(&mut self, table: SearchTable, seq: i64) -> Result<()> {
        if let TxInner::Sqlite(t) = &mut self.inner {
            let sql = match table {
                SearchTable::Contacts => "DELETE FROM contact_fts WHERE rowid = $1",
                SearchTable::Companies => "DELETE FROM company_fts WHERE rowid = $1",
            };
            sqlx::query(sql).bind(seq).execute(&mut **t).await?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchTable {
    Contacts,
    Companies,
}
