//! CSV in and out: `labels.csv` (`item,rater,label`, optionally followed by `duration_ms`
//! and/or `sequence` columns), `gold.csv` (`item,label`), and `consensus.csv`
//! (`item,label,confidence`). Errors name the line and the problem.

use std::io::{Read, Write};

use thiserror::Error;

use super::builder::DatasetBuilder;
use super::consensus::ConsensusItem;
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
    let expected = format!("{}[,duration_ms][,sequence]", LABEL_COLUMNS.join(","));
    let mut rows = Vec::new();
    let format = CsvFormat {
        expected: &expected,
        required: LABEL_COLUMNS.len(),
        header_ok: label_header_ok,
    };
    read_records(reader, &format, |line, header, fields| {
        let field = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .map(|i| fields[i].clone())
        };
        rows.push(LabelRow {
            item: fields[0].clone(),
            rater: fields[1].clone(),
            label: fields[2].clone(),
            duration_ms: parse_number(line, "duration_ms", field("duration_ms"))?,
            sequence: parse_number(line, "sequence", field("sequence"))?,
        });
        Ok(())
    })?;
    Ok(rows)
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
            item: fields[0].clone(),
            label: fields[1].clone(),
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
/// fields), handing each to `row` with its line number.
fn read_records(
    reader: impl Read,
    format: &CsvFormat<'_>,
    mut row: impl FnMut(u64, &[String], &[String]) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = csv.byte_records();
    let expected = format.expected.to_string();
    let header: Vec<String> = match records.next() {
        None => {
            return Err(InputError {
                line: 1,
                problem: Problem::Empty { expected },
            })
        }
        Some(record) => decode(record, 1)?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
            .collect(),
    };
    if !(format.header_ok)(&header) {
        return Err(InputError {
            line: 1,
            problem: Problem::WrongHeader {
                found: header.join(","),
                expected,
            },
        });
    }
    for (index, record) in records.enumerate() {
        let fallback_line = index as u64 + 2;
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(fallback_line, |p| p.line());
        let fields = decode(record, line)?;
        check_fields(line, &header, &fields, format.required)?;
        row(line, &header, &fields)?;
    }
    Ok(())
}

fn decode(
    record: Result<csv::ByteRecord, csv::Error>,
    line: u64,
) -> Result<Vec<String>, InputError> {
    let record = record.map_err(|e| InputError {
        line,
        problem: Problem::Unreadable(e.to_string()),
    })?;
    record
        .iter()
        .map(|field| {
            std::str::from_utf8(field)
                .map(|text| text.trim().to_string())
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
    fields: &[String],
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
    value: Option<String>,
) -> Result<Option<T>, InputError> {
    match value {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => text.parse::<T>().map(Some).map_err(|_| InputError {
            line,
            problem: Problem::NotANumber {
                field: field.to_string(),
                value: text,
            },
        }),
    }
}

#[cfg(test)]
mod tests;
