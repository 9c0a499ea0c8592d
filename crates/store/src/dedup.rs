//! Duplicate detection over stored records, using the pure engine of `guanxi-dedup`: full scans that keep
//! candidate pairs, the scoped candidate list, dismissals, and the check of one new record against the records
//! the caller can see (create forms, the API, import).

use crate::contacts::ContactRow;
use crate::scope::{push_changeable, push_visible};
use crate::sql::{Arg, Page};
use crate::sqlite_read::{FromSqliteRow, RowExt};
use crate::{Db, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_core::access::Actor;
use guanxi_core::company::{Company, CompanyDraft};
use guanxi_core::contact::{Contact, ContactDraft, EmailEntry, PhoneEntry};
use guanxi_core::contact_point::Region;
use guanxi_core::filter::Cursor;
use guanxi_dedup::{CompanyFacts, CompanyKeys, ContactFacts, ContactKeys, Match, Reason};
use serde::Serialize;
use sqlx::types::Json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use uuid::Uuid;

/// Which records a scan, a candidate or a merge is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupObject {
    Contact,
    Company,
}

impl DedupObject {
    pub fn as_str(self) -> &'static str {
        match self {
            DedupObject::Contact => "contact",
            DedupObject::Company => "company",
        }
    }

    /// Accepts the singular and the plural (`contacts`, as in the API paths).
    pub fn parse(s: &str) -> Option<DedupObject> {
        match s {
            "contact" | "contacts" => Some(DedupObject::Contact),
            "company" | "companies" => Some(DedupObject::Company),
            _ => None,
        }
    }

    pub(crate) fn table(self) -> &'static str {
        match self {
            DedupObject::Contact => "contacts",
            DedupObject::Company => "companies",
        }
    }
}

/// One run of the scan: a background job with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Scan {
    pub id: Uuid,
    pub object: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// `reading` (records), `comparing` (pairs after blocking), `writing` (candidates), `done`.
    pub phase: String,
    /// Units of the current phase done and to do: records read, pairs compared, candidates written.
    pub progress_done: i64,
    pub progress_total: i64,
    pub started_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Last sign of life of the process running it; a running scan whose heartbeat stopped is shown as failed.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Records read.
    pub records: i64,
    /// Pairs compared after blocking.
    pub compared: i64,
    /// Candidate pairs found (including ones already dismissed or merged, which stay as they were).
    pub pairs: i64,
    /// Blocking keys skipped because too many records share them (placeholder emails, switchboards).
    pub oversized_blocks: i64,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

impl Scan {
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// Failed because its process stopped (a restart), not because of an error in the scan.
    pub fn was_interrupted(&self) -> bool {
        self.error.as_deref() == Some(INTERRUPTED)
    }

    /// A running scan whose process stopped beating is reported as failed (and marked so at the next start).
    fn settled(mut self, now: DateTime<Utc>) -> Scan {
        if self.is_running() && self.heartbeat_at.unwrap_or(self.started_at) < now - SCAN_STALE_AFTER {
            self.status = "failed".into();
            self.error = Some(INTERRUPTED.into());
        }
        self
    }
}

const SCAN_COLUMNS: &str = "id, object, status, phase, progress_done, progress_total, started_by, started_at, \
    finished_at, heartbeat_at, records, compared, pairs, oversized_blocks, duration_ms, error";

/// How often a running scan writes its progress (which is also its heartbeat).
const SCAN_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);
/// A running scan without a heartbeat for this long died with its process.
pub const SCAN_STALE_AFTER: chrono::Duration = chrono::Duration::seconds(30);
const INTERRUPTED: &str = "interrupted: the server stopped while the scan ran; start it again";

/// Rows read per query while streaming records into the scan.
const SCAN_PAGE: i64 = 5000;
/// Candidate rows per INSERT.
const WRITE_CHUNK: usize = 300;
/// Candidate pairs per transaction while a scan writes them: one transaction for all pairs held SQLite's
/// single writer for over 30 s at 1M contacts.
const WRITE_BATCH: usize = WRITE_CHUNK * 5;
/// Rounds of scored pairs (see `guanxi_dedup::contact_pairs_each`) waiting to be written before scoring
/// waits for the writer.
const ROUNDS_IN_FLIGHT: usize = 4;

