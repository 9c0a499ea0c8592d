//! Import jobs: the job record and its progress, the runner that reads a file and stores its records batch by
//! batch with a checkpoint in the same transaction, matching, and undo. The job table, the runner loop,
//! checkpointing, cancellation, row errors and undo are shared by every record type; what differs per type is
//! how rows read ([`Batch`]) and how a batch is matched and written (contacts here, the others in
//! [`objects`]).
//!
//! Resume and idempotency: a job is found again by its file's content hash (see [`find_or_create`]). Each batch
//! commits its records, their undo entries, its row errors and the advanced checkpoint (`rows_done`) together,
//! and the checkpoint only advances from the value the runner started the batch at. So after a kill at any
//! moment the next run skips exactly the rows already committed; and if two runners ever work on one job, one
//! of them finds the checkpoint moved and stops, having written nothing.

mod objects;

use crate::contacts::{COLUMNS, ContactRow, PreparedContact, push_value};
use crate::db::{InsertInto, Tx};
use crate::scope::push_changeable;
use crate::sql::Arg;
use crate::{Db, Result, StoreError};
use chrono::{DateTime, Utc};
use guanxi_core::access::{Actor, Role};
use guanxi_core::contact::{Contact, ContactDraft, ContactInput, ContactRules, Source};
use guanxi_core::{FieldError, ValidationErrors};
use guanxi_io::mapping::ContactRow as FileContact;
pub use guanxi_io::mapping::ImportObject;
use guanxi_io::read::RowError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What to do with a row that matches an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// New records only; a row matching an existing record is an error (never a silent duplicate).
    #[default]
    CreateOnly,
    /// Update matching records; a row matching nothing is an error.
    UpdateOnly,
    /// Update matching records, create the others.
    CreateOrUpdate,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::CreateOnly => "create_only",
            Policy::UpdateOnly => "update_only",
            Policy::CreateOrUpdate => "create_or_update",
        }
    }
    fn parse(s: &str) -> Policy {
        match s {
            "update_only" => Policy::UpdateOnly,
            "create_or_update" => Policy::CreateOrUpdate,
            _ => Policy::CreateOnly,
        }
    }
}

/// How a row finds the record it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    /// The id in the system the file came from (Salesforce Id, HubSpot Record ID…).
    ExternalId,
    /// Any of the row's emails, normalised.
    Email,
    /// Any of the row's phone numbers, normalised to E.164.
    Phone,
    /// A company's web domain, normalised.
    Domain,
    /// A company's name as the dedup engine compares it (without 有限公司/Inc./city prefixes).
    Name,
    /// A product's SKU.
    Sku,
    /// An order's number.
    Number,
}

impl MatchKey {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKey::ExternalId => "external_id",
            MatchKey::Email => "email",
            MatchKey::Phone => "phone",
            MatchKey::Domain => "domain",
            MatchKey::Name => "name",
            MatchKey::Sku => "sku",
            MatchKey::Number => "number",
        }
    }

    pub fn parse(s: &str) -> Option<MatchKey> {
        MatchKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const ALL: [MatchKey; 7] = [
        MatchKey::ExternalId,
        MatchKey::Email,
        MatchKey::Phone,
        MatchKey::Domain,
        MatchKey::Name,
        MatchKey::Sku,
        MatchKey::Number,
    ];

    /// The keys records of a type can be matched on, the usual first.
    pub fn for_object(object: ImportObject) -> &'static [MatchKey] {
        match object {
            ImportObject::Contact => &[MatchKey::ExternalId, MatchKey::Email, MatchKey::Phone],
            ImportObject::Company => &[MatchKey::ExternalId, MatchKey::Domain, MatchKey::Name],
            ImportObject::Product => &[MatchKey::Sku],
            ImportObject::Order => &[MatchKey::Number],
            ImportObject::Activity => &[MatchKey::ExternalId],
        }
    }

    /// The mapping target a column must fill to match on this key (the key's own name).
    pub fn target(self) -> &'static str {
        self.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Cancelling,
    Cancelled,
    Done,
    Failed,
    Undoing,
    Undone,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Cancelling => "cancelling",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Undoing => "undoing",
            JobStatus::Undone => "undone",
        }
    }
    fn parse(s: &str) -> JobStatus {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Cancelling,
            JobStatus::Cancelled,
            JobStatus::Done,
            JobStatus::Failed,
            JobStatus::Undoing,
            JobStatus::Undone,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .unwrap_or(JobStatus::Failed)
    }
}

