//! Free text: the exact-match rate between raters after normalising, and no more. Two
//! texts that mean the same in other words count as different; no figure here claims to
//! measure meaning.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::{by_item, index_pairs, ItemConsensus, Row};
use crate::quality::figure::split;

/// The form texts are compared in: lower case (Unicode's full lower-case mapping), every
/// run of whitespace one space, no whitespace at either end, then Unicode NFC (so a
/// precomposed "é" equals "e" with a combining accent).
pub fn normalize_text(text: &str) -> String {
    let lowered = text.to_lowercase();
    let words: Vec<&str> = lowered.split_whitespace().collect();
    words.join(" ").nfc().collect()
}

/// Whether two texts are equal after [`normalize_text`].
pub fn texts_equal(a: &str, b: &str) -> bool {
    normalize_text(a) == normalize_text(b)
}

/// How often raters wrote the same text.
#[derive(Debug, Clone, Serialize)]
pub struct TextAgreement {
    /// Share of pairs of raters on a shared item whose texts are equal after
    /// [`normalize_text`] (every pair weighs the same).
    pub exact_match_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_match_rate_reason: Option<String>,
    /// Pairs of raters on a shared item.
    pub pairs: usize,
    /// Of those, the pairs whose texts matched.
    pub matching_pairs: usize,
    /// Items with two or more raters.
    pub pairable_items: usize,
}

/// Agreement over free-text labels.
pub fn text_agreement(rows: &[Row<String>]) -> TextAgreement {
    let mut pairs = 0;
    let mut matching_pairs = 0;
    let mut pairable_items = 0;
    for item in by_item(rows) {
        let forms: Vec<String> = item
            .values
            .iter()
            .map(|(_, text)| normalize_text(text))
            .collect();
        pairable_items += usize::from(forms.len() >= 2);
        for (i, j) in index_pairs(forms.len()) {
            pairs += 1;
            matching_pairs += usize::from(forms[i] == forms[j]);
        }
    }
    let rate = if pairs == 0 {
        Err("no item has two or more raters".to_string())
    } else {
        Ok(matching_pairs as f64 / pairs as f64)
    };
    let (exact_match_rate, exact_match_rate_reason) = split(rate);
    TextAgreement {
        exact_match_rate,
        exact_match_rate_reason,
        pairs,
        matching_pairs,
        pairable_items,
    }
}

/// The most common text of one item after normalising; the value is the first text given
/// in that form, as written. When several forms are equally common the one given first
/// wins and `tie` is set. A rater agrees when their text is in the winning form. `None`
/// without texts.
pub fn text_consensus(values: &[String]) -> Option<ItemConsensus<String>> {
    let forms: Vec<String> = values.iter().map(|text| normalize_text(text)).collect();
    let mut counts: Vec<(usize, usize)> = Vec::new(); // (first position of the form, count)
    for (position, form) in forms.iter().enumerate() {
        match counts.iter_mut().find(|(first, _)| forms[*first] == *form) {
            Some((_, n)) => *n += 1,
            None => counts.push((position, 1)),
        }
    }
    let top = counts.iter().map(|&(_, n)| n).max()?;
    let mut leaders = counts.iter().filter(|&&(_, n)| n == top);
    let &(first, _) = leaders.next()?;
    let tie = leaders.next().is_some();
    Some(ItemConsensus::new(
        values[first].clone(),
        top,
        values.len(),
        tie,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: &str, rater: &str, text: &str) -> Row<String> {
        (item.to_string(), rater.to_string(), text.to_string())
    }

    #[test]
    fn normalising_folds_case_whitespace_and_composition() {
        assert_eq!(normalize_text("  Crème\u{a0}BRÛLÉE \n"), "crème brûlée");
        assert!(texts_equal("Cre\u{300}me  brulee", "crème Brulee"));
        // Greek capital sigma lowers to the final form at the end of a word.
        assert!(texts_equal("ΟΔΟΣ", "\u{3bf}\u{3b4}\u{3bf}\u{3c2}"));
        assert!(!texts_equal("colour", "color"));
        assert_eq!(normalize_text(""), "");
    }

    #[test]
    fn exact_match_rate_pools_pairs() {
        let rows = vec![
            row("1", "a", "Paris"),
            row("1", "b", " paris "),
            row("1", "c", "Lyon"),
            row("2", "a", "yes"),
            row("2", "b", "YES"),
            row("3", "a", "alone"),
        ];
        let agreement = text_agreement(&rows);
        assert_eq!((agreement.pairs, agreement.matching_pairs), (4, 2));
        assert_eq!(agreement.exact_match_rate, Some(0.5));
        assert_eq!(agreement.pairable_items, 2);
    }

    #[test]
    fn a_raters_later_row_for_an_item_replaces_the_earlier() {
        let rows = vec![
            row("1", "a", "first"),
            row("1", "b", "second"),
            row("1", "a", "Second"),
        ];
        let agreement = text_agreement(&rows);
        assert_eq!((agreement.pairs, agreement.matching_pairs), (1, 1));
    }

    #[test]
    fn one_rater_only_gives_a_reason() {
        let agreement = text_agreement(&[row("1", "a", "x"), row("2", "a", "y")]);
        assert_eq!(agreement.exact_match_rate, None);
        assert!(agreement.exact_match_rate_reason.is_some());
        let empty = text_agreement(&[]);
        assert_eq!(empty.pairs, 0);
        assert!(empty.exact_match_rate_reason.is_some());
    }

    #[test]
    fn consensus_is_the_most_common_form_as_first_written() {
        let values = vec!["Oui".to_string(), "non".into(), "oui ".into()];
        let consensus = text_consensus(&values).expect("consensus");
        assert_eq!(consensus.value, "Oui");
        assert_eq!(
            (consensus.agreeing, consensus.raters, consensus.tie),
            (2, 3, false)
        );
        let split_vote = text_consensus(&["a".to_string(), "b".into()]).expect("consensus");
        assert_eq!((split_vote.value.as_str(), split_vote.tie), ("a", true));
        assert_eq!(text_consensus(&[]), None);
    }
}
