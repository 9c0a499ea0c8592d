//! Customer analytics storage: the purchase data an analysis run reads, the per-contact metrics it writes
//! (`customer_metrics`), its run records (`model_runs`), and the lifecycle/tier changes it adds to contact
//! timelines as `system` activities.
//!
//! Reads are chunked by contact id (a range of the sorted contact ids per query, aggregated per customer-day in
//! SQL), so memory per query stays bounded on millions of orders and neither backend holds one long read open.
//! Writes are multi-row upserts, a few thousand rows per transaction.

use crate::contacts::{count, json_cast, push_value};
use crate::db::InsertInto;
use crate::products::push_list;
use crate::scope::push_visible;
use crate::sql::{Arg, Page, Sql};
use crate::sqlite_read::{FromSqliteRow, RowExt};
use crate::{Backend, Db, Dialect, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_core::access::Actor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Contacts per read query: small enough to keep each result in memory, large enough that a million contacts
/// cost only fifty queries.
pub const READ_CHUNK: usize = 20_000;

/// Rows per multi-row INSERT: 30 parameters a row stays below SQLite's 32,766 and PostgreSQL's 65,535.
const WRITE_BATCH: usize = 500;

/// A run's state in `model_runs.status`.
pub const RUN_RUNNING: &str = "running";
pub const RUN_SUCCEEDED: &str = "succeeded";
/// Metrics were written, but at least one model could not be fitted for lack of data.
pub const RUN_INSUFFICIENT_DATA: &str = "insufficient_data";
pub const RUN_FAILED: &str = "failed";

/// Everything the analysis knows about one contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CustomerMetrics {
    pub contact_id: Uuid,
    /// The day the metrics describe (orders after it are ignored).
    pub as_of: NaiveDate,
    pub first_order_on: Option<NaiveDate>,
    pub last_order_on: Option<NaiveDate>,
    /// Days since the last paid order; none for prospects.
    pub recency_days: Option<i64>,
    /// Paid order-days (same-day orders count once).
    pub frequency: i64,
    pub monetary_total_minor: i64,
    pub monetary_mean_minor: i64,
    pub r_score: Option<i64>,
    pub f_score: Option<i64>,
    pub m_score: Option<i64>,
    /// RFM segment code (`champions`, `at_risk`, …).
    pub rfm_segment: Option<String>,
    /// `vip`, `important` or `ordinary`.
    pub tier: String,
    /// Index of the matching rule in the run's `params.tier_rules`; none for the Ordinary fallback.
    pub tier_rule: Option<i64>,
    /// Why this tier: `{code, params, text}`.
    #[sqlx(json)]
    pub tier_reason: Value,
    /// `prospect`, `first_time`, `repeat`, `loyal` or `churned`.
    pub lifecycle_stage: String,
    /// Since when the contact is in this stage (the run that first saw it).
    pub stage_since: NaiveDate,
    #[sqlx(json)]
    pub stage_reason: Value,
    /// Probability the customer is still active (BG/NBD), when the model could be fitted.
    pub p_alive: Option<f64>,
    pub expected_purchases_90d: Option<f64>,
    /// Discounted predicted value of the next 12 months, minor units.
    pub predicted_clv_12m_minor: Option<i64>,
    /// Probability of no purchase in the next 90 days.
    pub churn_risk: Option<f64>,
    /// Top three reasons, largest first: `[{code, params, text}]`.
    #[sqlx(json)]
    pub churn_reasons: Value,
    pub cluster: Option<i64>,
    /// `[{product_id, product_name, reason: {code, params, text}, confidence, lift}]`.
    #[sqlx(json)]
    pub recommendations: Value,
    pub run_id: Uuid,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const METRIC_COLUMNS: &[&str] = &[
    "contact_id",
    "as_of",
    "first_order_on",
    "last_order_on",
    "recency_days",
    "frequency",
    "monetary_total_minor",
    "monetary_mean_minor",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "tier",
    "tier_rule",
    "tier_reason",
    "lifecycle_stage",
    "stage_since",
    "stage_reason",
    "p_alive",
    "expected_purchases_90d",
    "predicted_clv_12m_minor",
    "churn_risk",
    "churn_reasons",
    "cluster",
    "recommendations",
    "run_id",
    "updated_at",
];

pub(crate) fn select_metrics(alias: &str) -> String {
    METRIC_COLUMNS.iter().map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// A run of the analysis as `model_runs` records it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ModelRun {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// First and last day with a paid order.
    pub data_from: Option<NaiveDate>,
    pub data_to: Option<NaiveDate>,
    /// Contacts analysed (buyers and prospects).
    pub customers: i64,
    /// Paid orders read.
    pub orders: i64,
    /// Fitted parameters, standard errors, log-likelihoods, churn AUC/Brier, cluster profiles, rule lists,
    /// association rules, and the models that could not be fitted with the reason.
    #[sqlx(json)]
    pub params: Value,
    /// `running`, `succeeded`, `insufficient_data` or `failed`.
    pub status: String,
    pub error: Option<String>,
}

const RUN_COLUMNS: &str =
    "id, started_at, finished_at, duration_ms, data_from, data_to, customers, orders, params, status, error";

/// A contact's stored stage and tier before this run: what a change is measured against.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreviousState {
    pub contact_id: Uuid,
    pub lifecycle_stage: String,
    pub stage_since: NaiveDate,
    pub tier: String,
}

