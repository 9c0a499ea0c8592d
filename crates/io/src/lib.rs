//! Guanxi's file formats for import and export. Pure: reads and writes bytes, knows the domain types, never
//! touches a database or the network.
//!
//! - [`export`]: CSV (UTF-8 with BOM), XLSX, JSON Lines, vCard 4.0, with spreadsheet formulas neutralised.
//! - [`columns`]: the spreadsheet columns of each record type.
//! - [`read`]: CSV (encoding and delimiter detected) and XLSX rows, with per-row errors.
//! - [`mapping`]: column mapping proposals (Chinese, English, Zoho, HubSpot, Salesforce) and rows to inputs.
//! - [`objects`]: companies, products, order lines and activities: their columns and rows to inputs.
//! - [`dates`]: dates in the many ways people write them.

pub mod columns;
pub mod dates;
pub mod export;
pub mod mapping;
pub mod objects;
pub mod read;

/// A file removed on drop, for tests here and in other crates.
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn with_bytes(bytes: &[u8]) -> TempFile {
        let p = std::env::temp_dir().join(format!("guanxi-io-{}", uuid::Uuid::now_v7()));
        let _ = std::fs::write(&p, bytes);
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
