//! `GET /api/v1/{contacts,companies,products,orders,activities}/export?format=csv|xlsx|jsonl|vcard` with the
//! list endpoint's `filter`/`sort`/`q` parameters. The export walks the caller's visible records with keyset
//! paging through the store (the same scoped `list` the API uses) and streams each page out as it is written, so
//! memory stays flat however many records match. The CLI's `guanxi export` runs the same [`write_export`].

use super::Resource;
use super::records::{Activities, Companies, Contacts, Orders, Products};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use guanxi_core::access::Actor;
use guanxi_core::custom_field::CustomFieldDef;
use guanxi_core::filter::{Cursor, ListQuery, MAX_LIMIT, parse_list_query};
use guanxi_io::columns::{self, Cell, Columns};
use guanxi_io::export::{ExportError, ExportFormat, RecordWriter, SharedBuffer};
use guanxi_store::{Db, StoreError};
use std::collections::HashMap;
use std::future::Future;
use tokio::sync::mpsc;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts/export", get(export::<Contacts>))
        .route("/api/v1/companies/export", get(export::<Companies>))
        .route("/api/v1/products/export", get(export::<Products>))
        .route("/api/v1/orders/export", get(export::<Orders>))
        .route("/api/v1/activities/export", get(export::<Activities>))
}

/// A record type that can be exported: its columns and how one record becomes rows (and a vCard for contacts).
pub trait Exportable: Resource {
    fn columns(defs: &[CustomFieldDef]) -> Columns;
    /// Lookups a page needs besides its records (contacts: the names of their companies).
    fn page_names(
        _db: &Db,
        _actor: &Actor,
        _items: &[Self::Record],
    ) -> impl Future<Output = Result<HashMap<Uuid, String>, StoreError>> + Send {
        async { Ok(HashMap::new()) }
    }
    fn rows(r: &Self::Record, cols: &Columns, names: &HashMap<Uuid, String>) -> Vec<Vec<Cell>>;
    fn vcard(_r: &Self::Record, _names: &HashMap<Uuid, String>) -> Option<String> {
        None
    }
    const VCARD: bool = false;
}

impl Exportable for Contacts {
    fn columns(defs: &[CustomFieldDef]) -> Columns {
        columns::contact_columns(defs)
    }
    async fn page_names(db: &Db, actor: &Actor, items: &[Self::Record]) -> Result<HashMap<Uuid, String>, StoreError> {
        let ids: Vec<Uuid> = items.iter().filter_map(|c| c.company_id).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        guanxi_store::companies::visible_names(db, actor, &ids).await
    }
    fn rows(r: &Self::Record, cols: &Columns, names: &HashMap<Uuid, String>) -> Vec<Vec<Cell>> {
        let company = r.company_id.and_then(|c| names.get(&c)).map(String::as_str);
        vec![columns::contact_row(r, company, cols)]
    }
    fn vcard(r: &Self::Record, names: &HashMap<Uuid, String>) -> Option<String> {
        let company = r.company_id.and_then(|c| names.get(&c)).map(String::as_str);
        Some(guanxi_io::export::contact_vcard(r, company))
    }
    const VCARD: bool = true;
}

impl Exportable for Companies {
    fn columns(defs: &[CustomFieldDef]) -> Columns {
        columns::company_columns(defs)
    }
    fn rows(r: &Self::Record, cols: &Columns, _: &HashMap<Uuid, String>) -> Vec<Vec<Cell>> {
        vec![columns::company_row(r, cols)]
    }
}

impl Exportable for Products {
    fn columns(defs: &[CustomFieldDef]) -> Columns {
        columns::product_columns(defs)
    }
    fn rows(r: &Self::Record, cols: &Columns, _: &HashMap<Uuid, String>) -> Vec<Vec<Cell>> {
        vec![columns::product_row(r, cols)]
    }
}

impl Exportable for Orders {
    fn columns(defs: &[CustomFieldDef]) -> Columns {
        columns::order_columns(defs)
    }
    fn rows(r: &Self::Record, cols: &Columns, _: &HashMap<Uuid, String>) -> Vec<Vec<Cell>> {
        columns::order_rows(r, cols)
    }
}

impl Exportable for Activities {
    fn columns(_: &[CustomFieldDef]) -> Columns {
        columns::activity_columns()
    }
    fn rows(r: &Self::Record, _: &Columns, _: &HashMap<Uuid, String>) -> Vec<Vec<Cell>> {
        vec![columns::activity_row(r)]
    }
}

