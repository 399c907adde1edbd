//! The report of kinds whose values are not categories (multiple choice, numbers, free
//! text, spans, boxes): the kind's own agreement measure from the statistics engine, the
//! consensus of every item, and per rater what can honestly be said: labels, gold accuracy
//! under the kind's rule, and agreement with the consensus of the other raters.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use super::kinds::{display, from_stored, Kind, Schema};
use super::report::{item_name, ReportInput};
use crate::quality::kinds::{
    box_agreement, multi_label_agreement, numeric_agreement, span_agreement, text_agreement,
    BoxAgreement, BoxShape, MultiLabelAgreement, NumericAgreement, Row, Span, SpanAgreement,
    TextAgreement,
};

/// The kind's agreement measure, whichever applies.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "measure", rename_all = "snake_case")]
pub enum KindMeasure {
    MultiLabel(MultiLabelAgreement),
    Numeric(NumericAgreement),
    Text(TextAgreement),
    Spans(SpanAgreement),
    Boxes(BoxAgreement),
}

/// One rater's figures under a kind that is not categorical.
#[derive(Debug, Clone, Serialize)]
pub struct KindRater {
    pub rater: String,
    pub pool: String,
    pub labels: usize,
    pub gold_items: usize,
    pub gold_accuracy: Option<f64>,
    /// Share of the rater's labels that agree (under the kind's rule) with the consensus of
    /// the other raters of the same item; items where the others tie or where nobody else
    /// labelled are left out and counted beside it.
    pub consensus_agreement: Option<f64>,
    pub consensus_items: usize,
    pub consensus_items_excluded: usize,
    pub median_ms: Option<f64>,
}

/// One item's consensus.
#[derive(Debug, Clone, Serialize)]
pub struct KindConsensus {
    pub item: String,
    pub value: Option<Value>,
    pub agreement: Option<f64>,
    pub labels: usize,
    /// Set when a reviewer's final label replaced the computed value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjudicated: Option<crate::quality::Adjudicated>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub items: usize,
    pub labels: usize,
    pub raters: Vec<KindRater>,
    pub agreement: KindMeasure,
    pub consensus: Vec<KindConsensus>,
}

impl KindReport {
    /// The report without its consensus row per item (see
    /// [`crate::quality::Report::without_consensus_rows`]).
    pub fn without_consensus_rows(&self) -> KindReport {
        let KindReport {
            items,
            labels,
            raters,
            agreement,
            consensus: _,
        } = self;
        KindReport {
            items: *items,
            labels: *labels,
            raters: raters.clone(),
            agreement: agreement.clone(),
            consensus: Vec::new(),
        }
    }
}

/// One label, parsed, with its item's name.
struct Parsed<'a> {
    item: i64,
    rater: &'a str,
    pool: &'a str,
    value: Value,
    duration_ms: Option<u32>,
}

/// The report and the consensus value per item id (for feedback agreement).
pub fn kind_report(schema: Schema<'_>, input: &ReportInput) -> (KindReport, HashMap<i64, Value>) {
    let labels: Vec<Parsed<'_>> = input
        .labels
        .iter()
        .map(|l| Parsed {
            item: l.item_id,
            rater: &l.rater,
            pool: l.pool.as_str(),
            value: from_stored(&l.value),
            duration_ms: l.duration_ms,
        })
        .collect();
    let names: HashMap<i64, String> = input
        .labels
        .iter()
        .map(|l| (l.item_id, item_name(l.item_id, l.external_id.as_deref())))
        .collect();
    let mut by_item: BTreeMap<i64, Vec<&Parsed<'_>>> = BTreeMap::new();
    for label in &labels {
        by_item.entry(label.item).or_default().push(label);
    }
    let mut consensus_by_id = HashMap::new();
    let mut consensus = Vec::new();
    for (item, item_labels) in &by_item {
        let values: Vec<Value> = item_labels.iter().map(|l| l.value.clone()).collect();
        let c = schema.consensus(&values);
        if let Some(value) = &c.value {
            consensus_by_id.insert(*item, value.clone());
        }
        consensus.push(KindConsensus {
            item: names.get(item).cloned().unwrap_or_default(),
            value: c.value,
            agreement: c.agreement,
            labels: c.labels,
            adjudicated: None,
        });
    }
    let report = KindReport {
        items: by_item.len(),
        labels: labels.len(),
        raters: raters(schema, &labels, &by_item, &input.gold),
        agreement: measure(schema, &labels, &names, input),
        consensus,
    };
    (report, consensus_by_id)
}

