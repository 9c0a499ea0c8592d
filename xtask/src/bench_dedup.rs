//! `cargo xtask bench dedup --contacts 100000,1000000 [--backend sqlite|postgres] [--write-docs]`: how long a full
//! duplicate scan of N contacts takes on a release server, and how much memory it needs.
//!
//! For each size, on a fresh database: loads the API benchmark's synthetic contacts through
//! `POST /api/v1/contacts/batch`, then a share of re-entered duplicates (`--duplicates`, percent of N: an earlier
//! contact typed again with its phone as `+86 …`/`0086 …`, its email in capitals, half of the names in
//! traditional script), then starts one scan (`POST /api/v1/dedup/scans`, a background job) and polls it until
//! it ends. The server's peak RSS during the scan is read from `VmHWM` after resetting it (`clear_refs`) just
//! before the scan, so the load phase does not count. Not a test; never runs in CI.

use crate::bench_api::dataset::{self, Email};
use crate::bench_api::http::{Conn, send_within};
use crate::bench_api::server::{self, Server, TempDir};
use crate::bench_api::{load_contacts, wait_ready};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use hyper::Method;
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    /// Contacts to load before each scan; several sizes separated by commas, each on a fresh database.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    contacts: Vec<u64>,
    /// Re-entered duplicates added, in percent of --contacts.
    #[arg(long, default_value_t = 2.0)]
    duplicates: f64,
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
    /// Replace the `## Dedup` section of docs/benchmarks.md with the figures.
    #[arg(long)]
    write_docs: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Sqlite,
    Postgres,
}

/// The target of issue 5: a full scan of 1M contacts in under 60 s.
const TARGET_SECONDS_AT_1M: f64 = 60.0;

struct Report {
    contacts: u64,
    duplicates: u64,
    load_seconds: f64,
    wall: f64,
    scan: Value,
    rss_before: f64,
    peak: f64,
    load_before: String,
    load_after: String,
    /// The server's own account of where the scan's time went (its `duplicate scan finished` log line).
    phases: String,
    /// Open candidate pairs that share an email or phone (the re-entered copies: the synthetic contacts'
    /// addresses carry their number, so only a copy shares one), and the reason codes of the others, commonest
    /// first.
    sharing_a_point: u64,
    others: Vec<(String, u64)>,
}

pub fn run(args: DedupArgs) -> Result<()> {
    let bin = server::guanxi_binary(args.guanxi_bin.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut reports = Vec::new();
    for &n in &args.contacts {
        let r = one_size(&args, &bin, &rt, n)?;
        println!("{}", table(&args, &r));
        reports.push(r);
    }
    if args.write_docs {
        let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
        let path = server::workspace_root().join("docs").join("benchmarks.md");
        crate::docs::write_section(&path, "## Dedup", &section(&command, &args, &reports))?;
        eprintln!("wrote the Dedup section of {}", path.display());
    }
    Ok(())
}

fn one_size(args: &DedupArgs, bin: &std::path::Path, rt: &tokio::runtime::Runtime, n: u64) -> Result<Report> {
    // Declaration order is drop order in reverse: the server stops before its database and folder go.
    let tmp = TempDir::new("dedup")?;
    let (storage, _pg) = server::fresh_storage(&tmp, args.backend == Which::Postgres, &args.pg_url)?;
    let email = "bench@example.com";
    let password = format!("bench-{}-password", std::process::id());
    server::create_admin(bin, &storage, email, &password)?;
    let mut srv = Server::start(bin, &storage, tmp.0.join("server.log"))?;
    let result = rt.block_on(scan(args, &mut srv, n, email, &password));
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", srv.log_tail());
    }
    result
}

async fn token(srv: &Server, email: &str, password: &str) -> Result<String> {
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
    Ok(serde_json::from_slice::<Token>(&bytes).context("token response")?.token)
}

