//! CSV in and out: `labels.csv` (`item,rater,label`, optionally followed by `duration_ms`
//! and/or `sequence` columns), `gold.csv` (`item,label`), and `consensus.csv`
//! (`item,label,confidence`). Errors name the line and the problem.

use std::io::{Read, Write};

use thiserror::Error;

use super::builder::DatasetBuilder;
use super::consensus::ConsensusItem;
use super::csv_lines::{line_at, LineEnds};
use super::dataset::{Categories, Dataset, DatasetError, LabelInput};

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

/// Check and hand on each row of `labels.csv`, its fields borrowed from the record.
fn read_labels(reader: impl Read, mut each: impl FnMut(LabelInput<'_>)) -> Result<(), InputError> {
    let expected = format!("{}[,duration_ms][,sequence]", LABEL_COLUMNS.join(","));
    let format = CsvFormat {
        expected: &expected,
        required: LABEL_COLUMNS.len(),
        header_ok: label_header_ok,
    };
    let mut optional: Option<[Option<usize>; 2]> = None;
    read_records(reader, &format, |line, header, fields| {
        let [duration, sequence] = *optional.get_or_insert_with(|| {
            OPTIONAL_LABEL_COLUMNS.map(|name| header.iter().position(|h| h == name))
        });
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
    let expected = GOLD_COLUMNS.join(",");
    let mut rows = Vec::new();
    let format = CsvFormat {
        expected: &expected,
        required: GOLD_COLUMNS.len(),
        header_ok: |h| h == GOLD_COLUMNS,
    };
    read_records(reader, &format, |_, _, fields| {
        rows.push(GoldRow {
            item: fields[0].to_string(),
            label: fields[1].to_string(),
        });
        Ok(())
    })?;
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
    let mut out = csv::Writer::from_writer(writer);
    out.write_record(["item", "label", "confidence"])?;
    for row in consensus {
        out.write_record([
            row.item.as_str(),
            row.label.as_deref().unwrap_or(""),
            &format!("{:.6}", row.confidence),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// The expected header of a CSV file and how many leading fields must be non-empty.
struct CsvFormat<'a> {
    expected: &'a str,
    required: usize,
    header_ok: fn(&[String]) -> bool,
}

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

/// Read and check the header, then every record (field counts, UTF-8, empty required
/// fields), handing each to `row` with its line number and its trimmed fields.
fn read_records(
    reader: impl Read,
    format: &CsvFormat<'_>,
    mut row: impl FnMut(u64, &[String], &[&str]) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineEnds::new(reader));
    let expected = format.expected.to_string();
    let mut record = csv::ByteRecord::new();
    if !read_record(&mut csv, &mut record, 1)? {
        return Err(InputError {
            line: 1,
            problem: Problem::Empty { expected },
        });
    }
    let header: Vec<String> = decode(&record, 1)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    if !(format.header_ok)(&header) {
        return Err(InputError {
            line: 1,
            problem: Problem::WrongHeader {
                found: header.join(","),
                expected,
            },
        });
    }
    let mut fallback_line = 1;
    loop {
        fallback_line += 1;
        if !read_record(&mut csv, &mut record, fallback_line)? {
            return Ok(());
        }
        let line = line_at(&mut csv, record.position()).unwrap_or(fallback_line);
        let fields = decode(&record, line)?;
        check_fields(line, &header, &fields, format.required)?;
        row(line, &header, &fields)?;
    }
}

/// The next record into `record`; false at the end of the file.
fn read_record<R: Read>(
    csv: &mut csv::Reader<LineEnds<R>>,
    record: &mut csv::ByteRecord,
    line: u64,
) -> Result<bool, InputError> {
    csv.read_byte_record(record).map_err(|e| InputError {
        line: line_at(csv, e.position()).unwrap_or(line),
        problem: Problem::Unreadable(e.to_string()),
    })
}

/// The record's fields as trimmed text.
fn decode(record: &csv::ByteRecord, line: u64) -> Result<Vec<&str>, InputError> {
    record
        .iter()
        .map(|field| {
            std::str::from_utf8(field)
                .map(str::trim)
                .map_err(|_| InputError {
                    line,
                    problem: Problem::InvalidUtf8,
                })
        })
        .collect()
}

fn check_fields(
    line: u64,
    header: &[String],
    fields: &[&str],
    required: usize,
) -> Result<(), InputError> {
    let expected = header.len();
    if fields.len() < expected {
        let field = header[fields.len()].clone();
        return Err(InputError {
            line,
            problem: Problem::MissingField {
                field,
                found: fields.len(),
                expected,
            },
        });
    }
    if fields.len() > expected {
        return Err(InputError {
            line,
            problem: Problem::TooManyFields {
                found: fields.len(),
                expected,
            },
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
