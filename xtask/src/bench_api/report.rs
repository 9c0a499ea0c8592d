//! The results as markdown tables against the targets, and the "API" section of `docs/benchmarks.md`.

use super::{ApiArgs, Backend, BackendReport};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Targets for SQLite; PostgreSQL must be within 2× of them (throughputs halved, latencies and memory doubled).
struct Targets {
    load_rows_per_s: f64,
    get_rps: f64,
    get_p99_ms: f64,
    get_share_of_trivial: f64,
    list_rps: f64,
    search_p99_ms: f64,
    rss_mib: f64,
}

fn targets(backend: Backend) -> Targets {
    let f = match backend {
        Backend::Sqlite => 1.0,
        Backend::Postgres => 2.0,
    };
    Targets {
        load_rows_per_s: 50_000.0 / f,
        get_rps: 15_000.0 / f,
        get_p99_ms: 5.0 * f,
        get_share_of_trivial: 0.30 / f,
        list_rps: 5_000.0 / f,
        search_p99_ms: 20.0 * f,
        rss_mib: 200.0 * f,
    }
}

/// `12,345` for 12345.4.
fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub fn table(r: &BackendReport) -> String {
    let t = targets(r.backend);
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |m: String, v: String, target: String, ok: Option<bool>| {
        rows.push([m, v, target, ok.map(met).unwrap_or("").to_string()]);
    };

    let load = &r.load;
    let mut lat = load.batch_seconds.clone();
    lat.sort_by(f64::total_cmp);
    let rows_per_s = load.rows_per_second();
    row(
        format!(
            "bulk load: {} contacts, `POST /api/v1/contacts/batch` × 1,000, {} concurrent",
            thousands(load.contacts as f64),
            load.concurrency
        ),
        format!("{} rows/s overall ({:.1} s)", thousands(rows_per_s), load.seconds),
        format!("≥ {} rows/s", thousands(t.load_rows_per_s)),
        Some(rows_per_s >= t.load_rows_per_s),
    );
    // The first and last tenth show whether inserts slow down as the tables and the search index grow.
    let tenth = (load.batch_seconds.len() / 10).max(1);
    let rate = |xs: &[f64]| {
        if xs.is_empty() { 0.0 } else { load.concurrency as f64 * 1000.0 * xs.len() as f64 / xs.iter().sum::<f64>() }
    };
    let median = percentile(&lat, 0.5);
    row(
        "bulk load: one batch request".into(),
        format!(
            "median {:.0} ms ({} rows/s per request), p99 {:.0} ms, max {:.0} ms; first tenth ≈ {} rows/s, last tenth ≈ {} rows/s",
            median * 1000.0,
            thousands(1000.0 / median.max(1e-9)),
            percentile(&lat, 0.99) * 1000.0,
            lat.last().copied().unwrap_or(0.0) * 1000.0,
            thousands(rate(&load.batch_seconds[..tenth.min(load.batch_seconds.len())])),
            thousands(rate(&load.batch_seconds[load.batch_seconds.len().saturating_sub(tenth)..])),
        ),
        "(information)".into(),
        None,
    );

    let summary = |p: &super::PhaseResult| {
        if p.histogram.is_empty() {
            return "no request completed".to_string();
        }
        format!("{} req/s, p50 {:.2} ms, p99 {:.2} ms", thousands(p.rps()), p.p50_ms(), p.p99_ms())
    };
    let trivial = &r.phases[0];
    row(trivial.name.clone(), summary(trivial), "(ceiling of this machine)".into(), None);
    let get = &r.phases[1];
    row(get.name.clone(), summary(get), format!("≥ {} req/s", thousands(t.get_rps)), Some(get.rps() >= t.get_rps));
    row(
        format!("{}: p99", get.name),
        format!("{:.2} ms", get.p99_ms()),
        format!("< {:.0} ms", t.get_p99_ms),
        Some(!get.histogram.is_empty() && get.p99_ms() < t.get_p99_ms),
    );
    let share = get.rps() / trivial.rps().max(1e-9);
    row(
        format!("{}: share of the trivial endpoint", get.name),
        format!("{:.0} %", share * 100.0),
        format!("≥ {:.0} %", t.get_share_of_trivial * 100.0),
        Some(share >= t.get_share_of_trivial),
    );
    let list = &r.phases[2];
    row(list.name.clone(), summary(list), format!("≥ {} req/s", thousands(t.list_rps)), Some(list.rps() >= t.list_rps));
    for s in &r.phases[3..] {
        row(
            s.name.clone(),
            summary(s),
            format!("p99 < {:.0} ms", t.search_p99_ms),
            Some(!s.histogram.is_empty() && s.p99_ms() < t.search_p99_ms),
        );
    }
    let rss_note = if load.contacts == 1_000_000 { "" } else { " (target is for 1M contacts)" };
    row(
        "server peak RSS (VmHWM) after loading".into(),
        format!("{:.0} MiB (current {:.0} MiB)", r.rss_after_load.0, r.rss_after_load.1),
        format!("< {:.0} MiB{rss_note}", t.rss_mib),
        Some(r.rss_after_load.0 < t.rss_mib),
    );
    row(
        "server peak RSS (VmHWM) after the load phases".into(),
        format!("{:.0} MiB (current {:.0} MiB)", r.rss_after_phases.0, r.rss_after_phases.1),
        format!("< {:.0} MiB{rss_note}", t.rss_mib),
        Some(r.rss_after_phases.0 < t.rss_mib),
    );
    let non_2xx: u64 = r.phases.iter().map(|p| p.non_2xx.values().sum::<u64>()).sum();
    let errors: u64 = r.phases.iter().map(|p| p.errors).sum();
    let requests: u64 = r.phases.iter().map(|p| p.requests).sum();
    row(
        "non-2xx responses / transport errors (all phases)".into(),
        format!("{non_2xx} / {errors} of {} measured requests", thousands(requests as f64)),
        "0 / 0 (else the run is invalid)".into(),
        Some(non_2xx == 0 && errors == 0),
    );

    row(
        "machine load average (1/5/15 min): before loading → after the last phase".into(),
        format!("{} → {}", r.load_average.0, r.load_average.1),
        format!(
            "(information: above {} the machine was busy with other work)",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        ),
        None,
    );

    let mut out =
        format!("#### {}\n\n| metric | value | target | met? |\n| --- | --- | --- | --- |\n", r.backend.title());
    for [m, v, target, ok] in rows {
        let _ = writeln!(out, "| {m} | {v} | {target} | {ok} |");
    }
    out
}

