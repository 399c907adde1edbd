//! An export as records: the columns an export's options ask for, and each row (or each
//! label) as one value per column. Every format writes these same columns, so a field is
//! present in all of them or in none.

use serde_json::{json, Map, Value};

use super::options::{ExportOptions, LabelsKept, Rows};
use super::ExportRow;
use crate::domain::kinds::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    ItemId,
    ExternalId,
    Data,
    Labels,
    LabelCount,
    Rater,
    Pool,
    Value,
    DurationMs,
    CreatedAt,
    Comment,
    Consensus,
    ConsensusSource,
    Confidence,
    Majority,
    Agreement,
    Tied,
    Adjudicated,
    AdjudicatedBy,
    AdjudicationReason,
    Feedback,
    Gold,
    Split,
}

/// What a column holds, for formats with typed columns (Parquet, TFRecord).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Int,
    Float,
    Text,
    /// The item's data: an object of fields.
    Data,
    /// One answer in the project's kind.
    Answer,
    /// A list of answers (the tied values).
    Answers,
    /// The item's labels: a list of objects.
    Labels,
    /// The item's process feedback: a list of objects.
    Feedback,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::ItemId => "item_id",
            Column::ExternalId => "external_id",
            Column::Data => "data",
            Column::Labels => "labels",
            Column::LabelCount => "label_count",
            Column::Rater => "rater",
            Column::Pool => "pool",
            Column::Value => "value",
            Column::DurationMs => "duration_ms",
            Column::CreatedAt => "created_at",
            Column::Comment => "comment",
            Column::Consensus => "consensus",
            Column::ConsensusSource => "consensus_source",
            Column::Confidence => "confidence",
            Column::Majority => "majority",
            Column::Agreement => "agreement",
            Column::Tied => "tied",
            Column::Adjudicated => "adjudicated",
            Column::AdjudicatedBy => "adjudicated_by",
            Column::AdjudicationReason => "adjudication_reason",
            Column::Feedback => "feedback",
            Column::Gold => "gold",
            Column::Split => "split",
        }
    }

    pub fn shape(self) -> Shape {
        match self {
            Column::Id
            | Column::ItemId
            | Column::LabelCount
            | Column::DurationMs
            | Column::CreatedAt => Shape::Int,
            Column::Confidence | Column::Agreement => Shape::Float,
            Column::ExternalId
            | Column::Rater
            | Column::Pool
            | Column::Comment
            | Column::ConsensusSource
            | Column::AdjudicatedBy
            | Column::AdjudicationReason
            | Column::Split => Shape::Text,
            Column::Data => Shape::Data,
            Column::Value
            | Column::Consensus
            | Column::Majority
            | Column::Adjudicated
            | Column::Gold => Shape::Answer,
            Column::Tied => Shape::Answers,
            Column::Labels => Shape::Labels,
            Column::Feedback => Shape::Feedback,
        }
    }
}

/// How a kind's answers are typed where columns have types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerType {
    Text,
    Float,
    TextList,
    /// Structured answers (spans, boxes) travel as JSON text.
    Json,
}

impl AnswerType {
    pub fn of(kind: Kind) -> AnswerType {
        match kind {
            Kind::SingleChoice | Kind::ImageChoice | Kind::Text => AnswerType::Text,
            Kind::Rating | Kind::Numeric => AnswerType::Float,
            Kind::MultiChoice => AnswerType::TextList,
            Kind::Spans | Kind::Boxes => AnswerType::Json,
        }
    }
}

/// The columns an export writes, in order.
pub fn columns(options: &ExportOptions) -> Vec<Column> {
    use Column::*;
    let mut columns = match options.rows {
        Rows::Items => {
            let mut c = vec![Id, ExternalId, Data];
            if options.labels == LabelsKept::All {
                c.push(Labels);
            }
            c.extend([
                LabelCount,
                Consensus,
                ConsensusSource,
                Confidence,
                Majority,
                Agreement,
                Tied,
                Adjudicated,
                AdjudicatedBy,
                AdjudicationReason,
            ]);
            if options.include_feedback {
                c.push(Feedback);
            }
            c
        }
        Rows::Labels => vec![
            ItemId,
            ExternalId,
            Data,
            Rater,
            Pool,
            Value,
            DurationMs,
            CreatedAt,
            Comment,
            Consensus,
            ConsensusSource,
            Confidence,
            Agreement,
            Adjudicated,
            AdjudicatedBy,
            AdjudicationReason,
        ],
    };
    if options.include_gold {
        columns.push(Gold);
    }
    if options.split.is_some() {
        columns.push(Split);
    }
    columns
}