/// An import job with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportJob {
    pub id: Uuid,
    /// `contact`, `company`, `product`, `order` or `activity`.
    pub object: String,
    pub file_name: String,
    /// SHA-256 of the file: the same file resumes this job instead of starting another.
    pub content_hash: String,
    #[schema(value_type = Object)]
    pub mapping: Value,
    pub policy: Policy,
    pub match_key: Option<MatchKey>,
    /// Validate and match everything, write nothing.
    pub dry_run: bool,
    pub status: JobStatus,
    /// Data rows processed so far (the checkpoint).
    pub rows_done: i64,
    /// Rows stored as new records (for orders: the rows, i.e. lines, of the orders created).
    pub rows_created: i64,
    /// Rows that updated a matching record (for orders: the lines of the orders replaced).
    pub rows_updated: i64,
    /// Rows rejected, each with its errors in `GET /api/v1/imports/{id}/errors`.
    pub rows_failed: i64,
    /// Rows per second in the current (or last) run.
    pub rows_per_second: f64,
    /// Why the whole import stopped (an unreadable file, a database error).
    pub error: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const JOB_COLUMNS: &str = "id, object, file_name, content_hash, mapping, policy, match_key, dry_run, status, rows_done, \
    rows_at_start, rows_created, rows_updated, rows_failed, error, created_by, created_at, updated_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    object: String,
    file_name: String,
    content_hash: String,
    mapping: Json<Value>,
    policy: String,
    match_key: Option<String>,
    dry_run: bool,
    status: String,
    rows_done: i64,
    rows_at_start: i64,
    rows_created: i64,
    rows_updated: i64,
    rows_failed: i64,
    error: Option<String>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn into_job(self) -> ImportJob {
        let status = JobStatus::parse(&self.status);
        let end = if status == JobStatus::Running { guanxi_core::ids::now() } else { self.updated_at };
        let rate = match self.started_at {
            Some(s) => {
                let secs = (end - s).num_milliseconds() as f64 / 1000.0;
                if secs > 0.0 {
                    ((self.rows_done - self.rows_at_start) as f64 / secs * 10.0).round() / 10.0
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        ImportJob {
            id: self.id,
            object: self.object,
            file_name: self.file_name,
            content_hash: self.content_hash,
            mapping: self.mapping.0,
            policy: Policy::parse(&self.policy),
            match_key: self.match_key.as_deref().and_then(MatchKey::parse),
            dry_run: self.dry_run,
            status,
            rows_done: self.rows_done,
            rows_created: self.rows_created,
            rows_updated: self.rows_updated,
            rows_failed: self.rows_failed,
            rows_per_second: rate.max(0.0),
            error: self.error,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }
}

/// What starts (or resumes) an import.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub object: &'static str,
    pub file_name: String,
    pub content_hash: String,
    pub mapping: Value,
    pub policy: Policy,
    pub match_key: Option<MatchKey>,
    pub dry_run: bool,
}

/// The caller's unfinished or finished import of the same file with the same settings, or a new queued job.
/// `true` when an existing job was found (a rerun resumes it; a finished one has nothing left to do). An undone
/// import does not count: importing the file again after undoing it is a new import.
pub async fn find_or_create(db: &Db, actor: &Actor, n: &NewImport) -> Result<(ImportJob, bool)> {
    let mut tx = db.begin().await?;
    let mut sql = tx.sql(&format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE created_by = "));
    sql.bind(Arg::Uuid(actor.user_id));
    sql.push(" AND object = ").bind(Arg::Text(n.object.into()));
    sql.push(" AND content_hash = ").bind(Arg::Text(n.content_hash.clone()));
    sql.push(" AND dry_run = ").bind(Arg::Bool(n.dry_run));
    sql.push(" AND policy = ").bind(Arg::Text(n.policy.as_str().into()));
    // The same file with another mapping or key is another import (it would store different records).
    sql.push(" AND mapping = ");
    push_value(&mut sql, Some(Arg::Text(n.mapping.to_string())), true);
    match n.match_key {
        Some(k) => sql.push(" AND match_key = ").bind(Arg::Text(k.as_str().into())),
        None => sql.push(" AND match_key IS NULL"),
    };
    sql.push(" AND status NOT IN ('undoing', 'undone') ORDER BY created_at DESC LIMIT 1");
    if let Some(row) = tx.fetch_optional::<JobRow>(sql).await? {
        // Asked again: an interrupted, cancelled or failed import is queued to resume from its checkpoint. A
        // runner still at work on it finds the status changed at its next batch and leaves the job to the new one.
        let mut requeue = tx.sql("UPDATE import_jobs SET status = 'queued', updated_at = ");
        requeue.bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(row.id));
        requeue.push(" AND status IN ('running', 'cancelling', 'cancelled', 'failed')");
        tx.execute(requeue).await?;
        tx.commit().await?;
        return Ok((get(db, actor, row.id).await?, true));
    }
    let now = guanxi_core::ids::now();
    let id = guanxi_core::ids::new_id();
    let mut sql = tx.sql(
        "INSERT INTO import_jobs (id, object, file_name, content_hash, mapping, policy, match_key, dry_run, status, created_by, created_at, updated_at) VALUES (",
    );
    sql.bind(Arg::Uuid(id)).push(", ");
    sql.bind(Arg::Text(n.object.into())).push(", ");
    sql.bind(Arg::Text(n.file_name.chars().take(255).collect())).push(", ");
    sql.bind(Arg::Text(n.content_hash.clone())).push(", ");
    push_value(&mut sql, Some(Arg::Text(n.mapping.to_string())), true);
    sql.push(", ").bind(Arg::Text(n.policy.as_str().into())).push(", ");
    push_value(&mut sql, n.match_key.map(|k| Arg::Text(k.as_str().into())), false);
    sql.push(", ").bind(Arg::Bool(n.dry_run)).push(", 'queued', ");
    sql.bind(Arg::Uuid(actor.user_id)).push(", ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    tx.execute(sql).await?;
    tx.commit().await?;
    Ok((get(db, actor, id).await?, false))
}

/// A job the caller started (admins see every job).
pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<ImportJob> {
    let mut sql = db.sql(&format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = "));
    sql.bind(Arg::Uuid(id));
    push_own(&mut sql, actor);
    let row: Option<JobRow> = db.fetch_optional(sql).await?;
    row.map(JobRow::into_job).ok_or(StoreError::NotFound)
}

fn push_own(sql: &mut crate::sql::Sql, actor: &Actor) {
    if actor.role != Role::Admin {
        sql.push(" AND created_by = ").bind(Arg::Uuid(actor.user_id));
    }
}

/// The caller's jobs, newest first.
pub async fn list(db: &Db, actor: &Actor, limit: u32) -> Result<Vec<ImportJob>> {
    let mut sql = db.sql(&format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE 1 = 1"));
    push_own(&mut sql, actor);
    sql.push(&format!(" ORDER BY created_at DESC, id DESC LIMIT {}", limit.clamp(1, 200)));
    let rows: Vec<JobRow> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(JobRow::into_job).collect())
}

/// A row-level error of a job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportRowError {
    pub line: i64,
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// Row errors of a job in line order, after `after_line`.
pub async fn errors(db: &Db, actor: &Actor, id: Uuid, after_line: i64, limit: u32) -> Result<Vec<ImportRowError>> {
    get(db, actor, id).await?;
    let mut sql = db.sql("SELECT line, column_name, code, message FROM import_errors WHERE job_id = ");
    sql.bind(Arg::Uuid(id)).push(" AND line > ").bind(Arg::I64(after_line));
    sql.push(&format!(" ORDER BY line, column_name, code LIMIT {}", limit.clamp(1, 10_000)));
    let rows: Vec<(i64, Option<String>, String, String)> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(|(line, column, code, message)| ImportRowError { line, column, code, message }).collect())
}

/// Asks a queued or running job to stop after its current batch (whatever it committed stays, and can be
/// undone); a job that is not running is cancelled at once.
pub async fn cancel(db: &Db, actor: &Actor, id: Uuid) -> Result<ImportJob> {
    get(db, actor, id).await?;
    // One statement, so a runner claiming the job at the same moment cannot slip between a read and a write.
    let mut sql = db.sql(
        "UPDATE import_jobs SET status = CASE WHEN status = 'running' THEN 'cancelling' ELSE 'cancelled' END, updated_at = ",
    );
    sql.bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(id));
    sql.push(" AND status IN ('queued', 'running', 'failed')");
    if db.execute(sql).await? == 0 {
        // Said from the state that refused it, read after the refusal.
        let why = match get(db, actor, id).await?.status {
            JobStatus::Cancelling => "the import is already being cancelled",
            JobStatus::Cancelled => "the import is already cancelled",
            JobStatus::Done => {
                "the import has finished: there is nothing left to cancel (undo it to remove what it stored)"
            }
            JobStatus::Undoing | JobStatus::Undone => "the import was undone: there is nothing to cancel",
            // Resumed between the two statements: running again, so asking again cancels it.
            JobStatus::Queued | JobStatus::Running | JobStatus::Failed => {
                "the import changed state meanwhile; try again"
            }
        };
        return Err(StoreError::Conflict(why.into()));
    }
    get(db, actor, id).await
}

/// Why an import in this state cannot be undone (the API answers 409 with it).
fn cannot_undo(status: JobStatus) -> StoreError {
    let why = match status {
        JobStatus::Undone => "the import is already undone".to_string(),
        s => format!("the import is {}: cancel it and wait until it has stopped before undoing it", s.as_str()),
    };
    StoreError::Conflict(why)
}

/// Takes a queued job for running ([`find_or_create`] queues a job each time it is asked for): the job and
/// `true` when this caller now runs it. A job cancelled meanwhile ends cancelled; one that another runner
/// claimed first, or that has finished, is only read.
pub async fn claim(db: &Db, id: Uuid) -> Result<(ImportJob, bool)> {
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("UPDATE import_jobs SET status = CASE WHEN status = 'cancelling' THEN 'cancelled' ELSE 'running' END, rows_at_start = rows_done, started_at = ");
    sql.bind(Arg::Ts(now)).push(", updated_at = ").bind(Arg::Ts(now));
    sql.push(", error = NULL, finished_at = NULL WHERE id = ").bind(Arg::Uuid(id));
    sql.push(" AND status IN ('queued', 'cancelling')");
    // The row as this statement left it. Read again afterwards, a cancel landing in between would show
    // `cancelling` to a runner that then never runs the batch that turns it into `cancelled`.
    sql.push(&format!(" RETURNING {JOB_COLUMNS}"));
    let claimed: Option<JobRow> = tx.fetch_optional(sql).await?;
    tx.commit().await?;
    if let Some(row) = claimed {
        let job = row.into_job();
        let running = job.status == JobStatus::Running;
        return Ok((job, running));
    }
    let mut sql = db.sql(&format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = "));
    sql.bind(Arg::Uuid(id));
    let row: Option<JobRow> = db.fetch_optional(sql).await?;
    Ok((row.map(JobRow::into_job).ok_or(StoreError::NotFound)?, false))
}

/// Ends a run: `done`, `cancelled` or `failed` with its reason.
pub async fn finish(db: &Db, id: Uuid, status: JobStatus, error: Option<&str>) -> Result<()> {
    let now = guanxi_core::ids::now();
    let mut sql = db.sql(&format!("UPDATE import_jobs SET status = '{}', error = ", status.as_str()));
    push_value(&mut sql, error.map(|e| Arg::Text(e.chars().take(2000).collect())), false);
    sql.push(", finished_at = ").bind(Arg::Ts(now)).push(", updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND status IN ('running', 'cancelling')");
    db.execute(sql).await?;
    Ok(())
}

/// Ends jobs whose runner is gone: a job still `running` or `cancelling` with no batch committed for `idle`
/// (a runner advances `updated_at` with every batch) belonged to a process that stopped. A cancelling one ends
/// cancelled, a running one failed, saying how to resume (the same file again continues from its checkpoint).
/// Run at server start; `idle` keeps it off jobs that another live instance is running.
pub async fn end_interrupted(db: &Db, idle: chrono::Duration) -> Result<u64> {
    let now = guanxi_core::ids::now();
    let mut sql = db.sql("UPDATE import_jobs SET status = CASE WHEN status = 'cancelling' THEN 'cancelled' ELSE 'failed' END, error = CASE WHEN status = 'cancelling' THEN NULL ELSE ");
    sql.bind(Arg::Text(INTERRUPTED.into())).push(" END, finished_at = ").bind(Arg::Ts(now));
    sql.push(", updated_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE status IN ('running', 'cancelling') AND updated_at < ").bind(Arg::Ts(now - idle));
    db.execute(sql).await
}

/// Why [`end_interrupted`] failed a job.
pub const INTERRUPTED: &str =
    "interrupted: the process running this import stopped; import the same file again to continue where it stopped";

/// The status of a job as stored (a runner checks it between batches for cancellation).
pub async fn status(db: &Db, id: Uuid) -> Result<JobStatus> {
    let mut sql = db.sql("SELECT status FROM import_jobs WHERE id = ");
    sql.bind(Arg::Uuid(id));
    let s: String = db.fetch_scalar(sql).await?;
    Ok(JobStatus::parse(&s))
}

/// One row read from the file: its contact, validated on its own (matching and companies come in the writer),
/// or its errors.
pub type ReadRow = std::result::Result<(FileContact, PreparedContact), Vec<RowError>>;

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
}

/// Why a batch was not applied.
#[derive(Debug)]
pub enum BatchStop {
    /// The checkpoint is not where this runner left it: the job was cancelled or another runner took it.
    Moved,
    Store(StoreError),
}

impl From<StoreError> for BatchStop {
    fn from(e: StoreError) -> Self {
        BatchStop::Store(e)
    }
}

/// Everything a batch needs besides its rows.
pub struct BatchContext<'a> {
    pub job: &'a ImportJob,
    pub actor: &'a Actor,
    /// The custom fields of the job's record type and the default region; validates merged records of updates.
    pub rules: &'a ContactRules<'a>,
    /// `rows_done` before this batch; the batch only commits if the job is still there.
    pub checkpoint: i64,
}

/// A row read and validated as far as the file alone allows, or its errors.
pub type Read<T> = std::result::Result<T, Vec<RowError>>;

/// The rows of one order: consecutive lines with the same order number. A group longer than an order may be
/// keeps its first lines and counts the others (the order is rejected), so one number repeated over a huge file
/// cannot fill memory.
pub struct OrderGroup {
    pub lines: Vec<Read<guanxi_io::objects::OrderLineRow>>,
    pub dropped: u64,
}

impl OrderGroup {
    fn rows(&self) -> u64 {
        self.lines.len() as u64 + self.dropped
    }
}

/// Lines kept per order group: one more than an order may have, so that validation rejects it.
const MAX_GROUP_LINES: usize = 501;

/// One batch of whole units of a file (a unit is a row; for orders, all the lines of an order), as the reader
/// hands it to the writer.
pub enum Batch {
    Contacts(Vec<ReadRow>),
    Companies(Vec<Read<(guanxi_io::objects::CompanyRow, Later<guanxi_core::company::CompanyDraft>)>>),
    Products(Vec<Read<(guanxi_io::objects::ProductRow, Later<guanxi_core::order::ProductDraft>)>>),
    Orders(Vec<OrderGroup>),
    Activities(Vec<Read<guanxi_io::objects::ActivityRow>>),
}

impl Batch {
    /// The file rows the batch covers (what the checkpoint advances by).
    pub fn rows(&self) -> i64 {
        (match self {
            Batch::Contacts(r) => r.len() as u64,
            Batch::Companies(r) => r.len() as u64,
            Batch::Products(r) => r.len() as u64,
            Batch::Orders(g) => g.iter().map(OrderGroup::rows).sum(),
            Batch::Activities(r) => r.len() as u64,
        }) as i64
    }
}

/// Validates, matches and writes one batch, then records its errors and advances the checkpoint, all in one
/// transaction (a dry run rolls the records back and commits only the errors and the progress).
pub async fn write_batch(db: &Db, b: &BatchContext<'_>, batch: Batch) -> std::result::Result<BatchOutcome, BatchStop> {
    let n = batch.rows();
    let mut tx = db.begin().await?;
    // The checkpoint first: on PostgreSQL this locks the job row, so a second runner waits here and then finds
    // the checkpoint moved; SQLite's single writer serialises them anyway.
    if !advance(&mut tx, b.job.id, b.checkpoint, n).await? {
        return Err(BatchStop::Moved);
    }
    let mut errors: Vec<RowError> = Vec::new();
    let mut outcome = BatchOutcome::default();
    let staged = match batch {
        Batch::Contacts(rows) => stage_contacts(&mut tx, b, rows, &mut errors).await?,
        Batch::Companies(rows) => objects::stage_companies(&mut tx, b, rows, &mut errors).await?,
        Batch::Products(rows) => objects::stage_products(&mut tx, b, rows, &mut errors).await?,
        Batch::Orders(groups) => objects::stage_orders(db, &mut tx, b, groups, &mut errors).await?,
        Batch::Activities(rows) => objects::stage_activities(db, &mut tx, b, rows, &mut errors).await?,
    };
    outcome.failed = staged.failed;
    outcome.created = staged.created;
    outcome.updated = staged.updated;
    if b.job.dry_run {
        drop(tx);
        tx = db.begin().await?;
        if !advance(&mut tx, b.job.id, b.checkpoint, n).await? {
            return Err(BatchStop::Moved);
        }
    }
    write_errors(&mut tx, b.job.id, &errors).await?;
    let mut sql = tx.sql("UPDATE import_jobs SET rows_created = rows_created + ");
    sql.bind(Arg::I64(outcome.created)).push(", rows_updated = rows_updated + ").bind(Arg::I64(outcome.updated));
    sql.push(", rows_failed = rows_failed + ").bind(Arg::I64(outcome.failed));
    sql.push(" WHERE id = ").bind(Arg::Uuid(b.job.id));
    tx.execute(sql).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn advance(tx: &mut Tx, id: Uuid, from: i64, n: i64) -> Result<bool> {
    let mut sql = tx.sql("UPDATE import_jobs SET rows_done = rows_done + ");
    sql.bind(Arg::I64(n)).push(", updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND rows_done = ").bind(Arg::I64(from));
    sql.push(" AND status = 'running'");
    Ok(tx.execute(sql).await? == 1)
}

async fn write_errors(tx: &mut Tx, job: Uuid, errors: &[RowError]) -> Result<()> {
    for chunk in errors.chunks(200) {
        let mut sql = tx.sql("INSERT INTO import_errors (job_id, line, column_name, code, message) VALUES ");
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(Arg::Uuid(job)).push(", ").bind(Arg::I64(e.line as i64)).push(", ");
            push_value(&mut sql, e.column.as_ref().map(|c| Arg::Text(c.chars().take(200).collect())), false);
            sql.push(", ").bind(Arg::Text(e.code.clone())).push(", ");
            sql.bind(Arg::Text(e.message.chars().take(500).collect())).push(")");
        }
        tx.execute(sql).await?;
    }
    Ok(())
}

pub(crate) struct Staged {
    created: i64,
    updated: i64,
    failed: i64,
}

/// The keys a row is matched by.
fn keys_of(key: MatchKey, row: &FileContact, draft: &ContactDraft) -> Vec<String> {
    match key {
        MatchKey::ExternalId => row.external_id.iter().cloned().collect(),
        MatchKey::Email => draft.emails.iter().map(|e| e.address.clone()).collect(),
        MatchKey::Phone => draft.phones.iter().map(|p| p.number.clone()).collect(),
        // Not keys of contacts (the API and CLI refuse them; `lookup` says why).
        MatchKey::Domain | MatchKey::Name | MatchKey::Sku | MatchKey::Number => Vec::new(),
    }
}

/// The error of a row that matches a record the caller may see but not change.
pub(crate) fn not_changeable(line: u64, noun: &str, id: Uuid) -> RowError {
    RowError::new(line, None, "forbidden", format!("{noun} {id} matches but you may not change it"))
}

/// Validation errors of a contact as row errors, each placed at the column its field came from.
pub fn row_errors(row: &FileContact, errs: ValidationErrors) -> Vec<RowError> {
    errs.errors
        .into_iter()
        .map(|e| RowError::new(row.line, row.column_of(&e.field), e.code, format!("{}: {}", e.field, e.message)))
        .collect()
}

async fn stage_contacts(
    tx: &mut Tx,
    b: &BatchContext<'_>,
    rows: Vec<ReadRow>,
    errors: &mut Vec<RowError>,
) -> Result<Staged> {
    let mut failed = 0i64;
    // 1. Rows that read and validate.
    let mut valid: Vec<(FileContact, PreparedContact)> = Vec::with_capacity(rows.len());
    for r in rows {
        match r {
            Err(e) => {
                failed += 1;
                errors.extend(e);
            }
            Ok(ok) => valid.push(ok),
        }
    }
    // 2. Companies by name, among those the caller can see.
    let names: Vec<String> =
        valid.iter().filter_map(|(r, _)| r.company_name.clone()).collect::<HashSet<_>>().into_iter().collect();
    let companies = companies_by_name(tx, b.actor, &names).await?;
    let mut ready: Vec<(FileContact, PreparedContact)> = Vec::with_capacity(valid.len());
    for (row, mut d) in valid {
        if let Some(name) = &row.company_name {
            match companies.get(name) {
                Some(Some(id)) => d.set_company(*id),
                Some(None) => {
                    failed += 1;
                    errors.push(RowError::new(
                        row.line,
                        row.column_of("company"),
                        "ambiguous_company",
                        format!("several companies are named {name:?}"),
                    ));
                    continue;
                }
                None => {
                    failed += 1;
                    errors.push(RowError::new(
                        row.line,
                        row.column_of("company"),
                        "unknown_company",
                        format!("no company named {name:?}: import or create it first"),
                    ));
                    continue;
                }
            }
        }
        ready.push((row, d));
    }
    // 3. Matches against stored contacts and against earlier rows of this batch (earlier batches are stored).
    let mut creates: Vec<(FileContact, PreparedContact)> = Vec::new();
    let mut updates: Vec<(FileContact, Uuid)> = Vec::new();
    match b.job.match_key {
        None => creates = ready,
        Some(key) => {
            let all_keys: Vec<String> = ready.iter().flat_map(|(r, d)| keys_of(key, r, d.draft())).collect();
            let stored = lookup(tx, key, &all_keys).await?;
            let mut seen: HashMap<String, u64> = HashMap::new();
            for (row, d) in ready {
                let keys = keys_of(key, &row, d.draft());
                let what = key.as_str();
                if let Some(line) = keys.iter().find_map(|k| seen.get(k)) {
                    failed += 1;
                    errors.push(RowError::new(
                        row.line,
                        None,
                        "duplicate_in_file",
                        format!("same {what} as line {line} of this file"),
                    ));
                    continue;
                }
                for k in &keys {
                    seen.insert(k.clone(), row.line);
                }
                let ids: HashSet<Uuid> = keys.iter().filter_map(|k| stored.get(k)).copied().collect();
                let first = ids.iter().next().copied();
                match (first, ids.len(), b.job.policy) {
                    (None, _, Policy::UpdateOnly) => {
                        failed += 1;
                        errors.push(RowError::new(row.line, None, "not_found", format!("no contact has this {what}")));
                    }
                    (None, _, _) => creates.push((row, d)),
                    (Some(id), 1, Policy::CreateOnly) => {
                        failed += 1;
                        errors.push(RowError::new(
                            row.line,
                            None,
                            "duplicate",
                            format!("contact {id} already has this {what}"),
                        ));
                    }
                    (Some(id), 1, _) => updates.push((row, id)),
                    (Some(_), n, _) => {
                        failed += 1;
                        errors.push(RowError::new(
                            row.line,
                            None,
                            "ambiguous_match",
                            format!("{n} contacts have this {what}"),
                        ));
                    }
                }
            }
        }
    }
    // 4. Creates, in one multi-row insert.
    let now = guanxi_core::ids::now();
    let mut created = 0i64;
    let mut undo: Vec<UndoEntry> = Vec::new();
    let mut external: Vec<(String, Uuid)> = Vec::new();
    if !creates.is_empty() {
        let first = crate::contacts::insert_prepared(tx, b.actor, &prepared_of(&creates), now).await;
        let made = match first {
            Ok(made) => made,
            Err(crate::contacts::BatchError::Store(e)) => return Err(e),
            Err(crate::contacts::BatchError::Invalid(errs)) => {
                // Owners or companies the caller may not use: report those rows, store the others.
                let bad: HashSet<usize> = errs.iter().map(|(i, _)| *i).collect();
                for (i, e) in errs {
                    failed += 1;
                    errors.extend(row_errors(&creates[i].0, e));
                }
                creates = creates.into_iter().enumerate().filter(|(i, _)| !bad.contains(i)).map(|(_, c)| c).collect();
                crate::contacts::insert_prepared(tx, b.actor, &prepared_of(&creates), now).await.map_err(
                    |e| match e {
                        crate::contacts::BatchError::Store(e) => e,
                        crate::contacts::BatchError::Invalid(_) => StoreError::NotFound,
                    },
                )?
            }
        };
        for ((row, _), (id, _, _)) in creates.iter().zip(&made) {
            created += 1;
            undo.push((*id, "created", 1, None));
            if let Some(x) = &row.external_id {
                external.push((x.clone(), *id));
            }
        }
    }
    // 5. Updates: the file's values over the stored record, validated again as a whole.
    let mut updated = 0i64;
    if !updates.is_empty() {
        let current = load_contacts(tx, &updates.iter().map(|u| u.1).collect::<Vec<_>>()).await?;
        for (row, id) in updates {
            let Some(cur) = current.get(&id) else {
                failed += 1;
                errors.push(RowError::new(row.line, None, "not_found", "the matching contact was deleted meanwhile"));
                continue;
            };
            let merged = merge(cur, &row.input);
            let mut draft = match merged.validate(b.rules) {
                Ok(d) => d,
                Err(e) => {
                    failed += 1;
                    errors.extend(row_errors(&row, e));
                    continue;
                }
            };
            if row.company_name.is_some() {
                let name = row.company_name.as_ref();
                draft.company_id = name.and_then(|n| companies.get(n)).copied().flatten().or(draft.company_id);
            }
            match crate::contacts::update_in_tx(tx, b.actor, id, cur.version, &draft).await? {
                Some(after) => {
                    updated += 1;
                    undo.push((id, "updated", after.version, serde_json::to_string(cur).ok()));
                    if let Some(x) = &row.external_id {
                        external.push((x.clone(), id));
                    }
                }
                None => {
                    failed += 1;
                    errors.push(not_changeable(row.line, "contact", id));
                }
            }
        }
    }
    write_undo(tx, b.job.id, &undo).await?;
    write_external_ids(tx, "contact", &external).await?;
    Ok(Staged { created, updated, failed })
}

fn prepared_of(rows: &[(FileContact, PreparedContact)]) -> Vec<&PreparedContact> {
    rows.iter().map(|(_, p)| p).collect()
}

/// The file's values over a stored contact: fields the file fills replace, emails, phones and tags are added,
/// custom values merged; the source stays unless the file names one.
fn merge(cur: &Contact, file: &ContactInput) -> ContactInput {
    let mut m = cur.to_input();
    let set = |dst: &mut Option<String>, src: &Option<String>| {
        if src.is_some() {
            dst.clone_from(src);
        }
    };
    set(&mut m.family_name, &file.family_name);
    set(&mut m.given_name, &file.given_name);
    if file.display_name.is_some() || file.family_name.is_some() || file.given_name.is_some() {
        m.display_name = file.display_name.clone();
    }
    for e in &file.emails {
        if !m.emails.iter().any(|x| x.address.eq_ignore_ascii_case(&e.address)) {
            m.emails.push(guanxi_core::contact::EmailEntry { address: e.address.clone(), primary: false });
        }
    }
    for p in &file.phones {
        m.phones.push(guanxi_core::contact::PhoneEntry { number: p.number.clone(), primary: false });
    }
    let a = &mut m.address;
    set(&mut a.country, &file.address.country);
    set(&mut a.province, &file.address.province);
    set(&mut a.city, &file.address.city);
    set(&mut a.district, &file.address.district);
    set(&mut a.street, &file.address.street);
    set(&mut a.postcode, &file.address.postcode);
    set(&mut m.job_title, &file.job_title);
    if file.gender.is_some() {
        m.gender = file.gender;
    }
    if file.birthday.is_some() {
        m.birthday = file.birthday;
    }
    set(&mut m.preferred_language, &file.preferred_language);
    if file.source.is_some_and(|s| s != Source::Import) {
        m.source = file.source;
    }
    set(&mut m.source_detail, &file.source_detail);
    for t in &file.tags {
        if !m.tags.contains(t) {
            m.tags.push(t.clone());
        }
    }
    if file.visibility.is_some() {
        m.visibility = file.visibility;
    }
    for (k, v) in &file.custom {
        m.custom.insert(k.clone(), v.clone());
    }
    m
}

/// Companies by exact name: `Some(id)`, or `None` when several share the name.
async fn companies_by_name(tx: &mut Tx, actor: &Actor, names: &[String]) -> Result<HashMap<String, Option<Uuid>>> {
    let mut out: HashMap<String, Option<Uuid>> = HashMap::new();
    for chunk in names.chunks(500) {
        let mut sql = tx.sql("SELECT c.name, c.id FROM companies c WHERE c.name IN (");
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text(n.clone()));
        }
        sql.push(")");
        crate::scope::push_visible(&mut sql, "c", actor);
        let rows: Vec<(String, Uuid)> = tx.fetch_all(sql).await?;
        for (name, id) in rows {
            out.entry(name).and_modify(|e| *e = None).or_insert(Some(id));
        }
    }
    Ok(out)
}