/// Which server was measured: the binary's build time and the workspace commit, since a binary passed with
/// `--guanxi-bin` may predate the checkout.
pub fn server_provenance(bin: &Path) -> String {
    let built = std::fs::metadata(bin)
        .and_then(|m| m.modified())
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "unknown time".into());
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(super::server::workspace_root())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let commit = git(&["log", "-1", "--format=%h %cd", "--date=format-local:%Y-%m-%d %H:%M UTC"]);
    let dirty = if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        ", with uncommitted changes"
    };
    format!("`{}` built {built}; the workspace was at commit {commit}{dirty} when the benchmark ran", bin.display())
}

fn machine_facts() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let rustc = std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into());
    let pg = std::process::Command::new("psql")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem_gib:.1} GiB memory, {rustc}; PostgreSQL client: {pg}")
}

fn section(command: &str, server: &str, args: &ApiArgs, reports: &[BackendReport]) -> String {
    let mut s = String::from("## API\n\n");
    let _ = writeln!(s, "Command: `{command}`  ");
    let _ = writeln!(s, "Run on {} (UTC).  ", chrono::Utc::now().format("%Y-%m-%d %H:%M"));
    let _ = writeln!(s, "Server: {server}.  ");
    let _ = writeln!(s, "Machine: {}.\n", machine_facts());
    let _ = writeln!(
        s,
        "The server is the release `guanxi` binary on a fresh database with {} generated contacts (fixed seed: \
         75 % Chinese names, exactly 1 % 张伟, 24 % English names, e-mails, CN mobiles, cities, tags). Each load \
         phase runs {} keep-alive connections for 1 s of warm-up and {} s of measurement, closed loop, from the \
         project's own load generator (`xtask`, hyper). **The load generator shares the machine's cores with the \
         server**, so every throughput here is a lower bound and the trivial endpoint shows the ceiling. Latencies \
         are per request as seen by the client. Search uses the default limit (20). For PostgreSQL the targets \
         are the SQLite ones within 2×, and the RSS counts the `guanxi` process only, not PostgreSQL's own \
         processes.\n",
        thousands(args.contacts as f64),
        args.connections,
        args.seconds
    );
    for r in reports {
        if r.trivial_path != "/livez" {
            let _ = writeln!(
                s,
                "Note ({}): the server had no `/livez`; `/healthz` served as the trivial endpoint.\n",
                r.backend.title()
            );
        }
        s.push_str(&table(r));
        s.push('\n');
    }
    s
}

/// Replaces (or adds) the `## API` section of `path`, keeping every other section.
pub fn write_docs(path: &Path, command: &str, server: &str, args: &ApiArgs, reports: &[BackendReport]) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from(
            "# Benchmarks\n\nFigures measured by `cargo xtask bench ...`, one section per benchmark. They are reports, not \
             tests: rerun the command in a section to refresh it.\n\n",
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let new_section = section(command, server, args, reports);
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    let start = lines.iter().position(|l| l.trim_end() == "## API");
    let out = match start {
        Some(i) => {
            let end =
                lines[i + 1..].iter().position(|l| l.starts_with("## ")).map(|k| i + 1 + k).unwrap_or(lines.len());
            let mut out: String = lines[..i].concat();
            out.push_str(&new_section);
            if end < lines.len() {
                out.push('\n');
                out.push_str(&lines[end..].concat());
            }
            out
        }
        None => {
            let mut out = old.trim_end().to_string();
            out.push_str("\n\n");
            out.push_str(&new_section);
            out
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }
}
