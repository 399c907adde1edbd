//! Label Studio's JSON export: an array of tasks, each with its `data` and its labels as
//! `annotations` whose `result` regions use Label Studio's control tags (`choices`,
//! `rating`, `number`, `textarea`, `labels` for spans, `rectanglelabels` for boxes in
//! percent of the image). The control is named `label`; the object it labels is named
//! after the item data field it shows. Raters appear as their pseudonyms.

use std::collections::HashMap;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Encoder, Page, PageSize};
use crate::domain::export::ExportRow;
use crate::domain::kinds::{image_size, Kind};
use crate::domain::project::Project;
use crate::domain::rfc3339_ms;

pub const CONTROL: &str = "label";

// A task as Label Studio reads it, written straight from the row. The fields of each struct
// are in name order, as serde_json writes the keys of a map, so the file reads as it did when
// each task was built as a JSON value first.

#[derive(Serialize)]
struct Task<'a> {
    annotations: Vec<Annotation<'a>>,
    data: TaskData<'a>,
    id: i64,
    meta: TaskMeta<'a>,
}

#[derive(Serialize)]
struct TaskMeta<'a> {
    agreement: Option<f64>,
    consensus: Option<&'a Value>,
    consensus_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    split: Option<&'static str>,
}

#[derive(Serialize)]
struct Annotation<'a> {
    completed_by: Annotator<'a>,
    created_at: String,
    ground_truth: bool,
    id: u64,
    lead_time: Option<f64>,
    meta: AnnotationMeta<'a>,
    result: Vec<Region<'a>>,
    task: i64,
    updated_at: String,
    was_cancelled: bool,
}

#[derive(Serialize)]
struct Annotator<'a> {
    email: &'a str,
    id: u64,
}

#[derive(Serialize)]
struct AnnotationMeta<'a> {
    comment: Option<&'a str>,
    pool: &'a str,
}

/// One result region: a control's answer about the object it labels.
#[derive(Serialize)]
struct Region<'a> {
    from_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_height: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_width: Option<f64>,
    to_name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: RegionValue<'a>,
}

/// A region's answer, borrowed from the label; fields in name order, like the rest.
#[derive(Serialize)]
#[serde(untagged)]
enum RegionValue<'a> {
    OneChoice {
        choices: [&'a Value; 1],
    },
    Choices {
        choices: &'a Value,
    },
    Rating {
        rating: &'a Value,
    },
    Number {
        number: &'a Value,
    },
    Text {
        text: [&'a Value; 1],
    },
    Span {
        end: usize,
        labels: [&'a Value; 1],
        start: usize,
        text: String,
    },
    Rectangle {
        height: f64,
        rectanglelabels: [&'a Value; 1],
        rotation: u8,
        width: f64,
        x: f64,
        y: f64,
    },
}

/// The item's data with its external id as `external_id`, unless the data has a field of
/// that name.
struct TaskData<'a> {
    data: &'a Map<String, Value>,
    external_id: Option<&'a str>,
}

impl Serialize for TaskData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const KEY: &str = "external_id";
        let added = self.external_id.filter(|_| !self.data.contains_key(KEY));
        let mut map =
            serializer.serialize_map(Some(self.data.len() + usize::from(added.is_some())))?;
        let mut pending = added;
        for (key, value) in self.data {
            if let Some(id) = pending.filter(|_| key.as_str() > KEY) {
                map.serialize_entry(KEY, id)?;
                pending = None;
            }
            map.serialize_entry(key, value)?;
        }
        if let Some(id) = pending {
            map.serialize_entry(KEY, id)?;
        }
        map.end()
    }
}

pub struct LabelStudioEncoder {
    kind: Kind,
    /// The data field the labels are about (Label Studio's `to_name`).
    object: String,
    started: bool,
    annotation_id: u64,
    /// Label Studio names annotators by number: one per pseudonym, in order of appearance.
    annotators: HashMap<String, u64>,
    page_size: PageSize,
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
            page_size: PageSize::default(),
        }
    }

    fn task<'a>(&'a mut self, row: &'a ExportRow) -> Task<'a> {
        let (kind, object) = (self.kind, self.object.as_str());
        let (annotation_id, annotators) = (&mut self.annotation_id, &mut self.annotators);
        let annotations = row
            .labels
            .iter()
            .map(|label| {
                *annotation_id += 1;
                let annotator = match annotators.get(&label.rater) {
                    Some(id) => *id,
                    None => {
                        let id = annotators.len() as u64 + 1;
                        annotators.insert(label.rater.clone(), id);
                        id
                    }
                };
                let created = rfc3339_ms(label.created_at);
                Annotation {
                    completed_by: Annotator {
                        email: &label.rater,
                        id: annotator,
                    },
                    updated_at: created.clone(),
                    created_at: created,
                    ground_truth: label.pool == "expert",
                    id: *annotation_id,
                    lead_time: label.duration_ms.map(|ms| ms as f64 / 1000.0),
                    meta: AnnotationMeta {
                        comment: label.comment.as_deref(),
                        pool: &label.pool,
                    },
                    result: result(kind, object, &label.value, &row.data),
                    task: row.id,
                    was_cancelled: false,
                }
            })
            .collect();
        Task {
            annotations,
            data: TaskData {
                data: &row.data,
                external_id: row.external_id.as_deref(),
            },
            id: row.id,
            meta: TaskMeta {
                agreement: row.agreement,
                consensus: row.consensus.as_ref(),
                consensus_source: row.consensus_source,
                split: row.split,
            },
        }
    }
}