/// Registers a new scan of `object` as running and returns it; [`execute_scan`] then does the work (the API runs
/// it in the background). One scan per object at a time: while one runs, a second start answers
/// [`StoreError::Conflict`] (a unique index on running scans decides, so this holds across instances). A scan
/// left running by a process that died (no heartbeat for [`SCAN_STALE_AFTER`]) is marked failed first.
pub async fn start_scan(db: &Db, actor: &Actor, object: DedupObject) -> Result<Scan> {
    let now = guanxi_core::ids::now();
    let id = guanxi_core::ids::new_id();
    let mut tx = db.begin().await?;
    let mut stale = tx.sql("UPDATE dedup_scans SET status = 'failed', error = ");
    stale.bind(Arg::Text(INTERRUPTED.into())).push(", finished_at = ").bind(Arg::Ts(now));
    stale.push(" WHERE status = 'running' AND object = ").bind(Arg::Text(object.as_str().into()));
    stale.push(" AND COALESCE(heartbeat_at, started_at) < ").bind(Arg::Ts(now - SCAN_STALE_AFTER));
    tx.execute(stale).await?;
    let mut ins =
        tx.sql("INSERT INTO dedup_scans (id, object, status, phase, started_by, started_at, heartbeat_at) VALUES (");
    ins.bind(Arg::Uuid(id)).push(", ").bind(Arg::Text(object.as_str().into()));
    ins.push(", 'running', 'reading', ").bind(Arg::Uuid(actor.user_id));
    ins.push(", ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
    match tx.execute(ins).await {
        Err(StoreError::Database(sqlx::Error::Database(d))) if d.is_unique_violation() => {
            return Err(StoreError::Conflict(format!("a {} scan is already running", object.as_str())));
        }
        other => other?,
    };
    tx.commit().await?;
    get_scan(db, id).await
}

/// Marks the scans left running by a process that stopped as failed, so they can be run again at once: on
/// SQLite every running scan (one process serves a SQLite database, and it is starting), on PostgreSQL those
/// without a heartbeat for [`SCAN_STALE_AFTER`] (other instances may be running theirs). Called at server start.
pub async fn fail_abandoned_scans(db: &Db) -> Result<u64> {
    let now = guanxi_core::ids::now();
    let mut sql = db.sql("UPDATE dedup_scans SET status = 'failed', error = ");
    sql.bind(Arg::Text(INTERRUPTED.into())).push(", finished_at = ").bind(Arg::Ts(now));
    sql.push(" WHERE status = 'running'");
    if db.dialect() == crate::Dialect::Postgres {
        sql.push(" AND COALESCE(heartbeat_at, started_at) < ").bind(Arg::Ts(now - SCAN_STALE_AFTER));
    }
    db.execute(sql).await
}

/// Scans every contact or company for duplicate pairs ([`start_scan`] and [`execute_scan`] in one go, for the
/// CLI and tests). Reads all records whatever the caller may see: candidates are scoped when listed. `region`
/// reads phone numbers stored without a country code.
pub async fn run_scan(db: &Db, actor: &Actor, object: DedupObject, region: Region) -> Result<Scan> {
    let scan = start_scan(db, actor, object).await?;
    execute_scan(db, scan.id, object, region).await
}

/// What a running scan has got to, shared between the scan and its heartbeat.
#[derive(Default)]
struct ScanProgress {
    phase: std::sync::Mutex<&'static str>,
    records: AtomicU64,
    /// Units of the reading and writing phases; the comparing phase reports through `engine`.
    done: AtomicU64,
    total: AtomicU64,
    engine: guanxi_dedup::Progress,
}

impl ScanProgress {
    fn enter(&self, phase: &'static str, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }

    fn phase(&self) -> &'static str {
        self.phase.lock().map(|p| *p).unwrap_or("reading")
    }

    /// `(phase, done, total, compared, found)`.
    fn snapshot(&self) -> (&'static str, u64, u64, u64, u64) {
        let phase = self.phase();
        let (compared, to_compare, found) = self.engine.snapshot();
        let (done, total) = if phase == "comparing" {
            (compared, to_compare)
        } else {
            (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
        };
        (phase, done, total, compared, found)
    }
}

/// Writes a running scan's progress and heartbeat every [`SCAN_HEARTBEAT`] until it is dropped.
async fn beat(db: Db, id: Uuid, progress: Arc<ScanProgress>) {
    let mut tick = tokio::time::interval(SCAN_HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (phase, done, total, compared, found) = progress.snapshot();
        let mut sql = db.sql("UPDATE dedup_scans SET heartbeat_at = ");
        sql.bind(Arg::Ts(guanxi_core::ids::now())).push(", phase = ").bind(Arg::Text(phase.into()));
        sql.push(", progress_done = ").bind(Arg::I64(done as i64));
        sql.push(", progress_total = ").bind(Arg::I64(total as i64));
        sql.push(", records = ").bind(Arg::I64(progress.records.load(Ordering::Relaxed) as i64));
        sql.push(", compared = ").bind(Arg::I64(compared as i64)).push(", pairs = ").bind(Arg::I64(found as i64));
        sql.push(" WHERE status = 'running' AND id = ").bind(Arg::Uuid(id));
        if let Err(e) = db.execute(sql).await {
            tracing::warn!(error = %e, scan = %id, "cannot record the scan's progress");
        }
    }
}

/// Runs a scan registered by [`start_scan`] to its end: reads every record, finds the pairs, replaces the open
/// candidates of the object with them (see [`scan_and_store`]) (dismissed and merged pairs keep their decision), and records the outcome
/// on the scan, `succeeded` or `failed` with the error. Progress is written every second meanwhile.
pub async fn execute_scan(db: &Db, id: Uuid, object: DedupObject, region: Region) -> Result<Scan> {
    let started = Instant::now();
    let progress = Arc::new(ScanProgress::default());
    let heartbeat = tokio::spawn(beat(db.clone(), id, progress.clone()));
    let outcome = scan_and_store(db, object, region, id, &progress).await;
    heartbeat.abort();
    let _ = heartbeat.await;
    let mut fin = db.sql("UPDATE dedup_scans SET finished_at = ");
    let now = guanxi_core::ids::now();
    fin.bind(Arg::Ts(now)).push(", heartbeat_at = ").bind(Arg::Ts(now));
    fin.push(", duration_ms = ").bind(Arg::I64(started.elapsed().as_millis() as i64));
    match &outcome {
        Ok(stats) => {
            fin.push(", status = 'succeeded', phase = 'done', records = ").bind(Arg::I64(stats.records));
            fin.push(", compared = ").bind(Arg::I64(stats.compared));
            fin.push(", pairs = ").bind(Arg::I64(stats.pairs));
            fin.push(", oversized_blocks = ").bind(Arg::I64(stats.oversized_blocks));
            fin.push(", progress_done = ").bind(Arg::I64(stats.pairs)).push(", progress_total = ");
            fin.bind(Arg::I64(stats.pairs));
        }
        Err(e) => {
            tracing::error!(error = %e, object = object.as_str(), "duplicate scan failed");
            fin.push(", status = 'failed', error = ").bind(Arg::Text(e.to_string()));
        }
    }
    // Only a scan still running: one marked failed meanwhile (its heartbeat was late) stays failed.
    fin.push(" WHERE status = 'running' AND id = ").bind(Arg::Uuid(id));
    db.execute(fin).await?;
    outcome?;
    get_scan(db, id).await
}

pub async fn get_scan(db: &Db, id: Uuid) -> Result<Scan> {
    let mut sql = db.sql(&format!("SELECT {SCAN_COLUMNS} FROM dedup_scans WHERE id = "));
    sql.bind(Arg::Uuid(id));
    let scan: Scan = db.fetch_optional(sql).await?.ok_or(StoreError::NotFound)?;
    Ok(scan.settled(guanxi_core::ids::now()))
}

/// The latest scans of an object, newest first.
pub async fn recent_scans(db: &Db, object: DedupObject, limit: i64) -> Result<Vec<Scan>> {
    let mut sql = db.sql(&format!("SELECT {SCAN_COLUMNS} FROM dedup_scans WHERE object = "));
    sql.bind(Arg::Text(object.as_str().into()));
    sql.push(&format!(" ORDER BY started_at DESC, id DESC LIMIT {}", limit.clamp(1, 100)));
    let now = guanxi_core::ids::now();
    Ok(db.fetch_all::<Scan>(sql).await?.into_iter().map(|s| s.settled(now)).collect())
}

struct ScanStats {
    records: i64,
    compared: i64,
    pairs: i64,
    oversized_blocks: i64,
}

#[derive(sqlx::FromRow)]
struct ContactScanRow {
    seq: i64,
    id: Uuid,
    display_name: String,
    emails: Json<Vec<EmailEntry>>,
    phones: Json<Vec<PhoneEntry>>,
    company_id: Option<Uuid>,
    birthday: Option<NaiveDate>,
    address_city: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CompanyScanRow {
    seq: i64,
    id: Uuid,
    name: String,
    domain: Option<String>,
    address_city: Option<String>,
}

// Reading was three quarters of a 1M-contact scan on SQLite through sqlx (one thread hand-over per row).
impl FromSqliteRow for ContactScanRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContactScanRow> {
        Ok(ContactScanRow {
            seq: r.get("seq")?,
            id: r.uuid("id")?,
            display_name: r.get("display_name")?,
            emails: Json(r.json("emails")?),
            phones: Json(r.json("phones")?),
            company_id: r.opt_uuid("company_id")?,
            birthday: r.opt_date("birthday")?,
            address_city: r.get("address_city")?,
        })
    }
}

impl FromSqliteRow for CompanyScanRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<CompanyScanRow> {
        Ok(CompanyScanRow {
            seq: r.get("seq")?,
            id: r.uuid("id")?,
            name: r.get("name")?,
            domain: r.get("domain")?,
            address_city: r.get("address_city")?,
        })
    }
}

fn contact_facts(
    display_name: &str,
    emails: &[EmailEntry],
    phones: &[PhoneEntry],
    company_id: Option<Uuid>,
    birthday: Option<NaiveDate>,
    city: Option<&str>,
) -> ContactFacts {
    ContactFacts {
        display_name: display_name.to_string(),
        emails: emails.iter().map(|e| e.address.clone()).collect(),
        phones: phones.iter().map(|p| p.number.clone()).collect(),
        company_id,
        birthday: birthday.map(|b| b.to_string()),
        city: city.map(str::to_string),
        // Stored records and drafts have been through `guanxi-core`'s validation.
        points_validated: true,
    }
}

fn company_facts(name: &str, domain: Option<&str>, city: Option<&str>) -> CompanyFacts {
    CompanyFacts { name: name.to_string(), domain: domain.map(str::to_string), city: city.map(str::to_string) }
}

/// A record as a scan reads it.
trait ScanRow: crate::db::BothRow + FromSqliteRow + Send + 'static {
    type Keys: Send + 'static;
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn seq(&self) -> i64;
    fn keys(&self, region: Region) -> (Uuid, Self::Keys);
}

