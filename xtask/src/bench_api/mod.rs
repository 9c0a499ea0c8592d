//! `cargo xtask bench api`: the JSON API end to end on a release server with N contacts, for SQLite and/or
//! PostgreSQL. It reports figures against the project's targets; it is not a test and never runs in CI.
//!
//! Steps per backend: fresh database → create an admin → `guanxi serve` on a free loopback port → token →
//! bulk load through `POST /api/v1/contacts/batch` → timed load phases (trivial endpoint, GET by id, list,
//! four searches) → memory → stop and clean up (guards, also on error or Ctrl-C).

pub(crate) mod dataset;
pub(crate) mod http;
mod report;
pub(crate) mod server;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use dataset::{Rng, encode_query};
use http::{Conn, PathFn, PhaseResult, run_phase, send_within};
use hyper::{Method, StatusCode};
use serde::Deserialize;
use server::{PgDatabase, Server, Storage, TempDir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct ApiArgs {
    /// Which database backend(s) to measure.
    #[arg(long, value_enum, default_value_t = BackendChoice::Sqlite)]
    backend: BackendChoice,
    /// Contacts to load before the read phases.
    #[arg(long, default_value_t = 1_000_000)]
    contacts: u64,
    /// Measured seconds per load phase (each phase also warms up for one second first).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Concurrent batch requests while loading contacts.
    #[arg(long, default_value_t = 2)]
    load_concurrency: usize,
    /// Replace the "API" section of docs/benchmarks.md with the results.
    #[arg(long)]
    write_docs: bool,
    /// Use this server binary instead of building `guanxi` in release mode.
    #[arg(long)]
    guanxi_bin: Option<PathBuf>,
    /// PostgreSQL server to create the throwaway database on (without a database name).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_url: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn title(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Bulk-load figures.
pub struct LoadResult {
    pub contacts: u64,
    pub concurrency: usize,
    pub seconds: f64,
    /// Request latency of each batch, in seconds, in completion order.
    pub batch_seconds: Vec<f64>,
}

impl LoadResult {
    pub fn rows_per_second(&self) -> f64 {
        self.contacts as f64 / self.seconds
    }
}

/// Everything measured on one backend.
pub struct BackendReport {
    pub backend: Backend,
    pub load: LoadResult,
    /// The path used as the machine's ceiling (`/livez`, or `/healthz` when the server has no `/livez`).
    pub trivial_path: &'static str,
    pub phases: Vec<PhaseResult>,
    pub rss_after_load: (f64, f64),
    pub rss_after_phases: (f64, f64),
    /// `/proc/loadavg` (1, 5, 15 min) before the bulk load and after the last phase: other work on the
    /// machine skews every figure.
    pub load_average: (String, String),
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

pub fn run(args: ApiArgs) -> Result<()> {
    if args.contacts == 0 || args.seconds == 0 || args.connections == 0 || args.load_concurrency == 0 {
        bail!("--contacts, --seconds, --connections and --load-concurrency must be positive");
    }
    let bin = match &args.guanxi_bin {
        Some(p) => p.clone(),
        None => server::build_release_binary()?,
    };
    let backends = match args.backend {
        BackendChoice::Sqlite => vec![Backend::Sqlite],
        BackendChoice::Postgres => vec![Backend::Postgres],
        BackendChoice::Both => vec![Backend::Sqlite, Backend::Postgres],
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut reports = Vec::new();
    for backend in backends {
        eprintln!("== {} ==", backend.title());
        let r = rt.block_on(async {
            tokio::select! {
                r = bench_backend(&args, &bin, backend) => r,
                _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
            }
        })?;
        println!("\n{}", report::table(&r));
        reports.push(r);
    }
    let failures: u64 = reports.iter().flat_map(|r| &r.phases).map(PhaseResult::failures).sum();
    if failures > 0 {
        bail!("{failures} requests failed (non-2xx or transport errors): the figures above are invalid");
    }
    if args.write_docs {
        let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
        let path = server::workspace_root().join("docs").join("benchmarks.md");
        report::write_docs(&path, &command, &report::server_provenance(&bin), &args, &reports)?;
        eprintln!("wrote the API section of {}", path.display());
    }
    Ok(())
}

async fn bench_backend(args: &ApiArgs, bin: &Path, backend: Backend) -> Result<BackendReport> {
    // Declaration order is drop order in reverse: the server stops before its database and folder go.
    let tmp = TempDir::new(match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    })?;
    let mut _pg = None;
    let storage = match backend {
        Backend::Sqlite => Storage::Sqlite { data_dir: tmp.0.join("data") },
        Backend::Postgres => {
            let db = PgDatabase::create(&args.pg_url)?;
            let url = db.url();
            _pg = Some(db);
            Storage::Postgres { url }
        }
    };
    let email = "bench@example.com";
    let password = format!("bench-{}-password", std::process::id());
    server::create_admin(bin, &storage, email, &password)?;
    let mut srv = Server::start(bin, &storage, tmp.0.join("server.log"))?;
    let result = bench_server(args, backend, &mut srv, email, &password).await;
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", srv.log_tail());
    }
    result
}

async fn bench_server(
    args: &ApiArgs,
    backend: Backend,
    srv: &mut Server,
    email: &str,
    password: &str,
) -> Result<BackendReport> {
    let addr = srv.addr;
    wait_ready(srv).await?;
    let mut conn = Conn::open(addr, None).await?;
    let body = serde_json::to_vec(&serde_json::json!({ "email": email, "password": password }))?;
    let (status, bytes) =
        send_within(&mut conn, Duration::from_secs(30), Method::POST, "/api/v1/auth/token", Some(body)).await?;
    if !status.is_success() {
        bail!("POST /api/v1/auth/token -> {status}: {}", String::from_utf8_lossy(&bytes));
    }
    #[derive(Deserialize)]
    struct Token {
        token: String,
    }
    let token = serde_json::from_slice::<Token>(&bytes).context("token response")?.token;

    let (status, _) = send_within(&mut conn, Duration::from_secs(5), Method::GET, "/livez", None).await?;
    let trivial_path = if status == StatusCode::OK {
        "/livez"
    } else {
        eprintln!("GET /livez -> {status}; using /healthz as the trivial endpoint");
        "/healthz"
    };

    let load_before = load_average();
    eprintln!("loading {} contacts ({} concurrent batches of 1,000)", args.contacts, args.load_concurrency);
    let (load, sample) = load_contacts(addr, &token, args.contacts, args.load_concurrency).await?;
    eprintln!("  {:.0} rows/s over {:.1} s; kept {} ids", load.rows_per_second(), load.seconds, sample.ids.len());
    if sample.ids.is_empty() || sample.emails.is_empty() || sample.phone_suffixes.is_empty() {
        bail!("the loaded sample has no ids, e-mails or phones");
    }
    srv.check_alive()?;
    let rss_after_load = srv.memory_mib()?;

    let sample = Arc::new(sample);
    let fixed = |p: String| -> PathFn { Arc::new(move |_: &mut Rng| p.clone()) };
    let s = sample.clone();
    let by_id: PathFn = Arc::new(move |rng: &mut Rng| format!("/api/v1/contacts/{}", rng.pick(&s.ids)));
    let s = sample.clone();
    let by_email: PathFn = Arc::new(move |rng: &mut Rng| {
        format!("/api/v1/search?q={}", encode_query(rng.pick(s.emails.as_slice()).as_str()))
    });
    let s = sample.clone();
    let by_phone: PathFn = Arc::new(move |rng: &mut Rng| format!("/api/v1/search?q={}", rng.pick(&s.phone_suffixes)));
    let list_path = format!(
        "/api/v1/contacts?filter={}&limit=50",
        encode_query(&format!("address.city:eq:{}", dataset::LIST_CITY))
    );
    let phases: Vec<(String, PathFn)> = vec![
        (format!("trivial `GET {trivial_path}`"), fixed(trivial_path.to_string())),
        ("GET `/api/v1/contacts/{id}`".into(), by_id),
        (format!("list `address.city:eq:{}`, limit 50", dataset::LIST_CITY), fixed(list_path)),
        (
            format!("search `{}` (2-char Chinese name)", dataset::SEARCH_NAME),
            fixed(format!("/api/v1/search?q={}", encode_query(dataset::SEARCH_NAME))),
        ),
        (
            format!("search `{}` (Latin prefix)", dataset::SEARCH_PREFIX),
            fixed(format!("/api/v1/search?q={}", dataset::SEARCH_PREFIX)),
        ),
        ("search a full e-mail address".into(), by_email),
        ("search the last 4 digits of a phone".into(), by_phone),
    ];
    let mut results = Vec::new();
    for (name, path) in phases {
        let r = run_phase(
            &name,
            addr,
            &token,
            args.connections,
            Duration::from_secs(1),
            Duration::from_secs(args.seconds),
            path,
        )
        .await?;
        eprintln!(
            "  {name}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, failures {}",
            r.rps(),
            r.p50_ms(),
            r.p99_ms(),
            r.max_ms(),
            r.failures()
        );
        if let Some(f) = &r.first_failure {
            eprintln!("    first failure: {f}");
        }
        srv.check_alive()?;
        results.push(r);
    }
    let rss_after_phases = srv.memory_mib()?;
    Ok(BackendReport {
        backend,
        load,
        trivial_path,
        phases: results,
        rss_after_load,
        rss_after_phases,
        load_average: (load_before, load_average()),
    })
}

pub(crate) async fn wait_ready(srv: &mut Server) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        srv.check_alive()?;
        if let Ok(mut c) = Conn::open(srv.addr, None).await
            && let Ok((status, _)) = send_within(&mut c, Duration::from_secs(2), Method::GET, "/healthz", None).await
            && status.is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not answer /healthz within 60 s; its log:\n{}", srv.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Known records to aim the read phases at.
#[derive(Default)]
pub(crate) struct Sample {
    pub(crate) ids: Vec<String>,
    emails: Vec<String>,
    phone_suffixes: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    items: Vec<CreatedContact>,
}

#[derive(Deserialize)]
struct CreatedContact {
    id: String,
    emails: Vec<Address>,
    phones: Vec<Number>,
}

#[derive(Deserialize)]
struct Address {
    address: String,
}

#[derive(Deserialize)]
struct Number {
    number: String,
}

const BATCH: u64 = 1000;

pub(crate) async fn load_contacts(
    addr: SocketAddr,
    token: &str,
    contacts: u64,
    concurrency: usize,
) -> Result<(LoadResult, Sample)> {
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let sample = Arc::new(Mutex::new(Sample::default()));
    // About 10,000 known contacts, spread over the whole load.
    let stride = (contacts / 10_000).max(1);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, failed, sample, token) = (next.clone(), failed.clone(), sample.clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut conn = Conn::open(addr, Some(&token)).await?;
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= contacts || failed.load(Ordering::Relaxed) {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let last = (first + BATCH).min(contacts);
                let body = dataset::batch_body(first, last);
                let t0 = Instant::now();
                let r = send_within(
                    &mut conn,
                    Duration::from_secs(120),
                    Method::POST,
                    "/api/v1/contacts/batch",
                    Some(body),
                )
                .await;
                latencies.push(t0.elapsed().as_secs_f64());
                let (status, bytes) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e.context(format!("batch {first}..{last}")));
                    }
                };
                if status != StatusCode::CREATED {
                    failed.store(true, Ordering::Relaxed);
                    bail!(
                        "batch {first}..{last} -> {status}: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
                    );
                }
                // A progress line per tenth, so a long load is visibly alive.
                let tenth = (contacts / 10).max(BATCH);
                if last / tenth != first / tenth || last == contacts {
                    eprintln!("  {last} / {contacts} contacts after {:.0} s", start.elapsed().as_secs_f64());
                }
                let created: Created = serde_json::from_slice(&bytes).context("batch response")?;
                if created.items.len() as u64 != last - first {
                    failed.store(true, Ordering::Relaxed);
                    bail!("batch {first}..{last} created {} contacts", created.items.len());
                }
                let mut s = sample.lock().expect("sample lock");
                for (k, c) in created.items.into_iter().enumerate() {
                    if !(first + k as u64).is_multiple_of(stride) {
                        continue;
                    }
                    if let Some(e) = c.emails.into_iter().next() {
                        s.emails.push(e.address);
                    }
                    if let Some(p) = c.phones.into_iter().next() {
                        let digits: String = p.number.chars().filter(char::is_ascii_digit).collect();
                        if digits.len() >= 4 {
                            s.phone_suffixes.push(digits[digits.len() - 4..].to_string());
                        }
                    }
                    s.ids.push(c.id);
                }
            }
        }));
    }
    let mut batch_seconds = Vec::new();
    let mut first_error = None;
    for t in tasks {
        match t.await.context("load task panicked")? {
            Ok(l) => batch_seconds.extend(l),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e.context("bulk load failed"));
    }
    let seconds = start.elapsed().as_secs_f64();
    let sample = Arc::try_unwrap(sample)
        .map_err(|_| anyhow!("sample still shared"))?
        .into_inner()
        .map_err(|_| anyhow!("sample lock poisoned"))?;
    Ok((LoadResult { contacts, concurrency, seconds, batch_seconds }, sample))
}