/// One label's value as Label Studio result regions.
fn result<'a>(
    kind: Kind,
    object: &'a str,
    value: &'a Value,
    data: &Map<String, Value>,
) -> Vec<Region<'a>> {
    let region = |kind: &'static str, value: RegionValue<'a>| Region {
        from_name: CONTROL,
        id: None,
        original_height: None,
        original_width: None,
        to_name: object,
        kind,
        value,
    };
    match kind {
        Kind::SingleChoice | Kind::ImageChoice => vec![region(
            "choices",
            RegionValue::OneChoice { choices: [value] },
        )],
        Kind::MultiChoice => vec![region("choices", RegionValue::Choices { choices: value })],
        Kind::Rating => vec![region("rating", RegionValue::Rating { rating: value })],
        Kind::Numeric => vec![region("number", RegionValue::Number { number: value })],
        Kind::Text => vec![region("textarea", RegionValue::Text { text: [value] })],
        Kind::Spans => {
            let text: Vec<char> = data
                .get(object)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .collect();
            let spans = value.as_array().map(Vec::as_slice).unwrap_or_default();
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
                    Region {
                        id: Some(format!("s{i}")),
                        ..region(
                            "labels",
                            RegionValue::Span {
                                end,
                                labels: [&span["label"]],
                                start,
                                text: covered,
                            },
                        )
                    }
                })
                .collect()
        }
        Kind::Boxes => {
            let Some((width, height)) = image_size(data, object) else {
                // Without the image's size, pixels cannot become Label Studio's percent.
                return Vec::new();
            };
            let boxes = value.as_array().map(Vec::as_slice).unwrap_or_default();
            boxes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let pct = |v: &Value, whole: f64| v.as_f64().unwrap_or(0.0) / whole * 100.0;
                    Region {
                        id: Some(format!("b{i}")),
                        original_height: Some(height),
                        original_width: Some(width),
                        ..region(
                            "rectanglelabels",
                            RegionValue::Rectangle {
                                height: pct(&b["h"], height),
                                rectanglelabels: [&b["label"]],
                                rotation: 0,
                                width: pct(&b["w"], width),
                                x: pct(&b["x"], width),
                                y: pct(&b["y"], height),
                            },
                        )
                    }
                })
                .collect()
        }
    }
}

impl Encoder for LabelStudioEncoder {
    fn page(&mut self, page: &Page<'_>) -> anyhow::Result<Vec<u8>> {
        let mut out = self.page_size.buffer();
        for row in page.rows {
            out.extend_from_slice(if self.started { b",\n" } else { b"[\n" });
            self.started = true;
            let task = self.task(row);
            serde_json::to_writer(&mut out, &task)?;
        }
        self.page_size.record(&out);
        Ok(out)
    }

    fn reads_records(&self) -> bool {
        false
    }

    fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(if self.started {
            b"\n]\n".to_vec()
        } else {
            b"[]\n".to_vec()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::ExportLabel;
    use serde_json::json;

    fn encoder(kind: Kind, object: &str) -> LabelStudioEncoder {
        LabelStudioEncoder {
            kind,
            object: object.into(),
            started: false,
            annotation_id: 0,
            annotators: HashMap::new(),
            page_size: PageSize::default(),
        }
    }

    fn row(data: Value, external_id: Option<&str>, values: &[Value]) -> ExportRow {
        let labels = values
            .iter()
            .enumerate()
            .map(|(i, value)| ExportLabel {
                rater: format!("r{}", i % 2),
                pool: if i == 0 { "expert" } else { "generalist" }.into(),
                value: value.clone(),
                duration_ms: (i > 0).then_some(1500),
                created_at: 1_700_000_000_000 + i as i64,
                comment: (i == 1).then(|| "unsure".into()),
                guideline_version: None,
            })
            .collect::<Vec<_>>();
        ExportRow {
            id: 7,
            external_id: external_id.map(Into::into),
            data: data.as_object().cloned().unwrap_or_default(),
            label_count: labels.len(),
            labels,
            consensus: values.first().cloned(),
            consensus_source: Some("majority"),
            confidence: None,
            majority: values.first().cloned(),
            agreement: Some(0.5),
            tied: vec![],
            adjudicated: None,
            adjudication: None,
            feedback: vec![],
            gold: None,
            split: Some("train"),
        }
    }

    /// The task as written, and as written again after a round trip through a JSON value
    /// (whose maps put keys in name order).
    fn written_and_sorted(encoder: &mut LabelStudioEncoder, row: &ExportRow) -> (String, String) {
        let task = encoder.task(row);
        let written = serde_json::to_string(&task).expect("task");
        let value = serde_json::to_value(&task).expect("task");
        (written, serde_json::to_string(&value).expect("value"))
    }

    #[test]
    fn tasks_of_every_region_shape_are_written_with_keys_in_name_order() {
        let cases = [
            (
                encoder(Kind::SingleChoice, "text"),
                row(
                    json!({"text": "fine", "a": 1}),
                    Some("e7"),
                    &[json!("pos"), json!("neg")],
                ),
            ),
            (
                encoder(Kind::MultiChoice, "text"),
                row(json!({"text": "t"}), None, &[json!(["a", "b"]), json!([])]),
            ),
            (
                encoder(Kind::Rating, "text"),
                row(json!({"text": "t"}), None, &[json!(4), json!(2)]),
            ),
            (
                encoder(Kind::Numeric, "text"),
                row(json!({"text": "t"}), None, &[json!(0.25)]),
            ),
            (
                encoder(Kind::Text, "text"),
                row(json!({"text": "t"}), None, &[json!("a \"quoted\" answer")]),
            ),
            (
                encoder(Kind::Spans, "text"),
                row(
                    json!({"text": "Ada met Bob"}),
                    None,
                    &[
                        json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 8, "end": 11, "label": "PER"}]),
                    ],
                ),
            ),
            (
                encoder(Kind::Boxes, "image"),
                row(
                    json!({"image": {"url": "a.png", "width": 200, "height": 100}}),
                    Some("img-1"),
                    &[
                        json!([{"x": 10, "y": 20, "w": 50, "h": 25, "label": "cat"}]),
                        json!([]),
                    ],
                ),
            ),
        ];
        for (mut encoder, row) in cases {
            let (written, sorted) = written_and_sorted(&mut encoder, &row);
            assert_eq!(written, sorted);
        }
    }

    #[test]
    fn the_external_id_joins_the_data_unless_the_data_has_a_field_of_that_name() {
        let mut encoder = encoder(Kind::SingleChoice, "text");
        let with_id = row(json!({"a": 1, "text": "t"}), Some("e7"), &[json!("pos")]);
        let task = serde_json::to_value(encoder.task(&with_id)).expect("task");
        assert_eq!(
            task["data"],
            json!({"a": 1, "external_id": "e7", "text": "t"})
        );
        let own_field = row(json!({"external_id": "mine"}), Some("e7"), &[json!("pos")]);
        let task = serde_json::to_value(encoder.task(&own_field)).expect("task");
        assert_eq!(task["data"], json!({"external_id": "mine"}));
    }

    #[test]
    fn spans_and_boxes_become_label_studio_regions() {
        let mut spans = encoder(Kind::Spans, "text");
        let text = row(
            json!({"text": "Ada met Bob"}),
            None,
            &[json!([{"start": 8, "end": 11, "label": "PER"}])],
        );
        let task = serde_json::to_value(spans.task(&text)).expect("task");
        let region = &task["annotations"][0]["result"][0];
        assert_eq!(region["id"], "s0");
        assert_eq!(region["type"], "labels");
        assert_eq!(region["value"]["text"], "Bob");
        assert_eq!(task["annotations"][0]["ground_truth"], true);

        let mut boxes = encoder(Kind::Boxes, "image");
        let image = row(
            json!({"image": {"url": "a.png", "width": 200, "height": 100}}),
            None,
            &[json!([{"x": 10, "y": 20, "w": 50, "h": 25, "label": "cat"}])],
        );
        let task = serde_json::to_value(boxes.task(&image)).expect("task");
        let region = &task["annotations"][0]["result"][0];
        assert_eq!(region["type"], "rectanglelabels");
        assert_eq!(region["original_width"], 200.0);
        assert_eq!(region["value"]["x"], 5.0);
        assert_eq!(region["value"]["height"], 25.0);
        assert_eq!(task["meta"]["split"], "train");
    }
}
