//! CSV in and out: `labels.csv` (`item,rater,label`, optionally followed by `duration_ms`
//! and/or `sequence` columns), `gold.csv` (`item,label`), and `consensus.csv`
//! (`item,label,confidence`). Errors name the line and the problem.

use std::fmt::Write as _;
use std::io::{Read, Write};

use thiserror::Error;

use super::builder::DatasetBuilder;
use super::consensus::ConsensusItem;
use super::csv_lines::{line_at, LineEnds};
use super::dataset::{Categories, Dataset, DatasetError, LabelInput};
use super::parallel;

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub item: String,
    pub rater: String,
    pub label: String,
    pub duration_ms: Option<u32>,
    pub sequence: Option<i64>,
}

/// One row of `gold.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldRow {
    pub item: String,
    pub label: String,
}

/// A CSV problem and the line it is on (1 is the header).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {problem}")]
pub struct InputError {
    pub line: u64,
    pub problem: Problem,
}

/// What is wrong with a CSV line.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Problem {
    #[error("the file is empty; expected the header {expected}")]
    Empty { expected: String },
    #[error("wrong header {found:?}; expected {expected}")]
    WrongHeader { found: String, expected: String },
    #[error("missing field {field:?} ({found} of {expected} fields)")]
    MissingField {
        field: String,
        found: usize,
        expected: usize,
    },
    #[error("too many fields ({found}, expected {expected})")]
    TooManyFields { found: usize, expected: usize },
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("empty {field}")]
    EmptyValue { field: String },
    #[error("{field} must be a whole number, found {value:?}")]
    NotANumber { field: String, value: String },
    #[error("unreadable CSV: {0}")]
    Unreadable(String),
}

const LABEL_COLUMNS: [&str; 3] = ["item", "rater", "label"];
const OPTIONAL_LABEL_COLUMNS: [&str; 2] = ["duration_ms", "sequence"];
const GOLD_COLUMNS: [&str; 2] = ["item", "label"];

/// Parse `labels.csv`.
pub fn parse_labels_csv(reader: impl Read) -> Result<Vec<LabelRow>, InputError> {
    let mut rows = Vec::new();
    read_labels(reader, |row| {
        rows.push(LabelRow {
            item: row.item.to_string(),
            rater: row.rater.to_string(),
            label: row.value.to_string(),
            duration_ms: row.duration_ms,
            sequence: row.sequence,
        })
    })?;
    Ok(rows)
}

/// Read `labels.csv` straight into `builder`, without keeping the rows: the report of a
/// large file reads each field once.
pub fn add_labels_csv(reader: impl Read, builder: &mut DatasetBuilder) -> Result<(), InputError> {
    read_labels(reader, |row| {
        builder.add(row);
    })
}

/// Read `labels.csv`, held whole in `bytes`, into `builder` as [`add_labels_csv`] does: in
/// two halves on two threads when it is big, has no quote (so that every line end ends a
/// record) and two cores are there, else in one pass. Either way the builder, and the
/// error of a bad file, are the ones one pass gives.
pub fn add_labels_csv_bytes(bytes: &[u8], builder: &mut DatasetBuilder) -> Result<(), InputError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match halves_cut(bytes) {
        Some(cut) if cores > 1 => add_labels_in_halves(bytes, cut, builder),
        _ => add_labels_csv(bytes, builder),
    }
}

/// Below this size a second thread costs about what it saves.
const HALVES_FROM_BYTES: usize = 1 << 20;

