//! Free text up to `max_length` characters, optionally matching a pattern.

use serde_json::Value;

use super::{decode_all, from_item, Consensus, Settings};
use crate::quality::kinds::{text_consensus, texts_equal};

/// Compiles a pattern so that it must match the whole text; the size limits keep a
/// hostile pattern from costing much.
pub(super) fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| format!("is not a valid regular expression: {e}"))
}

pub(super) fn parse(settings: &Settings, raw: &Value) -> Result<Value, String> {
    let Value::String(text) = raw else {
        return Err("must be text, as a string".into());
    };
    let max = settings.max_length.unwrap_or(1_000);
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().nth(max).is_some() {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not hold control characters".into());
    }
    if let Some(pattern) = &settings.pattern {
        let re = compile(pattern)?;
        if !re.is_match(text) {
            return Err(format!("does not match the pattern {pattern}"));
        }
    }
    Ok(raw.clone())
}

pub(super) fn equal(value: &Value, gold: &Value) -> bool {
    match (value, gold) {
        (Value::String(a), Value::String(b)) => texts_equal(a, b),
        _ => false,
    }
}

/// The most common text after normalising (case, whitespace, NFC).
pub(super) fn consensus(values: &[Value]) -> Consensus {
    let texts: Vec<String> = decode_all(values);
    from_item(text_consensus(&texts))
}