impl ScanRow for ContactScanRow {
    type Keys = ContactKeys;
    const TABLE: &'static str = "contacts";
    const COLUMNS: &'static str = "seq, id, display_name, emails, phones, company_id, birthday, address_city";

    fn seq(&self) -> i64 {
        self.seq
    }

    fn keys(&self, region: Region) -> (Uuid, ContactKeys) {
        let f = contact_facts(
            &self.display_name,
            &self.emails.0,
            &self.phones.0,
            self.company_id,
            self.birthday,
            self.address_city.as_deref(),
        );
        (self.id, ContactKeys::new(&f, region))
    }
}

impl ScanRow for CompanyScanRow {
    type Keys = CompanyKeys;
    const TABLE: &'static str = "companies";
    const COLUMNS: &'static str = "seq, id, name, domain, address_city";

    fn seq(&self) -> i64 {
        self.seq
    }

    fn keys(&self, _: Region) -> (Uuid, CompanyKeys) {
        (self.id, CompanyKeys::new(&company_facts(&self.name, self.domain.as_deref(), self.address_city.as_deref())))
    }
}

/// Reads every record page by page (keyset on `seq`) and returns their ids and keys in `seq` order. Pages are
/// turned into keys on blocking threads, as many at once as there are cores, while the next page is read:
/// normalising names (simplified script, pinyin) and phones costs more than reading.
async fn read_keys<R: ScanRow>(
    db: &Db,
    region: Region,
    progress: &ScanProgress,
    timings: &ReadTimings,
) -> Result<(Vec<Uuid>, Vec<R::Keys>)> {
    let total: i64 = db.fetch_scalar(db.sql(&format!("SELECT COUNT(*) FROM {}", R::TABLE))).await?;
    let total = total.max(0) as usize;
    progress.enter("reading", total as u64);
    let in_flight = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, guanxi_dedup::MAX_THREADS);
    let mut ids: Vec<Uuid> = Vec::with_capacity(total);
    let mut keys: Vec<R::Keys> = Vec::with_capacity(total);
    let mut pending: std::collections::VecDeque<KeysOfPage<R::Keys>> = Default::default();
    let mut after = 0i64;
    let mut more = true;
    while more || !pending.is_empty() {
        if more {
            let mut sql = db.sql(&format!("SELECT {} FROM {} WHERE seq > ", R::COLUMNS, R::TABLE));
            sql.bind(Arg::I64(after)).push(&format!(" ORDER BY seq LIMIT {SCAN_PAGE}"));
            let fetch = Instant::now();
            let rows: Vec<R> = db.read_all(sql).await?;
            timings.fetch_us.fetch_add(fetch.elapsed().as_micros() as u64, Ordering::Relaxed);
            match rows.last() {
                Some(last) => {
                    after = last.seq();
                    let keys_us = timings.keys_us.clone();
                    pending.push_back(tokio::task::spawn_blocking(move || {
                        let t = Instant::now();
                        let keys = rows.iter().map(|r| r.keys(region)).collect();
                        keys_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                        keys
                    }));
                }
                None => more = false,
            }
        }
        // Pages are collected in the order they were read, once enough are being worked on.
        if (pending.len() >= in_flight || !more)
            && let Some(page) = pending.pop_front()
        {
            for (id, k) in page.await.map_err(stopped)? {
                ids.push(id);
                keys.push(k);
            }
            progress.records.store(ids.len() as u64, Ordering::Relaxed);
            progress.done.store(ids.len() as u64, Ordering::Relaxed);
        }
    }
    Ok((ids, keys))
}

