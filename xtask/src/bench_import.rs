//! `cargo xtask bench import --rows 100000,1000000 [--backend sqlite|postgres|both] [--write-docs]`: how fast
//! `guanxi import` reads a realistic contact CSV into a fresh database, how much memory it needs, and how fast
//! `guanxi export` writes the contacts back out.
//!
//! The file: 15 columns with Chinese headers (外部编号, 姓, 名, 邮箱, 手机, 职位, 省, 市, 区, 地址, 邮编, 生日,
//! 性别, 来源, 标签), names, e-mails, phones and cities from the API benchmark's generator (three quarters
//! Chinese names, a quarter English), written once per size under the work folder and reused. Each import runs
//! as its own process (`guanxi import FILE --type contacts --match email`), so the figures include start-up,
//! migrations, validation, normalisation, search indexing and matching on e-mail against the stored contacts;
//! peak memory is the process's `ru_maxrss` from `wait4`. Not a test; never runs in CI.

use crate::bench_analytics::run_measured;
use crate::bench_api::dataset::{self, Rng};
use crate::bench_api::server::{self, TempDir};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// Rows per file; several sizes separated by commas, each imported into a fresh database.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    rows: Vec<u64>,
    #[arg(long, value_enum, default_value_t = Which::Sqlite)]
    backend: Which,
    /// Use this `guanxi` binary instead of building it in release mode.
    #[arg(long)]
    guanxi_bin: Option<PathBuf>,
    /// Where the generated files are kept between runs.
    #[arg(long, default_value = "/tmp/guanxi-bench-import")]
    work_dir: PathBuf,
    /// PostgreSQL server to create the throwaway database on (without a database name).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_url: String,
    /// Replace the `## Import and export` section of docs/benchmarks.md with the figures.
    #[arg(long)]
    write_docs: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Sqlite,
    Postgres,
    Both,
}

/// Issue 5's targets: 1M rows in under 20 s (≥ 50,000 rows/s) on SQLite, peak RSS under 300 MB (for a 1 GB
/// file), 1M contacts exported in under 15 s.
const TARGET_IMPORT_ROWS_PER_S: f64 = 50_000.0;
const TARGET_RSS_MIB: f64 = 300.0;
const TARGET_EXPORT_ROWS_PER_S: f64 = 1_000_000.0 / 15.0;

struct Run {
    backend: &'static str,
    rows: u64,
    file_mib: f64,
    import_s: f64,
    import_rss: f64,
    summary: String,
    stored: u64,
    export_s: f64,
    export_rss: f64,
    export_mib: f64,
}

pub fn run(args: ImportArgs) -> Result<()> {
    let bin = server::guanxi_binary(args.guanxi_bin.as_deref())?;
    std::fs::create_dir_all(&args.work_dir)?;
    let backends: &[&'static str] = match args.backend {
        Which::Sqlite => &["SQLite"],
        Which::Postgres => &["PostgreSQL"],
        Which::Both => &["SQLite", "PostgreSQL"],
    };
    let load_before = load_average();
    let mut runs = Vec::new();
    for &rows in &args.rows {
        let file = args.work_dir.join(format!("contacts-{rows}.csv"));
        if !file.exists() {
            eprintln!("writing {} ({rows} rows)…", file.display());
            write_csv(&file, rows)?;
        }
        for &backend in backends {
            eprintln!("importing {rows} rows on {backend}…");
            let r = one(&args, &bin, &file, rows, backend)?;
            println!(
                "{backend} {rows} rows: import {:.1} s ({:.0} rows/s, peak RSS {:.0} MiB), export {:.1} s ({:.0} rows/s)",
                r.import_s,
                rows as f64 / r.import_s,
                r.import_rss,
                r.export_s,
                r.stored as f64 / r.export_s
            );
            runs.push(r);
        }
    }
    let load_after = load_average();
    let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    let text = section(&command, &runs, &load_before, &load_after);
    println!("{text}");
    if args.write_docs {
        let path = server::workspace_root().join("docs").join("benchmarks.md");
        crate::docs::write_section(&path, "## Import and export", &text)?;
        eprintln!("wrote the Import and export section of {}", path.display());
    }
    Ok(())
}

fn one(args: &ImportArgs, bin: &Path, file: &Path, rows: u64, backend: &'static str) -> Result<Run> {
    let tmp = TempDir::new("import")?;
    let (storage, _pg) = server::fresh_storage(&tmp, backend != "SQLite", &args.pg_url)?;
    let email = "bench@example.com";
    server::create_admin(bin, &storage, email, &format!("bench-{}-password", std::process::id()))?;
    let storage_args = storage.args();

    let mut import = Command::new(bin);
    import
        .args(&storage_args)
        .arg("import")
        .arg(file)
        .args(["--type", "contacts", "--match", "email", "--as", email])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null());
    let (summary, import_s, import_rss) = run_measured(&mut import).context("guanxi import")?;

    let out = tmp.0.join("export.csv");
    let mut export = Command::new(bin);
    export
        .args(&storage_args)
        .args(["export", "--type", "contacts", "--format", "csv", "--as", email, "--output"])
        .arg(&out)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null());
    let (_, export_s, export_rss) = run_measured(&mut export).context("guanxi export")?;
    // Counted streaming, not read whole: a child's `ru_maxrss` starts from its parent's RSS at fork, so holding a
    // 285 MiB export here showed up as the next import's peak RSS (319 MiB for PostgreSQL at 1M).
    let (newlines, export_bytes) = count_newlines(&out)?;
    // One header line; the generator writes no line breaks inside fields except in quoted street names.
    let stored = newlines.saturating_sub(1);
    if stored == 0 {
        bail!("the export is empty; the import printed: {summary}");
    }
    Ok(Run {
        backend,
        rows,
        file_mib: std::fs::metadata(file)?.len() as f64 / 1048576.0,
        import_s,
        import_rss,
        // The job as JSON is the last line; anything before it is log output.
        summary: summary.trim().lines().last().unwrap_or("").to_string(),
        stored,
        export_s,
        export_rss,
        export_mib: export_bytes as f64 / 1048576.0,
    })
}

