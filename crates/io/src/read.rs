//! Reading a spreadsheet file row by row: CSV in UTF-8 (with or without BOM), UTF-16 or GBK/GB18030 (detected),
//! separated by commas, semicolons or tabs (detected), with quoted multi-line fields; or the first sheet of an
//! XLSX workbook, streamed. Problems with the whole file are a [`FileError`]; problems with one row are a
//! [`RowError`] that names its line, and reading goes on with the next row.

use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// More columns than any CRM export has; a header wider than this is not a contact list (and 100k columns
/// would make every row a large allocation).
pub const MAX_COLUMNS: usize = 1000;
/// Longest cell accepted: far above any field the CRM stores, far below what would hurt memory.
pub const MAX_CELL_BYTES: usize = 64 * 1024;
/// Longest record: a quote that is never closed would otherwise swallow the rest of the file into one field.
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// XLSX limits: the unpacked size of the whole archive and the packing ratio of any member.
pub const MAX_XLSX_UNPACKED: u64 = 512 * 1024 * 1024;
pub const MAX_XLSX_RATIO: u64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    #[error("the header has {0} columns; at most {MAX_COLUMNS} are supported")]
    TooManyColumns(usize),
    #[error("line {line}: {message}")]
    Unreadable { line: u64, message: String },
    #[error("the XLSX file unpacks to more than allowed ({0}); it may be a zip bomb")]
    ZipBomb(String),
    #[error("not a readable XLSX workbook: {0}")]
    Xlsx(String),
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// A problem with one row; reading continues after it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line (CSV: where the record starts; XLSX: the sheet row).
    pub line: u64,
    /// The header of the column at fault, when one is.
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, column: Option<&str>, code: &str, message: impl Into<String>) -> RowError {
        RowError { line, column: column.map(str::to_string), code: code.to_string(), message: message.into() }
    }
}

/// One data row: its line and its cells, one per header column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Csv,
    Xlsx,
}

/// What was detected about a file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceInfo {
    pub format: SourceFormat,
    /// `UTF-8`, `UTF-16LE`, `GB18030`, … (XLSX: `UTF-8`).
    pub encoding: String,
    /// `,`, `;` or `\t` for CSV.
    pub delimiter: Option<char>,
    pub headers: Vec<String>,
}

/// Rows of a file, after its header.
pub type Rows = Box<dyn Iterator<Item = Result<Row, RowError>> + Send>;

/// Opens a file and reads its header. XLSX is recognised by its zip signature, anything else is CSV.
pub fn open(path: &Path) -> Result<(SourceInfo, Rows), FileError> {
    let mut f = std::fs::File::open(path).map_err(io_err)?;
    let mut sig = [0u8; 4];
    let n = read_full(&mut f, &mut sig).map_err(io_err)?;
    f.rewind().map_err(io_err)?;
    if n == 0 {
        return Err(FileError::Empty);
    }
    if sig == *b"PK\x03\x04" { open_xlsx(f) } else { open_csv(f) }
}

fn io_err(e: std::io::Error) -> FileError {
    FileError::Io(e.to_string())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The encoding of a CSV file from its first bytes: a BOM decides; else valid UTF-8 is UTF-8; else chardetng's
/// guess, where GBK is read as its superset GB18030 (what Chinese Excel writes).
pub fn detect_encoding(head: &[u8]) -> (&'static encoding_rs::Encoding, usize) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(head) {
        return (enc, bom);
    }
    // A UTF-8 sequence may be cut at the end of the sample: that is still UTF-8.
    if looks_like_utf8(head) {
        return (encoding_rs::UTF_8, 0);
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(head, false);
    let guess = det.guess(Some(b"cn"), true);
    if guess == encoding_rs::GBK { (encoding_rs::GB18030, 0) } else { (guess, 0) }
}

/// Valid UTF-8 (a sequence cut at the end of the sample is fine), or UTF-8 text with a few broken bytes: a
/// UTF-8 file with one bad cell is still a UTF-8 file (that cell is reported), not Windows-1252.
fn looks_like_utf8(mut bytes: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                multibyte +=
                    std::str::from_utf8(good).map(|s| s.chars().filter(|c| !c.is_ascii()).count()).unwrap_or(0);
                match e.error_len() {
                    None => break,
                    Some(n) => {
                        invalid += 1;
                        bytes = &bytes[e.valid_up_to() + n..];
                    }
                }
            }
        }
    }
    invalid == 0 || (multibyte > 0 && invalid <= (multibyte / 20).max(1))
}