/// Paid orders of one contact on one day (UTC), summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderDay {
    pub contact_id: Uuid,
    pub day: NaiveDate,
    pub total_minor: i64,
    /// Paid orders that day.
    pub orders: i64,
}

/// One product line of a paid order, for market-basket analysis. `product_seq` is the product's integer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct BasketLine {
    pub order_id: Uuid,
    pub contact_id: Uuid,
    pub product_seq: i64,
}

// The analysis reads tens of millions of rows on a large base: on SQLite they take the rusqlite path
// (`crate::sqlite_read`), which hands a whole result over at once instead of one row at a time.
impl FromSqliteRow for OrderDay {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderDay> {
        Ok(OrderDay {
            contact_id: r.uuid("contact_id")?,
            day: required_date(r, "day")?,
            total_minor: r.get("total_minor")?,
            orders: r.get("orders")?,
        })
    }
}

impl FromSqliteRow for BasketLine {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<BasketLine> {
        Ok(BasketLine {
            order_id: r.uuid("order_id")?,
            contact_id: r.uuid("contact_id")?,
            product_seq: r.get("product_seq")?,
        })
    }
}

impl FromSqliteRow for PreviousState {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<PreviousState> {
        Ok(PreviousState {
            contact_id: r.uuid("contact_id")?,
            lifecycle_stage: r.get("lifecycle_stage")?,
            stage_since: required_date(r, "stage_since")?,
            tier: r.get("tier")?,
        })
    }
}

/// A contact id.
#[derive(sqlx::FromRow)]
struct IdRow {
    id: Uuid,
}

impl FromSqliteRow for IdRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<IdRow> {
        Ok(IdRow { id: r.uuid("id")? })
    }
}

fn required_date(r: &rusqlite::Row<'_>, col: &str) -> rusqlite::Result<NaiveDate> {
    r.opt_date(col)?.ok_or_else(|| rusqlite::Error::InvalidColumnType(0, col.into(), rusqlite::types::Type::Null))
}

/// A `system` activity the analysis adds to a contact's timeline (stage or tier change).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemEvent {
    pub contact_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub subject: String,
    pub body: String,
    pub metadata: Value,
}

