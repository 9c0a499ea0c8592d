//! `guanxi import FILE --type contacts|companies|products|orders|activities`: the API's import run in the
//! foreground with a progress line and a summary. Running the same command again after an interruption (even `kill -9`) resumes where the last
//! committed batch ended; `guanxi undo-import JOB_ID` undoes an import.

use crate::export::acting_user;
use anyhow::{Context, Result, bail};
use guanxi_core::contact::ContactRules;
use guanxi_core::contact_point::Region;
use guanxi_http::api::imports::{
    ImportSettings, choose_mapping, custom_fields_of, file_sha256, parse_object, prepare, preview_file,
};
use guanxi_store::Db;
use guanxi_store::imports::{self, JobStatus, Progress};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A CSV (UTF-8, UTF-16 or GBK; comma, semicolon or tab) or XLSX file.
    pub file: PathBuf,
    /// What the rows are: contacts, companies, products, orders (one row per order line; consecutive lines
    /// with the same order number are one order) or activities.
    #[arg(long = "type", value_name = "TYPE", default_value = "contacts")]
    pub object: String,
    /// A saved mapping to use (see --save-mapping); default: proposed from the headers.
    #[arg(long)]
    pub mapping: Option<String>,
    /// A mapping as a JSON file: {"columns": {"手机": "phone", …}}.
    #[arg(long)]
    pub mapping_file: Option<PathBuf>,
    /// Save the mapping used under this name for later imports.
    #[arg(long)]
    pub save_mapping: Option<String>,
    /// create_only, update_only or create_or_update.
    #[arg(long, default_value = "create_only")]
    pub policy: String,
    /// Match existing records on: contacts external_id, email or phone; companies external_id, domain or name
    /// (as the duplicate finder compares names); products sku; orders number; activities external_id; or none.
    /// Default: the first of these the file has.
    #[arg(long = "match", value_name = "KEY")]
    pub match_key: Option<String>,
    /// Validate and match every row, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Show the detected format, the mapping and the first rows as they would be stored, then stop.
    #[arg(long)]
    pub preview: bool,
    /// Import as this user (default: the first administrator).
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_user: Option<String>,
    /// Rows per transaction.
    #[arg(long, default_value_t = imports::BATCH_ROWS, hide = true)]
    pub batch_rows: usize,
}

pub async fn run(db: &Db, region: Region, args: ImportArgs) -> Result<()> {
    let object = parse_object(&args.object).map_err(api_error)?;
    let actor = acting_user(db, args.as_user.as_deref()).await?;
    let defs = custom_fields_of(db, object).await.map_err(api_error)?;
    let mapping_json = match &args.mapping_file {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    if args.preview {
        let headers = guanxi_io::read::open(&args.file).map(|(i, _)| i.headers).map_err(|e| anyhow::anyhow!("{e}"))?;
        let chosen = choose_mapping(db, object, mapping_json.as_deref(), args.mapping.as_deref(), &headers, &defs)
            .await
            .map_err(api_error)?;
        let rules =
            ContactRules { default_region: region, custom_fields: &defs, today: chrono::Utc::now().date_naive() };
        let p = preview_file(object, &args.file, |_| Ok(chosen), &defs, &rules).map_err(api_error)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "source": p.source, "preset": p.preset, "mapping": p.mapping, "rows": p.rows
            }))?
        );
        return Ok(());
    }
    let path = args.file.clone();
    let sha = tokio::task::spawn_blocking(move || file_sha256(&path)).await??;
    let settings = ImportSettings {
        object,
        file_name: args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        mapping_json: mapping_json.as_deref(),
        mapping_name: args.mapping.as_deref(),
        policy: Some(&args.policy),
        match_key: args.match_key.as_deref(),
        dry_run: args.dry_run,
    };
    let (job, resumed) = prepare(db, &actor, &args.file, &sha, &settings).await.map_err(api_error)?;
    if let Some(name) = &args.save_mapping {
        imports::save_mapping(db, &actor, object.as_str(), name, &job.mapping).await?;
        eprintln!("saved the mapping as {name:?}");
    }
    if job.status == JobStatus::Done {
        eprintln!("this file was already imported (import {}); nothing left to do", job.id);
        return summary(db, &actor, job.id, Duration::ZERO).await;
    }
    if resumed {
        eprintln!("resuming import {} after row {}", job.id, job.rows_done);
    } else {
        eprintln!("import {} ({}{})", job.id, job.policy.as_str(), if job.dry_run { ", dry run" } else { "" });
    }
    let path = args.file.clone();
    let total = tokio::task::spawn_blocking(move || estimate_rows(&path)).await.unwrap_or(None);
    let run = imports::ImportRun {
        path: args.file.clone(),
        custom_fields: defs,
        default_region: region,
        batch_rows: args.batch_rows,
    };
    let started = Instant::now();
    let mut bar = ProgressLine::new(total);
    let result = imports::run(db, &actor, job.id, run, |p| bar.show(p)).await;
    bar.done();
    let job = result?;
    if job.status == JobStatus::Running {
        bail!("another run took this import over; it goes on there");
    }
    summary(db, &actor, job.id, started.elapsed()).await
}

