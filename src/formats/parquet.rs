//! Parquet through the arrow and parquet crates. Each page becomes a row group, so memory
//! holds one page. Item data is a struct of its fields, labels a list of structs, answers
//! typed by the project's kind (text, float, list of text; spans and boxes as JSON text).
//! Each column's Arrow array is built straight from the page's records.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::{DataFields, Encoder, FieldType, Page, Target};
use crate::domain::export::records::{AnswerType, Record, Shape};

pub struct ParquetEncoder {
    schema: SchemaRef,
    columns: Vec<Typed>,
    writer: Option<ArrowWriter<Vec<u8>>>,
}

/// A column's Arrow type and how its JSON values become that type.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Int,
    /// A number, or text that parses as one (a rating sent as "4").
    Float,
    Bool,
    /// Text as it is; any other value as its JSON text; null stays null.
    Text,
    /// Always JSON text, null included: item data that has no fields to make a struct of.
    JsonText,
    /// A list. With `wrap_lone` a value that is not a list is a list of that one value (a
    /// multi-choice answer stored as one choice); without, it is null.
    List {
        item: Box<Typed>,
        wrap_lone: bool,
    },
    Struct(Vec<(String, Typed)>),
}

impl Typed {
    fn answer(answer: AnswerType) -> Typed {
        match answer {
            AnswerType::Text | AnswerType::Json => Typed::Text,
            AnswerType::Float => Typed::Float,
            AnswerType::TextList => Typed::List {
                item: Box::new(Typed::Text),
                wrap_lone: true,
            },
        }
    }

    fn list_of(item: Typed) -> Typed {
        Typed::List {
            item: Box::new(item),
            wrap_lone: false,
        }
    }

    fn record(fields: &[(&str, Typed)]) -> Typed {
        Typed::Struct(
            fields
                .iter()
                .map(|(name, typed)| (name.to_string(), typed.clone()))
                .collect(),
        )
    }

    fn column(shape: Shape, answer: AnswerType, data: &DataFields) -> Typed {
        let value = Typed::answer(answer);
        match shape {
            Shape::Int => Typed::Int,
            Shape::Float => Typed::Float,
            Shape::Text => Typed::Text,
            // Parquet has no empty struct: data without fields is JSON text.
            Shape::Data if data.fields.is_empty() => Typed::JsonText,
            Shape::Data => Typed::Struct(
                data.fields
                    .iter()
                    .map(|(name, ty)| (name.clone(), Typed::data_field(*ty)))
                    .collect(),
            ),
            Shape::Answer => value,
            Shape::Answers => Typed::list_of(value),
            Shape::Labels => Typed::list_of(Typed::record(&[
                ("rater", Typed::Text),
                ("pool", Typed::Text),
                ("value", value),
                ("duration_ms", Typed::Int),
                ("created_at", Typed::Int),
                ("comment", Typed::Text),
            ])),
            Shape::Feedback => Typed::list_of(Typed::record(&[
                ("source", Typed::Text),
                ("value", value),
                ("raw_value", Typed::Text),
                ("weight", Typed::Float),
                ("occurred_at", Typed::Int),
                ("context", Typed::Text),
            ])),
        }
    }

    fn data_field(ty: FieldType) -> Typed {
        match ty {
            FieldType::Bool => Typed::Bool,
            FieldType::Int => Typed::Int,
            FieldType::Float => Typed::Float,
            FieldType::Text | FieldType::Json => Typed::Text,
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Typed::Int => DataType::Int64,
            Typed::Float => DataType::Float64,
            Typed::Bool => DataType::Boolean,
            Typed::Text | Typed::JsonText => DataType::Utf8,
            Typed::List { item, .. } => DataType::List(Arc::new(item.field("item"))),
            Typed::Struct(fields) => DataType::Struct(Typed::fields(fields)),
        }
    }

    fn field(&self, name: &str) -> Field {
        Field::new(name, self.data_type(), true)
    }

    fn fields(fields: &[(String, Typed)]) -> Fields {
        fields
            .iter()
            .map(|(name, typed)| typed.field(name))
            .collect()
    }