/// Every contact id, ascending (the order every analytics read uses).
pub async fn contact_ids(db: &Db) -> Result<Vec<Uuid>> {
    let mut out: Vec<Uuid> = Vec::new();
    loop {
        let mut sql = db.sql("SELECT id FROM contacts");
        if let Some(last) = out.last() {
            sql.push(" WHERE id > ").bind(Arg::Uuid(*last));
        }
        sql.push(&format!(" ORDER BY id LIMIT {}", READ_CHUNK * 5));
        let rows: Vec<IdRow> = db.read_all(sql).await?;
        let done = rows.len() < READ_CHUNK * 5;
        out.extend(rows.into_iter().map(|r| r.id));
        if done {
            return Ok(out);
        }
    }
}

fn day_expr(d: Dialect, col: &str) -> String {
    match d {
        // Timestamps are stored as RFC 3339 UTC text: the first ten characters are the UTC date.
        Dialect::Sqlite => format!("substr({col}, 1, 10)"),
        Dialect::Postgres => format!("({col} AT TIME ZONE 'UTC')::date"),
    }
}

/// Paid orders per contact and UTC day of the contacts `first..=last` (a range of the sorted contact ids),
/// sorted by contact then day; `until` drops later orders.
pub async fn order_days(db: &Db, first: Uuid, last: Uuid, until: Option<NaiveDate>) -> Result<Vec<OrderDay>> {
    let day = day_expr(db.dialect(), "o.ordered_at");
    let mut sql = db.sql(&format!(
        "SELECT o.contact_id, {day} AS day, CAST(SUM(o.total_minor) AS BIGINT) AS total_minor, COUNT(*) AS orders \
         FROM orders o \
         WHERE o.status = 'paid' AND o.contact_id >= "
    ));
    sql.bind(Arg::Uuid(first)).push(" AND o.contact_id <= ").bind(Arg::Uuid(last));
    if let Some(until) = until {
        // The next day's midnight as an exclusive bound keeps the index range on (contact_id, ordered_at).
        let end = until.succ_opt().unwrap_or(until).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        if let Some(end) = end {
            sql.push(" AND o.ordered_at < ").bind(Arg::Ts(end));
        }
    }
    sql.push(&format!(" GROUP BY o.contact_id, {day} ORDER BY o.contact_id, {day}"));
    db.read_all(sql).await
}

/// Product lines of the paid orders of contacts `first..=last` placed on or after `since`, sorted by contact
/// and order. Lines without a product are left out.
pub async fn basket_lines(db: &Db, first: Uuid, last: Uuid, since: DateTime<Utc>) -> Result<Vec<BasketLine>> {
    let mut sql = db.sql(
        "SELECT o.id AS order_id, o.contact_id, p.seq AS product_seq FROM orders o JOIN order_lines l ON l.order_id = o.id \
         JOIN products p ON p.id = l.product_id WHERE o.status = 'paid' AND o.contact_id >= ",
    );
    sql.bind(Arg::Uuid(first)).push(" AND o.contact_id <= ").bind(Arg::Uuid(last));
    sql.push(" AND o.ordered_at >= ").bind(Arg::Ts(since));
    sql.push(" ORDER BY o.contact_id, o.id");
    db.read_all(sql).await
}

/// Id and name of products by their integer key.
pub async fn products_by_seq(db: &Db, seqs: &[i64]) -> Result<Vec<(i64, Uuid, String)>> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(WRITE_BATCH) {
        let mut sql = db.sql("SELECT seq, id, name FROM products WHERE seq IN (");
        push_list(&mut sql, chunk.iter().map(|s| Arg::I64(*s)));
        sql.push(")");
        out.extend(db.fetch_all::<(i64, Uuid, String)>(sql).await?);
    }
    Ok(out)
}

/// Complaints recorded on each contact's timeline (activities of kind `complaint`), for the churn model.
pub async fn complaint_counts(db: &Db) -> Result<Vec<(Uuid, i64)>> {
    db.fetch_all(db.sql(
        "SELECT contact_id, COUNT(*) FROM activities WHERE kind = 'complaint' AND contact_id IS NOT NULL \
         GROUP BY contact_id ORDER BY contact_id",
    ))
    .await
}