/// Stored contacts by match key value. Every contact counts, visible to the caller or not: a duplicate the
/// caller cannot see is still a duplicate.
async fn lookup(tx: &mut Tx, key: MatchKey, values: &[String]) -> Result<HashMap<String, Uuid>> {
    let mut out = HashMap::new();
    let mut values = values.to_vec();
    values.sort();
    values.dedup();
    for chunk in values.chunks(500) {
        let mut sql = match key {
            MatchKey::ExternalId => tx.sql("SELECT x.external_id, x.record_id FROM external_ids x JOIN contacts c ON c.id = x.record_id WHERE x.object = 'contact' AND x.external_id IN ("),
            MatchKey::Email => tx.sql("SELECT value, contact_id FROM contact_points WHERE kind = 'email' AND value IN ("),
            MatchKey::Phone => tx.sql("SELECT value, contact_id FROM contact_points WHERE kind = 'phone' AND value IN ("),
            other => {
                let m = format!("contacts cannot be matched on {}", other.as_str());
                return Err(StoreError::Invalid(ValidationErrors::from(FieldError::new("match", "invalid_value", m))));
            }
        };
        for (i, v) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text(v.clone()));
        }
        sql.push(")");
        let rows: Vec<(String, Uuid)> = tx.fetch_all(sql).await?;
        out.extend(rows);
    }
    Ok(out)
}