/// The delimiter that splits the header line into the most fields (outside quotes).
pub fn detect_delimiter(head: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in head.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                for (d, n) in counts.iter_mut() {
                    if *d == c {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(d, n)| (*n, *d == b',')).map(|(d, _)| *d).unwrap_or(b',')
}

/// Decodes any encoding to UTF-8 on the fly.
struct Transcode<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_len: usize,
    in_pos: usize,
    eof: bool,
    out: Vec<u8>,
    out_pos: usize,
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.eof && self.in_pos >= self.in_len {
                return Ok(0);
            }
            if self.in_pos >= self.in_len && !self.eof {
                self.in_len = self.inner.read(&mut self.input)?;
                self.in_pos = 0;
                self.eof = self.in_len == 0;
            }
            self.out.clear();
            self.out.resize(64 * 1024 + 16, 0);
            let (_, read, written, _) =
                self.decoder.decode_to_utf8(&self.input[self.in_pos..self.in_len], &mut self.out, self.eof);
            self.in_pos += read;
            self.out.truncate(written);
            self.out_pos = 0;
            if self.eof && written == 0 {
                return Ok(0);
            }
        }
    }
}

/// Counts the bytes handed to the CSV parser, so a record that grows past [`MAX_RECORD_BYTES`] (an unbalanced
/// quote) is stopped while it is read rather than after it has filled memory. Keeps the last chunk it handed over,
/// so the byte that ended a record can be looked at (see [`record_line`]).
struct Guard<R: Read> {
    inner: R,
    read: u64,
    record_start: Arc<AtomicU64>,
    /// The last chunk read, which starts at byte `last_start`, and the byte just before it.
    last: Vec<u8>,
    last_start: u64,
    before_last: Option<u8>,
}

impl<R: Read> Guard<R> {
    fn byte_at(&self, offset: u64) -> Option<u8> {
        if offset.checked_add(1) == Some(self.last_start) {
            return self.before_last;
        }
        let i = usize::try_from(offset.checked_sub(self.last_start)?).ok()?;
        self.last.get(i).copied()
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read.saturating_sub(self.record_start.load(Ordering::Relaxed)) > MAX_RECORD_BYTES + 64 * 1024 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, RECORD_TOO_LONG));
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.before_last = self.last.last().copied();
            self.last.clear();
            self.last.extend_from_slice(&buf[..n]);
            self.last_start = self.read;
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// The line a record starts on. The parser reports where it began reading the record, which is before any blank
/// lines it skipped and, in a CRLF file, before the LF that ended the previous record; so count back from where
/// the record ended instead: its own line breaks, and the LF that ended it, if one did.
fn record_line<R: Read>(reader: &csv::Reader<Guard<R>>, record: &csv::ByteRecord) -> u64 {
    let end = reader.position();
    let newlines = record.as_slice().iter().filter(|b| **b == b'\n').count() as u64;
    let ended_by_lf = end.byte().checked_sub(1).and_then(|b| reader.get_ref().byte_at(b)) == Some(b'\n');
    end.line().saturating_sub(newlines + u64::from(ended_by_lf)).max(1)
}

const RECORD_TOO_LONG: &str = "a record longer than 16 MB: probably a quote that is never closed";

fn open_csv(mut f: std::fs::File) -> Result<(SourceInfo, Rows), FileError> {
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut f, &mut head).map_err(io_err)?;
    head.truncate(n);
    let (encoding, bom) = detect_encoding(&head);
    f.rewind().map_err(io_err)?;
    let mut skip = vec![0u8; bom];
    read_full(&mut f, &mut skip).map_err(io_err)?;
    let sample = encoding.decode_without_bom_handling(&head[bom..]).0.into_owned();
    if sample.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let delimiter = detect_delimiter(&sample);
    let source: Box<dyn Read + Send> = if encoding == encoding_rs::UTF_8 {
        Box::new(BufReader::with_capacity(64 * 1024, f))
    } else {
        Box::new(Transcode {
            inner: f,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0u8; 64 * 1024],
            in_len: 0,
            in_pos: 0,
            eof: false,
            out: Vec::new(),
            out_pos: 0,
        })
    };
    let record_start = Arc::new(AtomicU64::new(0));
    let guard = Guard {
        inner: source,
        read: 0,
        record_start: record_start.clone(),
        last: Vec::with_capacity(64 * 1024),
        last_start: 0,
        before_last: None,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(guard);
    let mut header = csv::ByteRecord::new();
    match reader.read_byte_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Err(FileError::Empty),
        Err(e) => return Err(FileError::Unreadable { line: 1, message: csv_message(&e) }),
    }
    if header.len() > MAX_COLUMNS {
        return Err(FileError::TooManyColumns(header.len()));
    }
    let headers: Vec<String> = header.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    let info = SourceInfo {
        format: SourceFormat::Csv,
        encoding: encoding.name().to_string(),
        delimiter: Some(delimiter as char),
        headers: headers.clone(),
    };
    let mut record = csv::ByteRecord::new();
    let mut done = false;
    // Where the next record starts: an I/O error (a record too long) carries no position of its own.
    let mut next_line = reader.position().line();
    let rows = std::iter::from_fn(move || {
        loop {
            if done {
                return None;
            }
            if let Some(p) = record.position() {
                record_start.store(p.byte() + record.as_slice().len() as u64, Ordering::Relaxed);
            }
            match reader.read_byte_record(&mut record) {
                Ok(false) => {
                    done = true;
                    return None;
                }
                Ok(true) => {
                    let line = record_line(&reader, &record);
                    next_line = line + record.as_slice().iter().filter(|b| **b == b'\n').count() as u64 + 1;
                    // Blank lines between records are not rows.
                    if record.len() == 1 && record[0].iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    return Some(check_record(&record, line, &headers));
                }
                Err(e) => {
                    // The parser cannot resynchronise after an I/O or size error; a UTF-8 error is per row.
                    done = true;
                    let line = e.position().map(|p| p.line()).unwrap_or(next_line);
                    return Some(Err(RowError::new(line, None, "unreadable", csv_message(&e))));
                }
            }
        }
    });
    Ok((info, Box::new(rows)))
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) if io.to_string() == RECORD_TOO_LONG => RECORD_TOO_LONG.to_string(),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    }
}

