//! `cargo xtask bench analytics`: the analytics crate against the Python stack (pandas, lifetimes,
//! scikit-learn, mlxtend), side by side in one run on the same generated data, plus (`--db`) `guanxi analyze`
//! end to end on a SQLite database of the same orders. A report, not a test: it never runs in CI.
//!
//! Every task runs in a process of its own on each side (`xtask bench analytics-worker` in release mode,
//! `python tasks.py` in a virtualenv), which times the computation alone after loading its input from the
//! column files of [`data`]; peak memory is the child's `ru_maxrss` from `wait4`, the same way for both sides.
//! The virtualenv is created under the target directory on the first run and reused after.

mod data;
mod db;
mod host;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use host::{Scratch, machine, release_guanxi, target_dir, workspace_root};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct AnalyticsArgs {
    /// Customers of the generated shop (about ten paid orders each).
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Rows of the logistic-regression data (10 features each).
    #[arg(long, default_value_t = 1_000_000)]
    logistic_rows: usize,
    /// Baskets for FP-growth.
    #[arg(long, default_value_t = 100_000)]
    baskets: usize,
    /// Catalogue size for FP-growth.
    #[arg(long, default_value_t = 1_000)]
    items: u32,
    /// Only the Rust side (no virtualenv, no Python).
    #[arg(long)]
    skip_python: bool,
    /// Also time `guanxi analyze` on a SQLite database loaded with the same customers and orders.
    #[arg(long)]
    db: bool,
    /// Use this `guanxi` binary for --db instead of building it in release mode.
    #[arg(long)]
    guanxi_bin: Option<PathBuf>,
    /// Run only these tasks (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    tasks: Vec<Task>,
    /// Replace the "Analytics" section of docs/benchmarks.md with the results.
    #[arg(long)]
    write_docs: bool,
    /// Keep the generated data (and the --db database) in this folder instead of a temporary one.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    #[command(subcommand)]
    job: WorkerJob,
}

/// What a child process of the benchmark does. Everything that holds much memory runs in a child: a parent
/// that held the generated data would pass its peak RSS on to every child it starts (Linux counts the memory
/// of the process image replaced by `exec` in the child's `ru_maxrss`), and the figures would show the
/// generator's memory instead of the task's.
#[derive(clap::Subcommand, Debug, Clone)]
enum WorkerJob {
    /// Generate the data into --data and print what was generated.
    Generate {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        customers: usize,
        #[arg(long)]
        logistic_rows: usize,
        #[arg(long)]
        baskets: usize,
        #[arg(long)]
        items: u32,
    },
    /// Run one task on the data and print its time and results.
    Task {
        #[arg(long, value_enum)]
        task: Task,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        as_of: chrono::NaiveDate,
    },
    /// Load the generated customers and orders into a SQLite database in --db.
    LoadDb {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        db: PathBuf,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Rfm,
    #[value(name = "bgnbd")]
    BgNbd,
    GammaGamma,
    #[value(name = "kmeans")]
    KMeans,
    Logistic,
    #[value(name = "fpgrowth-0.01")]
    FpGrowth01,
    #[value(name = "fpgrowth-0.001")]
    FpGrowth001,
}

const ALL_TASKS: [Task; 7] =
    [Task::Rfm, Task::BgNbd, Task::GammaGamma, Task::KMeans, Task::Logistic, Task::FpGrowth01, Task::FpGrowth001];

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::Rfm => "rfm",
            Task::BgNbd => "bgnbd",
            Task::GammaGamma => "gamma-gamma",
            Task::KMeans => "kmeans",
            Task::Logistic => "logistic",
            Task::FpGrowth01 => "fpgrowth-0.01",
            Task::FpGrowth001 => "fpgrowth-0.001",
        }
    }

    fn title(self, facts: &data::DataFacts) -> String {
        let n = |x: usize| report_number(x as f64);
        match self {
            Task::Rfm => format!("RFM scores: {} orders, {} customers", n(facts.orders), n(facts.customers)),
            Task::BgNbd => format!("BG/NBD fit: {} customers", n(facts.customers)),
            Task::GammaGamma => format!("Gamma-Gamma fit: {} repeat customers", n(facts.repeat_customers)),
            Task::KMeans => format!("k-means, k = 8: {} × 3", n(facts.customers)),
            Task::Logistic => format!("logistic regression: {} × 10", n(facts.spec.logistic_rows)),
            Task::FpGrowth01 | Task::FpGrowth001 => format!(
                "FP-growth: {} baskets × {} items, min support {}",
                n(facts.spec.baskets),
                n(facts.spec.items as usize),
                if self == Task::FpGrowth01 { "0.01" } else { "0.001" }
            ),
        }
    }
}

