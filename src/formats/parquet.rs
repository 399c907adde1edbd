//! Parquet through the arrow and parquet crates. Each page becomes a row group, so memory
//! holds one page. Item data is a struct of its fields, labels a list of structs, answers
//! typed by the project's kind (text, float, list of text; spans and boxes as JSON text).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use super::{DataFields, Encoder, FieldType, Page, Target};
use crate::domain::export::records::{AnswerType, Column, Shape};

pub struct ParquetEncoder {
    columns: Vec<Column>,
    schema: SchemaRef,
    answer: AnswerType,
    data_fields: DataFields,
    writer: Option<ArrowWriter<Vec<u8>>>,
}

fn answer_type(answer: AnswerType) -> DataType {
    match answer {
        AnswerType::Text | AnswerType::Json => DataType::Utf8,
        AnswerType::Float => DataType::Float64,
        AnswerType::TextList => list_of(DataType::Utf8),
    }
}

fn list_of(inner: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", inner, true)))
}

fn field_type(ty: FieldType) -> DataType {
    match ty {
        FieldType::Bool => DataType::Boolean,
        FieldType::Int => DataType::Int64,
        FieldType::Float => DataType::Float64,
        FieldType::Text | FieldType::Json => DataType::Utf8,
    }
}

fn column_type(shape: Shape, answer: AnswerType, data: &DataFields) -> DataType {
    let answer_dt = answer_type(answer);
    match shape {
        Shape::Int => DataType::Int64,
        Shape::Float => DataType::Float64,
        Shape::Text => DataType::Utf8,
        // Parquet has no empty struct: data without fields is JSON text.
        Shape::Data if data.fields.is_empty() => DataType::Utf8,
        Shape::Data => DataType::Struct(Fields::from(
            data.fields
                .iter()
                .map(|(name, ty)| Field::new(name, field_type(*ty), true))
                .collect::<Vec<_>>(),
        )),
        Shape::Answer => answer_dt,
        Shape::Answers => list_of(answer_dt),
        Shape::Labels => list_of(DataType::Struct(Fields::from(vec![
            Field::new("rater", DataType::Utf8, true),
            Field::new("pool", DataType::Utf8, true),
            Field::new("value", answer_dt, true),
            Field::new("duration_ms", DataType::Int64, true),
            Field::new("created_at", DataType::Int64, true),
            Field::new("comment", DataType::Utf8, true),
        ]))),
        Shape::Feedback => list_of(DataType::Struct(Fields::from(vec![
            Field::new("source", DataType::Utf8, true),
            Field::new("value", answer_dt, true),
            Field::new("raw_value", DataType::Utf8, true),
            Field::new("weight", DataType::Float64, true),
            Field::new("occurred_at", DataType::Int64, true),
            Field::new("context", DataType::Utf8, true),
        ]))),
    }
}

impl ParquetEncoder {
    pub fn new(target: &Target<'_>) -> anyhow::Result<Self> {
        let answer = AnswerType::of(target.project.kind);
        let fields: Vec<Field> = target
            .columns
            .iter()
            .map(|c| {
                Field::new(
                    c.name(),
                    column_type(c.shape(), answer, &target.data_fields),
                    true,
                )
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("tally {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))?;
        Ok(ParquetEncoder {
            columns: target.columns.clone(),
            schema,
            answer,
            data_fields: target.data_fields.clone(),
            writer: Some(writer),
        })
    }

    /// A record as a JSON object whose values have the column types: JSON-typed values
    /// become text, numbers that should be text become text, and so on.
    fn typed(&self, record: &[Value]) -> Value {
        let mut object = Map::new();
        for (column, value) in self.columns.iter().zip(record) {
            let typed = match column.shape() {
                Shape::Data => self.typed_data(value),
                Shape::Answer => typed_answer(self.answer, value),
                Shape::Answers => map_list(value, |v| typed_answer(self.answer, v)),
                Shape::Labels => map_list(value, |label| {
                    with_typed(label, self.answer, &["rater", "pool", "comment"])
                }),
                Shape::Feedback => map_list(value, |event| {
                    with_typed(event, self.answer, &["source", "raw_value", "context"])
                }),
                Shape::Text => as_text(value),
                Shape::Int | Shape::Float => value.clone(),
            };
            object.insert(column.name().to_string(), typed);
        }
        Value::Object(object)
    }

    fn typed_data(&self, data: &Value) -> Value {
        if self.data_fields.fields.is_empty() {
            return Value::String(data.to_string());
        }
        let Value::Object(data) = data else {
            return Value::Null;
        };
        let mut out = Map::new();
        for (name, value) in data {
            let typed = match self.data_fields.fields.get(name) {
                Some(FieldType::Json) => match value {
                    Value::Null => Value::Null,
                    Value::String(s) => Value::String(s.clone()),
                    other => Value::String(other.to_string()),
                },
                Some(_) => value.clone(),
                None => continue,
            };
            out.insert(name.clone(), typed);
        }
        Value::Object(out)
    }
}

fn as_text(value: &Value) -> Value {
    match value {
        Value::Null | Value::String(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

fn typed_answer(answer: AnswerType, value: &Value) -> Value {
    match (answer, value) {
        (_, Value::Null) => Value::Null,
        (AnswerType::Float, Value::Number(_)) => value.clone(),
        (AnswerType::Float, Value::String(s)) => s
            .parse::<f64>()
            .ok()
            .map(Value::from)
            .unwrap_or(Value::Null),
        (AnswerType::Float, _) => Value::Null,
        (AnswerType::TextList, Value::Array(items)) => {
            Value::Array(items.iter().map(as_text).collect())
        }
        (AnswerType::TextList, other) => Value::Array(vec![as_text(other)]),
        (AnswerType::Text | AnswerType::Json, other) => as_text(other),
    }
}

fn map_list(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(f).collect()),
        _ => Value::Null,
    }
}

/// A label or feedback object with its `value` typed as an answer and the `texts` keys
/// as text (JSON text for anything that is not a string).
fn with_typed(object: &Value, answer: AnswerType, texts: &[&str]) -> Value {
    let Value::Object(map) = object else {
        return Value::Null;
    };
    let mut out = map.clone();
    if let Some(v) = map.get("value") {
        out.insert("value".to_string(), typed_answer(answer, v));
    }
    for key in texts {
        if let Some(v) = map.get(*key) {
            out.insert((*key).to_string(), as_text(v));
        }
    }
    Value::Object(out)
}

impl Encoder for ParquetEncoder {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let rows: Vec<Value> = page.records.iter().map(|r| self.typed(r)).collect();
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the Parquet file is already closed"))?;
        if rows.is_empty() {
            return Ok(std::mem::take(writer.inner_mut()));
        }
        let mut decoder = arrow_json::ReaderBuilder::new(self.schema.clone())
            .with_batch_size(rows.len().max(1))
            .build_decoder()?;
        decoder.serialize(&rows)?;
        if let Some(batch) = decoder.flush()? {
            writer.write(&batch)?;
        }
        writer.flush()?;
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
