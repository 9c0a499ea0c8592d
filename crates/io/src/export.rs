//! Export formats: CSV (UTF-8 with BOM, so Excel opens Chinese text correctly), XLSX, JSON Lines and vCard 4.0.
//!
//! A [`RecordWriter`] takes records one at a time and writes them to any `io::Write`, so a caller can stream a
//! million records page by page; only XLSX is assembled at the end (its zip needs the whole sheet), and it keeps
//! rows on disk meanwhile (rust_xlsxwriter's constant-memory mode).

use crate::columns::{Cell, Columns};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    JsonLines,
    VCard,
}

impl ExportFormat {
    /// `csv`, `xlsx`, `jsonl` (also `ndjson`) or `vcard` (also `vcf`).
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            "jsonl" | "ndjson" => Some(ExportFormat::JsonLines),
            "vcard" | "vcf" => Some(ExportFormat::VCard),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::JsonLines => "application/jsonl; charset=utf-8",
            ExportFormat::VCard => "text/vcard; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::VCard => "vcf",
        }
    }
}

/// Makes text safe to open in a spreadsheet: a cell that starts (after any spaces) with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be run as a formula by Excel, LibreOffice or Google Sheets (CSV injection), so it
/// gets a leading `'`, which spreadsheets show as "this is text".
///
/// ```
/// use guanxi_io::export::neutralise_formula;
/// assert_eq!(neutralise_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
/// assert_eq!(neutralise_formula("  @SUM(A1)"), "'  @SUM(A1)");
/// assert_eq!(neutralise_formula("张伟"), "张伟");
/// ```
pub fn neutralise_formula(s: &str) -> std::borrow::Cow<'_, str> {
    let first = s.trim_start_matches(' ').chars().next();
    match first {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        // A value that is only spaces before a tab/CR is covered above; anything else is plain text.
        _ => s.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("an XLSX sheet holds at most 1,048,575 records; filter the export or use CSV")]
    TooManyRows,
}

/// Writes records of one type in one format. `W` receives the bytes as they are produced (everything but XLSX).
pub struct RecordWriter<W: Write> {
    inner: Inner<W>,
    columns: Columns,
}

enum Inner<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, row: u32, out: W },
    Lines(W),
    VCard(W),
}

/// The last row an XLSX sheet has (1,048,576 rows including the header).
const XLSX_MAX_ROW: u32 = 1_048_575;

impl<W: Write> RecordWriter<W> {
    /// Starts a file (header row, BOM). vCard only exists for contacts; the caller checks that.
    pub fn new(format: ExportFormat, columns: Columns, mut out: W) -> Result<RecordWriter<W>, ExportError> {
        let inner = match format {
            ExportFormat::Csv => {
                out.write_all("\u{feff}".as_bytes())?;
                let mut w = csv::WriterBuilder::new().from_writer(out);
                w.write_record(columns.headers().iter().map(|h| neutralise_formula(h).into_owned()))?;
                Inner::Csv(Box::new(w))
            }
            ExportFormat::Xlsx => {
                let mut book = Box::new(rust_xlsxwriter::Workbook::new());
                let sheet = book.add_worksheet_with_constant_memory()?;
                let bold = rust_xlsxwriter::Format::new().set_bold();
                for (i, h) in columns.headers().iter().enumerate() {
                    sheet.write_string_with_format(0, i as u16, neutralise_formula(h).as_ref(), &bold)?;
                }
                Inner::Xlsx { book, row: 0, out }
            }
            ExportFormat::JsonLines => Inner::Lines(out),
            ExportFormat::VCard => Inner::VCard(out),
        };
        Ok(RecordWriter { inner, columns })
    }

    /// `json` is the record as the API returns it (JSON Lines); `rows` its spreadsheet rows (CSV, XLSX: one per
    /// record, one per line for orders); `vcard` its card.
    pub fn write(
        &mut self,
        json: &serde_json::Value,
        rows: &[Vec<Cell>],
        vcard: Option<&str>,
    ) -> Result<(), ExportError> {
        match &mut self.inner {
            Inner::Csv(w) => {
                for cells in rows {
                    w.write_record(cells.iter().map(|c| match c {
                        Cell::Text(s) => neutralise_formula(s).into_owned(),
                        Cell::Checked(s) => s.clone(),
                        Cell::Int(i) => i.to_string(),
                        Cell::Empty => String::new(),
                    }))?;
                }
            }
            Inner::Xlsx { book, row, .. } => {
                let sheet = book.worksheet_from_index(0)?;
                for cells in rows {
                    if *row >= XLSX_MAX_ROW {
                        return Err(ExportError::TooManyRows);
                    }
                    *row += 1;
                    for (i, c) in cells.iter().enumerate() {
                        match c {
                            Cell::Text(s) => {
                                sheet.write_string(*row, i as u16, neutralise_formula(s).as_ref())?;
                            }
                            Cell::Checked(s) => {
                                sheet.write_string(*row, i as u16, s)?;
                            }
                            // Spreadsheets hold numbers as doubles: exact up to 2^53, far beyond any amount here.
                            Cell::Int(n) => {
                                sheet.write_number(*row, i as u16, *n as f64)?;
                            }
                            Cell::Empty => {}
                        }
                    }
                }
            }
            Inner::Lines(w) => {
                serde_json::to_writer(&mut *w, json)?;
                w.write_all(b"\n")?;
            }
            Inner::VCard(w) => {
                if let Some(card) = vcard {
                    w.write_all(card.as_bytes())?;
                }
            }
        }
        Ok(())
    }

    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Flushes what is buffered so the caller can pass it on (no-op for XLSX, which is written at the end).
    pub fn flush(&mut self) -> Result<(), ExportError> {
        match &mut self.inner {
            Inner::Csv(w) => w.flush()?,
            Inner::Xlsx { .. } => {}
            Inner::Lines(w) | Inner::VCard(w) => w.flush()?,
        }
        Ok(())
    }