/// The stored stage and tier of contacts `first..=last`, sorted by contact.
pub async fn previous_states(db: &Db, first: Uuid, last: Uuid) -> Result<Vec<PreviousState>> {
    let mut sql =
        db.sql("SELECT contact_id, lifecycle_stage, stage_since, tier FROM customer_metrics WHERE contact_id >= ");
    sql.bind(Arg::Uuid(first)).push(" AND contact_id <= ").bind(Arg::Uuid(last)).push(" ORDER BY contact_id");
    db.read_all(sql).await
}

/// Records the start of a run (status `running`) and returns its id.
pub async fn start_run(db: &Db, started_at: DateTime<Utc>) -> Result<Uuid> {
    let id = guanxi_core::ids::new_id();
    let mut sql = db.sql("INSERT INTO model_runs (id, started_at, customers, orders, params, status) VALUES (");
    sql.bind(Arg::Uuid(id)).push(", ").bind(Arg::Ts(started_at)).push(", 0, 0, ");
    push_value(&mut sql, Some(Arg::Text("{}".into())), true);
    sql.push(", ").bind(Arg::Text(RUN_RUNNING.into())).push(")");
    db.execute(sql).await?;
    Ok(id)
}

/// Stores the outcome of a run (every column but `id` and `started_at`).
pub async fn finish_run(db: &Db, run: &ModelRun) -> Result<()> {
    let mut sql = db.sql("UPDATE model_runs SET finished_at = ");
    push_value(&mut sql, run.finished_at.map(Arg::Ts), false);
    sql.push(", duration_ms = ");
    push_value(&mut sql, run.duration_ms.map(Arg::I64), false);
    sql.push(", data_from = ");
    push_value(&mut sql, run.data_from.map(Arg::Date), false);
    sql.push(", data_to = ");
    push_value(&mut sql, run.data_to.map(Arg::Date), false);
    sql.push(", customers = ").bind(Arg::I64(run.customers));
    sql.push(", orders = ").bind(Arg::I64(run.orders));
    sql.push(", params = ");
    push_value(&mut sql, Some(Arg::Text(run.params.to_string())), true);
    sql.push(", status = ").bind(Arg::Text(run.status.clone()));
    sql.push(", error = ");
    push_value(&mut sql, run.error.clone().map(Arg::Text), false);
    sql.push(" WHERE id = ").bind(Arg::Uuid(run.id));
    if db.execute(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The most recent run, whatever its state.
pub async fn latest_run(db: &Db) -> Result<Option<ModelRun>> {
    db.fetch_optional(
        db.sql(&format!("SELECT {RUN_COLUMNS} FROM model_runs ORDER BY started_at DESC, id DESC LIMIT 1")),
    )
    .await
}

/// The most recent run that wrote metrics (succeeded, or succeeded with some models lacking data).
pub async fn latest_completed_run(db: &Db) -> Result<Option<ModelRun>> {
    let mut sql = db.sql(&format!("SELECT {RUN_COLUMNS} FROM model_runs WHERE status IN ("));
    push_list(&mut sql, [RUN_SUCCEEDED, RUN_INSUFFICIENT_DATA].into_iter().map(|s| Arg::Text(s.into())));
    sql.push(") ORDER BY started_at DESC, id DESC LIMIT 1");
    db.fetch_optional(sql).await
}

/// Upserts metrics and adds timeline events in one transaction, in multi-row statements. Callers pass a few
/// thousand rows at a time so the SQLite writer is never held for long.
pub async fn write_metrics(db: &Db, rows: &[CustomerMetrics], events: &[SystemEvent]) -> Result<()> {
    let mut tx = db.begin().await?;
    let d = tx.dialect();
    let updates: Vec<String> = METRIC_COLUMNS[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let on_conflict = format!("ON CONFLICT (contact_id) DO UPDATE SET {}", updates.join(", "));
    let mut columns: Vec<(&str, bool)> = Vec::with_capacity(METRIC_COLUMNS.len());
    let mut values = Vec::with_capacity(rows.len() * METRIC_COLUMNS.len());
    for (i, m) in rows.iter().enumerate() {
        let row = metrics_values(m);
        if i == 0 {
            columns.extend(METRIC_COLUMNS.iter().zip(&row).map(|(c, (_, is_json))| (*c, *is_json)));
        }
        values.extend(row.into_iter().map(|(v, _)| v));
    }
    let into = InsertInto { table: "customer_metrics", columns: &columns, on_conflict: &on_conflict };
    tx.insert_rows(&into, values, false).await?;
    for chunk in events.chunks(WRITE_BATCH) {
        let mut sql = Sql::new(
            d,
            "INSERT INTO activities (id, kind, contact_id, occurred_at, subject, body, metadata, version, created_at, \
             updated_at) VALUES ",
        );
        let now = guanxi_core::ids::now();
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(Arg::Uuid(guanxi_core::ids::new_id())).push(", 'system', ");
            sql.bind(Arg::Uuid(e.contact_id)).push(", ").bind(Arg::Ts(e.occurred_at)).push(", ");
            sql.bind(Arg::Text(e.subject.clone())).push(", ").bind(Arg::Text(e.body.clone())).push(", ");
            sql.bind(Arg::Text(e.metadata.to_string())).push(json_cast(d));
            sql.push(", 1, ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
        }
        tx.execute(sql).await?;
    }
    tx.commit().await
}

pub(crate) fn push_metrics_row(sql: &mut Sql, m: &CustomerMetrics) {
    sql.push("(");
    for (i, (v, is_json)) in metrics_values(m).into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        push_value(sql, v, is_json);
    }
    sql.push(")");
}

/// The values of a metrics row in [`METRIC_COLUMNS`] order, each with whether it is JSON.
fn metrics_values(m: &CustomerMetrics) -> [(Option<Arg>, bool); 27] {
    let json = |v: &Value| Some(Arg::Text(v.to_string()));
    [
        (Some(Arg::Uuid(m.contact_id)), false),
        (Some(Arg::Date(m.as_of)), false),
        (m.first_order_on.map(Arg::Date), false),
        (m.last_order_on.map(Arg::Date), false),
        (m.recency_days.map(Arg::I64), false),
        (Some(Arg::I64(m.frequency)), false),
        (Some(Arg::I64(m.monetary_total_minor)), false),
        (Some(Arg::I64(m.monetary_mean_minor)), false),
        (m.r_score.map(Arg::I64), false),
        (m.f_score.map(Arg::I64), false),
        (m.m_score.map(Arg::I64), false),
        (m.rfm_segment.clone().map(Arg::Text), false),
        (Some(Arg::Text(m.tier.clone())), false),
        (m.tier_rule.map(Arg::I64), false),
        (json(&m.tier_reason), true),
        (Some(Arg::Text(m.lifecycle_stage.clone())), false),
        (Some(Arg::Date(m.stage_since)), false),
        (json(&m.stage_reason), true),
        (m.p_alive.filter(|v| v.is_finite()).map(Arg::F64), false),
        (m.expected_purchases_90d.filter(|v| v.is_finite()).map(Arg::F64), false),
        (m.predicted_clv_12m_minor.map(Arg::I64), false),
        (m.churn_risk.filter(|v| v.is_finite()).map(Arg::F64), false),
        (json(&m.churn_reasons), true),
        (m.cluster.map(Arg::I64), false),
        (json(&m.recommendations), true),
        (Some(Arg::Uuid(m.run_id)), false),
        (Some(Arg::Ts(m.updated_at)), false),
    ]
}

/// The metrics of a contact the caller can see; `NotFound` when the contact is invisible, absent, or not
/// analysed yet.
pub async fn get(db: &Db, actor: &Actor, contact_id: Uuid) -> Result<CustomerMetrics> {
    let mut sql = db.sql(&format!(
        "SELECT {} FROM customer_metrics m JOIN contacts c ON c.id = m.contact_id WHERE m.contact_id = ",
        select_metrics("m")
    ));
    sql.bind(Arg::Uuid(contact_id));
    push_visible(&mut sql, "c", actor);
    db.fetch_optional(sql).await?.ok_or(StoreError::NotFound)
}

/// Which metrics to list; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsFilter {
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub segment: Option<String>,
}

/// A page of the metrics of contacts the caller can see, by contact id; `after` is the last contact id of the
/// previous page.
pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &MetricsFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Page<CustomerMetrics>> {
    // `count` wraps the filter in `FROM customer_metrics c`, so the contact is joined as `pc` inside it.
    let mut cond = db.sql("");
    for (col, v) in [("tier", &filter.tier), ("lifecycle_stage", &filter.stage), ("rfm_segment", &filter.segment)] {
        if let Some(v) = v {
            cond.push(&format!(" AND c.{col} = ")).bind(Arg::Text(v.clone()));
        }
    }
    cond.push(" AND EXISTS (SELECT 1 FROM contacts pc WHERE pc.id = c.contact_id");
    push_visible(&mut cond, "pc", actor);
    cond.push(")");
    let mut sql = db.sql(&format!("SELECT {} FROM customer_metrics c WHERE 1 = 1", select_metrics("c")));
    sql.push(&cond.text);
    sql.args = cond.args.clone();
    if let Some(after) = after {
        sql.push(" AND c.contact_id > ").bind(Arg::Uuid(after));
    }
    sql.push(&format!(" ORDER BY c.contact_id LIMIT {}", limit + 1));
    let mut items: Vec<CustomerMetrics> = db.fetch_all(sql).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|m| m.contact_id.to_string())
    } else {
        None
    };
    let (total, total_is_estimate) = count(db, "customer_metrics", cond).await?;
    Ok(Page { items, next_cursor, total, total_is_estimate })
}

