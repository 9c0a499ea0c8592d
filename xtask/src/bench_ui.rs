//! `cargo xtask bench ui`: server time of the two busiest web pages at N contacts.
//!
//! Steps per backend: fresh database → admin → release `guanxi serve` → N contacts through the API's batch
//! endpoint → 200 timeline entries on one contact → sign in to the web UI → for each page, one keep-alive
//! connection requests it back to back (warm-up, then measurement) → p50/p99 of the server time each response
//! reports in `Server-Timing: app;dur=…` (handler, queries and rendering; no network, no queueing behind other
//! requests), next to the client-side latency.
//!
//! Targets: the contact page (with its timeline) p99 < 20 ms; the contacts list with one filter p99 < 50 ms.

use crate::bench_api::dataset::{self, encode_query};
use crate::bench_api::http::{Conn, send_within};
use crate::bench_api::server::{self, PgDatabase, Server, Storage, TempDir};
use crate::bench_api::{Backend, BackendChoice, load_average, load_contacts, wait_ready};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use hdrhistogram::Histogram;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct UiArgs {
    /// Which database backend(s) to measure.
    #[arg(long, value_enum, default_value_t = BackendChoice::Sqlite)]
    backend: BackendChoice,
    /// Contacts to load before measuring.
    #[arg(long, default_value_t = 1_000_000)]
    contacts: u64,
    /// Timeline entries on the measured contact.
    #[arg(long, default_value_t = 200)]
    timeline: u64,
    /// Measured seconds per page (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent batch requests while loading contacts.
    #[arg(long, default_value_t = 2)]
    load_concurrency: usize,
    /// Replace the "Web UI" section of docs/benchmarks.md with the results.
    #[arg(long)]
    write_docs: bool,
    /// Use this server binary instead of building `guanxi` in release mode.
    #[arg(long)]
    guanxi_bin: Option<PathBuf>,
    /// PostgreSQL server to create the throwaway database on (without a database name).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_url: String,
}

struct PageResult {
    name: String,
    target_p99_ms: f64,
    requests: u64,
    /// Server time (from `Server-Timing`), microseconds.
    server: Histogram<u64>,
    /// Client-side latency on loopback, microseconds.
    client: Histogram<u64>,
    bytes: usize,
}

impl PageResult {
    fn q(h: &Histogram<u64>, q: f64) -> f64 {
        h.value_at_quantile(q) as f64 / 1000.0
    }
    fn meets_target(&self) -> bool {
        Self::q(&self.server, 0.99) < self.target_p99_ms
    }
}

struct Report {
    backend: Backend,
    load_seconds: f64,
    pages: Vec<PageResult>,
    load_average: (String, String),
}

pub fn run(args: UiArgs) -> Result<()> {
    if args.contacts == 0 || args.seconds == 0 || args.load_concurrency == 0 || args.timeline == 0 {
        bail!("--contacts, --timeline, --seconds and --load-concurrency must be positive");
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
        println!("\n{}", table(&r));
        reports.push(r);
    }
    if args.write_docs {
        let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
        let path = server::workspace_root().join("docs").join("benchmarks.md");
        crate::docs::write_section(&path, "## Web UI", &section(&command, &args, &reports))?;
        eprintln!("wrote the Web UI section of {}", path.display());
    }
    Ok(())
}