fn check_record(record: &csv::ByteRecord, line: u64, headers: &[String]) -> Result<Row, RowError> {
    if record.len() != headers.len() {
        // Trailing empty cells beyond the header are harmless (some tools write them); anything else is ragged.
        let extra_empty = record.len() > headers.len() && record.iter().skip(headers.len()).all(|c| c.is_empty());
        if !extra_empty {
            return Err(RowError::new(
                line,
                None,
                "ragged_row",
                format!("the row has {} cells but the header has {} columns", record.len(), headers.len()),
            ));
        }
    }
    let mut cells = Vec::with_capacity(headers.len());
    for (i, raw) in record.iter().take(headers.len()).enumerate() {
        let col = headers.get(i).map(String::as_str);
        if raw.len() > MAX_CELL_BYTES {
            return Err(RowError::new(
                line,
                col,
                "cell_too_long",
                format!("the cell is {} bytes; at most 64 KB", raw.len()),
            ));
        }
        match std::str::from_utf8(raw) {
            Ok(s) => cells.push(s.to_string()),
            Err(e) => {
                return Err(RowError::new(
                    line,
                    col,
                    "invalid_utf8",
                    format!(
                        "the cell is not valid UTF-8 (byte {}); save the file as UTF-8 or GBK",
                        e.valid_up_to() + 1
                    ),
                ));
            }
        }
    }
    Ok(Row { line, cells })
}

/// Rows the XLSX reader thread may read ahead of the importer: enough to keep both busy, few enough that memory
/// stays flat whatever the sheet's length.
const XLSX_READ_AHEAD: usize = 128;

/// Opens the first sheet of a workbook and streams its rows. calamine's cell reader borrows the workbook, so both
/// live on a reader thread that hands rows over a bounded channel: the sheet XML is inflated and parsed as the rows
/// are consumed, never held whole. (The shared strings and styles are loaded whole when the workbook opens, as
/// calamine does; the zip limits bound them.) Dropping the rows ends the thread at its next row.
fn open_xlsx(f: std::fs::File) -> Result<(SourceInfo, Rows), FileError> {
    let mut f = check_zip(f)?;
    f.rewind().map_err(io_err)?;
    let (header_tx, header_rx) = std::sync::mpsc::sync_channel(1);
    let (row_tx, row_rx) = std::sync::mpsc::sync_channel(XLSX_READ_AHEAD);
    std::thread::Builder::new()
        .name("xlsx-reader".into())
        .spawn(move || read_sheet(f, &header_tx, &row_tx))
        .map_err(io_err)?;
    let (headers, header_line) = match header_rx.recv() {
        Ok(h) => h?,
        // The thread ended without a word: calamine panicked on this file.
        Err(_) => return Err(FileError::Xlsx("the workbook could not be read".into())),
    };
    let info = SourceInfo { format: SourceFormat::Xlsx, encoding: "UTF-8".into(), delimiter: None, headers };
    Ok((info, Box::new(SheetRows { rx: row_rx, last_line: header_line, done: false })))
}

/// A message from the reader thread: a row, or `None` at the end of the sheet.
type SheetMsg = Option<Result<Row, RowError>>;

