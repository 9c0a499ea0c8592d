//! Reading a spreadsheet file row by row: CSV in UTF-8 (with or without BOM), UTF-16 or GBK/GB18030 (detected),
//! separated by commas, semicolons or tabs (detected), with quoted multi-line fields; or the first sheet of an
//! XLSX workbook. Problems with the whole file are a [`FileError`]; problems with one row are a [`RowError`] that
//! names its line, and reading goes on with the next row.

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

fn open_xlsx(f: std::fs::File) -> Result<(SourceInfo, Rows), FileError> {
    let mut f = check_zip(f)?;
    f.rewind().map_err(io_err)?;
    let mut book: calamine::Xlsx<_> =
        calamine::Reader::new(BufReader::new(f)).map_err(|e: calamine::XlsxError| FileError::Xlsx(e.to_string()))?;
    let range = match calamine::Reader::worksheet_range_at(&mut book, 0) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(FileError::Xlsx(e.to_string())),
        None => return Err(FileError::Empty),
    };
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let header = rows.next().ok_or(FileError::Empty)?;
    if header.len() > MAX_COLUMNS {
        return Err(FileError::TooManyColumns(header.len()));
    }
    let headers: Vec<String> = header.iter().map(|c| cell_text(c).trim().to_string()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    let width = headers.len();
    let data: Vec<Row> = rows
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !matches!(c, calamine::Data::Empty)))
        .map(|(i, r)| Row {
            line: first_row as u64 + i as u64 + 2,
            cells: r.iter().take(width).map(cell_text).collect(),
        })
        .collect();
    let info = SourceInfo { format: SourceFormat::Xlsx, encoding: "UTF-8".into(), delimiter: None, headers };
    Ok((info, Box::new(data.into_iter().map(Ok))))
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
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
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
    fn delimiter_detection_ignores_quoted_text() {
        assert_eq!(detect_delimiter("\"a,b,c\";x;y\n1,2,3,4,5"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("onecolumn"), b',');
    }
}
