//! Label kinds: what one label holds in a project, checked once at the edge.
//!
//! A value arrives as JSON (a string, an array of strings, an integer, a number or an array
//! of objects) and leaves [`Schema::parse`] as its canonical JSON, which is what tally
//! stores (as JSON text), exports and compares. Each kind has its own module owning its
//! settings, its checks, its gold comparison and its consensus; the statistics come from
//! `crate::quality::kinds`, which works on plain types.

mod boxes;
mod choice;
mod multi;
mod numeric;
mod rating;
mod settings;
mod spans;
mod text;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Invalid;
pub use boxes::image_size;
pub use settings::{NumberRange, Scale, Settings, SettingsInput};

/// The kind of answer a project asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SingleChoice,
    MultiChoice,
    Rating,
    Numeric,
    Text,
    Spans,
    Boxes,
    ImageChoice,
}

impl Kind {
    /// The level of measurement a report uses unless asked for another: ratings are
    /// ordered, numbers are intervals, everything else is a set of categories.
    pub fn report_level(self) -> crate::quality::Level {
        match self {
            Kind::Rating => crate::quality::Level::Ordinal,
            Kind::Numeric => crate::quality::Level::Interval,
            _ => crate::quality::Level::Nominal,
        }
    }

    pub const ALL: [Kind; 8] = [
        Kind::SingleChoice,
        Kind::MultiChoice,
        Kind::Rating,
        Kind::Numeric,
        Kind::Text,
        Kind::Spans,
        Kind::Boxes,
        Kind::ImageChoice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SingleChoice => "single_choice",
            Kind::MultiChoice => "multi_choice",
            Kind::Rating => "rating",
            Kind::Numeric => "numeric",
            Kind::Text => "text",
            Kind::Spans => "spans",
            Kind::Boxes => "boxes",
            Kind::ImageChoice => "image_choice",
        }
    }

    /// The kind as people read it.
    pub fn title(self) -> &'static str {
        match self {
            Kind::SingleChoice => "Single choice",
            Kind::MultiChoice => "Multiple choice",
            Kind::Rating => "Rating",
            Kind::Numeric => "Number",
            Kind::Text => "Free text",
            Kind::Spans => "Text spans",
            Kind::Boxes => "Boxes on an image",
            Kind::ImageChoice => "Image choice",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                Invalid::new(
                    "kind",
                    format!("unknown kind {s:?}: use one of {}", names.join(", ")),
                )
            })
    }

    /// A value given as text (a CSV cell, a feedback value): kinds whose values are strings
    /// keep the text; the others read it as JSON (`4`, `[\"a\"]`), falling back to the text.
    pub fn value_from_text(self, text: &str) -> Value {
        let text_kind = matches!(self, Kind::SingleChoice | Kind::ImageChoice | Kind::Text);
        if text_kind {
            return Value::String(text.to_string());
        }
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    }

    /// Kinds whose values are categories (one of a known list), so the categorical report
    /// (alpha, kappas, Dawid-Skene, rater confusion) applies.
    pub fn is_categorical(self) -> bool {
        matches!(self, Kind::SingleChoice | Kind::ImageChoice | Kind::Rating)
    }

    /// Kinds whose values name labels from the project's label list.
    pub fn uses_labels(self) -> bool {
        !matches!(self, Kind::Rating | Kind::Numeric | Kind::Text)
    }

    /// Kinds that show an image from the item's data (the field named by `field`).
    pub fn shows_image(self) -> bool {
        matches!(self, Kind::Boxes | Kind::ImageChoice)
    }
}

/// A project's answer schema: its kind, its labels and the kind's settings.
#[derive(Debug, Clone, Copy)]
pub struct Schema<'a> {
    pub kind: Kind,
    pub labels: &'a [String],
    pub settings: &'a Settings,
}

/// The consensus of one item's labels under the project's kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consensus {
    /// The consensus value; `None` without labels or on a tie.
    pub value: Option<Value>,
    /// Share of the labels agreeing with the consensus (or with the leaders of a tie).
    pub agreement: Option<f64>,
    /// The values tied for first place, for kinds that count votes.
    pub tied: Vec<Value>,
    /// Labels agreeing with the consensus (the leader's count on a tie).
    pub agreeing: usize,
    /// Labels considered.
    pub labels: usize,
}

impl Consensus {
    pub fn is_tie(&self) -> bool {
        self.value.is_none() && self.labels > 0
    }
}

