//! Label Studio's JSON export: an array of tasks, each with its `data` and its labels as
//! `annotations` whose `result` regions use Label Studio's control tags (`choices`,
//! `rating`, `number`, `textarea`, `labels` for spans, `rectanglelabels` for boxes in
//! percent of the image). The control is named `label`; the object it labels is named
//! after the item data field it shows. Raters appear as their pseudonyms.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::{Encoder, Page};
use crate::domain::export::ExportRow;
use crate::domain::kinds::{image_size, Kind};
use crate::domain::project::Project;
use crate::domain::rfc3339_ms;

pub const CONTROL: &str = "label";

pub struct LabelStudioEncoder {
    kind: Kind,
    /// The data field the labels are about (Label Studio's `to_name`).
    object: String,
    started: bool,
    annotation_id: u64,
    /// Label Studio names annotators by number: one per pseudonym, in order of appearance.
    annotators: HashMap<String, u64>,
}

impl LabelStudioEncoder {
    pub fn new(project: &Project) -> Self {
        let object = if project.kind.shows_image() {
            project
                .settings
                .field
                .clone()
                .unwrap_or_else(|| "image".into())
        } else {
            project.presentation.text_field.clone()
        };
        LabelStudioEncoder {
            kind: project.kind,
            object,
            started: false,
            annotation_id: 0,
            annotators: HashMap::new(),
        }
    }

    fn task(&mut self, row: &ExportRow) -> Value {
        let mut annotations = Vec::new();
        for label in &row.labels {
            self.annotation_id += 1;
            let next = self.annotators.len() as u64 + 1;
            let annotator = *self.annotators.entry(label.rater.clone()).or_insert(next);
            let created = rfc3339_ms(label.created_at);
            annotations.push(json!({
                "id": self.annotation_id,
                "completed_by": {"id": annotator, "email": label.rater},
                "result": self.result(&label.value, &row.data),
                "was_cancelled": false,
                "ground_truth": label.pool == "expert",
                "created_at": created,
                "updated_at": created,
                "lead_time": label.duration_ms.map(|ms| ms as f64 / 1000.0),
                "task": row.id,
                "meta": {"pool": label.pool, "comment": label.comment},
            }));
        }
        let mut data = row.data.clone();
        if let Some(external_id) = &row.external_id {
            data.entry("external_id")
                .or_insert_with(|| Value::String(external_id.clone()));
        }
        let mut task = json!({
            "id": row.id,
            "data": data,
            "annotations": annotations,
            "meta": {
                "consensus": row.consensus,
                "consensus_source": row.consensus_source,
                "agreement": row.agreement,
            },
        });
        if let (Some(split), Value::Object(meta)) = (row.split, &mut task["meta"]) {
            meta.insert("split".into(), Value::String(split.into()));
        }
        task
    }

    /// One label's value as Label Studio result regions.
    fn result(&self, value: &Value, data: &Map<String, Value>) -> Value {
        let region = |kind: &str, value: Value| json!({"from_name": CONTROL, "to_name": self.object, "type": kind, "value": value});
        match self.kind {
            Kind::SingleChoice | Kind::ImageChoice => {
                json!([region("choices", json!({"choices": [value]}))])
            }
            Kind::MultiChoice => json!([region("choices", json!({"choices": value}))]),
            Kind::Rating => json!([region("rating", json!({"rating": value}))]),
            Kind::Numeric => json!([region("number", json!({"number": value}))]),
            Kind::Text => json!([region("textarea", json!({"text": [value]}))]),
            Kind::Spans => {
                let text: Vec<char> = data
                    .get(&self.object)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .collect();
                let spans = value.as_array().cloned().unwrap_or_default();
                Value::Array(
                    spans
                        .iter()
                        .enumerate()
                        .map(|(i, span)| {
                            let start = span["start"].as_u64().unwrap_or(0) as usize;
                            let end = span["end"].as_u64().unwrap_or(0) as usize;
                            let covered: String = text
                                .get(start.min(text.len())..end.min(text.len()))
                                .map(|c| c.iter().collect())
                                .unwrap_or_default();
                            let mut r = region(
                                "labels",
                                json!({"start": start, "end": end, "text": covered, "labels": [span["label"]]}),
                            );
                            r["id"] = Value::String(format!("s{i}"));
                            r
                        })
                        .collect(),
                )
            }
            Kind::Boxes => {
                let Some((width, height)) = image_size(data, &self.object) else {
                    // Without the image's size, pixels cannot become Label Studio's percent.
                    return Value::Array(Vec::new());
                };
                let boxes = value.as_array().cloned().unwrap_or_default();
                Value::Array(
                    boxes
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            let pct =
                                |v: &Value, whole: f64| v.as_f64().unwrap_or(0.0) / whole * 100.0;
                            let mut r = region(
                                "rectanglelabels",
                                json!({
                                    "x": pct(&b["x"], width),
                                    "y": pct(&b["y"], height),
                                    "width": pct(&b["w"], width),
                                    "height": pct(&b["h"], height),
                                    "rotation": 0,
                                    "rectanglelabels": [b["label"]],
                                }),
                            );
                            r["id"] = Value::String(format!("b{i}"));
                            r["original_width"] = json!(width);
                            r["original_height"] = json!(height);
                            r
                        })
                        .collect(),
                )
            }
        }
    }
}

impl Encoder for LabelStudioEncoder {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        for row in page.rows {
            out.extend_from_slice(if self.started { b",\n" } else { b"[\n" });
            self.started = true;
            serde_json::to_writer(&mut out, &self.task(row))?;
        }
        Ok(out)
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(if self.started {
            b"\n]\n".to_vec()
        } else {
            b"[]\n".to_vec()
        })
    }
}
