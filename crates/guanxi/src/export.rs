//! `guanxi export --type contacts --format csv [--output FILE]`: the API's export, run against the database
//! directly as a user of it (permission-scoped like every read).

use anyhow::{Context, Result, bail};
use guanxi_core::access::{Actor, Role, TokenScope};
use guanxi_http::api::exports::{Exportable, export_request, write_export};
use guanxi_http::api::records::{Activities, Companies, Contacts, Orders, Products};
use guanxi_http::extract::RawQuery;
use guanxi_store::Db;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// contacts, companies, products, orders or activities.
    #[arg(long = "type", value_name = "TYPE")]
    pub object: String,
    /// csv (UTF-8 with BOM), xlsx, jsonl or vcard (contacts only).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// A list filter such as `address.city:eq:北京` (repeatable), as in the API.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Sort field, `-field` for descending.
    #[arg(long)]
    pub sort: Option<String>,
    /// Search text.
    #[arg(long)]
    pub q: Option<String>,
    /// Export what this user may see (default: the first administrator).
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_user: Option<String>,
}

/// The user a command acts as: the one named, or the first active administrator.
pub async fn acting_user(db: &Db, email: Option<&str>) -> Result<Actor> {
    let users = guanxi_store::accounts::list_users(db).await?;
    let user = match email {
        Some(e) => users
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(e.trim()))
            .with_context(|| format!("no user {e}"))?,
        None => users
            .into_iter()
            .find(|u| u.role == Role::Admin && u.active)
            .context("no administrator yet: run `guanxi create-admin` or pass --as EMAIL")?,
    };
    if !user.active {
        bail!("the user {} is deactivated", user.email);
    }
    Ok(Actor { user_id: user.id, team_id: user.team_id, role: user.role, scope: TokenScope::ReadWrite })
}

pub async fn run(db: &Db, args: ExportArgs) -> Result<()> {
    match args.object.as_str() {
        "contacts" => export::<Contacts>(db, args).await,
        "companies" => export::<Companies>(db, args).await,
        "products" => export::<Products>(db, args).await,
        "orders" => export::<Orders>(db, args).await,
        "activities" => export::<Activities>(db, args).await,
        other => bail!("unknown --type {other}: use contacts, companies, products, orders or activities"),
    }
}

async fn export<E: Exportable>(db: &Db, args: ExportArgs) -> Result<()> {
    let actor = acting_user(db, args.as_user.as_deref()).await?;
    let defs = match E::CUSTOM {
        Some(o) => guanxi_store::custom_fields::list(db, Some(o)).await?,
        None => Vec::new(),
    };
    let raw = RawQuery {
        filters: args.filter.clone(),
        sort: args.sort.clone(),
        q: args.q.clone(),
        other: vec![("format".into(), args.format.clone())],
        ..RawQuery::default()
    };
    let (format, q) =
        export_request::<E>(&raw, &defs, actor.user_id).map_err(|e| anyhow::anyhow!("{}", problem_text(e)))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let out_path = args.output.clone();
    // The writer runs on its own thread so a slow disk or pipe never blocks the database reads.
    let sink = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut out: Box<dyn Write> = match &out_path {
            Some(p) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        while let Some(chunk) = rx.blocking_recv() {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(())
    });
    let written = write_export::<E>(db, &actor, q, &defs, format, tx).await;
    sink.await??;
    let n = written.map_err(|e| anyhow::anyhow!("export failed: {}", problem_text(e)))?;
    if let Some(p) = &args.output {
        eprintln!("exported {n} {} to {}", E::PATH, p.display());
    }
    Ok(())
}

fn problem_text(e: guanxi_http::error::ApiError) -> String {
    let p = e.problem();
    let fields: Vec<String> = p.errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    if fields.is_empty() { p.detail.clone() } else { fields.join("; ") }
}