/// Where the reading phase spends its time: waiting for pages of rows, and (summed over the threads that do it)
/// turning rows into keys.
#[derive(Default)]
struct ReadTimings {
    fetch_us: AtomicU64,
    keys_us: Arc<AtomicU64>,
}

/// The ids and keys of one page, being computed on a blocking thread.
type KeysOfPage<K> = tokio::task::JoinHandle<Vec<(Uuid, K)>>;

fn stopped(e: tokio::task::JoinError) -> StoreError {
    StoreError::Conflict(format!("the scan stopped: {e}"))
}

/// Reads the records (memory holds only their compact keys), then finds the pairs on blocking threads while
/// this task writes them as they come, in short transactions of [`WRITE_BATCH`] pairs (each pair row is
/// written whole; while the scan writes, the list shows the pairs of the previous scan and those written so
/// far, and the previous scan's pairs that were not found again go at the end). Memory holds the keys and a
/// few rounds of pairs, however many pairs the scan finds.
async fn scan_and_store(
    db: &Db,
    object: DedupObject,
    region: Region,
    scan_id: Uuid,
    progress: &Arc<ScanProgress>,
) -> Result<ScanStats> {
    let started = Instant::now();
    let timings = ReadTimings::default();
    let (send, mut found) = tokio::sync::mpsc::channel::<Vec<(u32, u32, Match)>>(ROUNDS_IN_FLIGHT);
    // The engine stops when the writer has gone (an error ended it): its rounds have nowhere to go.
    let sink = move |round| send.blocking_send(round).is_ok();
    let p = progress.clone();
    let (ids, engine) = match object {
        DedupObject::Contact => {
            let (ids, keys) = read_keys::<ContactScanRow>(db, region, progress, &timings).await?;
            progress.enter("comparing", 0);
            (ids, tokio::task::spawn_blocking(move || guanxi_dedup::contact_pairs_each(&keys, &p.engine, sink)))
        }
        DedupObject::Company => {
            let (ids, keys) = read_keys::<CompanyScanRow>(db, region, progress, &timings).await?;
            progress.enter("comparing", 0);
            (ids, tokio::task::spawn_blocking(move || guanxi_dedup::company_pairs_each(&keys, &p.engine, sink)))
        }
    };
    let read = started.elapsed();
    let now = guanxi_core::ids::now();
    let mut writing = std::time::Duration::ZERO;
    let mut waiting: Vec<(u32, u32, Match)> = Vec::new();
    let mut written = 0u64;
    loop {
        let round = found.recv().await;
        let last = round.is_none();
        waiting.extend(round.into_iter().flatten());
        while waiting.len() >= WRITE_BATCH || (last && !waiting.is_empty()) {
            let batch: Vec<_> = waiting.drain(..WRITE_BATCH.min(waiting.len())).collect();
            let t = Instant::now();
            write_candidates(db, object, scan_id, now, &ids, &batch).await?;
            writing += t.elapsed();
            written += batch.len() as u64;
            progress.done.store(written, Ordering::Relaxed);
        }
        if last {
            break;
        }
    }
    let summary = engine.await.map_err(stopped)?;
    if !summary.complete {
        return Err(StoreError::Conflict("the scan stopped before it compared every pair".into()));
    }
    progress.enter("writing", summary.found);
    progress.done.store(written, Ordering::Relaxed);
    let t = Instant::now();
    let mut stale = db.sql("DELETE FROM dedup_candidates WHERE status = 'open' AND object = ");
    stale.bind(Arg::Text(object.as_str().into()));
    stale.push(" AND (scan_id IS NULL OR scan_id <> ").bind(Arg::Uuid(scan_id)).push(")");
    db.execute(stale).await?;
    writing += t.elapsed();
    db.write_generation.fetch_add(1, Ordering::AcqRel);
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::info!(
        object = object.as_str(),
        records = ids.len(),
        compared = summary.compared,
        pairs = summary.found,
        oversized_blocks = summary.oversized_blocks,
        common_keys = summary.common_keys,
        total_ms = ms(started.elapsed()),
        read_ms = ms(read),
        fetch_ms = timings.fetch_us.load(Ordering::Relaxed) / 1000,
        keys_cpu_ms = timings.keys_us.load(Ordering::Relaxed) / 1000,
        blocking_ms = ms(summary.blocking),
        scoring_ms = ms(summary.scoring),
        write_ms = ms(writing),
        "duplicate scan finished"
    );
    Ok(ScanStats {
        records: ids.len() as i64,
        compared: summary.compared as i64,
        pairs: summary.found as i64,
        oversized_blocks: summary.oversized_blocks as i64,
    })
}