/// Contact `j` of the data set as a person would type it again: the phone with a country prefix and spaces,
/// the email in capitals, every other name in traditional characters.
fn reentered(j: u64) -> dataset::NewContact {
    let mut c = dataset::contact(j);
    for p in c.phones.iter_mut().filter(|p| p.number.len() == 11 && p.number.is_ascii()) {
        let digits = p.number.clone();
        let prefix = if j.is_multiple_of(2) { "+86" } else { "0086" };
        p.number = format!("{prefix} {} {} {}", &digits[..3], &digits[3..7], &digits[7..]);
    }
    c.emails = c.emails.iter().map(|e| Email { address: e.address.to_uppercase() }).collect();
    if !j.is_multiple_of(2) {
        c.family_name = guanxi_dedup::traditional(&c.family_name);
        c.given_name = guanxi_dedup::traditional(&c.given_name);
    }
    c
}

async fn load_duplicates(addr: SocketAddr, token: &str, contacts: u64, count: u64) -> Result<()> {
    let mut conn = Conn::open(addr, Some(token)).await?;
    let stride = (contacts / count.max(1)).max(1);
    let all: Vec<u64> = (0..count).map(|k| (k * stride + 3) % contacts.max(1)).collect();
    for part in all.chunks(1000) {
        let items: Vec<dataset::NewContact> = part.iter().map(|&j| reentered(j)).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "items": items }))?;
        let (status, bytes) =
            send_within(&mut conn, Duration::from_secs(120), Method::POST, "/api/v1/contacts/batch", Some(body))
                .await?;
        if !status.is_success() {
            bail!("POST /api/v1/contacts/batch (duplicates) -> {status}: {}", String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn scan(args: &DedupArgs, srv: &mut Server, n: u64, email: &str, password: &str) -> Result<Report> {
    wait_ready(srv).await?;
    let token = token(srv, email, password).await?;
    let (load, _) = load_contacts(srv.addr, &token, n, args.load_concurrency).await?;
    let duplicates = (n as f64 * args.duplicates / 100.0).round() as u64;
    let t0 = Instant::now();
    load_duplicates(srv.addr, &token, n, duplicates).await?;
    let load_seconds = load.seconds + t0.elapsed().as_secs_f64();
    eprintln!("loaded {} contacts and {duplicates} re-entered ones in {load_seconds:.1} s", load.contacts);

    // The peak from here on is the scan's: VmHWM is reset to the current RSS.
    std::fs::write(format!("/proc/{}/clear_refs", srv.pid()), "5").context("cannot reset the server's VmHWM")?;
    let (_, rss_before) = srv.memory_mib()?;
    let load_before = load_average();
    let mut conn = Conn::open(srv.addr, Some(&token)).await?;
    let body = serde_json::to_vec(&serde_json::json!({ "object": "contacts" }))?;
    let t0 = Instant::now();
    let (status, bytes) =
        send_within(&mut conn, Duration::from_secs(60), Method::POST, "/api/v1/dedup/scans", Some(body)).await?;
    if status.as_u16() != 202 {
        bail!("POST /api/v1/dedup/scans -> {status}: {}", String::from_utf8_lossy(&bytes));
    }
    let started: Value = serde_json::from_slice(&bytes).context("scan response")?;
    let path = format!("/api/v1/dedup/scans/{}", started["id"].as_str().context("scan id")?);
    let scan = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, bytes) = send_within(&mut conn, Duration::from_secs(30), Method::GET, &path, None).await?;
        if !status.is_success() {
            bail!("GET {path} -> {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let now: Value = serde_json::from_slice(&bytes).context("scan")?;
        if now["status"] != "running" {
            break now;
        }
        if t0.elapsed() > Duration::from_secs(1800) {
            bail!("the scan did not end within 30 minutes: {now}");
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    if scan["status"] != "succeeded" {
        bail!("the scan failed: {scan}");
    }
    let (peak, _) = srv.memory_mib()?;
    let phases = scan_log_line(&srv.log).unwrap_or_default();
    let (sharing_a_point, others) = tally_candidates(&mut conn).await?;
    Ok(Report {
        contacts: n,
        duplicates,
        load_seconds,
        wall,
        scan,
        rss_before,
        peak,
        load_before,
        load_after: load_average(),
        phases,
        sharing_a_point,
        others,
    })
}

/// Pages through the open contact candidates: how many share an email or phone, and the reason codes of the
/// rest.
async fn tally_candidates(conn: &mut Conn) -> Result<(u64, Vec<(String, u64)>)> {
    let mut sharing = 0u64;
    let mut others: std::collections::BTreeMap<String, u64> = Default::default();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = String::from("/api/v1/dedup/candidates?object=contacts&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", dataset::encode_query(c)));
        }
        let (status, bytes) = send_within(conn, Duration::from_secs(60), Method::GET, &path, None).await?;
        if !status.is_success() {
            bail!("GET {path} -> {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let page: Value = serde_json::from_slice(&bytes).context("candidates")?;
        for c in page["items"].as_array().context("items")? {
            let codes: Vec<&str> =
                c["reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
            if codes.iter().any(|c| *c == "same_email" || *c == "same_phone") {
                sharing += 1;
            } else {
                *others.entry(codes.join("+")).or_default() += 1;
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut others: Vec<(String, u64)> = others.into_iter().collect();
    others.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok((sharing, others))
}

/// The fields of the server's last `duplicate scan finished` log line (`read_ms=… compare_ms=…`), without the
/// terminal colours the log may carry.
fn scan_log_line(log: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| l.contains("duplicate scan finished"))?;
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence runs to its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let fields = plain.split_once("duplicate scan finished").map_or(plain.as_str(), |(_, rest)| rest);
    Some(fields.trim().to_string())
}

fn table(args: &DedupArgs, r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#### {:?}, {} contacts + {} re-entered\n", args.backend, r.contacts, r.duplicates);
    let _ = writeln!(s, "| what | figure |\n| --- | --- |");
    let secs = r.scan["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    let target = if r.contacts >= 1_000_000 {
        format!(
            " (target < {TARGET_SECONDS_AT_1M:.0} s at 1M: {})",
            if secs < TARGET_SECONDS_AT_1M { "met" } else { "**not met**" }
        )
    } else {
        String::new()
    };
    let _ = writeln!(s, "| scan, server's own duration | {secs:.1} s{target} |");
    let _ = writeln!(s, "| scan, start to seen finished by polling (200 ms) | {:.1} s |", r.wall);
    let _ = writeln!(s, "| records read | {} |", r.scan["records"]);
    let _ = writeln!(s, "| pairs compared after blocking | {} |", r.scan["compared"]);
    let _ = writeln!(s, "| candidate pairs | {} |", r.scan["pairs"]);
    let _ = writeln!(s, "| oversized blocks skipped | {} |", r.scan["oversized_blocks"]);
    let others: u64 = r.others.iter().map(|o| o.1).sum();
    let top: Vec<String> = r.others.iter().take(3).map(|(codes, n)| format!("{codes} {n}")).collect();
    let _ = writeln!(
        s,
        "| candidates sharing an email or phone (the re-entered copies) / others | {} / {others}{} |",
        r.sharing_a_point,
        if top.is_empty() { String::new() } else { format!(" ({})", top.join(", ")) }
    );
    let _ = writeln!(
        s,
        "| server RSS before the scan → peak during it (VmHWM reset at the start) | {:.0} → {:.0} MiB |",
        r.rss_before, r.peak
    );
    if !r.phases.is_empty() {
        let _ = writeln!(s, "| server's phase timings (log) | `{}` |", r.phases);
    }
    let _ = writeln!(s, "| loading the contacts (not part of the scan) | {:.1} s |", r.load_seconds);
    let _ = writeln!(s, "| load average before → after the scan | {} → {} |", r.load_before, r.load_after);
    s
}

fn section(command: &str, args: &DedupArgs, reports: &[Report]) -> String {
    let mut s = String::from("## Dedup\n\n");
    let _ = writeln!(s, "Command: `{command}`  ");
    let _ = writeln!(s, "Run on {} (UTC), commit {}.\n", chrono::Utc::now().format("%Y-%m-%d %H:%M"), commit());
    let _ = writeln!(
        s,
        "The release `guanxi` binary on a fresh {:?} database per size, loaded with the API benchmark's synthetic \
         contacts plus {}% re-entered ones (an earlier contact typed again: phone as `+86 …` or `0086 …`, email in \
         capitals, every other name in traditional characters). One full contact scan runs as a background job and \
         is polled until it ends. **The machine (2 cores) was shared with other builds and test runs while this \
         ran**; the load average is shown, and figures on an idle machine will be lower.\n",
        args.backend, args.duplicates
    );
    for r in reports {
        s.push_str(&table(args, r));
        s.push('\n');
    }
    s
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(server::workspace_root())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}