/// The rows the reader thread sends, in sheet order.
struct SheetRows {
    rx: std::sync::mpsc::Receiver<SheetMsg>,
    last_line: u64,
    done: bool,
}

impl Iterator for SheetRows {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Some(row)) => {
                self.last_line = match &row {
                    Ok(r) => r.line,
                    Err(e) => e.line,
                };
                Some(row)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            // The thread stopped without saying the sheet ended: never pass that off as the end of the file.
            Err(_) => {
                self.done = true;
                let message = "the XLSX reader stopped unexpectedly after this row";
                Some(Err(RowError::new(self.last_line + 1, None, "unreadable", message)))
            }
        }
    }
}

/// The reader thread: sends the header and its line (or why there is none), then each row, then `None`. A send
/// that fails means the rows were dropped: it stops.
fn read_sheet(
    f: std::fs::File,
    header_tx: &std::sync::mpsc::SyncSender<Result<(Vec<String>, u64), FileError>>,
    row_tx: &std::sync::mpsc::SyncSender<SheetMsg>,
) {
    let xlsx_err = |e: calamine::XlsxError| FileError::Xlsx(e.to_string());
    let mut book: calamine::Xlsx<_> = match calamine::Reader::new(BufReader::new(f)) {
        Ok(b) => b,
        Err(e) => {
            let _ = header_tx.send(Err(xlsx_err(e)));
            return;
        }
    };
    let Some(name) = calamine::Reader::sheet_names(&book).into_iter().next() else {
        let _ = header_tx.send(Err(FileError::Empty));
        return;
    };
    let mut reader = match book.worksheet_cells_reader(&name) {
        Ok(r) => r,
        // A chart sheet first: no rows, as calamine's own range reading says.
        Err(calamine::XlsxError::NotAWorksheet(_)) => {
            let _ = header_tx.send(Err(FileError::Empty));
            return;
        }
        Err(e) => {
            let _ = header_tx.send(Err(xlsx_err(e)));
            return;
        }
    };
    // Fused: after the end of the sheet data, calamine would read on into the end of the XML and fail.
    let mut ended = false;
    let mut next_cell = move || -> Result<Option<SheetCell>, calamine::XlsxError> {
        if ended {
            return Ok(None);
        }
        let cell = reader.next_cell()?;
        ended = cell.is_none();
        Ok(cell.map(|c| {
            let (row, col) = c.get_position();
            let text = match c.get_value() {
                calamine::DataRef::Empty => None,
                v => Some(cell_text(v)),
            };
            SheetCell { row, col, text }
        }))
    };
    let (columns, mut pending) = match read_header(&mut next_cell) {
        Ok(h) => h,
        Err(e) => {
            let _ = header_tx.send(Err(e));
            return;
        }
    };
    if header_tx.send(Ok((columns.headers.clone(), columns.line))).is_err() {
        return;
    }
    let mut row = RowBuilder::default();
    let mut last_line = columns.line;
    loop {
        let cell = match pending.take() {
            Some(c) => Some(c),
            None => match next_cell() {
                Ok(c) => c,
                Err(e) => {
                    // The row being read is cut: it is not sent. Rows before it were.
                    let line = row.line().unwrap_or(last_line + 1);
                    let message = format!("the sheet cannot be read from here on: {e}");
                    if row_tx.send(Some(Err(RowError::new(line, None, "unreadable", message)))).is_ok() {
                        let _ = row_tx.send(None);
                    }
                    return;
                }
            },
        };
        let Some(cell) = cell else { break };
        if let Some(done) = row.add(cell, &columns) {
            last_line = match &done {
                Ok(r) => r.line,
                Err(e) => e.line,
            };
            if row_tx.send(Some(done)).is_err() {
                return;
            }
        }
    }
    if let Some(done) = row.finish(&columns)
        && row_tx.send(Some(done)).is_err()
    {
        return;
    }
    let _ = row_tx.send(None);
}

/// A cell as the sheet XML gives it: 0-based row and column, and its text unless it is empty.
struct SheetCell {
    row: u32,
    col: u32,
    text: Option<String>,
}

/// The header of a sheet: its cells cover the sheet columns `first..first + headers.len()`; `line` is its row.
struct SheetColumns {
    first: u32,
    headers: Vec<String>,
    line: u64,
}