/// One record: a value per column, in the columns' order.
pub type Record = Vec<Value>;

/// The pool under which process feedback appears in one-row-per-label exports.
pub const FEEDBACK_POOL: &str = "feedback";

/// How many records [`records`] makes of a row, without making them.
pub fn record_count(row: &ExportRow, options: &ExportOptions) -> usize {
    match options.rows {
        Rows::Items => 1,
        Rows::Labels if options.include_feedback => row.labels.len() + row.feedback.len(),
        Rows::Labels => row.labels.len(),
    }
}

/// The records of one exported item: one, or one per label (and per feedback event, when
/// feedback is kept) for `rows=labels`.
pub fn records(row: &ExportRow, columns: &[Column], options: &ExportOptions) -> Vec<Record> {
    match options.rows {
        Rows::Items => vec![columns.iter().map(|c| item_cell(row, *c)).collect()],
        Rows::Labels => {
            let mut out: Vec<Record> = row
                .labels
                .iter()
                .map(|label| {
                    let own = LabelCells {
                        rater: Value::String(label.rater.clone()),
                        pool: Value::String(label.pool.clone()),
                        value: label.value.clone(),
                        duration_ms: label.duration_ms.into(),
                        created_at: label.created_at.into(),
                        comment: label.comment.clone().into(),
                    };
                    columns.iter().map(|c| label_cell(row, &own, *c)).collect()
                })
                .collect();
            if options.include_feedback {
                out.extend(row.feedback.iter().map(|event| {
                    let own = LabelCells {
                        rater: Value::String(event.source.clone()),
                        pool: Value::String(FEEDBACK_POOL.into()),
                        value: event.value.clone(),
                        duration_ms: Value::Null,
                        created_at: event.occurred_at.into(),
                        comment: Value::Null,
                    };
                    columns.iter().map(|c| label_cell(row, &own, *c)).collect()
                }));
            }
            out
        }
    }
}

struct LabelCells {
    rater: Value,
    pool: Value,
    value: Value,
    duration_ms: Value,
    created_at: Value,
    comment: Value,
}

fn label_cell(row: &ExportRow, own: &LabelCells, column: Column) -> Value {
    match column {
        Column::Rater => own.rater.clone(),
        Column::Pool => own.pool.clone(),
        Column::Value => own.value.clone(),
        Column::DurationMs => own.duration_ms.clone(),
        Column::CreatedAt => own.created_at.clone(),
        Column::Comment => own.comment.clone(),
        other => item_cell(row, other),
    }
}

fn item_cell(row: &ExportRow, column: Column) -> Value {
    let opt = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
    match column {
        Column::Id | Column::ItemId => row.id.into(),
        Column::ExternalId => row.external_id.clone().into(),
        Column::Data => Value::Object(row.data.clone()),
        Column::Labels => Value::Array(
            row.labels
                .iter()
                .map(|l| {
                    json!({
                        "rater": l.rater,
                        "pool": l.pool,
                        "value": l.value,
                        "duration_ms": l.duration_ms,
                        "created_at": l.created_at,
                        "comment": l.comment,
                    })
                })
                .collect(),
        ),
        Column::LabelCount => row.label_count.into(),
        Column::Consensus => opt(&row.consensus),
        Column::ConsensusSource => row.consensus_source.into(),
        Column::Confidence => row.confidence.into(),
        Column::Majority => opt(&row.majority),
        Column::Agreement => row.agreement.into(),
        Column::Tied => Value::Array(row.tied.clone()),
        Column::Adjudicated => opt(&row.adjudicated),
        Column::AdjudicatedBy => row.adjudication.as_ref().map(|a| a.by.clone()).into(),
        Column::AdjudicationReason => row.adjudication.as_ref().map(|a| a.reason.clone()).into(),
        Column::Feedback => Value::Array(
            row.feedback
                .iter()
                .map(|f| {
                    json!({
                        "source": f.source,
                        "value": f.value,
                        "raw_value": f.raw_value,
                        "weight": f.weight,
                        "occurred_at": f.occurred_at,
                        "context": Value::Object(f.context.clone()),
                    })
                })
                .collect(),
        ),
        Column::Gold => opt(&row.gold),
        Column::Split => row.split.into(),
        // Label-only columns have no item value.
        Column::Rater
        | Column::Pool
        | Column::Value
        | Column::DurationMs
        | Column::CreatedAt
        | Column::Comment => Value::Null,
    }
}