async fn load_contacts(tx: &mut Tx, ids: &[Uuid]) -> Result<HashMap<Uuid, Contact>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql = tx.sql(&format!("SELECT {COLUMNS} FROM contacts c WHERE c.id IN ("));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Uuid(*id));
        }
        sql.push(")");
        let rows: Vec<ContactRow> = tx.fetch_all(sql).await?;
        out.extend(rows.into_iter().map(|r| r.into_contact()).map(|c| (c.id, c)));
    }
    Ok(out)
}

/// What undo needs per record: its id, `created` or `updated`, the version the import left, and the record
/// before an update (JSON).
pub(crate) type UndoEntry = (Uuid, &'static str, i64, Option<String>);

async fn write_undo(tx: &mut Tx, job: Uuid, rows: &[UndoEntry]) -> Result<()> {
    let mut values = Vec::with_capacity(rows.len() * 5);
    for (id, action, version, snapshot) in rows {
        values.extend([
            Some(Arg::Uuid(job)),
            Some(Arg::Uuid(*id)),
            Some(Arg::Text((*action).into())),
            Some(Arg::I64(*version)),
            snapshot.clone().map(Arg::Text),
        ]);
    }
    let into = InsertInto {
        table: "import_records",
        columns: &[("job_id", false), ("record_id", false), ("action", false), ("version", false), ("snapshot", true)],
        // A record updated twice by one import keeps its first snapshot: undo restores the state before it.
        on_conflict: "ON CONFLICT (job_id, record_id) DO UPDATE SET version = excluded.version",
    };
    tx.insert_rows(&into, values, false).await?;
    Ok(())
}

async fn write_external_ids(tx: &mut Tx, object: &str, ids: &[(String, Uuid)]) -> Result<()> {
    let mut values = Vec::with_capacity(ids.len() * 3);
    for (x, id) in ids {
        values.extend([Some(Arg::Text(object.into())), Some(Arg::Text(x.clone())), Some(Arg::Uuid(*id))]);
    }
    let into = InsertInto {
        table: "external_ids",
        columns: &[("object", false), ("external_id", false), ("record_id", false)],
        on_conflict: "ON CONFLICT (object, external_id) DO UPDATE SET record_id = excluded.record_id",
    };
    tx.insert_rows(&into, values, false).await?;
    Ok(())
}

/// What undo did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UndoSummary {
    /// Records the import created, now deleted.
    pub removed: i64,
    /// Records the import updated, now as they were before.
    pub restored: i64,
    /// Records changed by someone since the import (or no longer changeable by the caller): left as they are.
    pub kept: i64,
}