    /// Ends the file. XLSX is assembled here: with `xlsx_file` its zip is saved to that path, for the caller to
    /// stream from disk, instead of being built in memory and written to the output.
    pub fn finish(self, xlsx_file: Option<&std::path::Path>) -> Result<W, ExportError> {
        match self.inner {
            Inner::Csv(w) => (*w).into_inner().map_err(|e| ExportError::Io(std::io::Error::other(e.to_string()))),
            Inner::Xlsx { mut book, mut out, .. } => {
                match xlsx_file {
                    Some(path) => book.save(path)?,
                    None => out.write_all(&book.save_to_buffer()?)?,
                }
                Ok(out)
            }
            Inner::Lines(w) | Inner::VCard(w) => Ok(w),
        }
    }
}

/// An in-memory output that a streaming caller drains between pages (`take`), while the writer keeps a clone.
#[derive(Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// The bytes written since the last call.
    pub fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned buffer"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Escapes a vCard 4.0 text value (RFC 6350 §3.4): backslash, comma, semicolon and newlines.
pub fn vcard_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 6350 §3.2) without splitting a UTF-8 character, and ends it with CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A contact as a vCard 4.0 card.
pub fn contact_vcard(c: &guanxi_core::contact::Contact, company_name: Option<&str>) -> String {
    let mut out = String::new();
    let e = vcard_escape;
    push_line(&mut out, "BEGIN:VCARD");
    push_line(&mut out, "VERSION:4.0");
    push_line(&mut out, &format!("UID:urn:uuid:{}", c.id));
    push_line(&mut out, &format!("FN:{}", e(&c.display_name)));
    if c.family_name.is_some() || c.given_name.is_some() {
        let f = c.family_name.as_deref().map(e).unwrap_or_default();
        let g = c.given_name.as_deref().map(e).unwrap_or_default();
        push_line(&mut out, &format!("N:{f};{g};;;"));
    }
    for m in &c.emails {
        let pref = if m.primary { ";PREF=1" } else { "" };
        push_line(&mut out, &format!("EMAIL{pref}:{}", e(&m.address)));
    }
    for p in &c.phones {
        let pref = if p.primary { ";PREF=1" } else { "" };
        // Stored numbers are E.164 with an optional `;ext=` part: exactly the RFC 3966 URI body.
        push_line(&mut out, &format!("TEL{pref};VALUE=uri:tel:{}", p.number));
    }
    if let Some(org) = company_name {
        push_line(&mut out, &format!("ORG:{}", e(org)));
    }
    if let Some(t) = &c.job_title {
        push_line(&mut out, &format!("TITLE:{}", e(t)));
    }
    if !c.address.is_empty() {
        let a = &c.address;
        let p = |v: &Option<String>| v.as_deref().map(e).unwrap_or_default();
        let street = match (&a.district, &a.street) {
            (Some(d), Some(s)) => format!("{} {}", e(d), e(s)),
            _ => format!("{}{}", p(&a.district), p(&a.street)),
        };
        push_line(
            &mut out,
            &format!("ADR:;;{street};{};{};{};{}", p(&a.city), p(&a.province), p(&a.postcode), p(&a.country)),
        );
    }
    if let Some(b) = c.birthday {
        push_line(&mut out, &format!("BDAY:{}", b.format("%Y%m%d")));
    }
    if let Some(g) = c.gender {
        let code = match g {
            guanxi_core::contact::Gender::Female => "F",
            guanxi_core::contact::Gender::Male => "M",
            guanxi_core::contact::Gender::Other => "O",
            guanxi_core::contact::Gender::Unknown => "U",
        };
        push_line(&mut out, &format!("GENDER:{code}"));
    }
    if !c.tags.is_empty() {
        let tags: Vec<String> = c.tags.iter().map(|t| e(t)).collect();
        push_line(&mut out, &format!("CATEGORIES:{}", tags.join(",")));
    }
    if let Some(l) = &c.preferred_language {
        push_line(&mut out, &format!("LANG:{}", e(l)));
    }
    push_line(&mut out, &format!("REV:{}", c.updated_at.format("%Y%m%dT%H%M%SZ")));
    push_line(&mut out, "END:VCARD");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_even_after_spaces() {
        for bad in ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "   =cmd|' /C calc'!A0", " \t=x"] {
            assert!(neutralise_formula(bad).starts_with('\''), "{bad:?}");
        }
        for ok in ["", "张伟", "a=b", "1-2", "<script>alert(1)</script>", " x"] {
            assert_eq!(neutralise_formula(ok), ok);
        }
    }

    #[test]
    fn long_vcard_lines_fold_on_character_boundaries() {
        let mut out = String::new();
        push_line(&mut out, &format!("NOTE:{}", "关系".repeat(40)));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        assert_eq!(out.replace("\r\n ", ""), format!("NOTE:{}\r\n", "关系".repeat(40)));
    }

    #[test]
    fn vcard_escapes_separators() {
        assert_eq!(vcard_escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
