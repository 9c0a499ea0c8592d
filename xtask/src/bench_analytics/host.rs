//! Where the benchmark runs: workspace and target folders, a scratch folder, the release `guanxi` build and a
//! line about the machine. (The API benchmark has its own copies of these; they stay apart so that the two
//! benchmark commands can change independently.)

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The target folder this xtask was built into, so a custom `CARGO_TARGET_DIR` is honoured.
pub fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the running xtask")?;
    let profile = exe.parent().context("xtask has no parent folder")?;
    let profile = if profile.ends_with("deps") { profile.parent().unwrap_or(profile) } else { profile };
    Ok(profile.parent().context("xtask is not inside a target folder")?.to_path_buf())
}

/// Builds `guanxi` in release mode into the same target folder and returns the binary.
pub fn release_guanxi() -> Result<PathBuf> {
    let target = target_dir()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "guanxi", "--target-dir"])
        .arg(&target)
        .current_dir(workspace_root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p guanxi failed ({status})");
    }
    Ok(target.join("release").join(format!("guanxi{}", std::env::consts::EXE_SUFFIX)))
}

/// A folder removed on drop (also when the benchmark fails half-way).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Result<Scratch> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let p = std::env::temp_dir().join(format!("guanxi-bench-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

/// Cores, CPU, memory and load average: the context every figure needs.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let load = read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    format!("{cores} cores ({cpu}), {mem_gib:.1} GiB memory, load average {load} at the end of the run")
}
