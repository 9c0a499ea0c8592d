//! The `guanxi` command: serve the CRM, migrate, create an admin, load demo data, check health.

mod analyze;
mod analyze_file;
mod demo;
mod demo_orders;
mod export;
mod import;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use guanxi_core::access::Role;
use guanxi_core::contact_point::Region;
use guanxi_http::{AppConfig, AppState};
use guanxi_store::{Db, DbConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// mimalloc instead of glibc malloc: the import and API paths allocate many small strings per row, and glibc's
/// malloc/free took about a third of an import's CPU (see docs/benchmarks.md, "Import and export").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "guanxi", version, about = "Guanxi (关系): an open-source, self-hosted CRM", long_about = None)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Folder for the embedded SQLite database (used unless --database-url is given).
    #[arg(long, env = "GUANXI_DATA_DIR", default_value = "./guanxi-data", global = true)]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user:password@host/db); switches from embedded SQLite to PostgreSQL.
    #[arg(long, env = "GUANXI_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Region for phone numbers written without a country code (ISO 3166 code).
    #[arg(long, env = "GUANXI_DEFAULT_REGION", default_value = "CN", global = true)]
    default_region: String,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GUANXI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Mark session cookies Secure (set when served over HTTPS).
    #[arg(long, env = "GUANXI_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Run the customer analysis every N hours (0 = never); see `guanxi analyze`.
    #[arg(long, env = "GUANXI_ANALYZE_EVERY_HOURS", default_value_t = 24)]
    analyze_every_hours: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrates the database first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator account.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, env = "GUANXI_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        name: String,
    },
    /// Create a fresh demo database with realistic Chinese and English data, print the login, then serve.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Contacts to generate.
        #[arg(long, default_value_t = 10_000)]
        contacts: usize,
        /// Orders to generate.
        #[arg(long, default_value_t = 50_000)]
        orders: usize,
        /// Load the data and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Exit 0 when the server at --url answers /healthz with 200 (for container health checks).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Compute customer metrics now: RFM, tiers, lifecycle stages, CLV, churn risk, clusters, cross-sell.
    /// With --transactions, fit the purchase models to a CSV file instead (no database).
    Analyze(AnalyzeArgs),
    /// Import contacts, companies, products, orders or activities from a CSV or XLSX file (resumable: run it again
    /// after an interruption).
    Import(import::ImportArgs),
    /// Undo an import: remove the records it created, restore the ones it updated.
    UndoImport {
        /// The import's id (printed by `guanxi import`).
        job_id: String,
        #[arg(long = "as", value_name = "EMAIL")]
        as_user: Option<String>,
    },
    /// Export records the user may see to CSV, XLSX, JSON Lines or vCard (same filters as the API).
    Export(export::ExportArgs),
    /// Copy the SQLite database to FILE while the server runs (VACUUM INTO); use pg_dump for PostgreSQL.
    Backup { file: PathBuf },
}

