//! The server under test: the release `guanxi` binary run as a subprocess on a fresh database. Every resource
//! is a guard that cleans up on drop, so an error or Ctrl-C leaves no server, database or folder behind.

use anyhow::{Context, Result, bail};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// The target directory this xtask was built into (`<target>/<profile>/xtask`), so that a run under a custom
/// `CARGO_TARGET_DIR` builds and finds the server there too.
fn own_target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the running xtask")?;
    let profile_dir = exe.parent().context("xtask has no parent folder")?;
    let profile_dir =
        if profile_dir.ends_with("deps") { profile_dir.parent().unwrap_or(profile_dir) } else { profile_dir };
    Ok(profile_dir.parent().context("xtask is not inside a target folder")?.to_path_buf())
}

/// Builds `guanxi` in release mode into this xtask's target dir and returns the binary's path.
pub fn build_release_binary() -> Result<PathBuf> {
    let target = own_target_dir()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the release server: cargo build --release -p guanxi --target-dir {}", target.display());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "guanxi", "--target-dir"])
        .arg(&target)
        .current_dir(workspace_root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p guanxi failed ({status})");
    }
    let bin = target.join("release").join(format!("guanxi{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!("the build did not produce {}", bin.display());
    }
    Ok(bin)
}

/// A folder removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let p = std::env::temp_dir().join(format!("guanxi-bench-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

/// A fresh PostgreSQL database, dropped (with its connections) on drop. Uses `psql` against the local server.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
}

impl PgDatabase {
    pub fn create(admin_url: &str) -> Result<PgDatabase> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let name = format!("guanxi_bench_{}_{}", std::process::id(), nanos % 1_000_000_000);
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(PgDatabase { admin_url: admin_url.trim_end_matches('/').to_string(), name })
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.admin_url, self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(e) = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("warning: could not drop the benchmark database {}: {e:#}", self.name);
        }
    }
}

fn psql(admin_url: &str, sql: &str) -> Result<()> {
    let url = format!("{}/postgres", admin_url.trim_end_matches('/'));
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Where the server keeps its data.
pub enum Storage {
    Sqlite { data_dir: PathBuf },
    Postgres { url: String },
}

impl Storage {
    pub fn args(&self) -> Vec<String> {
        match self {
            Storage::Sqlite { data_dir } => vec!["--data-dir".into(), data_dir.display().to_string()],
            Storage::Postgres { url } => vec!["--database-url".into(), url.clone()],
        }
    }
}

/// The `guanxi` binary a benchmark runs: the one given (`--guanxi-bin`), or a fresh release build.
pub fn guanxi_binary(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(b) => Ok(b.to_path_buf()),
        None => build_release_binary(),
    }
}

/// Fresh storage for one benchmark run: a data folder under `tmp`, or a new PostgreSQL database on `pg_url`
/// (dropped with the returned guard, which must outlive anything using the database).
pub fn fresh_storage(tmp: &TempDir, postgres: bool, pg_url: &str) -> Result<(Storage, Option<PgDatabase>)> {
    if !postgres {
        return Ok((Storage::Sqlite { data_dir: tmp.0.join("data") }, None));
    }
    let db = PgDatabase::create(pg_url)?;
    Ok((Storage::Postgres { url: db.url() }, Some(db)))
}

/// Runs `guanxi <storage> create-admin`.
pub fn create_admin(bin: &Path, storage: &Storage, email: &str, password: &str) -> Result<()> {
    let out = Command::new(bin)
        .args(storage.args())
        .args(["create-admin", "--email", email, "--password", password])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .context("cannot run guanxi create-admin")?;
    if !out.status.success() {
        bail!("guanxi create-admin failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// A running `guanxi serve`; stopped (SIGTERM, then SIGKILL after 10 s) on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    pub fn start(bin: &Path, storage: &Storage, log: PathBuf) -> Result<Server> {
        let addr = free_port()?;
        let log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(bin)
            .args(storage.args())
            .args(["serve", "--listen", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("cannot start guanxi serve")?;
        Ok(Server { child, addr, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the server has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status}); its log:\n{}", self.log_tail());
        }
        Ok(())
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Peak and current resident memory of the server process, in MiB (VmHWM, VmRSS).
    pub fn memory_mib(&self) -> Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> Result<f64> {
            let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("no {name}"))?;
            let kib: f64 = line.split_whitespace().nth(1).context("malformed")?.parse()?;
            Ok(kib / 1024.0)
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }

    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?)
}