async fn bench_backend(args: &UiArgs, bin: &Path, backend: Backend) -> Result<Report> {
    // Declaration order is drop order in reverse: the server stops before its database and folder go.
    let tmp = TempDir::new(match backend {
        Backend::Sqlite => "ui-sqlite",
        Backend::Postgres => "ui-postgres",
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
    args: &UiArgs,
    backend: Backend,
    srv: &mut Server,
    email: &str,
    password: &str,
) -> Result<Report> {
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

    let load_before = load_average();
    eprintln!("loading {} contacts", args.contacts);
    let (load, sample) = load_contacts(addr, &token, args.contacts, args.load_concurrency).await?;
    eprintln!("  {:.0} rows/s over {:.1} s", load.rows_per_second(), load.seconds);
    // The middle of the load: neither the newest nor the oldest rows, so no cache is favoured.
    let contact = sample.ids.get(sample.ids.len() / 2).cloned().context("no contact ids were kept")?;

    eprintln!("adding {} timeline entries to contact {contact}", args.timeline);
    let mut api = Conn::open(addr, Some(&token)).await?;
    let kinds = ["note", "call", "meeting", "visit", "email"];
    let now = chrono::Utc::now();
    let mut left = args.timeline;
    let mut n = 0u64;
    while left > 0 {
        let take = left.min(1000);
        let items: Vec<serde_json::Value> = (0..take)
            .map(|i| {
                let k = n + i;
                serde_json::json!({
                    "kind": kinds[(k % kinds.len() as u64) as usize],
                    "contact_id": contact,
                    "occurred_at": (now - chrono::Duration::hours(k as i64 * 7)).to_rfc3339(),
                    "subject": format!("跟进 #{k}"),
                    "body": "客户询问了新品价格和交货时间，约定下周再联系。",
                })
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "items": items }))?;
        let (status, bytes) =
            send_within(&mut api, Duration::from_secs(60), Method::POST, "/api/v1/activities/batch", Some(body))
                .await?;
        if status != StatusCode::CREATED {
            bail!(
                "POST /api/v1/activities/batch -> {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            );
        }
        left -= take;
        n += take;
    }

    let cookie = sign_in(addr, email, password).await?;
    let pages = [
        (
            format!("contact page (`/contacts/{{id}}`, {} timeline entries)", args.timeline),
            format!("/contacts/{contact}"),
            20.0,
        ),
        (
            format!("contacts list, one filter (`city={}`)", dataset::LIST_CITY),
            format!("/contacts?city={}", encode_query(dataset::LIST_CITY)),
            50.0,
        ),
    ];
    let mut results = Vec::new();
    for (name, path, target) in pages {
        let r = measure_page(addr, &cookie, &name, &path, target, Duration::from_secs(args.seconds)).await?;
        eprintln!(
            "  {name}: server p50 {:.2} ms, p99 {:.2} ms (target p99 < {target} ms); client p99 {:.2} ms; {} requests",
            PageResult::q(&r.server, 0.5),
            PageResult::q(&r.server, 0.99),
            PageResult::q(&r.client, 0.99),
            r.requests
        );
        srv.check_alive()?;
        results.push(r);
    }
    Ok(Report { backend, load_seconds: load.seconds, pages: results, load_average: (load_before, load_average()) })
}

/// Signs in through the login form and returns the session cookie (`guanxi_session=…`).
async fn sign_in(addr: std::net::SocketAddr, email: &str, password: &str) -> Result<String> {
    let mut conn = Conn::open(addr, None).await?;
    let mut form = String::new();
    for (k, v) in [("email", email), ("password", password), ("next", "/contacts")] {
        if !form.is_empty() {
            form.push('&');
        }
        let _ = write!(form, "{k}={}", encode_query(v));
    }
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("sec-fetch-site", "same-origin")];
    let (status, h, body) = conn.send_with(Method::POST, "/login", &headers, form.into_bytes()).await?;
    if status != StatusCode::SEE_OTHER {
        bail!("POST /login -> {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
    }
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.starts_with("guanxi_session=")).map(str::to_string))
        .context("the login set no session cookie")
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// One connection, one request at a time: one second of warm-up, then `measure`.
async fn measure_page(
    addr: std::net::SocketAddr,
    cookie: &str,
    name: &str,
    path: &str,
    target_p99_ms: f64,
    measure: Duration,
) -> Result<PageResult> {
    let mut conn = Conn::open(addr, None).await?;
    let headers = [("cookie", cookie), ("accept-language", "zh-CN")];
    let start = Instant::now();
    let warm_end = start + Duration::from_secs(1);
    let end = warm_end + measure;
    let mut r = PageResult {
        name: name.to_string(),
        target_p99_ms,
        requests: 0,
        server: histogram(),
        client: histogram(),
        bytes: 0,
    };
    while Instant::now() < end {
        let t0 = Instant::now();
        let (status, h, body) =
            tokio::time::timeout(Duration::from_secs(65), conn.send_with(Method::GET, path, &headers, Vec::new()))
                .await
                .map_err(|_| anyhow!("GET {path}: no answer within 65 s"))??;
        let elapsed = t0.elapsed();
        if status != StatusCode::OK {
            bail!("GET {path} -> {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
        }
        let dur_ms: f64 = h
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("dur=")))
            .and_then(|d| d.parse().ok())
            .with_context(|| format!("GET {path}: no Server-Timing app;dur in the response"))?;
        if t0 >= warm_end {
            r.requests += 1;
            r.bytes = body.len();
            let _ = r.server.record(((dur_ms * 1000.0) as u64).clamp(1, 60_000_000));
            let _ = r.client.record((elapsed.as_micros() as u64).clamp(1, 60_000_000));
        }
    }
    Ok(r)
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n", r.backend.title());
    let _ =
        writeln!(out, "| page | server p50 | server p99 | target (p99) | met | client p99 | requests | HTML size |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | :---: | ---: | ---: | ---: |");
    for p in &r.pages {
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.2} ms | < {} ms | {} | {:.2} ms | {} | {:.0} KB |",
            p.name,
            PageResult::q(&p.server, 0.5),
            PageResult::q(&p.server, 0.99),
            p.target_p99_ms,
            if p.meets_target() { "yes" } else { "**no**" },
            PageResult::q(&p.client, 0.99),
            p.requests,
            p.bytes as f64 / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "\nLoad (1/5/15 min) before loading: {}; after measuring: {}. Loading the contacts took {:.0} s.",
        r.load_average.0, r.load_average.1, r.load_seconds
    );
    out
}

fn section(command: &str, args: &UiArgs, reports: &[Report]) -> String {
    let mut s = String::from("## Web UI\n\n");
    let _ = writeln!(s, "Command: `{command}`  ");
    let _ = writeln!(s, "Run on {} (UTC).\n", chrono::Utc::now().format("%Y-%m-%d %H:%M"));
    let _ = writeln!(
        s,
        "The release `guanxi` binary on a fresh database with {} generated contacts (the API benchmark's data set); \
         one contact gets {} timeline entries. A signed-in browser session requests each page back to back on one \
         keep-alive connection for 1 s of warm-up and {} s of measurement. **Server time** is what the server \
         reports in `Server-Timing: app;dur=…` for each response: the handler with its queries and the HTML \
         rendering, without the network or queueing behind other requests. The client p99 (loopback) is shown \
         for comparison.\n",
        args.contacts, args.timeline, args.seconds
    );
    for r in reports {
        s.push_str(&table(r));
        s.push('\n');
    }
    s
}