#[derive(Args, Clone)]
struct AnalyzeArgs {
    /// Analyse this CSV file (columns customer_id, date, amount) instead of the database, and write nothing.
    #[arg(long, value_name = "FILE.csv")]
    transactions: Option<PathBuf>,
    /// The day to analyse as of (YYYY-MM-DD; default today, or the file's last date). With --transactions,
    /// purchases after it form a holdout period that checks the forecast.
    #[arg(long, value_name = "DATE")]
    as_of: Option<chrono::NaiveDate>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

fn db_config(args: &DbArgs) -> Result<DbConfig> {
    match &args.database_url {
        Some(url) => DbConfig::from_url(url).map_err(anyhow::Error::msg),
        None => Ok(DbConfig::Sqlite { path: args.data_dir.join("guanxi.db") }),
    }
}

async fn open_db(args: &DbArgs) -> Result<Db> {
    let cfg = db_config(args)?;
    let db = Db::connect(&cfg).await.with_context(|| format!("cannot open the database ({cfg:?})"))?;
    db.migrate().await.context("database migration failed")?;
    Ok(db)
}

fn app_config(db: &DbArgs, serve: &ServeArgs) -> Result<AppConfig> {
    let region = Region::parse(&db.default_region).map_err(|e| anyhow::anyhow!("--default-region: {}", e.message))?;
    Ok(AppConfig {
        default_region: region,
        secure_cookies: serve.secure_cookies,
        import_dir: db.data_dir.join("imports"),
        ..AppConfig::default()
    })
}

async fn serve(db: Db, config: AppConfig, listen: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!("Guanxi listening on http://{}", listener.local_addr()?);
    // Imports whose process was killed would otherwise show "running" for ever.
    let ended = guanxi_store::imports::end_interrupted(&db, chrono::Duration::minutes(10)).await?;
    if ended > 0 {
        tracing::warn!(imports = ended, "imports interrupted by a stop were marked failed (rerun to resume)");
    }
    // Duplicate scans run inside the server: one still marked running was cut off when it last stopped.
    let abandoned = guanxi_store::dedup::fail_abandoned_scans(&db).await.context("cannot check duplicate scans")?;
    if abandoned > 0 {
        tracing::warn!(scans = abandoned, "duplicate scans interrupted by the last shutdown were marked failed");
    }
    let state = AppState::new(db.clone(), config);
    guanxi_http::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

pub async fn create_admin(db: &Db, email: &str, password: &str, name: &str) -> Result<guanxi_store::accounts::User> {
    guanxi_http::api::check_password(password).map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    let email =
        guanxi_core::contact_point::EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("email: {}", e.message))?;
    let hash = guanxi_http::auth::hash_password(password.to_string()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = guanxi_store::accounts::create_user(
        db,
        &guanxi_store::accounts::NewUser {
            email: email.as_str(),
            display_name: name,
            password_hash: &hash,
            role: Role::Admin,
            team_id: None,
            locale: None,
        },
    )
    .await
    .map_err(|e| match e {
        guanxi_store::StoreError::Duplicate { .. } => anyhow::anyhow!("a user with the email {} already exists", email),
        other => anyhow::Error::new(other),
    })?;
    Ok(user)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = app_config(&cli.db, &args)?;
            let db = open_db(&cli.db).await?;
            analyze::schedule(db.clone(), args.analyze_every_hours);
            serve(db, config, args.listen).await
        }
        Command::Analyze(args) => {
            if let Some(path) = &args.transactions {
                return analyze::run_on_file(path, args.as_of, args.json);
            }
            let db = open_db(&cli.db).await?;
            let result = analyze::run_once(&db, args.as_of, args.json).await;
            db.close().await;
            result
        }
        Command::Migrate => {
            let db = open_db(&cli.db).await?;
            db.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::CreateAdmin { email, password, name } => {
            let db = open_db(&cli.db).await?;
            let u = create_admin(&db, &email, &password, &name).await?;
            db.close().await;
            println!("created admin {} ({})", u.email, u.id);
            Ok(())
        }
        Command::Demo { serve: args, contacts, orders, no_serve } => {
            let config = app_config(&cli.db, &args)?;
            if cli.db.database_url.is_none() {
                // A fresh demo every time: move an older demo database aside rather than mixing data.
                let path = cli.db.data_dir.join("guanxi.db");
                if path.exists() {
                    let aside = cli
                        .db
                        .data_dir
                        .join(format!("guanxi.db.before-demo-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")));
                    for suffix in ["", "-wal", "-shm"] {
                        let from = PathBuf::from(format!("{}{suffix}", path.display()));
                        if from.exists() {
                            std::fs::rename(&from, PathBuf::from(format!("{}{suffix}", aside.display())))?;
                        }
                    }
                    println!("moved the previous database aside to {}", aside.display());
                }
            }
            let db = open_db(&cli.db).await?;
            if guanxi_store::accounts::count_users(&db).await? > 0 {
                bail!("the database already has users; the demo needs an empty database (use another --data-dir)");
            }
            let login = demo::load(&db, contacts, orders).await?;
            println!(
                "\nDemo data loaded. Sign in at http://{} with\n  email:    {}\n  password: {}\n",
                args.listen, login.email, login.password
            );
            println!(
                "API: curl -s -X POST http://{}/api/v1/auth/token -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'",
                args.listen, login.email, login.password
            );
            if no_serve {
                db.close().await;
                return Ok(());
            }
            analyze::schedule(db.clone(), args.analyze_every_hours);
            serve(db, config, args.listen).await
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::Import(args) => {
            let region = Region::parse(&cli.db.default_region)
                .map_err(|e| anyhow::anyhow!("--default-region: {}", e.message))?;
            let db = open_db(&cli.db).await?;
            let result = import::run(&db, region, args).await;
            db.close().await;
            result
        }
        Command::UndoImport { job_id, as_user } => {
            let db = open_db(&cli.db).await?;
            let result = import::undo(&db, &job_id, as_user.as_deref()).await;
            db.close().await;
            result
        }
        Command::Export(args) => {
            let db = open_db(&cli.db).await?;
            let result = export::run(&db, args).await;
            db.close().await;
            result
        }
        Command::Backup { file } => {
            let db = open_db(&cli.db).await?;
            db.backup_sqlite(&file).await?;
            db.close().await;
            println!("backed up to {}", file.display());
            Ok(())
        }
    }
}

/// A minimal HTTP/1.1 GET over a TCP socket, so the binary needs no HTTP client library for this.
async fn healthcheck(url: &str) -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("healthcheck supports http:// URLs")?;
    let host = rest.split('/').next().unwrap_or(rest);
    let mut stream = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::TcpStream::connect(host))
        .await
        .context("timed out")??;
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .context("timed out")??;
    let head = String::from_utf8_lossy(&buf);
    if head.starts_with("HTTP/1.1 200") {
        println!("healthy");
        Ok(())
    } else {
        bail!("unhealthy: {}", head.lines().next().unwrap_or("no answer"))
    }
}
