use super::*;

fn labels(text: &[u8]) -> Result<Vec<LabelRow>, InputError> {
    parse_labels_csv(text)
}

#[test]
fn parses_labels_with_optional_columns() {
    let rows = labels(b"item,rater,label,duration_ms,sequence\ni1,ann,cat,1200,1\ni1,bob,dog,,\n")
        .expect("valid");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].duration_ms, Some(1200));
    assert_eq!(rows[0].sequence, Some(1));
    assert_eq!(rows[1].duration_ms, None);
    let plain =
        labels(b"\xef\xbb\xbfitem,rater,label\r\n\"i,1\",ann,cat\r\n").expect("BOM and CRLF");
    assert_eq!(plain[0].item, "i,1");
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let wrong = labels(b"item,user,label\ni1,ann,cat\n").expect_err("header");
    assert_eq!(wrong.line, 1);
    assert!(matches!(wrong.problem, Problem::WrongHeader { .. }));
    assert!(wrong.to_string().starts_with("line 1: wrong header"));

    let missing = labels(b"item,rater,label\ni1,ann,cat\ni2,bob\n").expect_err("missing");
    assert_eq!(missing.line, 3);
    assert!(matches!(missing.problem, Problem::MissingField { ref field, .. } if field == "label"));

    let extra = labels(b"item,rater,label\ni1,ann,cat,oops\n").expect_err("too many");
    assert_eq!(
        (extra.line, extra.problem),
        (
            2,
            Problem::TooManyFields {
                found: 4,
                expected: 3
            }
        )
    );

    let utf8 = labels(b"item,rater,label\ni1,ann,cat\ni2,b\xffb,dog\n").expect_err("utf8");
    assert_eq!((utf8.line, utf8.problem), (3, Problem::InvalidUtf8));

    let empty = labels(b"item,rater,label\ni1, ,cat\n").expect_err("empty");
    assert_eq!(
        (empty.line, empty.problem),
        (
            2,
            Problem::EmptyValue {
                field: "rater".to_string()
            }
        )
    );

    let number = labels(b"item,rater,label,duration_ms\ni1,ann,cat,fast\n").expect_err("number");
    assert!(matches!(number.problem, Problem::NotANumber { .. }));

    assert!(matches!(
        labels(b"").expect_err("empty file").problem,
        Problem::Empty { .. }
    ));
    let unknown = labels(b"item,rater,label,colour\n").expect_err("unknown column");
    assert!(matches!(unknown.problem, Problem::WrongHeader { .. }));
}

#[test]
fn multi_line_quoted_fields_report_the_starting_line() {
    let error = labels(b"item,rater,label\n\"a\nb\",ann,cat\ni3,bob\n").expect_err("missing");
    assert_eq!(error.line, 4);
}

#[test]
fn errors_name_the_line_in_files_with_crlf_line_ends_and_blank_lines() {
    let crlf = labels(b"item,rater,label,duration_ms\r\ni1,r1,pos,10\r\ni2,r1,neg,x\r\n")
        .expect_err("not a number");
    assert_eq!(crlf.line, 3);
    let blank = labels(b"item,rater,label,duration_ms\ni1,r1,pos,10\n\n\ni2,r1,neg,x\n")
        .expect_err("not a number");
    assert_eq!(blank.line, 5);
    let short = labels(b"item,rater,label\r\ni1,r1,pos\r\n\r\ni2,r1\r\n").expect_err("short");
    assert_eq!(short.line, 4);
}

#[test]
fn parses_gold_and_builds_a_dataset() {
    let gold = parse_gold_csv(&b"item,label\ni1,cat\n"[..]).expect("gold");
    assert_eq!(
        gold,
        vec![GoldRow {
            item: "i1".into(),
            label: "cat".into()
        }]
    );
    assert!(parse_gold_csv(&b"item,rater,label\n"[..]).is_err());
    let rows = labels(b"item,rater,label\ni1,ann,cat\ni1,bob,dog\n").expect("labels");
    let data = dataset_from_rows(&rows, &gold, None).expect("dataset");
    assert_eq!(data.gold(0), data.categories().index_of("cat"));
}

#[test]
fn writes_consensus_csv() {
    let rows = vec![
        ConsensusItem {
            item: "i,1".into(),
            label: Some("cat".into()),
            label_reason: None,
            confidence: 2.0 / 3.0,
            labels: 3,
            tie: false,
            tied: Vec::new(),
            adjudicated: None,
        },
        ConsensusItem {
            item: "i2".into(),
            label: None,
            label_reason: Some("a tie between cat and dog".into()),
            confidence: 0.5,
            labels: 2,
            tie: true,
            tied: vec!["cat".into(), "dog".into()],
            adjudicated: None,
        },
    ];
    let mut out = Vec::new();
    write_consensus_csv(&mut out, &rows).expect("write");
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        "item,label,confidence\n\"i,1\",cat,0.666667\ni2,,0.500000\n"
    );
}