/// One side's measurement of one task.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The computation alone, as timed inside the child.
    seconds: f64,
    /// The whole child process, loading and start-up included.
    wall_seconds: f64,
    peak_rss_mib: f64,
    check: Value,
}

/// Runs a child process to completion and returns (stdout, wall seconds, peak RSS in MiB from `wait4`).
pub fn run_measured(cmd: &mut Command) -> Result<(String, f64, f64)> {
    use std::os::unix::process::ExitStatusExt;
    let stdout_file = tempfile_path("stdout")?;
    let out = std::fs::File::create(&stdout_file)?;
    let start = Instant::now();
    let child = cmd.stdout(out).stdin(std::process::Stdio::null()).spawn().context("cannot start the task process")?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data written by the kernel; wait4 reaps exactly this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let text = std::fs::read_to_string(&stdout_file).unwrap_or_default();
    let _ = std::fs::remove_file(&stdout_file);
    let exit = std::process::ExitStatus::from_raw(status);
    if !exit.success() {
        bail!("the task process failed ({exit}); its output: {text}");
    }
    // Linux reports ru_maxrss in KiB.
    Ok((text, wall, usage.ru_maxrss as f64 / 1024.0))
}

fn tempfile_path(label: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    Ok(std::env::temp_dir().join(format!("guanxi-bench-{label}-{}-{nanos}", std::process::id())))
}

fn measure(cmd: &mut Command) -> Result<Measured> {
    let (text, wall_seconds, peak_rss_mib) = run_measured(cmd)?;
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).context("no JSON line from the task")?;
    let v: Value = serde_json::from_str(line).with_context(|| format!("bad task output: {line}"))?;
    Ok(Measured {
        seconds: v["seconds"].as_f64().context("no seconds in the task output")?,
        wall_seconds,
        peak_rss_mib,
        check: v["check"].clone(),
    })
}

/// The Python packages of the comparison (latest releases at install time; versions go into the report).
const PYTHON_PACKAGES: &[&str] = &["pandas", "numpy", "scikit-learn", "mlxtend", "lifetimes"];