/// Reads cells up to the end of the first row that has a value: that row is the header, from its first to its last
/// cell with a value. Returns it with the first cell after it (which belongs to a data row).
fn read_header(
    next_cell: &mut impl FnMut() -> Result<Option<SheetCell>, calamine::XlsxError>,
) -> Result<(SheetColumns, Option<SheetCell>), FileError> {
    let mut header_row = None;
    // Distinct columns only, and only while the span is within the limit: a hostile row cannot grow it.
    let mut cells = std::collections::BTreeMap::new();
    let (mut min, mut max) = (u32::MAX, 0u32);
    let pending = loop {
        let Some(cell) = next_cell().map_err(|e| FileError::Xlsx(e.to_string()))? else { break None };
        if header_row.is_some_and(|r| r != cell.row) {
            break Some(cell);
        }
        let Some(text) = cell.text else { continue };
        header_row = Some(cell.row);
        (min, max) = (min.min(cell.col), max.max(cell.col));
        if (max - min) as usize >= MAX_COLUMNS {
            continue;
        }
        cells.insert(cell.col, text);
    };
    let Some(row) = header_row else { return Err(FileError::Empty) };
    let width = (max - min) as usize + 1;
    if width > MAX_COLUMNS {
        return Err(FileError::TooManyColumns(width));
    }
    let mut headers = vec![String::new(); width];
    for (col, text) in cells {
        if let Some(h) = headers.get_mut((col - min) as usize) {
            *h = text.trim().to_string();
        }
    }
    if headers.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    Ok((SheetColumns { first: min, headers, line: u64::from(row) + 1 }, pending))
}

/// The data row being assembled from its cells, which the sheet may give sparsely and in any column order.
#[derive(Default)]
struct RowBuilder {
    row: Option<u32>,
    cells: Vec<String>,
    has_value: bool,
    error: Option<RowError>,
}

impl RowBuilder {
    fn line(&self) -> Option<u64> {
        self.row.map(|r| u64::from(r) + 1)
    }

    /// Adds a cell; a cell of another row first ends the current one, which is returned unless it was blank.
    /// Cells outside the header's columns have no header to be mapped by and are left out.
    fn add(&mut self, cell: SheetCell, columns: &SheetColumns) -> Option<Result<Row, RowError>> {
        let done = if self.row == Some(cell.row) { None } else { self.finish(columns) };
        if self.row.is_none() {
            self.row = Some(cell.row);
            self.cells = vec![String::new(); columns.headers.len()];
        }
        let Some(text) = cell.text else { return done };
        let Some(i) = cell.col.checked_sub(columns.first).map(|i| i as usize).filter(|i| *i < self.cells.len()) else {
            return done;
        };
        self.has_value = true;
        if text.len() > MAX_CELL_BYTES {
            if self.error.is_none() {
                let (line, col) = (self.line().unwrap_or(0), columns.headers.get(i).map(String::as_str));
                let message = format!("the cell is {} bytes; at most 64 KB", text.len());
                self.error = Some(RowError::new(line, col, "cell_too_long", message));
            }
        } else if let Some(c) = self.cells.get_mut(i) {
            *c = text;
        }
        done
    }

    /// Ends the current row: the row (or its error), or nothing when it had no value in the header's columns.
    fn finish(&mut self, columns: &SheetColumns) -> Option<Result<Row, RowError>> {
        let line = self.line()?;
        self.row = None;
        let cells = std::mem::take(&mut self.cells);
        let error = self.error.take();
        if !std::mem::take(&mut self.has_value) {
            return None;
        }
        debug_assert_eq!(cells.len(), columns.headers.len());
        Some(match error {
            Some(e) => Err(e),
            None => Ok(Row { line, cells }),
        })
    }
}

/// Refuses archives whose members unpack to more than [`MAX_XLSX_UNPACKED`] in total or at a ratio above
/// [`MAX_XLSX_RATIO`], before anything is inflated.
fn check_zip(f: std::fs::File) -> Result<std::fs::File, FileError> {
    let mut zip = zip::ZipArchive::new(f).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let m = zip.by_index_raw(i).map_err(|e| FileError::Xlsx(e.to_string()))?;
        let (packed, size) = (m.compressed_size(), m.size());
        total = total.saturating_add(size);
        if size > 1024 * 1024 && size / packed.max(1) > MAX_XLSX_RATIO {
            return Err(FileError::ZipBomb(format!("a member packs {size} bytes into {packed}")));
        }
    }
    if total > MAX_XLSX_UNPACKED {
        return Err(FileError::ZipBomb(format!("{total} bytes unpacked")));
    }
    Ok(zip.into_inner())
}