    /// The Arrow array of these values (`None` where an enclosing struct lacks the key).
    fn array(&self, values: &[Option<&Value>]) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Typed::Int => Arc::new(Int64Array::from_iter(
                values.iter().map(|v| v.and_then(Value::as_i64)),
            )),
            Typed::Float => Arc::new(Float64Array::from_iter(
                values.iter().map(|v| v.and_then(float_of)),
            )),
            Typed::Bool => Arc::new(BooleanArray::from_iter(
                values.iter().map(|v| v.and_then(Value::as_bool)),
            )),
            Typed::Text => Arc::new(StringArray::from_iter(
                values.iter().map(|v| v.and_then(text_of)),
            )),
            Typed::JsonText => Arc::new(StringArray::from_iter_values(
                values.iter().map(|v| v.unwrap_or(&Value::Null).to_string()),
            )),
            Typed::List { item, wrap_lone } => list_array(item, *wrap_lone, values)?,
            Typed::Struct(fields) => struct_array(fields, values)?,
        })
    }
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text_of(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// Nulls for an array, or none when every entry is valid.
fn nulls_of(valid: Vec<bool>) -> Option<NullBuffer> {
    valid.contains(&false).then(|| NullBuffer::from(valid))
}

fn list_array(
    item: &Typed,
    wrap_lone: bool,
    values: &[Option<&Value>],
) -> Result<ArrayRef, ArrowError> {
    let mut items = Vec::new();
    let mut lengths = Vec::with_capacity(values.len());
    let mut valid = Vec::with_capacity(values.len());
    for value in values {
        let before = items.len();
        let is_list = match value {
            Some(Value::Array(list)) => {
                items.extend(list.iter().map(Some));
                true
            }
            None | Some(Value::Null) => false,
            Some(lone) if wrap_lone => {
                items.push(Some(*lone));
                true
            }
            Some(_) => false,
        };
        lengths.push(items.len() - before);
        valid.push(is_list);
    }
    Ok(Arc::new(ListArray::try_new(
        Arc::new(item.field("item")),
        OffsetBuffer::from_lengths(lengths),
        item.array(&items)?,
        nulls_of(valid),
    )?))
}

fn struct_array(
    fields: &[(String, Typed)],
    values: &[Option<&Value>],
) -> Result<ArrayRef, ArrowError> {
    let objects: Vec<_> = values
        .iter()
        .map(|v| v.and_then(Value::as_object))
        .collect();
    let children = fields
        .iter()
        .map(|(name, typed)| {
            let child: Vec<Option<&Value>> = objects
                .iter()
                .map(|o| o.and_then(|o| o.get(name)))
                .collect();
            typed.array(&child)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let valid = objects.iter().map(Option::is_some).collect();
    Ok(Arc::new(StructArray::try_new_with_length(
        Typed::fields(fields),
        children,
        nulls_of(valid),
        values.len(),
    )?))
}

impl ParquetEncoder {
    pub fn new(target: &Target<'_>) -> anyhow::Result<Self> {
        let answer = AnswerType::of(target.project.kind);
        let columns: Vec<Typed> = target
            .columns
            .iter()
            .map(|c| Typed::column(c.shape(), answer, &target.data_fields))
            .collect();
        let schema = Arc::new(Schema::new(
            target
                .columns
                .iter()
                .zip(&columns)
                .map(|(column, typed)| typed.field(column.name()))
                .collect::<Vec<_>>(),
        ));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("tally {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))?;
        Ok(ParquetEncoder {
            schema,
            columns,
            writer: Some(writer),
        })
    }
}

/// The records as one batch of the schema's columns.
fn batch(
    schema: &SchemaRef,
    columns: &[Typed],
    records: &[Record],
) -> Result<RecordBatch, ArrowError> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, typed)| {
            let values: Vec<Option<&Value>> = records.iter().map(|r| r.get(i)).collect();
            typed.array(&values)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), arrays)
}

impl Encoder for ParquetEncoder {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let batch = (!page.records.is_empty())
            .then(|| batch(&self.schema, &self.columns, page.records))
            .transpose()?;
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the Parquet file is already closed"))?;
        if let Some(batch) = batch {
            writer.write(&batch)?;
            writer.flush()?;
        }
        Ok(std::mem::take(writer.inner_mut()))
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| anyhow::anyhow!("the Parquet file is already closed"))?;
        Ok(writer.into_inner()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_of(columns: &[(&str, Typed)]) -> SchemaRef {
        Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, typed)| typed.field(name))
                .collect::<Vec<_>>(),
        ))
    }

    /// What arrow-json reads from rows already written in the columns' types.
    fn read_by_arrow_json(schema: &SchemaRef, rows: &[Value]) -> RecordBatch {
        let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
            .with_batch_size(rows.len())
            .build_decoder()
            .expect("a decoder");
        decoder.serialize(rows).expect("rows of the schema");
        decoder.flush().expect("a batch").expect("rows")
    }

    #[test]
    fn columns_of_every_shape_hold_the_values_typed() {
        let data = DataFields {
            fields: [
                ("flag".to_string(), FieldType::Bool),
                ("n".to_string(), FieldType::Int),
                ("x".to_string(), FieldType::Float),
                ("t".to_string(), FieldType::Text),
                ("j".to_string(), FieldType::Json),
            ]
            .into(),
        };
        let column = |shape, answer| Typed::column(shape, answer, &data);
        let columns = [
            ("id", column(Shape::Int, AnswerType::Text)),
            ("confidence", column(Shape::Float, AnswerType::Text)),
            ("external_id", column(Shape::Text, AnswerType::Text)),
            ("data", column(Shape::Data, AnswerType::Text)),
            (
                "raw",
                Typed::column(Shape::Data, AnswerType::Text, &DataFields::default()),
            ),
            ("rating", column(Shape::Answer, AnswerType::Float)),
            ("choices", column(Shape::Answer, AnswerType::TextList)),
            ("tied", column(Shape::Answers, AnswerType::TextList)),
            ("spans", column(Shape::Answer, AnswerType::Json)),
            ("labels", column(Shape::Labels, AnswerType::Float)),
            ("feedback", column(Shape::Feedback, AnswerType::Text)),
        ];
        let records: Vec<Record> = vec![
            vec![
                json!(1),
                json!(0.75),
                json!("a-1"),
                json!({"flag": true, "n": 3, "x": 2, "t": "hi", "j": {"k": [1]}, "extra": 1}),
                json!({"free": "form"}),
                json!("4"),
                json!("cat"),
                json!([["a", "b"], "c"]),
                json!([{"start": 0, "end": 4}]),
                json!([
                    {"rater": "r1", "pool": "general", "value": 4, "duration_ms": 1200,
                     "created_at": 1_700_000_000_000i64, "comment": null},
                    {"rater": "r2", "pool": "experts", "value": "2.5", "duration_ms": null,
                     "created_at": 1_700_000_000_001i64, "comment": "unsure"}
                ]),
                json!([{"source": "app", "value": "yes", "raw_value": 1, "weight": 0.5,
                        "occurred_at": 5, "context": {"page": "home"}}]),
            ],
            vec![
                json!(2),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                json!("not a number"),
                json!(["cat", 7]),
                Value::Null,
                Value::Null,
                json!([]),
                Value::Null,
            ],
        ];
        let typed_rows = vec![
            json!({
                "id": 1, "confidence": 0.75, "external_id": "a-1",
                "data": {"flag": true, "n": 3, "x": 2.0, "t": "hi", "j": "{\"k\":[1]}"},
                "raw": "{\"free\":\"form\"}",
                "rating": 4.0, "choices": ["cat"], "tied": [["a", "b"], ["c"]],
                "spans": "[{\"end\":4,\"start\":0}]",
                "labels": [
                    {"rater": "r1", "pool": "general", "value": 4.0, "duration_ms": 1200,
                     "created_at": 1_700_000_000_000i64, "comment": null},
                    {"rater": "r2", "pool": "experts", "value": 2.5, "duration_ms": null,
                     "created_at": 1_700_000_000_001i64, "comment": "unsure"}
                ],
                "feedback": [{"source": "app", "value": "yes", "raw_value": "1", "weight": 0.5,
                              "occurred_at": 5, "context": "{\"page\":\"home\"}"}],
            }),
            json!({
                "id": 2, "confidence": null, "external_id": null, "data": null, "raw": "null",
                "rating": null, "choices": ["cat", "7"], "tied": null, "spans": null,
                "labels": [], "feedback": null,
            }),
        ];
        let typed: Vec<Typed> = columns.iter().map(|(_, t)| t.clone()).collect();
        let schema = schema_of(&columns);
        let built = batch(&schema, &typed, &records).expect("a batch");
        assert_eq!(built, read_by_arrow_json(&schema, &typed_rows));
    }

    #[test]
    fn a_written_file_reads_back_with_its_rows() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let columns = [
            ("id", Typed::Int),
            ("value", Typed::answer(AnswerType::TextList)),
        ];
        let schema = schema_of(&columns);
        let typed: Vec<Typed> = columns.iter().map(|(_, t)| t.clone()).collect();
        let mut encoder = ParquetEncoder {
            schema: schema.clone(),
            columns: typed.clone(),
            writer: Some(ArrowWriter::try_new(Vec::new(), schema.clone(), None).expect("a writer")),
        };
        let pages: [Vec<Record>; 2] = [
            vec![vec![json!(1), json!(["a"])], vec![json!(2), json!("b")]],
            vec![vec![json!(3), Value::Null]],
        ];
        let mut file = Vec::new();
        for records in &pages {
            file.extend(encoder.page(&Page { rows: &[], records }).expect("a page"));
        }
        file.extend(encoder.finish().expect("a footer"));
        assert!(encoder
            .page(&Page {
                rows: &[],
                records: &[]
            })
            .is_err());

        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
            .expect("a Parquet file")
            .build()
            .expect("a reader");
        let all: Vec<Record> = pages.concat();
        let expected = batch(&schema, &typed, &all).expect("a batch");
        let mut offset = 0;
        for read in reader {
            let read = read.expect("a batch");
            assert_eq!(read, expected.slice(offset, read.num_rows()));
            offset += read.num_rows();
        }
        assert_eq!(offset, all.len());
    }
}