/// The virtualenv's python, creating the environment on first use.
fn python_env() -> Result<PathBuf> {
    let venv = target_dir()?.join("bench-analytics-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".installed");
    if ready.is_file() && python.is_file() {
        return Ok(python);
    }
    eprintln!("creating the Python environment in {} (once; later runs reuse it)", venv.display());
    let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().context("cannot run python3")?;
    if !status.success() {
        bail!("python3 -m venv failed ({status})");
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(PYTHON_PACKAGES)
        .status()
        .context("cannot run pip")?;
    if !status.success() {
        bail!("pip install {} failed ({status})", PYTHON_PACKAGES.join(" "));
    }
    std::fs::write(&ready, "")?;
    Ok(python)
}

fn python_versions(python: &Path) -> String {
    let script = "import importlib.metadata as m, sys; print('Python ' + sys.version.split()[0] + ', ' + ', '.join(p + ' ' + m.version(p) for p in sys.argv[1:]))";
    Command::new(python)
        .args(["-c", script])
        .args(PYTHON_PACKAGES)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub struct Row {
    task: Task,
    title: String,
    rust: Measured,
    python: Option<Result<Measured, String>>,
}

pub fn run(args: AnalyticsArgs) -> Result<()> {
    let tasks: Vec<Task> = if args.tasks.is_empty() { ALL_TASKS.to_vec() } else { args.tasks.clone() };
    let python = if args.skip_python { None } else { Some(python_env()?) };
    let _scratch;
    let dir = match &args.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            let s = Scratch::new("analytics")?;
            let d = s.0.clone();
            _scratch = s;
            d
        }
    };
    let spec = data::DataSpec {
        customers: args.customers,
        logistic_rows: args.logistic_rows,
        baskets: args.baskets,
        items: args.items,
    };
    let started = Instant::now();
    let path = |p: &Path| p.display().to_string();
    let (facts, _) = run_child(&[
        "generate".into(),
        "--data".into(),
        path(&dir),
        "--customers".into(),
        spec.customers.to_string(),
        "--logistic-rows".into(),
        spec.logistic_rows.to_string(),
        "--baskets".into(),
        spec.baskets.to_string(),
        "--items".into(),
        spec.items.to_string(),
    ])?;
    let facts: data::DataFacts = serde_json::from_value(facts).context("generator output")?;
    eprintln!(
        "generated {} orders of {} customers, {} logistic rows, {} baskets in {:.1} s",
        facts.orders,
        facts.customers,
        spec.logistic_rows,
        spec.baskets,
        started.elapsed().as_secs_f64()
    );
    let me = std::env::current_exe().context("cannot locate the running xtask")?;
    let script = dir.join("tasks.py");
    std::fs::write(&script, include_str!("tasks.py"))?;
    let as_of_day = data::day_number(facts.as_of);
    let mut rows = Vec::new();
    for task in tasks {
        eprintln!("== {} ==", task.name());
        let rust = measure(
            Command::new(&me)
                .args(["bench", "analytics-worker", "task", "--task", task.name(), "--data"])
                .arg(&dir)
                .args(["--as-of", &facts.as_of.to_string()]),
        )
        .with_context(|| format!("Rust side of {}", task.name()))?;
        eprintln!("  rust:   {:.3} s, peak {:.0} MiB  {}", rust.seconds, rust.peak_rss_mib, rust.check);
        let py = python.as_ref().map(|py| {
            measure(Command::new(py).arg(&script).arg(task.name()).arg(&dir).arg(as_of_day.to_string()))
                .map_err(|e| format!("{e:#}"))
        });
        match &py {
            Some(Ok(m)) => eprintln!("  python: {:.3} s, peak {:.0} MiB  {}", m.seconds, m.peak_rss_mib, m.check),
            Some(Err(e)) => eprintln!("  python: failed: {e}"),
            None => {}
        }
        rows.push(Row { task, title: task.title(&facts), rust, python: py });
    }
    let db_result = if args.db {
        let bin = match &args.guanxi_bin {
            Some(p) => p.clone(),
            None => release_guanxi()?,
        };
        Some(db::bench_analyze(&bin, &dir, &facts)?)
    } else {
        None
    };
    let versions = python.as_ref().map(|p| python_versions(p));
    let text = report(&facts, &rows, versions.as_deref(), db_result.as_ref());
    println!("\n{text}");
    if args.write_docs {
        let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
        let path = workspace_root().join("docs").join("benchmarks.md");
        write_docs(&path, &command, &text)?;
        eprintln!("wrote the Analytics section of {}", path.display());
    }
    Ok(())
}

pub fn run_worker(args: WorkerArgs) -> Result<()> {
    let v = match args.job {
        WorkerJob::Generate { data, customers, logistic_rows, baskets, items } => serde_json::to_value(
            data::generate_all(&data, data::DataSpec { customers, logistic_rows, baskets, items })?,
        )?,
        WorkerJob::Task { task, data, as_of } => worker::run(task, &data, as_of)?,
        WorkerJob::LoadDb { data, db } => db::load_database(&data, &db)?,
    };
    println!("{v}");
    Ok(())
}

/// Runs `xtask bench analytics-worker <args>` and returns its JSON line and wall time.
fn run_child(args: &[String]) -> Result<(Value, f64)> {
    let me = std::env::current_exe().context("cannot locate the running xtask")?;
    let (text, wall, _) = run_measured(Command::new(me).args(["bench", "analytics-worker"]).args(args))?;
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).context("no JSON line from the child")?;
    Ok((serde_json::from_str(line).with_context(|| format!("bad child output: {line}"))?, wall))
}