/// Writes one batch of candidate pairs in one short transaction, so that the (single, on SQLite) writer is
/// free for everyone else between batches. Pairs found again keep their id and take the new score; a pair
/// already dismissed or merged keeps its decision.
async fn write_candidates(
    db: &Db,
    object: DedupObject,
    scan_id: Uuid,
    now: DateTime<Utc>,
    ids: &[Uuid],
    batch: &[(u32, u32, Match)],
) -> Result<()> {
    let json = crate::contacts::json_cast(db.dialect());
    let mut tx = db.begin().await?;
    for chunk in batch.chunks(WRITE_CHUNK) {
        let mut sql = tx.sql(
            "INSERT INTO dedup_candidates (id, object, record_a, record_b, score, reasons, status, scan_id, \
             created_at, updated_at) VALUES ",
        );
        for (n, (i, j, m)) in chunk.iter().enumerate() {
            let (a, b) = ordered(ids[*i as usize], ids[*j as usize]);
            if n > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(Arg::Uuid(guanxi_core::ids::new_id()));
            sql.push(", ").bind(Arg::Text(object.as_str().into()));
            sql.push(", ").bind(Arg::Uuid(a)).push(", ").bind(Arg::Uuid(b));
            sql.push(", ").bind(Arg::I64(m.score as i64));
            sql.push(", ").bind(Arg::Text(reasons_json(&m.reasons))).push(json);
            sql.push(", 'open', ").bind(Arg::Uuid(scan_id));
            sql.push(", ").bind(Arg::Ts(now)).push(", ").bind(Arg::Ts(now)).push(")");
        }
        sql.push(
            " ON CONFLICT (object, record_a, record_b) DO UPDATE SET score = excluded.score, \
             reasons = excluded.reasons, scan_id = excluded.scan_id, updated_at = excluded.updated_at \
             WHERE dedup_candidates.status = 'open'",
        );
        tx.execute(sql).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The two ids of a pair in the order the candidate table keeps them.
pub(crate) fn ordered(x: Uuid, y: Uuid) -> (Uuid, Uuid) {
    if x < y { (x, y) } else { (y, x) }
}

fn reasons_json(reasons: &[Reason]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into())
}

/// One side of a candidate pair, enough to recognise it in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateRecord {
    pub id: Uuid,
    pub name: String,
    /// Primary email and phone of a contact, web domain of a company.
    pub detail: Option<String>,
    pub version: i64,
}