/// Held while an analysis runs, so that one database gets one analysis at a time. On PostgreSQL it is a
/// session-level `pg_try_advisory_lock` on a connection taken out of the pool, which covers every instance
/// sharing the database; on SQLite (one server process per database file) it is the database file's entry in
/// this process's set of running analyses. Call [`RunLock::release`]; a dropped lock is released too (on
/// PostgreSQL by closing its connection).
pub struct RunLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    sqlite_file: Option<std::path::PathBuf>,
}

/// Advisory lock key of the analysis run ("gx anal").
const RUN_LOCK_KEY: i64 = 0x6778_616e_616c;

/// SQLite database files with an analysis running in this process.
static SQLITE_RUNS: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// The run lock, or `None` when another run holds it.
pub async fn try_run_lock(db: &Db) -> Result<Option<RunLock>> {
    match &db.backend {
        Backend::Sqlite { write, .. } => {
            let file = write.connect_options().get_filename().to_path_buf();
            let mut running = SQLITE_RUNS.lock().unwrap_or_else(|e| e.into_inner());
            if running.contains(&file) {
                return Ok(None);
            }
            running.push(file.clone());
            Ok(Some(RunLock { conn: None, sqlite_file: Some(file) }))
        }
        Backend::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let (got,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(RUN_LOCK_KEY).fetch_one(&mut *conn).await?;
            Ok(got.then_some(RunLock { conn: Some(conn), sqlite_file: None }))
        }
    }
}

impl RunLock {
    pub async fn release(mut self) -> Result<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)").bind(RUN_LOCK_KEY).execute(&mut *conn).await?;
        }
        Ok(())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Never hand a connection that still holds the lock back to the pool: closing it releases the lock.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
        if let Some(file) = self.sqlite_file.take() {
            SQLITE_RUNS.lock().unwrap_or_else(|e| e.into_inner()).retain(|f| *f != file);
        }
    }
}