/// A record as a JSON object, keys in column order.
pub fn write_json_object(out: &mut Vec<u8>, columns: &[Column], record: &Record) {
    out.push(b'{');
    for (i, (column, value)) in columns.iter().zip(record).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(column.name().as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(value.to_string().as_bytes());
    }
    out.push(b'}');
}

/// A value as one CSV cell: text as it is, nothing as empty, the rest as JSON.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Item data without the fields an export drops.
pub fn drop_fields(data: &mut Map<String, Value>, dropped: &[String]) {
    for field in dropped {
        data.remove(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::{ExportFeedback, ExportLabel};

    fn row() -> ExportRow {
        let label = |rater: &str, value: &str| ExportLabel {
            rater: rater.into(),
            pool: "generalist".into(),
            value: json!(value),
            duration_ms: Some(1200),
            created_at: 10,
            comment: None,
            guideline_version: Some(1),
        };
        let mut data = Map::new();
        data.insert("text".into(), json!("hello"));
        let mut row = ExportRow {
            id: 7,
            external_id: Some("e7".into()),
            data,
            labels: vec![label("r1", "pos"), label("r2", "pos")],
            label_count: 2,
            consensus: Some(json!("pos")),
            consensus_source: Some("majority"),
            confidence: None,
            majority: Some(json!("pos")),
            agreement: Some(1.0),
            tied: vec![],
            adjudicated: None,
            adjudication: None,
            feedback: vec![],
            gold: None,
            split: None,
        };
        row.feedback.push(ExportFeedback {
            source: "thumbs".into(),
            value: json!("neg"),
            raw_value: "down".into(),
            weight: 1.0,
            occurred_at: 20,
            context: Map::new(),
        });
        row
    }

    #[test]
    fn optional_columns_follow_the_options() {
        let names =
            |o: &ExportOptions| -> Vec<&str> { columns(o).iter().map(|c| c.name()).collect() };
        let plain = names(&ExportOptions::default());
        assert!(
            plain.contains(&"labels") && plain.contains(&"feedback") && plain.contains(&"tied")
        );
        assert!(!plain.contains(&"gold") && !plain.contains(&"split"));
        let consensus_only = ExportOptions {
            labels: LabelsKept::Consensus,
            include_feedback: false,
            include_gold: true,
            ..ExportOptions::default()
        };
        let c = names(&consensus_only);
        assert!(!c.contains(&"labels") && !c.contains(&"feedback") && c.contains(&"gold"));
    }

    #[test]
    fn one_row_per_label_carries_feedback_as_its_own_pool() {
        let options = ExportOptions {
            rows: Rows::Labels,
            ..ExportOptions::default()
        };
        let cols = columns(&options);
        let recs = records(&row(), &cols, &options);
        assert_eq!(recs.len(), 3);
        let pool = cols
            .iter()
            .position(|c| *c == Column::Pool)
            .expect("pool column");
        assert_eq!(recs[2][pool], json!(FEEDBACK_POOL));
        let consensus = cols
            .iter()
            .position(|c| *c == Column::Consensus)
            .expect("consensus");
        assert!(recs.iter().all(|r| r[consensus] == json!("pos")));
    }

    #[test]
    fn the_record_count_is_what_records_makes() {
        for rows in [Rows::Items, Rows::Labels] {
            for include_feedback in [false, true] {
                let options = ExportOptions {
                    rows,
                    include_feedback,
                    ..ExportOptions::default()
                };
                let made = records(&row(), &columns(&options), &options).len();
                assert_eq!(
                    record_count(&row(), &options),
                    made,
                    "{rows:?} {include_feedback}"
                );
            }
        }
    }

    #[test]
    fn json_objects_keep_column_order() {
        let options = ExportOptions::default();
        let cols = columns(&options);
        let rec = records(&row(), &cols, &options).remove(0);
        let mut out = Vec::new();
        write_json_object(&mut out, &cols, &rec);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("{\"id\":7,\"external_id\":\"e7\",\"data\":{\"text\":\"hello\"}"));
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["labels"][0]["duration_ms"], json!(1200));
        assert_eq!(parsed["labels"][0]["comment"], Value::Null);
    }
}
