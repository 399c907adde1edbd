//! TFRecord files of `tf.train.Example`, what TFX's ExampleGen and `tf.data` read.
//!
//! A record is framed as the format defines it: the length as a little-endian u64, the
//! masked CRC-32C of those 8 bytes, the serialized Example, and the masked CRC-32C of it.
//! Each column becomes a feature; each item data field a feature of its own name (a field
//! named like a column gets `data.` in front). Empty values are left out, as tf.Example
//! has no nulls.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{DataFields, Encoder, FieldType, Page, PageSize, Target};
use crate::domain::export::records::{AnswerType, Column, Shape};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Example {
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    #[prost(oneof = "FeatureKind", tags = "1, 2, 3")]
    pub kind: Option<FeatureKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FeatureKind {
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    #[prost(float, repeated, tag = "1")]
    pub value: Vec<f32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

pub struct TfRecordEncoder {
    columns: Vec<Column>,
    answer: AnswerType,
    data_fields: DataFields,
    page_size: PageSize,
}

impl TfRecordEncoder {
    pub fn new(target: &Target<'_>) -> Self {
        TfRecordEncoder {
            columns: target.columns.clone(),
            answer: AnswerType::of(target.project.kind),
            data_fields: target.data_fields.clone(),
            page_size: PageSize::default(),
        }
    }

    fn example(&self, record: &[Value]) -> Example {
        let mut feature = BTreeMap::new();
        for (column, value) in self.columns.iter().zip(record) {
            if column.shape() == Shape::Data {
                self.data_features(value, &mut feature);
                continue;
            }
            if let Some(f) = self.column_feature(column.shape(), value) {
                feature.insert(column.name().to_string(), f);
            }
        }
        Example {
            features: Some(Features { feature }),
        }
    }

    fn data_features(&self, data: &Value, out: &mut BTreeMap<String, Feature>) {
        let Value::Object(data) = data else { return };
        for (name, value) in data {
            let ty = self
                .data_fields
                .fields
                .get(name)
                .copied()
                .unwrap_or(FieldType::Json);
            let feature = match (ty, value) {
                (_, Value::Null) => None,
                (FieldType::Bool, Value::Bool(b)) => Some(ints(vec![i64::from(*b)])),
                (FieldType::Int, v) => v.as_i64().map(|i| ints(vec![i])),
                (FieldType::Float, v) => v.as_f64().map(|f| floats(vec![f as f32])),
                (FieldType::Text, Value::String(s)) => Some(bytes(vec![s.as_bytes().to_vec()])),
                (_, v) => Some(bytes(vec![v.to_string().into_bytes()])),
            };
            if let Some(feature) = feature {
                let taken = self.columns.iter().any(|c| c.name() == name);
                let key = if taken {
                    format!("data.{name}")
                } else {
                    name.clone()
                };
                out.insert(key, feature);
            }
        }
    }

    fn column_feature(&self, shape: Shape, value: &Value) -> Option<Feature> {
        match (shape, value) {
            (_, Value::Null) => None,
            (Shape::Int, v) => v.as_i64().map(|i| ints(vec![i])),
            (Shape::Float, v) => v.as_f64().map(|f| floats(vec![f as f32])),
            (Shape::Text, Value::String(s)) => Some(bytes(vec![s.as_bytes().to_vec()])),
            (Shape::Answer, v) => self.answers(std::slice::from_ref(v)),
            (Shape::Answers, Value::Array(list)) if !list.is_empty() => self.answers(list),
            (Shape::Labels | Shape::Feedback, Value::Array(list)) if !list.is_empty() => Some(
                bytes(list.iter().map(|v| v.to_string().into_bytes()).collect()),
            ),
            (Shape::Answers | Shape::Labels | Shape::Feedback, _) => None,
            (_, v) => Some(bytes(vec![v.to_string().into_bytes()])),
        }
    }

    /// Answers typed by the kind: text as bytes, ratings and numbers as floats, a
    /// multiple choice as its labels; structured answers as JSON text.
    fn answers(&self, values: &[Value]) -> Option<Feature> {
        match self.answer {
            AnswerType::Float => {
                let v: Vec<f32> = values
                    .iter()
                    .filter_map(|v| v.as_f64())
                    .map(|f| f as f32)
                    .collect();
                Some(floats(v))
            }
            AnswerType::Text => Some(bytes(values.iter().map(text_bytes).collect())),
            AnswerType::TextList if values.len() == 1 => match &values[0] {
                Value::Array(labels) => Some(bytes(labels.iter().map(text_bytes).collect())),
                other => Some(bytes(vec![text_bytes(other)])),
            },
            AnswerType::TextList | AnswerType::Json => Some(bytes(
                values.iter().map(|v| v.to_string().into_bytes()).collect(),
            )),
        }
    }

    /// Appends one framed record, the Example encoded in place after its header.
    fn frame(example: &Example, out: &mut Vec<u8>) -> Result<(), prost::EncodeError> {
        let length = (prost::Message::encoded_len(example) as u64).to_le_bytes();
        out.extend_from_slice(&length);
        out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
        let body_starts = out.len();
        prost::Message::encode(example, out)?;
        let body_crc = masked_crc32c(&out[body_starts..]);
        out.extend_from_slice(&body_crc.to_le_bytes());
        Ok(())
    }
}

fn text_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

fn ints(value: Vec<i64>) -> Feature {
    Feature {
        kind: Some(FeatureKind::Int64List(Int64List { value })),
    }
}

fn floats(value: Vec<f32>) -> Feature {
    Feature {
        kind: Some(FeatureKind::FloatList(FloatList { value })),
    }
}

fn bytes(value: Vec<Vec<u8>>) -> Feature {
    Feature {
        kind: Some(FeatureKind::BytesList(BytesList { value })),
    }
}

impl Encoder for TfRecordEncoder {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let mut out = self.page_size.buffer();
        for record in page.records {
            Self::frame(&self.example(record), &mut out)?;
        }
        self.page_size.record(&out);
        Ok(out)
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// CRC-32C, masked as TFRecord masks it (rotated right by 15 bits, plus a constant).
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Reads a TFRecord file back, checking both CRCs of every record.
pub fn read_records(mut bytes: &[u8]) -> anyhow::Result<Vec<Example>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        anyhow::ensure!(bytes.len() >= 12, "a record header is cut short");
        let (length, rest) = bytes.split_at(8);
        let (length_crc, rest) = rest.split_at(4);
        anyhow::ensure!(
            masked_crc32c(length).to_le_bytes() == length_crc,
            "the length CRC does not match"
        );
        let mut le = [0u8; 8];
        le.copy_from_slice(length);
        let length = usize::try_from(u64::from_le_bytes(le))?;
        anyhow::ensure!(rest.len() >= length + 4, "a record is cut short");
        let (body, rest) = rest.split_at(length);
        let (body_crc, rest) = rest.split_at(4);
        anyhow::ensure!(
            masked_crc32c(body).to_le_bytes() == body_crc,
            "the data CRC does not match"
        );
        out.push(prost::Message::decode(body)?);
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_the_castagnoli_polynomial() {
        // The check value of CRC-32C over "123456789".
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn framing_round_trips_and_a_flipped_bit_is_caught() {
        let mut feature = BTreeMap::new();
        feature.insert("label".to_string(), bytes(vec![b"pos".to_vec()]));
        feature.insert("id".to_string(), ints(vec![7]));
        let example = Example {
            features: Some(Features { feature }),
        };
        let mut out = Vec::new();
        TfRecordEncoder::frame(&example, &mut out).expect("framed");
        TfRecordEncoder::frame(&example, &mut out).expect("framed");
        let back = read_records(&out).expect("valid records");
        assert_eq!(back, vec![example.clone(), example]);
        let last = out.len() - 6;
        out[last] ^= 1;
        assert!(read_records(&out).is_err());
    }
}