/// Undoes an import in batches of 500 records, each batch one transaction that also forgets its undo entries, so
/// an interrupted undo can simply be run again. Records changed since the import are left alone and counted.
pub async fn undo(db: &Db, actor: &Actor, id: Uuid) -> Result<UndoSummary> {
    let job = get(db, actor, id).await?;
    let object = ImportObject::parse(&job.object).ok_or(StoreError::NotFound)?;
    if job.dry_run {
        return Err(StoreError::Conflict("a dry run stored nothing: there is nothing to undo".into()));
    }
    if !matches!(job.status, JobStatus::Done | JobStatus::Cancelled | JobStatus::Failed | JobStatus::Undoing) {
        return Err(cannot_undo(job.status));
    }
    // Only from a stopped state: the same file imported again meanwhile may have queued the job to resume, and
    // undoing under a running import would race it.
    let mut sql = db.sql("UPDATE import_jobs SET status = 'undoing', updated_at = ");
    sql.bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(id));
    sql.push(" AND status IN ('done', 'cancelled', 'failed', 'undoing')");
    if db.execute(sql).await? == 0 {
        return Err(cannot_undo(get(db, actor, id).await?.status));
    }
    let mut summary = UndoSummary::default();
    loop {
        let mut tx = db.begin().await?;
        let mut sql = tx.sql("SELECT record_id, action, version, snapshot FROM import_records WHERE job_id = ");
        sql.bind(Arg::Uuid(id)).push(" ORDER BY record_id LIMIT 500");
        let rows: Vec<(Uuid, String, i64, Option<Json<Value>>)> = tx.fetch_all(sql).await?;
        if rows.is_empty() {
            break;
        }
        let created: Vec<(Uuid, i64)> = rows.iter().filter(|r| r.1 == "created").map(|r| (r.0, r.2)).collect();
        summary.removed += delete_created(&mut tx, actor, object, &created).await?;
        summary.kept += created.len() as i64;
        for (rid, _, version, snapshot) in rows.iter().filter(|r| r.1 == "updated") {
            let restored = match snapshot {
                Some(s) => objects::restore(&mut tx, actor, object, *rid, *version, &s.0).await?,
                None => false,
            };
            if restored {
                summary.restored += 1;
            } else {
                summary.kept += 1;
            }
        }
        let mut del = tx.sql("DELETE FROM import_records WHERE job_id = ");
        del.bind(Arg::Uuid(id)).push(" AND record_id IN (");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                del.push(", ");
            }
            del.bind(Arg::Uuid(r.0));
        }
        del.push(")");
        tx.execute(del).await?;
        tx.commit().await?;
    }
    summary.kept -= summary.removed;
    let mut sql = db.sql("UPDATE import_jobs SET status = 'undone', updated_at = ");
    sql.bind(Arg::Ts(guanxi_core::ids::now())).push(" WHERE id = ").bind(Arg::Uuid(id));
    db.execute(sql).await?;
    Ok(summary)
}