async fn summary(db: &Db, actor: &guanxi_core::access::Actor, id: uuid::Uuid, took: Duration) -> Result<()> {
    let job = imports::get(db, actor, id).await?;
    let verb = if job.dry_run { "would create" } else { "created" };
    let secs = took.as_secs_f64();
    eprintln!(
        "{}: {} rows, {verb} {}, updated {}, rejected {}{}",
        job.status.as_str(),
        job.rows_done,
        job.rows_created,
        job.rows_updated,
        job.rows_failed,
        if secs > 0.0 { format!(" in {secs:.1} s ({:.0} rows/s)", job.rows_done as f64 / secs) } else { String::new() }
    );
    let errors = imports::errors(db, actor, id, 0, 20).await?;
    for e in &errors {
        eprintln!(
            "  line {}{}: {}",
            e.line,
            e.column.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default(),
            e.message
        );
    }
    if job.rows_failed > errors.len() as i64 {
        eprintln!("  … all errors: GET /api/v1/imports/{id}/errors");
    }
    if let Some(e) = &job.error {
        bail!("the import stopped: {e}");
    }
    if !job.dry_run && job.rows_created + job.rows_updated > 0 {
        eprintln!("undo with: guanxi undo-import {id}");
    }
    println!("{}", serde_json::to_string(&job)?);
    Ok(())
}

pub async fn undo(db: &Db, id: &str, as_user: Option<&str>) -> Result<()> {
    let actor = acting_user(db, as_user).await?;
    let id = uuid::Uuid::parse_str(id).context("JOB_ID is the import's id (a UUID)")?;
    let s = imports::undo(db, &actor, id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("undone: {} removed, {} restored, {} changed since the import and kept", s.removed, s.restored, s.kept);
    Ok(())
}

fn api_error(e: guanxi_http::error::ApiError) -> anyhow::Error {
    let p = e.problem();
    let fields: Vec<String> = p.errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    anyhow::anyhow!("{}", if fields.is_empty() { p.detail } else { fields.join("; ") })
}

/// Lines in a CSV file minus its header: a quick estimate for the progress bar (quoted line breaks count too).
fn estimate_rows(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut sig = [0u8; 2];
    f.read_exact(&mut sig).ok()?;
    if &sig == b"PK" {
        return None;
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Some(lines.saturating_sub(1).max(1))
}

struct ProgressLine {
    total: Option<u64>,
    tty: bool,
    last: Option<Instant>,
}

impl ProgressLine {
    fn new(total: Option<u64>) -> ProgressLine {
        ProgressLine { total, tty: std::io::stderr().is_terminal(), last: None }
    }

    fn show(&mut self, p: &Progress) {
        // At most a few updates a second; every batch when not on a terminal would flood a log.
        let every = if self.tty { Duration::from_millis(200) } else { Duration::from_secs(2) };
        if self.last.is_some_and(|l| l.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let bar = match self.total {
            Some(t) => {
                let frac = (p.rows_done as f64 / t as f64).min(1.0);
                let filled = (frac * 30.0) as usize;
                format!("[{}{}] {:>3.0}% ", "#".repeat(filled), "-".repeat(30 - filled), frac * 100.0)
            }
            None => String::new(),
        };
        let line = format!(
            "{bar}{} rows, {:.0} rows/s, {} created, {} updated, {} errors",
            p.rows_done, p.rows_per_second, p.created, p.updated, p.failed
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }

    fn done(&self) {
        if self.tty && self.last.is_some() {
            eprintln!();
        }
    }
}