/// A pair of records that are probably one customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: Uuid,
    pub object: DedupObject,
    pub score: i64,
    pub reasons: Vec<Reason>,
    /// `open`, `dismissed` or `merged`.
    pub status: String,
    /// The two records, older first (the default survivor).
    pub records: [CandidateRecord; 2],
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: Uuid,
    score: i64,
    reasons: Json<Vec<Reason>>,
    status: String,
    created_at: DateTime<Utc>,
    a_id: Uuid,
    a_name: String,
    a_detail: Option<String>,
    a_detail2: Option<String>,
    a_version: i64,
    a_created: DateTime<Utc>,
    b_id: Uuid,
    b_name: String,
    b_detail: Option<String>,
    b_detail2: Option<String>,
    b_version: i64,
    b_created: DateTime<Utc>,
}

impl CandidateRow {
    fn into_candidate(self, object: DedupObject) -> Candidate {
        let detail = |x: Option<String>, y: Option<String>| {
            let parts: Vec<String> = x.into_iter().chain(y).collect();
            (!parts.is_empty()).then(|| parts.join(" · "))
        };
        let a = CandidateRecord {
            id: self.a_id,
            name: self.a_name,
            detail: detail(self.a_detail, self.a_detail2),
            version: self.a_version,
        };
        let b = CandidateRecord {
            id: self.b_id,
            name: self.b_name,
            detail: detail(self.b_detail, self.b_detail2),
            version: self.b_version,
        };
        let older_first = (self.a_created, self.a_id) <= (self.b_created, self.b_id);
        Candidate {
            id: self.id,
            object,
            score: self.score,
            reasons: self.reasons.0,
            status: self.status,
            records: if older_first { [a, b] } else { [b, a] },
            created_at: self.created_at,
        }
    }
}

fn candidate_select(db: &Db, object: DedupObject) -> crate::sql::Sql {
    let cols = match object {
        DedupObject::Contact => {
            "a.display_name AS a_name, a.primary_email AS a_detail, a.primary_phone AS a_detail2, \
             b.display_name AS b_name, b.primary_email AS b_detail, b.primary_phone AS b_detail2"
        }
        DedupObject::Company => {
            "a.name AS a_name, a.domain AS a_detail, a.address_city AS a_detail2, \
             b.name AS b_name, b.domain AS b_detail, b.address_city AS b_detail2"
        }
    };
    let table = object.table();
    let mut sql = db.sql(&format!(
        "SELECT d.id, d.score, d.reasons, d.status, d.created_at, a.id AS a_id, a.version AS a_version, \
         a.created_at AS a_created, b.id AS b_id, b.version AS b_version, b.created_at AS b_created, {cols} \
         FROM dedup_candidates d JOIN {table} a ON a.id = d.record_a JOIN {table} b ON b.id = d.record_b \
         WHERE d.object = "
    ));
    sql.bind(Arg::Text(object.as_str().into()));
    sql
}