/// Deletes created records still at the version the import left them, among those the caller may change (with
/// their tags, search tokens and external ids); returns how many.
async fn delete_created(tx: &mut Tx, actor: &Actor, object: ImportObject, ids: &[(Uuid, i64)]) -> Result<i64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let (table, fts) = match object {
        ImportObject::Contact => ("contacts", Some("contact_fts")),
        ImportObject::Company => ("companies", Some("company_fts")),
        ImportObject::Product => ("products", None),
        ImportObject::Order => ("orders", None),
        ImportObject::Activity => ("activities", None),
    };
    if object == ImportObject::Product && crate::products::require_catalogue_writer(actor).is_err() {
        return Ok(0);
    }
    let mut sql = tx.sql(&format!("DELETE FROM {table} WHERE ("));
    for (i, (id, version)) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(id = ").bind(Arg::Uuid(*id)).push(" AND version = ").bind(Arg::I64(*version)).push(")");
    }
    sql.push(")");
    // A record that gained history since the import (orders, activities, tasks, a company's contacts) is kept:
    // deleting it would take that history with it (cascades) or silently unlink it, and none of it came from the
    // import. Undoing the later import first lets this one remove it.
    match object {
        ImportObject::Contact => {
            for (t, col) in [("orders", "contact_id"), ("activities", "contact_id"), ("tasks", "contact_id")] {
                sql.push(&format!(" AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.{col} = {table}.id)"));
            }
        }
        ImportObject::Company => {
            for t in ["contacts", "orders", "activities", "tasks"] {
                sql.push(&format!(" AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.company_id = {table}.id)"));
            }
        }
        ImportObject::Product => {
            sql.push(&format!(" AND NOT EXISTS (SELECT 1 FROM order_lines x WHERE x.product_id = {table}.id)"));
        }
        ImportObject::Order | ImportObject::Activity => {}
    }
    match object {
        ImportObject::Contact | ImportObject::Company => push_changeable(&mut sql, table, actor),
        ImportObject::Order => crate::activities::push_changeable_via_parent(&mut sql, table, actor, false),
        ImportObject::Activity => crate::activities::push_activity_changeable(&mut sql, table, actor),
        ImportObject::Product => {}
    }
    // Products, orders and activities have no search rows: their `seq` is a placeholder.
    sql.push(if fts.is_some() { " RETURNING id, seq" } else { " RETURNING id, CAST(0 AS BIGINT)" });
    let gone: Vec<(Uuid, i64)> = tx.fetch_all(sql).await?;
    if gone.is_empty() {
        return Ok(0);
    }
    for side in ["record_tags", "external_ids"] {
        let mut del = tx.sql(&format!("DELETE FROM {side} WHERE object = '{}' AND record_id IN (", object.as_str()));
        for (i, (id, _)) in gone.iter().enumerate() {
            if i > 0 {
                del.push(", ");
            }
            del.bind(Arg::Uuid(*id));
        }
        del.push(")");
        tx.execute(del).await?;
    }
    // FTS5 rows have no foreign key (PostgreSQL's search rows go with the record); one statement per batch.
    if let Some(fts) = fts
        && tx.dialect() == crate::Dialect::Sqlite
    {
        let mut del = tx.sql(&format!("DELETE FROM {fts} WHERE rowid IN ("));
        for (i, (_, seq)) in gone.iter().enumerate() {
            if i > 0 {
                del.push(", ");
            }
            del.bind(Arg::I64(*seq));
        }
        del.push(")");
        tx.execute(del).await?;
    }
    Ok(gone.len() as i64)
}

/// A saved column mapping.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SavedMapping {
    pub id: Uuid,
    pub object: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub mapping: Value,
    pub created_at: DateTime<Utc>,
}

type MappingRow = (Uuid, String, String, Json<Value>, DateTime<Utc>);

/// Saves (or replaces) a mapping under a name.
pub async fn save_mapping(db: &Db, actor: &Actor, object: &str, name: &str, mapping: &Value) -> Result<SavedMapping> {
    let now = guanxi_core::ids::now();
    let mut tx = db.begin().await?;
    let mut sql = tx.sql("INSERT INTO import_mappings (id, object, name, mapping, created_by, created_at) VALUES (");
    sql.bind(Arg::Uuid(guanxi_core::ids::new_id())).push(", ").bind(Arg::Text(object.into())).push(", ");
    sql.bind(Arg::Text(name.into())).push(", ");
    push_value(&mut sql, Some(Arg::Text(mapping.to_string())), true);
    sql.push(", ").bind(Arg::Uuid(actor.user_id)).push(", ").bind(Arg::Ts(now)).push(")");
    sql.push(" ON CONFLICT (object, name) DO UPDATE SET mapping = excluded.mapping, created_at = excluded.created_at");
    tx.execute(sql).await?;
    tx.commit().await?;
    mapping_by_name(db, object, name).await?.ok_or(StoreError::NotFound)
}

pub async fn mapping_by_name(db: &Db, object: &str, name: &str) -> Result<Option<SavedMapping>> {
    let mut sql = db.sql("SELECT id, object, name, mapping, created_at FROM import_mappings WHERE object = ");
    sql.bind(Arg::Text(object.into())).push(" AND name = ").bind(Arg::Text(name.into()));
    let row: Option<MappingRow> = db.fetch_optional(sql).await?;
    Ok(row.map(|(id, object, name, m, created_at)| SavedMapping { id, object, name, mapping: m.0, created_at }))
}

pub async fn list_mappings(db: &Db, object: &str) -> Result<Vec<SavedMapping>> {
    let mut sql = db.sql("SELECT id, object, name, mapping, created_at FROM import_mappings WHERE object = ");
    sql.bind(Arg::Text(object.into())).push(" ORDER BY name");
    let rows: Vec<MappingRow> = db.fetch_all(sql).await?;
    Ok(rows
        .into_iter()
        .map(|(id, object, name, m, created_at)| SavedMapping { id, object, name, mapping: m.0, created_at })
        .collect())
}

