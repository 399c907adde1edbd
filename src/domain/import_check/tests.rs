use std::collections::HashSet;

use super::*;
use crate::domain::import::{check_item, parse_lenient, Format};
use crate::domain::project::{NewProject, Project};

fn project() -> Project {
    let spec = NewProject::simple("p", &["pos", "neg"], 1, "")
        .validate()
        .unwrap();
    Project::from_spec(1, spec)
}

fn check(text: &[u8], format: Format, in_project: &HashSet<u64>) -> Findings {
    let project = project();
    let mut items = parse_lenient(text, format).unwrap();
    let problems: Vec<_> = items
        .iter_mut()
        .map(|item| check_item(item, &project).err())
        .collect();
    let mut first = Checker::new(&project, in_project);
    for (item, problem) in items.iter().zip(&problems) {
        first.observe(item, problem.as_ref());
    }
    let first = first.finish();
    let mut second = Checker::second_pass(&project, in_project, &first);
    for (item, problem) in items.iter().zip(&problems) {
        second.observe(item, problem.as_ref());
    }
    second.finish()
}

fn rows_of(findings: &Findings, kind: FindingKind) -> Vec<usize> {
    findings
        .findings
        .iter()
        .filter(|f| f.kind == kind)
        .flat_map(|f| f.rows.clone())
        .collect()
}

#[test]
fn csv_cells_have_inferred_types() {
    assert_eq!(ValueType::of_text("12"), ValueType::Number);
    assert_eq!(ValueType::of_text(" -3.5e2 "), ValueType::Number);
    assert_eq!(ValueType::of_text("TRUE"), ValueType::Boolean);
    assert_eq!(ValueType::of_text(""), ValueType::Empty);
    assert_eq!(ValueType::of_text("nan"), ValueType::String);
    assert_eq!(ValueType::of_text("inf"), ValueType::String);
    assert_eq!(ValueType::of_text("12 apples"), ValueType::String);
    assert_eq!(ValueType::of_text("2024-01-15"), ValueType::String);
}

#[test]
fn every_kind_of_finding_names_its_rows() {
    let mut text = b"text,n,gold\n".to_vec();
    text.extend_from_slice(b"fine one,1,pos\n"); // 2
    text.extend_from_slice(b",2,pos\n"); // 3: missing text
    text.extend_from_slice(b"fine one,1,pos\n"); // 4: duplicate of 2
    text.extend_from_slice(b"mail ann@example.org,3,neg\n"); // 5
    text.extend_from_slice(b"card 4111 1111 1111 1111,x,pos\n"); // 6: card, mixed type
    text.extend_from_slice(b"bad \xff byte,4,pos\n"); // 7: encoding
    text.extend_from_slice(b"unsure,5,maybe\n"); // 8: gold outside labels
    text.extend_from_slice(b"call 555-123-4567,6,\n"); // 9: phone
    let findings = check(&text, Format::Csv, &HashSet::new());
    assert_eq!(findings.rows, 8);
    assert_eq!(rows_of(&findings, FindingKind::MissingShownField), vec![3]);
    assert_eq!(rows_of(&findings, FindingKind::DuplicateInFile), vec![4]);
    assert_eq!(rows_of(&findings, FindingKind::Encoding), vec![7]);
    assert_eq!(rows_of(&findings, FindingKind::GoldOutsideLabels), vec![8]);
    assert_eq!(rows_of(&findings, FindingKind::MixedTypes), vec![6]);
    let personal: Vec<_> = findings
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::PersonalData)
        .map(|f| (f.pattern, f.rows.clone()))
        .collect();
    assert_eq!(
        personal,
        vec![
            (Some(Pattern::Email), vec![5]),
            (Some(Pattern::Phone), vec![9]),
            (Some(Pattern::Card), vec![6]),
        ]
    );
    assert!(findings.blocked);
    assert_eq!(findings.importable, 1);
    assert_eq!(findings.fields["n"].types["number"], 7);
    let refusal = findings.refusal().unwrap();
    assert_eq!(refusal.field, "line 7");
    assert_eq!(refusal.reason, "is not valid UTF-8");
}

#[test]
fn duplicates_against_the_project_use_the_data_only() {
    let earlier = r#"{"external_id": "a", "data": {"text": "seen", "x": [1, {"b": 2, "a": 1}]}}"#;
    let items = parse_lenient(earlier.as_bytes(), Format::Ndjson).unwrap();
    let key = content_key(&items[0].data);
    let in_project = HashSet::from([key]);
    let again = "{\"external_id\": \"b\", \"data\": {\"x\": [1, {\"a\": 1, \"b\": 2}], \"text\": \"seen\"}}\n{\"data\": {\"text\": \"new\"}}\n";
    let findings = check(again.as_bytes(), Format::Ndjson, &in_project);
    assert_eq!(rows_of(&findings, FindingKind::DuplicateInProject), vec![1]);
    assert!(!findings.blocked);
    assert_eq!(findings.importable, 1);
}

#[test]
fn finding_rows_stop_at_twenty_but_count_all() {
    let mut text = String::new();
    for _ in 0..30 {
        text.push_str("{\"data\": {\"text\": \"\"}}\n");
    }
    let findings = check(text.as_bytes(), Format::Ndjson, &HashSet::new());
    let missing = findings
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::MissingShownField)
        .unwrap();
    assert_eq!(missing.count, 30);
    assert_eq!(missing.rows.len(), ROWS_NAMED);
    assert_eq!(missing.rows[0], 1);
}

#[test]
fn skip_lists_are_parsed() {
    assert_eq!(
        Skip::parse("flagged").unwrap().0.len(),
        FindingKind::ALL.len()
    );
    assert_eq!(
        Skip::parse("duplicate_in_file, personal_data").unwrap().0,
        vec![FindingKind::DuplicateInFile, FindingKind::PersonalData]
    );
    assert!(Skip::parse("everything").is_err());
    assert!(Skip::parse("").unwrap().is_empty());
}

#[test]
fn content_keys_are_the_first_bytes_of_the_data_s_sha256_in_any_key_order() {
    // Python: hashlib.sha256(b'{"text":"seen","x":[1,{"a":1,"b":2}]}').hexdigest()
    let hex = "407b9a2879b292bc7a35d3dba7b1f716a995edf75d3ed5f5d9554ce7705e1ead";
    let data = |text: &str| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).unwrap()
    };
    let key = content_key(&data(r#"{"x": [1, {"b": 2, "a": 1}], "text": "seen"}"#));
    assert_eq!(
        key,
        content_key(&data(r#"{"text": "seen", "x": [1, {"a": 1, "b": 2}]}"#))
    );
    assert_eq!(
        Some(key),
        hash_key(hex),
        "a key read from the hex the store kept before"
    );
    assert_eq!(key, 0x407b_9a28_79b2_92bc);
    assert_ne!(
        key,
        content_key(&data(r#"{"text": "seen", "x": [1, {"a": 1, "b": 3}]}"#))
    );
}