/// Line breaks in a file and its size, read in blocks.
fn count_newlines(path: &Path) -> Result<(u64, u64)> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok((lines, bytes));
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

const PLACES: &[(&str, &str, &str, &str)] = &[
    ("广东", "广州", "天河区", "510000"),
    ("广东", "深圳", "南山区", "518000"),
    ("浙江", "杭州", "西湖区", "310000"),
    ("上海", "上海", "浦东新区", "200120"),
    ("北京", "北京", "朝阳区", "100020"),
    ("四川", "成都", "武侯区", "610041"),
    ("江苏", "南京", "鼓楼区", "210008"),
    ("湖北", "武汉", "洪山区", "430070"),
];
const TITLES: &[&str] = &["经理", "销售总监", "采购主管", "CEO", "Marketing Manager", "工程师", "店长", ""];
const SOURCES: &[&str] = &["展会", "官网表单", "微信", "推荐", "import", "电话"];

/// Writes `rows` contacts as a 15-column CSV with Chinese headers.
fn write_csv(path: &Path, rows: u64) -> Result<()> {
    let tmp = path.with_extension("part");
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    writeln!(f, "外部编号,姓,名,邮箱,手机,职位,省,市,区,地址,邮编,生日,性别,来源,标签")?;
    let mut line = String::with_capacity(512);
    for i in 0..rows {
        let c = dataset::contact(i);
        let mut rng = Rng::new(i ^ 0x5EED_1A9F);
        let (province, city, district, postcode) = *rng.pick(PLACES);
        line.clear();
        let email = c.emails.first().map_or("", |e| e.address.as_str());
        let phone = c.phones.first().map_or("", |p| p.number.as_str());
        let birthday = if rng.percent(60) {
            format!("{}-{:02}-{:02}", 1960 + rng.below(45), 1 + rng.below(12), 1 + rng.below(28))
        } else {
            String::new()
        };
        let gender = if rng.percent(50) { "女" } else { "男" };
        let _ = write!(
            line,
            "C{i:07},{},{},{email},{phone},{},{province},{city},{district},\"{district}建设路 {} 号, {} 室\",{postcode},{birthday},{gender},{},{}",
            c.family_name,
            c.given_name,
            rng.pick(TITLES),
            1 + rng.below(999),
            100 + rng.below(900),
            rng.pick(SOURCES),
            c.tags.join(";"),
        );
        writeln!(f, "{line}")?;
    }
    f.flush()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn section(command: &str, runs: &[Run], load_before: &str, load_after: &str) -> String {
    let mut s = String::new();
    let now = chrono_like_now();
    let _ = writeln!(s, "## Import and export\n");
    let _ = writeln!(s, "Command: `{command}`  ");
    let _ = writeln!(s, "Run on {now}; machine load average {load_before} before, {load_after} after.\n");
    let _ = writeln!(
        s,
        "Each import is its own `guanxi import FILE --type contacts --match email` process on a fresh database (start-up, \
         migrations, validation, normalisation, search indexing and matching on e-mail included); the export is \
         `guanxi export --type contacts --format csv` of everything it stored. Peak RSS is the process's `ru_maxrss`. \
         The file has 15 columns with Chinese headers, three quarters Chinese names; rows without a usable e-mail \
         or phone are still imported.\n"
    );
    let _ = writeln!(
        s,
        "| backend | rows | file | import | rows/s (target ≥ 50,000 on SQLite) | peak RSS import (target < 300 MiB) | export | export rows/s (target 1M in < 15 s) | export peak RSS |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in runs {
        let rate = r.rows as f64 / r.import_s;
        let export_rate = r.stored as f64 / r.export_s;
        let met = |ok: bool| if ok { "" } else { " **(missed)**" };
        let sqlite = r.backend == "SQLite";
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} MiB | {:.1} s | {:.0}{} | {:.0} MiB{} | {:.1} s ({} rows, {:.0} MiB) | {:.0}{} | {:.0} MiB |",
            r.backend,
            r.rows,
            r.file_mib,
            r.import_s,
            rate,
            met(!sqlite || rate >= TARGET_IMPORT_ROWS_PER_S),
            r.import_rss,
            met(r.import_rss < TARGET_RSS_MIB),
            r.export_s,
            r.stored,
            r.export_mib,
            export_rate,
            met(!sqlite || export_rate >= TARGET_EXPORT_ROWS_PER_S),
            r.export_rss,
        );
    }
    let _ = writeln!(s, "\nThe import job as `guanxi import` printed it at the end of each run:\n");
    for r in runs {
        let _ = writeln!(s, "- {} {} rows: `{}`", r.backend, r.rows, r.summary);
    }
    s
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC` (xtask has no date crate; `date` is always there).
fn chrono_like_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