/// Rows per transaction: large enough that per-transaction costs vanish, small enough that a batch commits in
/// well under a second and a killed import loses little work.
pub const BATCH_ROWS: usize = 2000;

/// Progress of a run, after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub rows_per_second: f64,
}

/// Where a run reads its file and how it validates rows.
pub struct ImportRun {
    pub path: std::path::PathBuf,
    /// The custom fields of the record type imported.
    pub custom_fields: Vec<guanxi_core::custom_field::CustomFieldDef>,
    pub default_region: guanxi_core::contact_point::Region,
    pub batch_rows: usize,
}

enum ReaderMsg {
    Batch(Batch),
    /// The file cannot be read on (or at all); rows before it are committed.
    Fatal(String),
}

/// Runs (or resumes) an import of any record type: a reader thread parses, maps and validates rows off the async
/// workers and hands over bounded batches of whole units; this task matches and writes them. Returns the job as
/// it ended.
pub async fn run(
    db: &Db,
    actor: &Actor,
    job_id: Uuid,
    run: ImportRun,
    mut on_progress: impl FnMut(&Progress) + Send,
) -> Result<ImportJob> {
    let (job, claimed) = claim(db, job_id).await?;
    if !claimed {
        return Ok(job);
    }
    let mapping: guanxi_io::mapping::Mapping = match serde_json::from_value(job.mapping.clone()) {
        Ok(m) => m,
        Err(e) => {
            finish(db, job_id, JobStatus::Failed, Some(&format!("the stored mapping is not valid: {e}"))).await?;
            return get(db, actor, job_id).await;
        }
    };
    let Some(object) = ImportObject::parse(&job.object) else {
        finish(db, job_id, JobStatus::Failed, Some("unknown record type")).await?;
        return get(db, actor, job_id).await;
    };
    // The writer validates merged updates with the same rules as the reader.
    let rules_defs = run.custom_fields.clone();
    let rules = ContactRules {
        default_region: run.default_region,
        custom_fields: &rules_defs,
        today: chrono::Utc::now().date_naive(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ReaderMsg>(2);
    let skip = job.rows_done.max(0) as usize;
    let batch_rows = run.batch_rows.max(1);
    let reader = tokio::task::spawn_blocking(move || read_file(run, object, mapping, skip, batch_rows, tx));
    let mut checkpoint = job.rows_done;
    let mut progress = Progress {
        rows_done: job.rows_done,
        created: job.rows_created,
        updated: job.rows_updated,
        failed: job.rows_failed,
        rows_per_second: 0.0,
    };
    let started = std::time::Instant::now();
    let mut fatal: Option<String> = None;
    let mut saw_rows = job.rows_done > 0;
    let mut next_statistics = STATISTICS_FIRST;
    while let Some(msg) = rx.recv().await {
        let batch = match msg {
            ReaderMsg::Batch(batch) => batch,
            ReaderMsg::Fatal(m) => {
                fatal = Some(m);
                break;
            }
        };
        saw_rows = true;
        let n = batch.rows();
        let ctx = BatchContext { job: &job, actor, rules: &rules, checkpoint };
        match write_batch(db, &ctx, batch).await {
            Ok(o) => {
                checkpoint += n;
                progress.rows_done = checkpoint;
                progress.created += o.created;
                progress.updated += o.updated;
                progress.failed += o.failed;
                let secs = started.elapsed().as_secs_f64();
                progress.rows_per_second = if secs > 0.0 { (checkpoint - job.rows_done) as f64 / secs } else { 0.0 };
                on_progress(&progress);
                if checkpoint - job.rows_done >= next_statistics {
                    refresh_statistics(db, object).await?;
                    next_statistics *= 2;
                }
            }
            Err(BatchStop::Moved) => {
                drop(rx);
                let _ = reader.await;
                if status(db, job_id).await? == JobStatus::Cancelling {
                    finish(db, job_id, JobStatus::Cancelled, None).await?;
                }
                return get(db, actor, job_id).await;
            }
            Err(BatchStop::Store(e)) => {
                drop(rx);
                let _ = reader.await;
                finish(db, job_id, JobStatus::Failed, Some(&e.to_string())).await?;
                return Err(e);
            }
        }
    }
    // A reader that panicked closed the channel early: that is not the end of the file.
    if let Err(e) = reader.await
        && fatal.is_none()
    {
        fatal = Some(format!("reading the file failed: {e}"));
    }
    if fatal.is_none() && !saw_rows {
        fatal = Some(guanxi_io::read::FileError::HeaderOnly.to_string());
    }
    match fatal {
        Some(m) => finish(db, job_id, JobStatus::Failed, Some(&m)).await?,
        None => finish(db, job_id, JobStatus::Done, None).await?,
    }
    get(db, actor, job_id).await
}

/// Rows after which an import first refreshes the planner statistics of the tables it fills, then again each
/// time the rows imported double.
const STATISTICS_FIRST: i64 = 4_000;

/// Refreshes PostgreSQL's planner statistics of the tables an import of `object` writes (SQLite needs none: its
/// planner uses the indexes without them). Without this a new database's statistics stay those of empty tables
/// until autovacuum gets to them, and never when it is off: the match lookup (`value IN (…500 values…)`) then
/// ran as a scan of every e-mail comparing each with the whole list, and a 1M-contact import on PostgreSQL fell
/// to 500 rows/s after 150k rows. ANALYZE samples a fixed number of rows, so each run is cheap.
async fn refresh_statistics(db: &Db, object: ImportObject) -> Result<()> {
    if db.dialect() != crate::Dialect::Postgres {
        return Ok(());
    }
    let tables = match object {
        ImportObject::Contact => "contacts, contact_points, record_tags, external_ids, import_records",
        ImportObject::Company => "companies, record_tags, external_ids, import_records",
        ImportObject::Product => "products, external_ids, import_records",
        ImportObject::Order => "orders, order_lines, external_ids, import_records",
        ImportObject::Activity => "activities, external_ids, import_records",
    };
    db.execute(crate::sql::Sql::new(crate::Dialect::Postgres, &format!("ANALYZE {tables}"))).await?;
    Ok(())
}

/// Hands whole units to the writer in batches of at least `batch_rows` rows; `false` once the writer is gone.
struct Batcher<U> {
    units: Vec<U>,
    rows: usize,
    batch_rows: usize,
    wrap: fn(Vec<U>) -> Batch,
    tx: tokio::sync::mpsc::Sender<ReaderMsg>,
}

impl<U> Batcher<U> {
    fn push(&mut self, unit: U, rows: usize) -> bool {
        self.units.push(unit);
        self.rows += rows;
        if self.rows >= self.batch_rows {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.units.is_empty() {
            return true;
        }
        self.rows = 0;
        let units = std::mem::take(&mut self.units);
        self.tx.blocking_send(ReaderMsg::Batch((self.wrap)(units))).is_ok()
    }

    fn fatal(&mut self, m: String) {
        if self.flush() {
            let _ = self.tx.blocking_send(ReaderMsg::Fatal(m));
        }
    }
}

/// Validates a row's input on its own, adding the validation errors (placed at their columns) to the cell errors.
fn validated<R, D>(
    row: R,
    errs: Vec<RowError>,
    validate: impl FnOnce(&R) -> std::result::Result<D, ValidationErrors>,
    line: u64,
    origins: impl Fn(&R, &str) -> Option<String>,
) -> Read<(R, D)> {
    match validated_later(row, errs, validate, line, origins, false) {
        Ok((r, Ok(d))) => Ok((r, d)),
        Ok((_, Err(_))) => Err(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A record valid on its own, or missing only required fields: a row that updates a stored record need not
/// repeat what it leaves unchanged (a price list without names), so the writer validates it again merged.
pub type Later<D> = std::result::Result<D, ValidationErrors>;

/// [`validated`], keeping (with `keep_missing`) a row whose only problem is missing required fields.
fn validated_later<R, D>(
    row: R,
    mut errs: Vec<RowError>,
    validate: impl FnOnce(&R) -> std::result::Result<D, ValidationErrors>,
    line: u64,
    origins: impl Fn(&R, &str) -> Option<String>,
    keep_missing: bool,
) -> Read<(R, Later<D>)> {
    match validate(&row) {
        Ok(d) if errs.is_empty() => Ok((row, Ok(d))),
        Ok(_) => Err(errs),
        Err(e) if keep_missing && errs.is_empty() && e.errors.iter().all(|f| f.code == "required") => Ok((row, Err(e))),
        Err(e) => {
            errs.extend(e.errors.into_iter().map(|f| {
                RowError::new(line, origins(&row, &f.field).as_deref(), f.code, format!("{}: {}", f.field, f.message))
            }));
            Err(errs)
        }
    }
}

/// The reader thread: opens the file, checks the mapping, skips the committed rows, reads the rest into units of
/// the job's record type and sends them in batches. An unreadable record ends the file (rows before it are sent).
fn read_file(
    run: ImportRun,
    object: ImportObject,
    mapping: guanxi_io::mapping::Mapping,
    skip: usize,
    batch_rows: usize,
    tx: tokio::sync::mpsc::Sender<ReaderMsg>,
) {
    let fatal = |m: String| {
        let _ = tx.blocking_send(ReaderMsg::Fatal(m));
    };
    let (info, rows) = match guanxi_io::read::open(&run.path) {
        Ok(x) => x,
        Err(e) => return fatal(e.to_string()),
    };
    let misfit = |errs: Vec<(String, String)>| {
        let list: Vec<String> =
            errs.iter().map(|(h, m)| if h.is_empty() { m.clone() } else { format!("{h}: {m}") }).collect();
        format!("the mapping does not fit the file: {}", list.join("; "))
    };
    let mut rows = rows.skip(skip);
    if object == ImportObject::Contact {
        let plan = match guanxi_io::mapping::contact_plan(&mapping, &info.headers, &run.custom_fields) {
            Ok(p) => p,
            Err(errs) => return fatal(misfit(errs)),
        };
        let rules = ContactRules {
            default_region: run.default_region,
            custom_fields: &run.custom_fields,
            today: chrono::Utc::now().date_naive(),
        };
        let mut out = Batcher { units: Vec::new(), rows: 0, batch_rows, wrap: Batch::Contacts, tx: tx.clone() };
        for item in rows {
            let read = match item {
                Err(e) if e.code == "unreadable" => return out.fatal(format!("line {}: {}", e.line, e.message)),
                Err(e) => Err(vec![e]),
                Ok(row) => {
                    let (c, errs) = guanxi_io::mapping::contact_from_row(&row, &plan);
                    let line = c.line;
                    validated(c, errs, |c| c.input.validate(&rules), line, |c, f| c.column_of(f).map(str::to_string))
                        .map(|(c, d)| {
                            // The JSON columns and search tokens are made here, on the reader's core, not on
                            // the single writer's.
                            let prepared = PreparedContact::new(d, c.company_name.as_deref());
                            (c, prepared)
                        })
                }
            };
            if !out.push(read, 1) {
                return;
            }
        }
        out.flush();
        return;
    }
    let plan = match guanxi_io::objects::plan(object, &mapping, &info.headers, &run.custom_fields, run.default_region) {
        Ok(p) => p,
        Err(errs) => return fatal(misfit(errs)),
    };
    let defs = &run.custom_fields;
    let column = |o: &guanxi_io::objects::Origins, f: &str| o.column_of(f).map(str::to_string);
    match object {
        ImportObject::Contact => {}
        ImportObject::Company => {
            let mut out = Batcher { units: Vec::new(), rows: 0, batch_rows, wrap: Batch::Companies, tx: tx.clone() };
            for item in rows {
                let read = match item {
                    Err(e) if e.code == "unreadable" => return out.fatal(format!("line {}: {}", e.line, e.message)),
                    Err(e) => Err(vec![e]),
                    Ok(row) => {
                        let (c, errs) = guanxi_io::objects::company_from_row(&row, &plan);
                        let line = c.line;
                        validated_later(c, errs, |c| c.input.validate(defs), line, |c, f| column(&c.origins, f), true)
                    }
                };
                if !out.push(read, 1) {
                    return;
                }
            }
            out.flush();
        }
        ImportObject::Product => {
            let mut out = Batcher { units: Vec::new(), rows: 0, batch_rows, wrap: Batch::Products, tx: tx.clone() };
            for item in rows {
                let read = match item {
                    Err(e) if e.code == "unreadable" => return out.fatal(format!("line {}: {}", e.line, e.message)),
                    Err(e) => Err(vec![e]),
                    Ok(row) => {
                        let (p, errs) = guanxi_io::objects::product_from_row(&row, &plan);
                        let line = p.line;
                        validated_later(p, errs, |p| p.input.validate(defs), line, |p, f| column(&p.origins, f), true)
                    }
                };
                if !out.push(read, 1) {
                    return;
                }
            }
            out.flush();
        }
        ImportObject::Activity => {
            let mut out = Batcher { units: Vec::new(), rows: 0, batch_rows, wrap: Batch::Activities, tx: tx.clone() };
            for item in rows {
                let read = match item {
                    Err(e) if e.code == "unreadable" => return out.fatal(format!("line {}: {}", e.line, e.message)),
                    Err(e) => Err(vec![e]),
                    Ok(row) => match guanxi_io::objects::activity_from_row(&row, &plan) {
                        (a, errs) if errs.is_empty() => Ok(a),
                        (_, errs) => Err(errs),
                    },
                };
                if !out.push(read, 1) {
                    return;
                }
            }
            out.flush();
        }
        ImportObject::Order => {
            // Consecutive lines with one order number are one order: a group is only handed over whole, so an
            // order never straddles two batches (nor a checkpoint).
            let mut out = Batcher { units: Vec::new(), rows: 0, batch_rows, wrap: Batch::Orders, tx: tx.clone() };
            let mut group: Option<(Option<String>, OrderGroup)> = None;
            let close = |out: &mut Batcher<OrderGroup>, g: Option<(Option<String>, OrderGroup)>| match g {
                Some((_, g)) => {
                    let n = g.rows() as usize;
                    out.push(g, n)
                }
                None => true,
            };
            for item in rows.by_ref() {
                let read = match item {
                    Err(e) if e.code == "unreadable" => {
                        if !close(&mut out, group.take()) {
                            return;
                        }
                        return out.fatal(format!("line {}: {}", e.line, e.message));
                    }
                    Err(e) => Err(vec![e]),
                    Ok(row) => match guanxi_io::objects::order_line_from_row(&row, &plan) {
                        (l, errs) if errs.is_empty() => Ok(l),
                        // A bad line keeps its order number (when it has one) so that its order fails whole.
                        (l, errs) => {
                            let number = l.number.clone();
                            if let (Some(n), Some((Some(cur), g))) = (&number, group.as_mut())
                                && n == cur
                            {
                                if g.lines.len() < MAX_GROUP_LINES {
                                    g.lines.push(Err(errs));
                                } else {
                                    g.dropped += 1;
                                }
                                continue;
                            }
                            if !close(&mut out, group.take()) {
                                return;
                            }
                            group = Some((number, OrderGroup { lines: vec![Err(errs)], dropped: 0 }));
                            continue;
                        }
                    },
                };
                let number = read.as_ref().ok().and_then(|l| l.number.clone());
                match (&number, group.as_mut()) {
                    (Some(n), Some((Some(cur), g))) if n == cur => {
                        if g.lines.len() < MAX_GROUP_LINES {
                            g.lines.push(read);
                        } else {
                            g.dropped += 1;
                        }
                    }
                    _ => {
                        if !close(&mut out, group.take()) {
                            return;
                        }
                        group = Some((number, OrderGroup { lines: vec![read], dropped: 0 }));
                    }
                }
            }
            if close(&mut out, group.take()) {
                out.flush();
            }
        }
    }
}
