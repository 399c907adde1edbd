//! Text that looks like personal data: email addresses, phone numbers, and card numbers
//! that pass the Luhn check. Tuned to miss dates, times, decimals, version numbers, IP
//! addresses and plain runs of digits (ids), which fill ordinary data.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Email,
    Phone,
    Card,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Email => "email",
            Pattern::Phone => "phone",
            Pattern::Card => "card",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Pattern::Email => "email addresses",
            Pattern::Phone => "phone numbers",
            Pattern::Card => "card numbers (passing the Luhn check)",
        }
    }
}

// The patterns are constants, so compiling them cannot fail on any input; the unit tests
// below compile each of them.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
        .expect("the email pattern is valid")
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\+\d{8,15}\b|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\b\d{1,5}(?:[ .-]\d{1,5}){0,5}\b",
    )
    .expect("the phone pattern is valid")
});

static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:\d[ -]?){12,18}\d\b").expect("the card pattern is valid"));

/// Adds to `found` each pattern seen in the strings (and numbers) of a value, once each.
pub fn find_personal_data(value: &Value, found: &mut Vec<Pattern>) {
    match value {
        Value::String(text) => find_in_text(text, found),
        Value::Number(n) => find_in_text(&n.to_string(), found),
        Value::Array(values) => values.iter().for_each(|v| find_personal_data(v, found)),
        Value::Object(object) => object.values().for_each(|v| find_personal_data(v, found)),
        Value::Bool(_) | Value::Null => {}
    }
}

fn find_in_text(text: &str, found: &mut Vec<Pattern>) {
    let mut add = |pattern| {
        if !found.contains(&pattern) {
            found.push(pattern);
        }
    };
    if text.contains('@') && EMAIL.is_match(text) {
        add(Pattern::Email);
    }
    if CARD.find_iter(text).any(|m| is_card(m.as_str())) {
        add(Pattern::Card);
    }
    if PHONE.find_iter(text).any(|m| is_phone(m.as_str())) {
        add(Pattern::Phone);
    }
}

fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The Luhn check of card numbers: every second digit from the right doubled.
pub fn luhn_valid(number: &str) -> bool {
    let digits = digits(number);
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

fn is_card(candidate: &str) -> bool {
    let digits = digits(candidate);
    (13..=19).contains(&digits.len()) && digits.iter().any(|&d| d != 0) && luhn_valid(candidate)
}

/// A phone number has 8 to 15 digits and is written like one: with a `+` or an area code
/// in parentheses, or in three or more groups; dates, IP addresses and lone runs of digits
/// are not phones.
fn is_phone(candidate: &str) -> bool {
    let count = digits(candidate).len();
    if !(8..=15).contains(&count) {
        return false;
    }
    if candidate.starts_with('+') || candidate.contains('(') {
        return true;
    }
    let groups: Vec<&str> = candidate
        .split([' ', '.', '-'])
        .filter(|g| !g.is_empty())
        .collect();
    let separators: Vec<char> = candidate
        .chars()
        .filter(|c| matches!(c, ' ' | '.' | '-'))
        .collect();
    let mixed_separators = separators.windows(2).any(|w| w[0] != w[1]);
    groups.len() >= 3
        && count >= 9
        && !mixed_separators
        && !looks_like_date(&groups)
        && !looks_like_ip(&groups, &separators)
}

fn looks_like_date(groups: &[&str]) -> bool {
    let year = |g: &str| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"));
    let short = |g: &str| g.len() <= 2;
    match groups {
        [a, b, c, ..] => (year(a) && short(b) && short(c)) || (short(a) && short(b) && year(c)),
        _ => false,
    }
}

fn looks_like_ip(groups: &[&str], separators: &[char]) -> bool {
    groups.len() == 4 && separators.iter().all(|&c| c == '.') && groups.iter().all(|g| g.len() <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(text: &str) -> Vec<Pattern> {
        let mut found = Vec::new();
        find_in_text(text, &mut found);
        found
    }

    #[test]
    fn luhn_tells_card_numbers_from_other_numbers() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5500-0000-0000-0004"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("1234567812345678"));
        assert!(!luhn_valid("7"));
    }

    #[test]
    fn cards_are_found_only_when_luhn_valid() {
        assert_eq!(
            patterns("paid with 4111111111111111 today"),
            vec![Pattern::Card]
        );
        assert_eq!(patterns("card 4111-1111-1111-1111"), vec![Pattern::Card]);
        assert!(patterns("order 1234567812345678").is_empty());
        assert!(patterns("0000 0000 0000 0000").is_empty());
    }

    #[test]
    fn emails_are_found() {
        assert_eq!(
            patterns("write to ann.lee+x@mail.example.org please"),
            vec![Pattern::Email]
        );
        assert!(patterns("@handle and user@localhost").is_empty());
        assert!(patterns("5 @ 3pm").is_empty());
    }

    #[test]
    fn phones_are_found_in_their_usual_shapes() {
        for text in [
            "call +44 20 7946 0958",
            "call +14155552671",
            "(415) 555-2671",
            "555-123-4567",
            "030 1234 5678",
        ] {
            assert_eq!(patterns(text), vec![Pattern::Phone], "{text}");
        }
    }

    #[test]
    fn dates_numbers_and_addresses_are_not_phones() {
        for text in [
            "2024-01-15",
            "on 15.01.2024 at 10:30",
            "2024-01-15 10:30:00",
            "id 5551234567",
            "3.14159265",
            "1,234,567.89",
            "192.168.100.200",
            "version 1.2.3",
            "12 345",
            "born 1987",
        ] {
            assert!(patterns(text).is_empty(), "{text}: {:?}", patterns(text));
        }
    }
}