/// Reads `format` (default CSV) and the list parameters; vCard only exists for contacts.
pub fn export_request<E: Exportable>(
    raw: &RawQuery,
    defs: &[CustomFieldDef],
    me: Uuid,
) -> ApiResult<(ExportFormat, ListQuery)> {
    let format = match raw.get("format") {
        None | Some("") => ExportFormat::Csv,
        Some(f) => ExportFormat::parse(f).ok_or_else(|| {
            super::field_error("format", "invalid_value", "must be csv, xlsx, jsonl or vcard (vcard for contacts)")
        })?,
    };
    if format == ExportFormat::VCard && !E::VCARD {
        return Err(super::field_error("format", "invalid_value", "vCard exists only for contacts"));
    }
    // The whole filtered set is exported: a page size or cursor from a copied list URL does not cut it short.
    let mut params = raw.list_params()?;
    params.limit = None;
    params.cursor = None;
    let mut q = parse_list_query(&params, E::FIELDS, defs, me)?;
    q.limit = MAX_LIMIT;
    Ok((format, q))
}

/// Writes every record the caller may see that matches `q`, page by page, sending the bytes to `out` as each
/// page is done. XLSX keeps its rows in temporary files and is sent when complete. Returns the records written.
pub async fn write_export<E: Exportable>(
    db: &Db,
    actor: &Actor,
    mut q: ListQuery,
    defs: &[CustomFieldDef],
    format: ExportFormat,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<u64, ApiError> {
    let buf = SharedBuffer::default();
    let cols = E::columns(defs);
    let mut writer = RecordWriter::new(format, cols.clone(), buf.clone()).map_err(export_error)?;
    let mut written = 0u64;
    loop {
        let page = E::list(db, actor, &q).await?;
        let names = E::page_names(db, actor, &page.items).await?;
        for r in &page.items {
            let json = serde_json::to_value(r).map_err(|e| ApiError::Internal(e.to_string()))?;
            let vcard = if format == ExportFormat::VCard { E::vcard(r, &names) } else { None };
            writer.write(&json, &E::rows(r, &cols, &names), vcard.as_deref()).map_err(export_error)?;
            written += 1;
        }
        writer.flush().map_err(export_error)?;
        let bytes = buf.take();
        if !bytes.is_empty() && out.send(bytes).await.is_err() {
            // The client went away: stop reading the database.
            return Ok(written);
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(Cursor::decode(&c).map_err(|e| ApiError::Internal(e.message.to_string()))?),
            None => break,
        }
    }
    if format == ExportFormat::Xlsx {
        let path = std::env::temp_dir().join(format!("guanxi-export-{}.xlsx", guanxi_core::ids::new_id()));
        let result = send_xlsx(writer, &path, &out).await;
        let _ = tokio::fs::remove_file(&path).await;
        result?;
    } else {
        writer.finish(None).map_err(export_error)?;
        let bytes = buf.take();
        if !bytes.is_empty() {
            let _ = out.send(bytes).await;
        }
    }
    Ok(written)
}

async fn send_xlsx(
    writer: RecordWriter<SharedBuffer>,
    path: &std::path::Path,
    out: &mpsc::Sender<Vec<u8>>,
) -> Result<(), ApiError> {
    use tokio::io::AsyncReadExt;
    let p = path.to_path_buf();
    // Zipping a large sheet is CPU work: keep it off the async workers.
    tokio::task::spawn_blocking(move || writer.finish(Some(&p)))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(export_error)?;
    let mut f = tokio::fs::File::open(path).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    loop {
        let mut chunk = vec![0u8; 256 * 1024];
        let n = f.read(&mut chunk).await.map_err(|e| ApiError::Internal(e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        chunk.truncate(n);
        if out.send(chunk).await.is_err() {
            return Ok(());
        }
    }
}

fn export_error(e: ExportError) -> ApiError {
    match e {
        ExportError::TooManyRows => super::field_error("format", "too_many_rows", &e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

async fn export<E: Exportable>(State(state): State<AppState>, caller: Caller, raw: RawQuery) -> ApiResult<Response> {
    let defs = super::custom_defs(&state, E::CUSTOM).await?;
    let (format, q) = export_request::<E>(&raw, &defs, caller.0.user_id)?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let (err_tx, err_rx) = tokio::sync::oneshot::channel::<String>();
    let db = state.db.clone();
    let actor = caller.0.clone();
    tokio::spawn(async move {
        // `tx` outlives the export so that the stream sees the error before it sees the end.
        if let Err(e) = write_export::<E>(&db, &actor, q, &defs, format, tx.clone()).await {
            tracing::warn!(error = %e, "export stopped");
            let _ = err_tx.send(e.to_string());
        }
        drop(tx);
    });
    // A failure after the headers are sent can only cut the body short: the stream ends in an error, so the
    // client sees an incomplete transfer rather than a file that looks whole.
    let stream = futures_util::stream::unfold((rx, Some(err_rx)), |(mut rx, mut err_rx)| async move {
        match rx.recv().await {
            Some(b) => Some((Ok(bytes::Bytes::from(b)), (rx, err_rx))),
            // The writer is done; it reports a failure before dropping its sender.
            None => err_rx
                .take()
                .and_then(|mut e| e.try_recv().ok())
                .map(|msg| (Err(std::io::Error::other(msg)), (rx, None))),
        }
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    let name = format!("{}-{}.{}", E::PATH, chrono::Utc::now().format("%Y%m%d-%H%M%S"), format.extension());
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