/// Candidate pairs whose two records the caller can both see, best first (score, then id), `limit` per page.
/// `status` defaults to open pairs.
pub async fn list_candidates(
    db: &Db,
    actor: &Actor,
    object: DedupObject,
    status: Option<&str>,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Page<Candidate>> {
    let scoped = |mut sql: crate::sql::Sql| {
        sql.push(" AND d.status = ").bind(Arg::Text(status.unwrap_or("open").into()));
        push_visible(&mut sql, "a", actor);
        push_visible(&mut sql, "b", actor);
        sql
    };
    let mut count = scoped(candidate_select(db, object));
    count.text = format!("SELECT COUNT(*) FROM ({} LIMIT {}) t", count.text, crate::sql::COUNT_CAP + 1);
    let n: i64 = db.fetch_scalar(count).await?;
    let mut sql = scoped(candidate_select(db, object));
    if let Some(c) = cursor {
        let score = c.sort_value.as_i64().ok_or_else(crate::contacts::invalid_cursor)?;
        sql.push(" AND (d.score < ").bind(Arg::I64(score));
        sql.push(" OR (d.score = ").bind(Arg::I64(score)).push(" AND d.id > ").bind(Arg::Uuid(c.id)).push("))");
    }
    sql.push(&format!(" ORDER BY d.score DESC, d.id ASC LIMIT {}", limit + 1));
    let mut rows: Vec<CandidateRow> = db.fetch_all(sql).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items: Vec<Candidate> = rows.into_iter().map(|r| r.into_candidate(object)).collect();
    let next_cursor = if more {
        items.last().map(|c| Cursor { sort_value: serde_json::Value::from(c.score), id: c.id }.encode())
    } else {
        None
    };
    let capped = n > crate::sql::COUNT_CAP;
    Ok(Page {
        items,
        next_cursor,
        total: if capped { crate::sql::COUNT_CAP as u64 } else { n as u64 },
        total_is_estimate: capped,
    })
}

/// One candidate the caller can see (both records visible); `NotFound` otherwise.
pub async fn get_candidate(db: &Db, actor: &Actor, id: Uuid) -> Result<Candidate> {
    let mut q = db.sql("SELECT object FROM dedup_candidates WHERE id = ");
    q.bind(Arg::Uuid(id));
    let object: Option<(String,)> = db.fetch_optional(q).await?;
    let object = object.and_then(|(o,)| DedupObject::parse(&o)).ok_or(StoreError::NotFound)?;
    let mut sql = candidate_select(db, object);
    sql.push(" AND d.id = ").bind(Arg::Uuid(id));
    push_visible(&mut sql, "a", actor);
    push_visible(&mut sql, "b", actor);
    let row: Option<CandidateRow> = db.fetch_optional(sql).await?;
    row.map(|r| r.into_candidate(object)).ok_or(StoreError::NotFound)
}

/// Marks an open pair "not a duplicate" so scans stop offering it. The caller must be allowed to change both
/// records: a dismissal hides the pair from everyone.
pub async fn dismiss_candidate(db: &Db, actor: &Actor, id: Uuid) -> Result<Candidate> {
    let c = get_candidate(db, actor, id).await?;
    if !actor.can_write() {
        return Err(StoreError::Forbidden);
    }
    if c.status != "open" {
        return Err(StoreError::Conflict(format!("this pair is already {}", c.status)));
    }
    let table = c.object.table();
    let mut sql = db.sql("UPDATE dedup_candidates SET status = 'dismissed', decided_by = ");
    sql.bind(Arg::Uuid(actor.user_id)).push(", decided_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(", updated_at = ").bind(Arg::Ts(guanxi_core::ids::now()));
    sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND status = 'open'");
    for side in ["record_a", "record_b"] {
        sql.push(&format!(" AND EXISTS (SELECT 1 FROM {table} x WHERE x.id = dedup_candidates.{side}"));
        push_changeable(&mut sql, "x", actor);
        sql.push(")");
    }
    if db.execute(sql).await? == 0 {
        return Err(StoreError::Forbidden);
    }
    get_candidate(db, actor, id).await
}

/// A stored record that looks like the one being entered, with the score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similar<T> {
    pub record: T,
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// Records compared per check: a company with more contacts than this is compared on its newest ones.
const CHECK_CANDIDATES: i64 = 2000;
/// Matches returned per check.
const CHECK_LIMIT: usize = 10;

/// Contacts the caller can see that look like `draft` (same email or phone, the same name in either script
/// at the same company or birthday, similar names at the same company), best first. `exclude` leaves out the
/// record being edited. This is the check behind the create forms' duplicate warning, the API's
/// `Possible-Duplicates` header and import warnings.
pub async fn similar_contacts(
    db: &Db,
    actor: &Actor,
    draft: &ContactDraft,
    exclude: Option<Uuid>,
    region: Region,
) -> Result<Vec<Similar<Contact>>> {
    let facts = contact_facts(
        &draft.display_name,
        &draft.emails,
        &draft.phones,
        draft.company_id,
        draft.birthday,
        draft.address.city.as_deref(),
    );
    let keys = ContactKeys::new(&facts, region);
    let mut sql = db.sql(&format!("SELECT {} FROM contacts c WHERE (", crate::contacts::COLUMNS));
    let mut names: Vec<String> = vec![draft.display_name.clone(), guanxi_dedup::simplified(&draft.display_name)];
    names.push(guanxi_dedup::traditional(&draft.display_name));
    names.sort();
    names.dedup();
    sql.push("c.display_name IN (");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Text(n.clone()));
    }
    sql.push(")");
    let points: Vec<(&str, &str)> = keys
        .emails
        .iter()
        .map(|e| ("email", &**e))
        .chain(keys.phones.iter().map(|p| ("phone", &**p)))
        .take(40)
        .collect();
    if !points.is_empty() {
        sql.push(" OR c.id IN (SELECT contact_id FROM contact_points WHERE ");
        for (i, (kind, value)) in points.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push(&format!("(kind = '{kind}' AND value = ")).bind(Arg::Text(value.to_string())).push(")");
        }
        sql.push(")");
    }
    if let Some(company) = draft.company_id {
        sql.push(" OR c.id IN (SELECT x.id FROM contacts x WHERE x.company_id = ").bind(Arg::Uuid(company));
        sql.push(&format!(" ORDER BY x.id DESC LIMIT {CHECK_CANDIDATES})"));
    }
    sql.push(")");
    if let Some(id) = exclude {
        sql.push(" AND c.id <> ").bind(Arg::Uuid(id));
    }
    push_visible(&mut sql, "c", actor);
    sql.push(&format!(" LIMIT {}", CHECK_CANDIDATES * 2));
    let rows: Vec<ContactRow> = db.fetch_all(sql).await?;
    let mut out: Vec<Similar<Contact>> = rows
        .into_iter()
        .map(ContactRow::into_contact)
        .filter_map(|c| {
            let f = contact_facts(
                &c.display_name,
                &c.emails,
                &c.phones,
                c.company_id,
                c.birthday,
                c.address.city.as_deref(),
            );
            let m: Match = guanxi_dedup::score_contacts(&keys, &ContactKeys::new(&f, region))?;
            Some(Similar { record: c, score: m.score, reasons: m.reasons })
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.record.id.cmp(&b.record.id)));
    out.truncate(CHECK_LIMIT);
    Ok(out)
}

