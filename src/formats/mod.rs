//! The file formats a dataset leaves in. Each encoder turns pages of records into bytes,
//! so an export streams: nothing holds more than a page. No HTTP and no SQL here.

mod label_studio;
mod parquet;
pub mod tfrecord;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::export::records::{cell_text, write_json_object, Column, Record};
use crate::domain::export::{neutralize_formula, ExportRow, Format};
use crate::domain::project::Project;

pub use tfrecord::{masked_crc32c, read_records};

/// A page of an export: the items and their records (one per item, or one per label).
pub struct Page<'a> {
    pub rows: &'a [ExportRow],
    pub records: &'a [Record],
}

/// Turns an export into bytes, a page at a time.
pub trait Encoder: Send {
    /// Bytes of one page (a CSV header or an opening bracket comes with the first).
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>>;
    /// Bytes that close the file (a Parquet footer, a closing bracket).
    fn finish(&mut self) -> anyhow::Result<Vec<u8>>;
    /// Whether the encoder reads the page's records; one that writes from the rows alone
    /// is spared their making.
    fn reads_records(&self) -> bool {
        true
    }
}

/// The size of an encoder's last page, so the next page's buffer is made big enough at
/// once: growing it page after page copies what is written and faults in fresh memory.
#[derive(Debug, Default)]
pub(crate) struct PageSize(usize);

impl PageSize {
    pub(crate) fn buffer(&self) -> Vec<u8> {
        Vec::with_capacity(self.0 + self.0 / 8)
    }

    pub(crate) fn record(&mut self, page: &[u8]) {
        self.0 = page.len();
    }
}

/// The type of one item data field across a whole export, for typed formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Bool,
    Int,
    Float,
    Text,
    /// Objects, arrays, or a field whose values differ in type: JSON text.
    Json,
}

/// The data fields of an export's items and their types, in name order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataFields {
    pub fields: BTreeMap<String, FieldType>,
}

impl DataFields {
    /// Widens the known types by one item's data (an integer and a float make a float;
    /// any other mix makes JSON text; nulls say nothing).
    pub fn observe(&mut self, data: &Map<String, Value>) {
        for (name, value) in data {
            let seen = match value {
                Value::Null => continue,
                Value::Bool(_) => FieldType::Bool,
                Value::Number(n) if n.is_i64() => FieldType::Int,
                Value::Number(_) => FieldType::Float,
                Value::String(_) => FieldType::Text,
                Value::Array(_) | Value::Object(_) => FieldType::Json,
            };
            self.fields
                .entry(name.clone())
                .and_modify(|known| *known = widen(*known, seen))
                .or_insert(seen);
        }
    }
}

fn widen(a: FieldType, b: FieldType) -> FieldType {
    use FieldType::*;
    match (a, b) {
        (a, b) if a == b => a,
        (Int, Float) | (Float, Int) => Float,
        _ => Json,
    }
}

/// What an encoder needs to know beyond the records.
pub struct Target<'a> {
    pub format: Format,
    pub columns: Vec<Column>,
    pub project: &'a Project,
    /// Filled for Parquet and TFRecord, whose columns have types.
    pub data_fields: DataFields,
}

pub fn encoder(target: Target<'_>) -> anyhow::Result<Box<dyn Encoder>> {
    Ok(match target.format {
        Format::Jsonl => Box::new(Jsonl {
            columns: target.columns,
            page_size: PageSize::default(),
        }),
        Format::Csv => Box::new(Csv {
            columns: target.columns,
            header_written: false,
        }),
        Format::Parquet => Box::new(parquet::ParquetEncoder::new(&target)?),
        Format::Tfrecord => Box::new(tfrecord::TfRecordEncoder::new(&target)),
        Format::LabelStudio => Box::new(label_studio::LabelStudioEncoder::new(target.project)),
    })
}

struct Jsonl {
    columns: Vec<Column>,
    page_size: PageSize,
}

impl Encoder for Jsonl {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let mut out = self.page_size.buffer();
        for record in page.records {
            write_json_object(&mut out, &self.columns, record);
            out.push(b'\n');
        }
        self.page_size.record(&out);
        Ok(out)
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

struct Csv {
    columns: Vec<Column>,
    header_written: bool,
}

impl Encoder for Csv {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        if !self.header_written {
            writer.write_record(self.columns.iter().map(|c| c.name()))?;
            self.header_written = true;
        }
        for record in page.records {
            writer.write_record(record.iter().map(|v| neutralize_formula(&cell_text(v))))?;
        }
        writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        // An export of nothing still has its header.
        if self.header_written {
            return Ok(Vec::new());
        }
        self.page(&Page {
            rows: &[],
            records: &[],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_types_widen() {
        let mut fields = DataFields::default();
        let obj = |v: Value| v.as_object().cloned().expect("object");
        fields.observe(&obj(
            json!({"n": 1, "x": 1, "t": "a", "b": true, "z": null}),
        ));
        fields.observe(&obj(json!({"n": 1.5, "x": "one", "t": "b", "o": {"k": 1}})));
        let f = &fields.fields;
        assert_eq!(f["n"], FieldType::Float);
        assert_eq!(f["x"], FieldType::Json);
        assert_eq!(f["t"], FieldType::Text);
        assert_eq!(f["b"], FieldType::Bool);
        assert_eq!(f["o"], FieldType::Json);
        assert!(!f.contains_key("z"));
    }
}
