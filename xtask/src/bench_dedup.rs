//! `cargo xtask bench dedup --contacts N`: how long a full duplicate scan of N contacts takes on a release server.
//! It loads the API benchmark's synthetic contacts through `POST /api/v1/contacts/batch`, then times one
//! `POST /api/v1/dedup/scans {"object": "contacts"}` and prints the scan's own figures (records read, pairs
//! compared after blocking, candidate pairs, skipped oversized blocks). Not a test; never runs in CI.

use crate::bench_api::http::{Conn, send_within};
use crate::bench_api::server::{self, PgDatabase, Server, Storage, TempDir};
use crate::bench_api::{load_contacts, wait_ready};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use hyper::Method;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    /// Contacts to load before the scan.
    #[arg(long, default_value_t = 100_000)]
    contacts: u64,
    #[arg(long, value_enum, default_value_t = Which::Sqlite)]
    backend: Which,
    /// Concurrent batch requests while loading contacts.
    #[arg(long, default_value_t = 2)]
    load_concurrency: usize,
    /// Use this server binary instead of building `guanxi` in release mode.
    #[arg(long)]
    guanxi_bin: Option<PathBuf>,
    /// PostgreSQL server to create the throwaway database on (without a database name).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_url: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Sqlite,
    Postgres,
}

pub fn run(args: DedupArgs) -> Result<()> {
    let bin = match &args.guanxi_bin {
        Some(b) => b.clone(),
        None => server::build_release_binary()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Declaration order is drop order in reverse: the server stops before its database and folder go.
    let tmp = TempDir::new("dedup")?;
    let mut _pg = None;
    let storage = match args.backend {
        Which::Sqlite => Storage::Sqlite { data_dir: tmp.0.join("data") },
        Which::Postgres => {
            let db = PgDatabase::create(&args.pg_url)?;
            let url = db.url();
            _pg = Some(db);
            Storage::Postgres { url }
        }
    };
    let email = "bench@example.com";
    let password = format!("bench-{}-password", std::process::id());
    server::create_admin(&bin, &storage, email, &password)?;
    let mut srv = Server::start(&bin, &storage, tmp.0.join("server.log"))?;
    let result = rt.block_on(scan(&args, &mut srv, email, &password));
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", srv.log_tail());
    }
    result
}

async fn scan(args: &DedupArgs, srv: &mut Server, email: &str, password: &str) -> Result<()> {
    wait_ready(srv).await?;
    let mut conn = Conn::open(srv.addr, None).await?;
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
    let (load, _) = load_contacts(srv.addr, &token, args.contacts, args.load_concurrency).await?;
    eprintln!("loaded {} contacts in {:.1} s", load.contacts, load.seconds);
    let mut conn = Conn::open(srv.addr, Some(&token)).await?;
    let body = serde_json::to_vec(&serde_json::json!({ "object": "contacts" }))?;
    let t0 = Instant::now();
    let (status, bytes) =
        send_within(&mut conn, Duration::from_secs(1800), Method::POST, "/api/v1/dedup/scans", Some(body)).await?;
    let wall = t0.elapsed().as_secs_f64();
    if !status.is_success() {
        bail!("POST /api/v1/dedup/scans -> {status}: {}", String::from_utf8_lossy(&bytes));
    }
    let scan: serde_json::Value = serde_json::from_slice(&bytes).context("scan response")?;
    let (mem, peak) = srv.memory_mib().unwrap_or((0.0, 0.0));
    println!("## Duplicate scan ({:?}, {} contacts)\n", args.backend, args.contacts);
    println!("| what | figure |\n| --- | --- |");
    println!("| scan, wall time of the request | {wall:.1} s |");
    println!("| scan, server's own duration | {} ms |", scan["duration_ms"]);
    println!("| records read | {} |", scan["records"]);
    println!("| pairs compared after blocking | {} |", scan["compared"]);
    println!("| candidate pairs | {} |", scan["pairs"]);
    println!("| oversized blocks skipped | {} |", scan["oversized_blocks"]);
    println!("| server memory now / peak | {mem:.0} / {peak:.0} MiB |");
    Ok(())
}