fn rows<T: serde::de::DeserializeOwned>(
    labels: &[Parsed<'_>],
    names: &HashMap<i64, String>,
) -> Vec<Row<T>> {
    labels
        .iter()
        .filter_map(|l| {
            let value = serde_json::from_value(l.value.clone()).ok()?;
            Some((names.get(&l.item)?.clone(), l.rater.to_string(), value))
        })
        .collect()
}

fn measure(
    schema: Schema<'_>,
    labels: &[Parsed<'_>],
    names: &HashMap<i64, String>,
    input: &ReportInput,
) -> KindMeasure {
    match schema.kind {
        Kind::MultiChoice => {
            KindMeasure::MultiLabel(multi_label_agreement(&rows::<Vec<String>>(labels, names)))
        }
        Kind::Numeric => KindMeasure::Numeric(numeric_agreement(&rows::<f64>(labels, names))),
        Kind::Spans => {
            let field = schema.settings.field.as_deref().unwrap_or("text");
            let texts: HashMap<String, String> = input
                .data
                .iter()
                .filter_map(|(id, data)| {
                    let text = data.get(field)?.as_str()?.to_string();
                    Some((names.get(id)?.clone(), text))
                })
                .collect();
            KindMeasure::Spans(span_agreement(&rows::<Vec<Span>>(labels, names), &texts))
        }
        Kind::Boxes => KindMeasure::Boxes(box_agreement(
            &rows::<Vec<BoxShape>>(labels, names),
            schema.settings.iou_threshold.unwrap_or(0.5),
        )),
        _ => KindMeasure::Text(text_agreement(
            &labels
                .iter()
                .filter_map(|l| {
                    Some((
                        names.get(&l.item)?.clone(),
                        l.rater.to_string(),
                        display(&l.value),
                    ))
                })
                .collect::<Vec<_>>(),
        )),
    }
}

fn raters(
    schema: Schema<'_>,
    labels: &[Parsed<'_>],
    by_item: &BTreeMap<i64, Vec<&Parsed<'_>>>,
    gold: &HashMap<i64, String>,
) -> Vec<KindRater> {
    let mut out: BTreeMap<&str, KindRater> = BTreeMap::new();
    let mut durations: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut tallies: HashMap<&str, (usize, usize, usize, usize)> = HashMap::new();
    for label in labels {
        let entry = out.entry(label.rater).or_insert_with(|| KindRater {
            rater: label.rater.to_string(),
            pool: label.pool.to_string(),
            labels: 0,
            gold_items: 0,
            gold_accuracy: None,
            consensus_agreement: None,
            consensus_items: 0,
            consensus_items_excluded: 0,
            median_ms: None,
        });
        entry.labels += 1;
        if let Some(ms) = label.duration_ms {
            durations
                .entry(label.rater)
                .or_default()
                .push(f64::from(ms));
        }
        // (gold seen, gold right, consensus compared, consensus agreeing)
        let tally = tallies.entry(label.rater).or_default();
        if let Some(answer) = gold.get(&label.item) {
            tally.0 += 1;
            tally.1 += usize::from(schema.matches(&label.value, &from_stored(answer)));
        }
        let others: Vec<Value> = by_item
            .get(&label.item)
            .into_iter()
            .flatten()
            .filter(|l| l.rater != label.rater)
            .map(|l| l.value.clone())
            .collect();
        match schema.consensus(&others).value {
            Some(theirs) if !others.is_empty() => {
                tally.2 += 1;
                tally.3 += usize::from(schema.matches(&label.value, &theirs));
            }
            _ => entry.consensus_items_excluded += 1,
        }
    }
    for (rater, entry) in out.iter_mut() {
        let (seen, right, compared, agreeing) = tallies.get(rater).copied().unwrap_or_default();
        entry.gold_items = seen;
        entry.gold_accuracy = (seen > 0).then(|| right as f64 / seen as f64);
        entry.consensus_items = compared;
        entry.consensus_agreement = (compared > 0).then(|| agreeing as f64 / compared as f64);
        entry.median_ms = durations.remove(rater).and_then(median);
    }
    out.into_values().collect()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}
