//! Alpha over tokens for span labels.
//!
//! Tokens are the maximal runs of non-whitespace characters of the item's text (Rust's
//! `char::is_whitespace`), positioned in Unicode scalar values like spans. Each rater who
//! labelled the item gives every token a value: the set of labels of their spans that
//! share at least one character with the token (the empty set outside every span). A span
//! that covers part of a word therefore marks the whole word, which forgives the small
//! boundary slips of selecting with a mouse. Alpha is nominal over these values, each
//! token a unit.

use std::collections::{BTreeMap, HashMap};

use super::distance_alpha::{alpha_with_distance, nominal};
use super::spans::Span;
use super::ItemValues;
use crate::quality::figure::Figure;

/// Token alpha and what went into it.
pub(crate) struct TokenAlpha {
    pub alpha: Figure,
    pub pairable_tokens: usize,
    pub items_without_text: usize,
}

/// Token positions `[start, end)` of a text, in chars.
pub(crate) fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut start = None;
    let mut position = 0;
    for ch in text.chars() {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some(position),
            (true, Some(s)) => {
                found.push((s, position));
                start = None;
            }
            _ => {}
        }
        position += 1;
    }
    if let Some(s) = start {
        found.push((s, position));
    }
    found
}

/// Nominal alpha over every token of every item that two or more raters labelled.
pub(crate) fn token_alpha(
    items: &[ItemValues<'_, Vec<Span>>],
    texts: &HashMap<String, String>,
) -> TokenAlpha {
    let mut values: BTreeMap<Vec<&str>, u32> = BTreeMap::new();
    let mut units: Vec<Vec<u32>> = Vec::new();
    let mut items_without_text = 0;
    for item in items.iter().filter(|item| item.values.len() >= 2) {
        let Some(text) = texts.get(item.item) else {
            items_without_text += 1;
            continue;
        };
        for (start, end) in tokens(text) {
            let unit = item
                .values
                .iter()
                .map(|(_, spans)| {
                    let labels = labels_touching(spans, start, end);
                    let next = values.len() as u32;
                    *values.entry(labels).or_insert(next)
                })
                .collect();
            units.push(unit);
        }
    }
    let alpha = if units.is_empty() && items_without_text > 0 {
        Err("no item labelled by two or more raters has its text".to_string())
    } else {
        alpha_with_distance(&units, nominal)
    };
    TokenAlpha {
        alpha,
        pairable_tokens: units.len(),
        items_without_text,
    }
}

/// The sorted distinct labels of the spans sharing a character with `[start, end)`.
fn labels_touching(spans: &[Span], start: usize, end: usize) -> Vec<&str> {
    let mut labels: Vec<&str> = spans
        .iter()
        .filter(|s| s.start < end && start < s.end)
        .map(|s| s.label.as_str())
        .collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_runs_of_non_whitespace_counted_in_chars() {
        assert_eq!(
            tokens("  Zoë  went\tto Malmö\n"),
            vec![(2, 5), (7, 11), (12, 14), (15, 20)]
        );
        assert!(tokens("").is_empty());
        assert!(tokens(" \t\n").is_empty());
        assert_eq!(tokens("日本語"), vec![(0, 3)]);
    }

    #[test]
    fn a_span_touching_part_of_a_token_marks_it() {
        let spans = vec![
            Span {
                start: 3,
                end: 4,
                label: "B".into(),
            },
            Span {
                start: 0,
                end: 2,
                label: "A".into(),
            },
            Span {
                start: 1,
                end: 3,
                label: "A".into(),
            },
        ];
        assert_eq!(labels_touching(&spans, 0, 5), vec!["A", "B"]);
        assert_eq!(labels_touching(&spans, 4, 8), Vec::<&str>::new());
    }
}