/// Most spans or boxes one label may carry: matching time grows fast with the count.
pub const MAX_UNITS: usize = 200;

impl Schema<'_> {
    /// Checks a value against the schema and returns its canonical JSON; a bad value names
    /// what is wrong under `field` (`value`, `gold`, `prediction`...).
    pub fn parse_as(&self, field: &str, raw: &Value) -> Result<Value, Invalid> {
        let parsed = match self.kind {
            Kind::SingleChoice | Kind::ImageChoice => choice::parse(self.labels, raw),
            Kind::MultiChoice => multi::parse(self.labels, self.settings, raw),
            Kind::Rating => rating::parse(self.settings, raw),
            Kind::Numeric => numeric::parse(self.settings, raw),
            Kind::Text => text::parse(self.settings, raw),
            Kind::Spans => spans::parse(self.labels, raw),
            Kind::Boxes => boxes::parse(self.labels, raw),
        };
        parsed.map_err(|reason| Invalid::new(field, reason))
    }

    /// [`Schema::parse_as`] for a label's `value`.
    pub fn parse(&self, raw: &Value) -> Result<Value, Invalid> {
        self.parse_as("value", raw)
    }

    /// The JSON value a plain HTML form sends: `values` are the form's `value` fields in
    /// order (several for multiple choice; spans and boxes send their list as JSON text).
    pub fn from_form(&self, values: &[String]) -> Result<Value, Invalid> {
        let invalid = |reason: &str| Invalid::new("value", reason);
        if self.kind == Kind::MultiChoice {
            return Ok(Value::Array(
                values.iter().map(|v| Value::String(v.clone())).collect(),
            ));
        }
        let [one] = values else {
            return Err(invalid("give one answer"));
        };
        match self.kind {
            Kind::Rating => one
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| invalid("must be a whole number")),
            Kind::Numeric => one
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| invalid("must be a number")),
            Kind::Spans | Kind::Boxes => serde_json::from_str(one)
                .map_err(|_| invalid("the marks did not arrive as JSON; reload the page")),
            _ => Ok(Value::String(one.clone())),
        }
    }

    /// Checks a parsed value against the item it is about: spans must lie inside the
    /// item's text, boxes inside its image wherever the image's size is known.
    pub fn check_for_item(
        &self,
        field: &str,
        value: &Value,
        data: &Map<String, Value>,
    ) -> Result<(), Invalid> {
        let checked = match self.kind {
            Kind::Spans => spans::check_for_item(self.settings, value, data),
            Kind::Boxes => boxes::check_for_item(self.settings, value, data),
            _ => Ok(()),
        };
        checked.map_err(|reason| Invalid::new(field, reason))
    }

    /// Whether a rater's value counts as the gold answer: exact for choices and sets,
    /// within the tolerance for ratings and numbers, equal after normalising for text, and
    /// matched at the IoU / F1 thresholds for spans and boxes.
    pub fn matches(&self, value: &Value, gold: &Value) -> bool {
        match self.kind {
            Kind::SingleChoice | Kind::ImageChoice | Kind::MultiChoice => value == gold,
            Kind::Rating => rating::within(self.settings, value, gold),
            Kind::Numeric => numeric::within(self.settings, value, gold),
            Kind::Text => text::equal(value, gold),
            Kind::Spans => spans::agree(self.settings, value, gold),
            Kind::Boxes => boxes::agree(self.settings, value, gold),
        }
    }

    /// The consensus of one item's values (parsed, canonical): majority for choices,
    /// per-label majority for multiple choice, median for ratings and numbers, the most
    /// common normalised text, and the units a majority matched for spans and boxes.
    pub fn consensus(&self, values: &[Value]) -> Consensus {
        match self.kind {
            Kind::SingleChoice | Kind::ImageChoice => choice::consensus(values),
            Kind::MultiChoice => multi::consensus(values),
            Kind::Rating => rating::consensus(self.settings, values),
            Kind::Numeric => numeric::consensus(self.settings, values),
            Kind::Text => text::consensus(values),
            Kind::Spans => spans::consensus(self.settings, values),
            Kind::Boxes => boxes::consensus(self.settings, values),
        }
    }

    /// How many categories away from a gold answer a categorical value still matches it:
    /// a rating's tolerance in scale steps, 0 for choices (see [`Schema::matches`]).
    pub fn gold_tolerance_steps(&self) -> u32 {
        match self.kind {
            Kind::Rating => u32::try_from(rating::steps(self.settings)).unwrap_or(u32::MAX),
            _ => 0,
        }
    }

    /// The category a value stands for in the categorical report (choices and ratings).
    pub fn category(&self, value: &Value) -> Option<String> {
        match (self.kind, value) {
            (Kind::SingleChoice | Kind::ImageChoice, Value::String(s)) => Some(s.clone()),
            (Kind::Rating, Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The categories of the categorical report, in scale order.
    pub fn categories(&self) -> Vec<String> {
        match self.kind {
            Kind::Rating => rating::points(self.settings)
                .map(|p| p.to_string())
                .collect(),
            _ => self.labels.to_vec(),
        }
    }
}

/// The categories of stored values (canonical JSON text), each distinct text parsed once.
/// A project's labels repeat a handful of values, so a report that reads hundreds of
/// thousands of labels parses a few values instead of one per label.
pub struct StoredCategories<'a> {
    schema: Schema<'a>,
    found: foldhash::HashMap<&'a str, Option<std::rc::Rc<str>>>,
    /// The last few values found, by address: a report's labels share their stored values,
    /// so most are found here without hashing the text.
    recent: Vec<(&'a str, Option<std::rc::Rc<str>>)>,
}

/// Values [`StoredCategories`] finds by address.
const RECENT_VALUES: usize = 8;

impl<'a> StoredCategories<'a> {
    pub fn new(schema: Schema<'a>) -> Self {
        StoredCategories {
            schema,
            found: Default::default(),
            recent: Vec::with_capacity(RECENT_VALUES),
        }
    }

    /// `Schema::category` of the stored value.
    pub fn of(&mut self, stored: &'a str) -> Option<std::rc::Rc<str>> {
        // The same address and length is the same text, alive for 'a.
        if let Some((_, category)) = self.recent.iter().find(|(s, _)| std::ptr::eq(*s, stored)) {
            return category.clone();
        }
        let schema = self.schema;
        let category = self
            .found
            .entry(stored)
            .or_insert_with(|| schema.category(&from_stored(stored)).map(Into::into))
            .clone();
        if self.recent.len() == RECENT_VALUES {
            self.recent.remove(0);
        }
        self.recent.push((stored, category.clone()));
        category
    }
}

/// A stored value (canonical JSON text) read back; text that is not JSON is taken as a
/// plain string, so nothing stored can make a reader fail.
pub fn from_stored(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| Value::String(stored.to_string()))
}

/// A canonical value as it is stored.
pub fn to_stored(value: &Value) -> String {
    value.to_string()
}

/// A value shown to people in one line: strings as they are, anything else as JSON.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Counts values by equality, in first-seen order: the leaders, their count and the total.
pub fn vote(values: &[Value]) -> Consensus {
    let mut counts: Vec<(&Value, usize)> = Vec::new();
    for value in values {
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += 1,
            None => counts.push((value, 1)),
        }
    }
    let Some(top) = counts.iter().map(|(_, n)| *n).max() else {
        return Consensus::default();
    };
    let leaders: Vec<Value> = counts
        .iter()
        .filter(|(_, n)| *n == top)
        .map(|(v, _)| (*v).clone())
        .collect();
    let agreement = Some(top as f64 / values.len() as f64);
    if leaders.len() == 1 {
        Consensus {
            value: leaders.into_iter().next(),
            agreement,
            tied: Vec::new(),
            agreeing: top,
            labels: values.len(),
        }
    } else {
        Consensus {
            value: None,
            agreement,
            tied: leaders,
            agreeing: top,
            labels: values.len(),
        }
    }
}

/// A consensus from the statistics engine's per-item result.
pub(super) fn from_item<V: Serialize>(
    item: Option<crate::quality::kinds::ItemConsensus<V>>,
) -> Consensus {
    let Some(item) = item else {
        return Consensus::default();
    };
    let value = serde_json::to_value(&item.value).ok();
    Consensus {
        value: if item.tie { None } else { value },
        agreement: Some(item.share),
        tied: Vec::new(),
        agreeing: item.agreeing,
        labels: item.raters,
    }
}

/// Values of one kind decoded from canonical JSON, skipping any that do not fit.
pub(super) fn decode_all<T: serde::de::DeserializeOwned>(values: &[Value]) -> Vec<T> {
    values
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

#[cfg(test)]
mod tests;