/// Companies the caller can see that look like `draft`: same web domain, or a name that is equal or similar
/// once legal forms and places are removed (found through the search index by that core name).
pub async fn similar_companies(
    db: &Db,
    actor: &Actor,
    draft: &CompanyDraft,
    exclude: Option<Uuid>,
) -> Result<Vec<Similar<Company>>> {
    let keys = CompanyKeys::new(&company_facts(&draft.name, draft.domain.as_deref(), draft.address.city.as_deref()));
    let mut found: Vec<Company> = Vec::new();
    if !keys.core.is_empty() {
        found.extend(crate::companies::search(db, actor, &keys.core, 100).await?.into_iter().map(|(c, _)| c));
        // The search index holds the name as written; look the traditional spelling up too.
        let trad = guanxi_dedup::traditional(&keys.core);
        if trad != *keys.core {
            found.extend(crate::companies::search(db, actor, &trad, 100).await?.into_iter().map(|(c, _)| c));
        }
    }
    if let Some(domain) = &keys.domain {
        let mut sql = db.sql(&format!("SELECT {} FROM companies c WHERE (c.domain = ", crate::companies::COLUMNS));
        sql.bind(Arg::Text(domain.to_string())).push(" OR c.domain = ").bind(Arg::Text(format!("www.{domain}")));
        sql.push(")");
        push_visible(&mut sql, "c", actor);
        sql.push(" LIMIT 100");
        let rows: Vec<crate::companies::CompanyRow> = db.fetch_all(sql).await?;
        found.extend(rows.into_iter().map(crate::companies::CompanyRow::into_company));
    }
    found.sort_by_key(|c| c.id);
    found.dedup_by_key(|c| c.id);
    let mut out: Vec<Similar<Company>> = found
        .into_iter()
        .filter(|c| Some(c.id) != exclude)
        .filter_map(|c| {
            let other = CompanyKeys::new(&company_facts(&c.name, c.domain.as_deref(), c.address.city.as_deref()));
            let m = guanxi_dedup::score_companies(&keys, &other)?;
            Some(Similar { record: c, score: m.score, reasons: m.reasons })
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.record.id.cmp(&b.record.id)));
    out.truncate(CHECK_LIMIT);
    Ok(out)
}