/// Where to cut `bytes` into two halves that can be read apart: just after the run of line
/// ends that holds the first `\n` past the middle, so that the second half starts a record
/// and a line. `None` for small files, files with a quote (a quoted field may hold a line
/// end) and files with no such `\n`.
fn halves_cut(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HALVES_FROM_BYTES || memchr::memchr(b'"', bytes).is_some() {
        return None;
    }
    let middle = bytes.len() / 2;
    let newline = middle + memchr::memchr(b'\n', &bytes[middle..])?;
    let run = bytes[newline..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .count();
    let cut = newline + run;
    (cut < bytes.len()).then_some(cut)
}

/// Read the header, then `bytes[..cut]`'s rows into `builder` and `bytes[cut..]`'s into a
/// builder of its own on a second thread, then append the second to the first. `cut` must
/// start a line outside any quoted field.
fn add_labels_in_halves(
    bytes: &[u8],
    cut: usize,
    builder: &mut DatasetBuilder,
) -> Result<(), InputError> {
    let (first, second) = bytes.split_at(cut);
    let mut first_csv = csv_reader(first);
    let header = read_header(&mut first_csv, &LABEL_FORMAT)?;
    let lines_before = memchr::memchr_iter(b'\n', first).count();
    let lines_after = memchr::memchr_iter(b'\n', second).count();
    // Room for a label a line, so that appending the second half copies nothing.
    builder.reserve(lines_before + lines_after, 0);
    let mut later = DatasetBuilder::new();
    later.reserve(lines_after, 0);
    let lines_before = lines_before as u64;
    let (first_read, second_read) = parallel::join(
        2,
        || {
            read_label_rows(&mut first_csv, &header, PartRows::AFTER_HEADER, |row| {
                builder.add(row);
            })
        },
        || {
            let rows = PartRows {
                lines_before,
                records_before: lines_before,
            };
            read_label_rows(&mut csv_reader(second), &header, rows, |row| {
                later.add(row);
            })
        },
    );
    first_read?;
    second_read?;
    builder.append(later);
    Ok(())
}

/// Check and hand on each row of `labels.csv`, its fields borrowed from the record.
fn read_labels(reader: impl Read, each: impl FnMut(LabelInput<'_>)) -> Result<(), InputError> {
    let mut csv = csv_reader(reader);
    let header = read_header(&mut csv, &LABEL_FORMAT)?;
    read_label_rows(&mut csv, &header, PartRows::AFTER_HEADER, each)
}

/// The label rows of `csv`, from where it stands, under `header`.
fn read_label_rows<R: Read>(
    csv: &mut csv::Reader<LineEnds<R>>,
    header: &[String],
    part: PartRows,
    mut each: impl FnMut(LabelInput<'_>),
) -> Result<(), InputError> {
    let [duration, sequence] =
        OPTIONAL_LABEL_COLUMNS.map(|name| header.iter().position(|h| h == name));
    read_rows(csv, header, LABEL_COLUMNS.len(), part, |line, fields| {
        let field = |at: Option<usize>| at.map(|i| fields[i]);
        each(LabelInput {
            item: fields[0],
            rater: fields[1],
            value: fields[2],
            duration_ms: parse_number(line, "duration_ms", field(duration))?,
            sequence: parse_number(line, "sequence", field(sequence))?,
        });
        Ok(())
    })
}

/// Parse `gold.csv`.
pub fn parse_gold_csv(reader: impl Read) -> Result<Vec<GoldRow>, InputError> {
    let mut rows = Vec::new();
    let mut csv = csv_reader(reader);
    let header = read_header(&mut csv, &GOLD_FORMAT)?;
    read_rows(
        &mut csv,
        &header,
        GOLD_COLUMNS.len(),
        PartRows::AFTER_HEADER,
        |_, fields| {
            rows.push(GoldRow {
                item: fields[0].to_string(),
                label: fields[1].to_string(),
            });
            Ok(())
        },
    )?;
    Ok(rows)
}

/// Build a dataset from parsed rows (categories inferred when `None`).
pub fn dataset_from_rows(
    labels: &[LabelRow],
    gold: &[GoldRow],
    categories: Option<Categories>,
) -> Result<Dataset, DatasetError> {
    let mut builder = DatasetBuilder::new();
    if let Some(categories) = categories {
        builder.categories(categories);
    }
    for row in labels {
        builder.add(LabelInput {
            item: &row.item,
            rater: &row.rater,
            value: &row.label,
            duration_ms: row.duration_ms,
            sequence: row.sequence,
        });
    }
    for row in gold {
        builder.add_gold(&row.item, &row.label);
    }
    builder.build()
}

/// Write `consensus.csv` with the header `item,label,confidence`; a tied item has an empty
/// label.
pub fn write_consensus_csv(
    writer: impl Write,
    consensus: &[ConsensusItem],
) -> Result<(), csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(writer);
    out.write_record(["item", "label", "confidence"])?;
    let mut confidence = String::new();
    for row in consensus {
        confidence.clear();
        write!(confidence, "{:.6}", row.confidence).map_err(std::io::Error::other)?;
        out.write_record([
            row.item.as_str(),
            row.label.as_deref().unwrap_or(""),
            &confidence,
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// The expected header of a CSV file.
struct CsvFormat {
    expected: &'static str,
    header_ok: fn(&[String]) -> bool,
}

const LABEL_FORMAT: CsvFormat = CsvFormat {
    expected: "item,rater,label[,duration_ms][,sequence]",
    header_ok: label_header_ok,
};

const GOLD_FORMAT: CsvFormat = CsvFormat {
    expected: "item,label",
    header_ok: gold_header_ok,
};

fn label_header_ok(header: &[String]) -> bool {
    if header.len() < LABEL_COLUMNS.len() || header[..LABEL_COLUMNS.len()] != LABEL_COLUMNS {
        return false;
    }
    let extra = &header[LABEL_COLUMNS.len()..];
    let known = extra
        .iter()
        .all(|h| OPTIONAL_LABEL_COLUMNS.contains(&h.as_str()));
    let repeated = extra.len() == 2 && extra[0] == extra[1];
    known && !repeated
}

fn gold_header_ok(header: &[String]) -> bool {
    header == GOLD_COLUMNS
}

fn csv_reader<R: Read>(reader: R) -> csv::Reader<LineEnds<R>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineEnds::new(reader))
}

/// Read and check the header: its names trimmed and in lower case.
fn read_header<R: Read>(
    csv: &mut csv::Reader<LineEnds<R>>,
    format: &CsvFormat,
) -> Result<Vec<String>, InputError> {
    let expected = format.expected.to_string();
    let mut record = csv::ByteRecord::new();
    if !read_record(csv, &mut record, PartRows::AFTER_HEADER, 1)? {
        return Err(InputError {
            line: 1,
            problem: Problem::Empty { expected },
        });
    }
    let header: Vec<String> = decode(&record, 1)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    if !(format.header_ok)(&header) || header.len() > MOST_COLUMNS {
        return Err(InputError {
            line: 1,
            problem: Problem::WrongHeader {
                found: header.join(","),
                expected,
            },
        });
    }
    Ok(header)
}

/// What comes before the rows a reader reads: the whole file's header, or the first half
/// of a file read in two.
#[derive(Debug, Clone, Copy)]
struct PartRows {
    /// The `\n`s before the reader's first byte.
    lines_before: u64,
    /// Where to count on from to name a line when the reader gives no position: the
    /// records before it, header included (a second half, whose records before it are not
    /// counted, takes its lines).
    records_before: u64,
}

impl PartRows {
    const AFTER_HEADER: PartRows = PartRows {
        lines_before: 0,
        records_before: 1,
    };

    /// The line in the whole file of the record (or error) whose parse began at
    /// `position`; `fallback` when the reader gave no position.
    fn line<R: Read>(
        self,
        csv: &mut csv::Reader<LineEnds<R>>,
        position: Option<&csv::Position>,
        fallback: u64,
    ) -> u64 {
        line_at(csv, position).map_or(fallback, |line| self.lines_before + line)
    }
}

/// Check every record left in `csv` (field counts, UTF-8, the first `required` fields not
/// empty), handing each to `row` with its line number and its trimmed fields.
fn read_rows<R: Read>(
    csv: &mut csv::Reader<LineEnds<R>>,
    header: &[String],
    required: usize,
    part: PartRows,
    mut row: impl FnMut(u64, &[&str]) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let mut record = csv::ByteRecord::new();
    let mut fallback_line = part.records_before;
    loop {
        fallback_line += 1;
        if !read_record(csv, &mut record, part, fallback_line)? {
            return Ok(());
        }
        let line = part.line(csv, record.position(), fallback_line);
        let (fields, found) = decode_row(&record, line)?;
        let fields = &fields[..found.min(MOST_COLUMNS)];
        check_fields(line, header, found, fields, required)?;
        row(line, fields)?;
    }
}

/// The next record into `record`; false at the end of the file.
fn read_record<R: Read>(
    csv: &mut csv::Reader<LineEnds<R>>,
    record: &mut csv::ByteRecord,
    part: PartRows,
    fallback_line: u64,
) -> Result<bool, InputError> {
    csv.read_byte_record(record).map_err(|e| InputError {
        line: part.line(csv, e.position(), fallback_line),
        problem: Problem::Unreadable(e.to_string()),
    })
}

/// The record's fields as trimmed text.
fn decode(record: &csv::ByteRecord, line: u64) -> Result<Vec<&str>, InputError> {
    record.iter().map(|field| field_text(field, line)).collect()
}

/// The most columns a header that passes may have (a labels file's five).
const MOST_COLUMNS: usize = LABEL_COLUMNS.len() + OPTIONAL_LABEL_COLUMNS.len();

/// The first [`MOST_COLUMNS`] fields of a row as trimmed text, and how many it has: a row
/// with more is refused for that, so its fields are checked but not kept, and a row is
/// decoded without an allocation of its own.
fn decode_row(
    record: &csv::ByteRecord,
    line: u64,
) -> Result<([&str; MOST_COLUMNS], usize), InputError> {
    let mut fields = [""; MOST_COLUMNS];
    for (at, field) in record.iter().enumerate() {
        let text = field_text(field, line)?;
        if let Some(slot) = fields.get_mut(at) {
            *slot = text;
        }
    }
    Ok((fields, record.len()))
}

fn field_text(field: &[u8], line: u64) -> Result<&str, InputError> {
    std::str::from_utf8(field)
        .map(str::trim)
        .map_err(|_| InputError {
            line,
            problem: Problem::InvalidUtf8,
        })
}

/// Checks a row of `found` fields, the first of which are `fields`, against `header`.
fn check_fields(
    line: u64,
    header: &[String],
    found: usize,
    fields: &[&str],
    required: usize,
) -> Result<(), InputError> {
    let expected = header.len();
    if found < expected {
        let field = header[found].clone();
        return Err(InputError {
            line,
            problem: Problem::MissingField {
                field,
                found,
                expected,
            },
        });
    }
    if found > expected {
        return Err(InputError {
            line,
            problem: Problem::TooManyFields { found, expected },
        });
    }
    if let Some(empty) = (0..required.min(expected)).find(|&i| fields[i].is_empty()) {
        return Err(InputError {
            line,
            problem: Problem::EmptyValue {
                field: header[empty].clone(),
            },
        });
    }
    Ok(())
}

fn parse_number<T: std::str::FromStr>(
    line: u64,
    field: &str,
    value: Option<&str>,
) -> Result<Option<T>, InputError> {
    match value {
        None => Ok(None),
        Some("") => Ok(None),
        Some(text) => text.parse::<T>().map(Some).map_err(|_| InputError {
            line,
            problem: Problem::NotANumber {
                field: field.to_string(),
                value: text.to_string(),
            },
        }),
    }
}

#[cfg(test)]
mod tests;