/// A cell as text: whole numbers without `.0`, dates as `YYYY-MM-DD` (with the time when there is one).
fn cell_text(c: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef as Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::SharedString(s) => s.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            // Excel serial days since 1899-12-30 (1904-based workbooks are rare and are converted by calamine).
            let serial = d.as_f64();
            let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|b| b.and_hms_opt(0, 0, 0));
            let secs = (serial * 86_400.0).round() as i64;
            match base.and_then(|b| b.checked_add_signed(chrono::Duration::seconds(secs))) {
                Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().format("%Y-%m-%d").to_string(),
                Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
                None => serial.to_string(),
            }
        }
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<(SourceInfo, Vec<Result<Row, RowError>>), FileError>;

    fn write(bytes: &[u8]) -> (crate::TempFile, Read) {
        let t = crate::TempFile::with_bytes(bytes);
        let r = open(&t.0).map(|(i, rows)| (i, rows.collect()));
        (t, r)
    }

    fn ok_rows(bytes: &[u8]) -> (SourceInfo, Vec<Vec<String>>) {
        let (_t, r) = write(bytes);
        let (info, rows) = r.unwrap();
        (info, rows.into_iter().map(|r| r.unwrap().cells).collect())
    }

    #[test]
    fn utf8_with_bom_semicolons_and_multiline_quotes() {
        let (info, rows) = ok_rows("\u{feff}姓名;备注\n张伟;\"第一行\n第二行; 还是\"\"备注\"\"\"\n".as_bytes());
        assert_eq!(info.encoding, "UTF-8");
        assert_eq!(info.delimiter, Some(';'));
        assert_eq!(info.headers, vec!["姓名", "备注"]);
        assert_eq!(rows, vec![vec!["张伟".to_string(), "第一行\n第二行; 还是\"备注\"".to_string()]]);
    }

    #[test]
    fn gbk_and_utf16_are_detected() {
        let text = "姓名\t手机\n张伟\t13800138000\n欧阳娜娜\t13900139000\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let (info, rows) = ok_rows(&gbk);
        assert_eq!((info.encoding.as_str(), info.delimiter), ("gb18030", Some('\t')));
        assert_eq!(rows[1][0], "欧阳娜娜");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let (info, rows) = ok_rows(&utf16);
        assert_eq!(info.encoding, "UTF-16LE");
        assert_eq!(rows[0], vec!["张伟", "13800138000"]);
    }

    #[test]
    fn bad_rows_are_reported_and_reading_goes_on() {
        let mut bytes = "name,email\n张伟,a@example.com\nragged\n".as_bytes().to_vec();
        bytes.extend(b"bad,\xff@x\n");
        bytes.extend("李娜,b@example.com\n".as_bytes());
        bytes.extend(format!("big,{}\n", "x".repeat(MAX_CELL_BYTES + 1)).as_bytes());
        let (_t, r) = write(&bytes);
        let (_, rows) = r.unwrap();
        let errs: Vec<(u64, String)> =
            rows.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.line, e.code.clone())).collect();
        assert_eq!(errs, vec![(3, "ragged_row".into()), (4, "invalid_utf8".into()), (6, "cell_too_long".into())]);
        assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 2);
    }

    #[test]
    fn whole_file_problems() {
        assert_eq!(write(b"").1.unwrap_err(), FileError::Empty);
        assert_eq!(write(b"\n\n").1.unwrap_err(), FileError::Empty);
        let wide = (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
        assert_eq!(write(wide.as_bytes()).1.unwrap_err(), FileError::TooManyColumns(100_000));
        let (_t, r) = write(b"name,email\n");
        assert!(r.unwrap().1.is_empty(), "header only: no rows (the importer reports it)");
    }

    #[test]
    fn an_unclosed_quote_stops_at_the_record_limit() {
        let mut bytes = b"name,note\na,\"never closed\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', (MAX_RECORD_BYTES + 1024 * 1024) as usize));
        let (_t, r) = write(&bytes);
        let (_, rows) = r.unwrap();
        assert_eq!(rows.len(), 1);
        let e = rows[0].as_ref().unwrap_err();
        assert_eq!(e.code, "unreadable");
        assert!(e.message.contains("never closed"), "{}", e.message);
        assert_eq!(e.line, 2);
    }

    fn xlsx_rows(bytes: &[u8]) -> (SourceInfo, Vec<Result<Row, RowError>>) {
        let (_t, r) = write(bytes);
        let (info, rows) = r.unwrap();
        assert_eq!(info.format, SourceFormat::Xlsx);
        (info, rows)
    }

    /// A workbook of `n` rows and the CSV a person would save from it: the same cells, line for line. Every
    /// 1000th row is blank; the note is missing from every 7th row (a sparse cell).
    fn twins(n: u32, constant_memory: bool) -> (Vec<u8>, Vec<u8>) {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let headers = ["姓名", "手机", "金额", "生日", "下单时间", "VIP", "备注"];
        let mut book = Workbook::new();
        let sheet =
            if constant_memory { book.add_worksheet_with_constant_memory().unwrap() } else { book.add_worksheet() };
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut csv = headers.iter().map(|h| quote(h)).collect::<Vec<_>>().join(",") + "\n";
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for r in 1..=n {
            if r % 1000 == 0 {
                csv.push('\n');
                continue;
            }
            let name = format!("客户{}", r % 50); // repeated: shared strings
            let phone = 13_800_000_000.0 + f64::from(r);
            let amount = f64::from(r) * 0.25;
            let (y, m, d) = (1970 + (r % 50) as u16, 1 + (r % 12) as u8, 1 + (r % 28) as u8);
            let (hh, mm, ss) = ((r % 24) as u16, (r % 60) as u8, ((r * 7) % 60) as u8);
            let vip = r % 3 == 0;
            let note = format!("说明, \"引号\" {r}");
            sheet.write_string(r, 0, &name).unwrap();
            sheet.write_number(r, 1, phone).unwrap();
            sheet.write_number(r, 2, amount).unwrap();
            sheet.write_datetime_with_format(r, 3, ExcelDateTime::from_ymd(y, m, d).unwrap(), &date).unwrap();
            let when = ExcelDateTime::from_ymd(2024, m, d).unwrap().and_hms(hh, mm, ss).unwrap();
            sheet.write_datetime_with_format(r, 4, when, &stamp).unwrap();
            sheet.write_boolean(r, 5, vip).unwrap();
            if r % 7 != 0 {
                sheet.write_string(r, 6, &note).unwrap();
            }
            let amount_text = if amount.fract() == 0.0 { format!("{}", amount as i64) } else { amount.to_string() };
            let cells = [
                name,
                format!("{}", phone as i64),
                amount_text,
                format!("{y:04}-{m:02}-{d:02}"),
                // Midnight is a date without a time.
                if (hh, mm, ss) == (0, 0, 0) {
                    format!("2024-{m:02}-{d:02}")
                } else {
                    format!("2024-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
                },
                vip.to_string(),
                if r % 7 != 0 { note } else { String::new() },
            ];
            csv += &(cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n");
        }
        (book.save_to_buffer().unwrap(), csv.into_bytes())
    }

    #[test]
    fn a_large_xlsx_reads_as_its_csv_twin() {
        for constant_memory in [false, true] {
            let (xlsx, csv) = twins(5000, constant_memory);
            let (xinfo, xrows) = xlsx_rows(&xlsx);
            let (_t, c) = write(&csv);
            let (cinfo, crows) = c.unwrap();
            assert_eq!(xinfo.headers, cinfo.headers);
            assert_eq!((xrows.len(), crows.len()), (5000 - 5, 5000 - 5), "blank rows are skipped");
            for (x, c) in xrows.iter().zip(&crows) {
                assert_eq!(x, c, "inline strings: {constant_memory}");
            }
            assert_eq!(xrows[1], Ok(Row { line: 3, cells: crows[1].clone().unwrap().cells }));
        }
    }

    #[test]
    fn dropping_xlsx_rows_early_ends_the_reader() {
        let (xlsx, _) = twins(3000, false);
        let t = crate::TempFile::with_bytes(&xlsx);
        // More rows than the read-ahead are left unread each time; nothing waits for them.
        for _ in 0..20 {
            let (_, rows) = open(&t.0).unwrap();
            assert_eq!(rows.take(3).count(), 3);
        }
    }

    #[test]
    fn sparse_xlsx_cells_keep_their_columns() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        // Row 1 is empty; the header is B2:E2 with nothing over D.
        for (c, h) in [(1, "name"), (2, "email"), (4, " phone ")] {
            sheet.write_string(1, c, h).unwrap();
        }
        sheet.write_string(2, 4, "13800138000").unwrap(); // line 3: the last column only
        sheet.write_string(3, 0, "left of the header").unwrap(); // line 4
        sheet.write_string(3, 1, "A").unwrap();
        sheet.write_string(3, 3, "under no header").unwrap();
        sheet.write_string(3, 6, "right of the header").unwrap();
        sheet.write_string(4, 6, "only outside").unwrap(); // line 5: blank in the header's columns
        sheet.write_blank(5, 1, &rust_xlsxwriter::Format::new().set_bold()).unwrap(); // line 6: formatted, blank
        sheet.write_string(6, 2, "c@example.com").unwrap(); // line 7
        let (info, rows) = xlsx_rows(&book.save_to_buffer().unwrap());
        assert_eq!(info.headers, vec!["name", "email", "", "phone"]);
        let rows: Vec<(u64, Vec<String>)> = rows.into_iter().map(|r| r.map(|r| (r.line, r.cells)).unwrap()).collect();
        let s = |v: [&str; 4]| v.map(str::to_string).to_vec();
        assert_eq!(
            rows,
            vec![
                (3, s(["", "", "", "13800138000"])),
                (4, s(["A", "", "under no header", ""])),
                (7, s(["", "c@example.com", "", ""])),
            ]
        );
    }

    #[test]
    fn xlsx_problems() {
        let book = |f: &dyn Fn(&mut rust_xlsxwriter::Worksheet)| {
            let mut book = rust_xlsxwriter::Workbook::new();
            f(book.add_worksheet());
            book.save_to_buffer().unwrap()
        };
        // No cells, or only blank ones: empty.
        assert_eq!(write(&book(&|_| {})).1.unwrap_err(), FileError::Empty);
        assert_eq!(write(&book(&|s| drop(s.write_string(2, 2, "  ")))).1.unwrap_err(), FileError::Empty);
        // A header only: no rows.
        assert_eq!(xlsx_rows(&book(&|s| drop(s.write_string(0, 0, "name")))).1, vec![]);
        // A header wider than the limit, counted from its first to its last cell.
        let wide = book(&|s| {
            s.write_string(0, 3, "a").unwrap();
            s.write_string(0, 5003, "b").unwrap();
        });
        assert_eq!(write(&wide).1.unwrap_err(), FileError::TooManyColumns(5001));
        // A cell over the limit is that row's error; the next row is read.
        let long = book(&|s| {
            s.write_string(0, 0, "name").unwrap();
            s.write_string(0, 1, "note").unwrap();
            s.write_string(1, 1, "长".repeat(30_000)).unwrap();
            s.write_string(2, 0, "ok").unwrap();
        });
        let (_, rows) = xlsx_rows(&long);
        let e = rows[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.column.as_deref(), e.code.as_str()), (2, Some("note"), "cell_too_long"));
        assert_eq!(rows[1], Ok(Row { line: 3, cells: vec!["ok".into(), String::new()] }));
        // Not a workbook inside: the archive is refused.
        assert!(matches!(write(b"PK\x03\x04 not a zip").1.unwrap_err(), FileError::Xlsx(_)));
    }

    #[test]
    fn row_lines_count_blank_lines_and_crlf() {
        let lines = |bytes: &[u8]| -> Vec<u64> {
            let (_t, r) = write(bytes);
            r.unwrap().1.into_iter().map(|r| r.map(|r| r.line).unwrap_or_else(|e| e.line)).collect()
        };
        let lf = "h,x\n1,a\n\n3,b\n\n\n\"5\nfive\",c\n7,d".to_string();
        assert_eq!(lines(lf.as_bytes()), vec![2, 4, 7, 9]);
        assert_eq!(lines(lf.replace('\n', "\r\n").as_bytes()), vec![2, 4, 7, 9]);
        assert_eq!(lines((lf.replace('\n', "\r\n") + "\r\n").as_bytes()), vec![2, 4, 7, 9]);
        // A ragged row is reported on its own line.
        assert_eq!(lines(b"h,x\r\n1,a\r\n\r\nragged\r\n"), vec![2, 4]);
    }

    #[test]
    fn a_sheet_cut_short_ends_with_an_unreadable_row() {
        use std::io::Write;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for r in 0..10u32 {
            sheet.write_string(r, 0, format!("v{r}")).unwrap();
            sheet.write_string(r, 1, "x").unwrap();
        }
        let whole = book.save_to_buffer().unwrap();
        // The same archive, with the sheet's XML cut in the middle of row 5's second cell.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(whole)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut m = zip.by_index(i).unwrap();
            let name = m.name().unwrap().to_string();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut m, &mut bytes).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let text = String::from_utf8(bytes).unwrap();
                let cut = text.find("<c r=\"B5\"").unwrap() + 5;
                bytes = text.as_bytes()[..cut].to_vec();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&bytes).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        let (_, rows) = xlsx_rows(&bytes);
        let lines: Vec<(u64, bool)> =
            rows.iter().map(|r| r.as_ref().map_or_else(|e| (e.line, false), |r| (r.line, true))).collect();
        assert_eq!(lines, vec![(2, true), (3, true), (4, true), (5, false)]);
        assert_eq!(rows[3].as_ref().unwrap_err().code, "unreadable");
    }

    #[test]
    fn delimiter_detection_ignores_quoted_text() {
        assert_eq!(detect_delimiter("\"a,b,c\";x;y\n1,2,3,4,5"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("onecolumn"), b',');
    }
}
