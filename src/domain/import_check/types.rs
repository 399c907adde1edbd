//! The type of a data value, as the check counts them per field. CSV cells are all text,
//! so their type is inferred: a number, `true`/`false`, empty, or text.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Tally;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    String,
    Number,
    Boolean,
    Null,
    Empty,
    Object,
    Array,
}

impl ValueType {
    /// The type of a JSON value, or of a CSV cell's text (`from_csv`).
    pub fn of(value: &Value, from_csv: bool) -> ValueType {
        match value {
            Value::String(text) if from_csv => ValueType::of_text(text),
            Value::String(_) => ValueType::String,
            Value::Number(_) => ValueType::Number,
            Value::Bool(_) => ValueType::Boolean,
            Value::Null => ValueType::Null,
            Value::Object(_) => ValueType::Object,
            Value::Array(_) => ValueType::Array,
        }
    }

    /// A CSV cell's type: `12`, `-3.5`, `1e3` are numbers; `nan` and `inf` are not.
    pub fn of_text(text: &str) -> ValueType {
        let text = text.trim();
        if text.is_empty() {
            return ValueType::Empty;
        }
        if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
            return ValueType::Boolean;
        }
        let numeric = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
        if numeric && text.parse::<f64>().is_ok_and(f64::is_finite) {
            return ValueType::Number;
        }
        ValueType::String
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Null => "null",
            ValueType::Empty => "empty",
            ValueType::Object => "object",
            ValueType::Array => "array",
        }
    }

    fn parse(name: &str) -> Option<ValueType> {
        [
            ValueType::String,
            ValueType::Number,
            ValueType::Boolean,
            ValueType::Null,
            ValueType::Empty,
            ValueType::Object,
            ValueType::Array,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    /// Missing values are not a type of their own: a column with gaps is not mixed.
    pub fn is_mixable(self) -> bool {
        !matches!(self, ValueType::Null | ValueType::Empty)
    }
}

/// The most common type of a field (the first in type order on a tie), missing ones aside.
pub(super) fn majority(types: &BTreeMap<String, usize>) -> Option<ValueType> {
    let mut best: Option<(ValueType, usize)> = None;
    for (name, &count) in types {
        let Some(ty) = ValueType::parse(name).filter(|t| t.is_mixable()) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((top, top_count)) => count > top_count || (count == top_count && ty < top),
        };
        if better {
            best = Some((ty, count));
        }
    }
    best.map(|(ty, _)| ty)
}

/// The rows of a field holding its less common types, when it holds more than one type.
pub(super) fn minority_rows(by_type: &BTreeMap<ValueType, Tally>) -> Option<Tally> {
    let counts: BTreeMap<String, usize> = by_type
        .iter()
        .map(|(ty, tally)| (ty.as_str().to_string(), tally.count))
        .collect();
    let top = majority(&counts)?;
    let mut minority = Tally::default();
    let mut rows = Vec::new();
    for (ty, tally) in by_type {
        if *ty != top && ty.is_mixable() {
            minority.count += tally.count;
            rows.extend_from_slice(&tally.rows);
        }
    }
    if minority.count == 0 {
        return None;
    }
    rows.sort_unstable();
    rows.truncate(super::ROWS_NAMED);
    minority.rows = rows;
    Some(minority)
}