fn report_number(x: f64) -> String {
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

fn seconds(s: f64) -> String {
    if s < 0.1 { format!("{:.1} ms", s * 1000.0) } else { format!("{s:.2} s") }
}

fn check_text(c: &Value) -> String {
    let f = |v: &Value| match v.as_f64() {
        Some(x) if x.abs() >= 1000.0 || x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
        None => v.to_string(),
    };
    match c.as_object() {
        Some(o) => o
            .iter()
            .filter(|(k, _)| *k != "coefficients")
            .map(|(k, v)| format!("{k} {}", f(v)))
            .chain(
                o.get("coefficients")
                    .and_then(|v| v.as_array())
                    .map(|cs| format!("β₁..₃ {}", cs.iter().take(3).map(f).collect::<Vec<_>>().join(", "))),
            )
            .collect::<Vec<_>>()
            .join("; "),
        None => c.to_string(),
    }
}

fn report(facts: &data::DataFacts, rows: &[Row], versions: Option<&str>, db: Option<&db::AnalyzeDb>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| task | Rust | Python | speed-up (target ≥ 10×) | peak RSS Rust / Python | results (Rust / Python) |\n| --- | --- | --- | --- | --- | --- |"
    );
    for r in rows {
        let (py_time, ratio, py_mem, py_check) = match &r.python {
            Some(Ok(p)) => (
                format!("{} ({} process)", seconds(p.seconds), seconds(p.wall_seconds)),
                {
                    let x = p.seconds / r.rust.seconds.max(1e-9);
                    format!("{x:.1}×{}", if x >= 10.0 { "" } else { " **(missed)**" })
                },
                format!("{:.0} MiB", p.peak_rss_mib),
                check_text(&p.check),
            ),
            Some(Err(e)) => ("failed".into(), "–".into(), "–".into(), e.lines().next().unwrap_or("").to_string()),
            None => ("not run".into(), "–".into(), "–".into(), String::new()),
        };
        let _ = writeln!(
            s,
            "| {} | {} ({} process) | {} | {} | {:.0} MiB / {} | {} / {} |",
            r.title,
            seconds(r.rust.seconds),
            seconds(r.rust.wall_seconds),
            py_time,
            ratio,
            r.rust.peak_rss_mib,
            py_mem,
            check_text(&r.rust.check),
            py_check
        );
        let _ = r.task;
    }
    let _ = writeln!(
        s,
        "\nData: {} paid orders of {} customers ({} with repeat purchases) from {} to {}, generated by \
         `guanxi_analytics::synthetic` with fixed seeds; {} logistic rows; {} baskets holding {} items.",
        report_number(facts.orders as f64),
        report_number(facts.customers as f64),
        report_number(facts.repeat_customers as f64),
        facts.first_day,
        facts.as_of,
        report_number(facts.spec.logistic_rows as f64),
        report_number(facts.spec.baskets as f64),
        report_number(facts.basket_items as f64)
    );
    if let Some(v) = versions {
        let _ = writeln!(s, "Python side: {v}.");
    }
    if let Some(d) = db {
        s.push('\n');
        s.push_str(&d.table());
    }
    s
}

/// Replaces (or adds) the `## Analytics` section of `path`, keeping every other section.
fn write_docs(path: &Path, command: &str, body: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let mut section = String::from("## Analytics\n\n");
    let _ = writeln!(section, "Command: `{command}`  ");
    let _ = writeln!(section, "Run on {} (UTC).  ", chrono::Utc::now().format("%Y-%m-%d %H:%M"));
    let _ = writeln!(section, "Machine: {}.\n", machine());
    let _ = writeln!(
        section,
        "Each task runs in its own process on each side: the release `xtask bench analytics-worker` for Rust, \
         `python tasks.py` (xtask/src/bench_analytics/tasks.py) in a virtualenv for Python. Both read the same \
         binary column files, time the computation alone (the process time in brackets includes start-up and \
         loading), and report their peak RSS through `wait4`. Both sides share the machine with whatever else runs \
         on it.\n"
    );
    section.push_str(body);
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    let out = match lines.iter().position(|l| l.trim_end() == "## Analytics") {
        Some(i) => {
            let end =
                lines[i + 1..].iter().position(|l| l.starts_with("## ")).map(|k| i + 1 + k).unwrap_or(lines.len());
            let mut out: String = lines[..i].concat();
            out.push_str(&section);
            if end < lines.len() {
                out.push('\n');
                out.push_str(&lines[end..].concat());
            }
            out
        }
        None => format!("{}\n\n{section}", old.trim_end()),
    };
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}
