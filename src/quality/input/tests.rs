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

/// A labels file with CRLF and LF line ends, blank lines, the optional columns, and names
/// that come back far apart (rows 60 on repeat the labels of the rows 60 before them, with
/// the same sequence, so the later wins), `rows` rows long.
fn mixed_labels_file(rows: usize) -> Vec<u8> {
    let mut text = b"item,rater,label,duration_ms,sequence\r\n".to_vec();
    for n in 0..rows {
        let end: &[u8] = match n % 5 {
            0 => b"\r\n",
            1 => b"\n\n",
            2 => b"\r\n\r\n\n",
            _ => b"\n",
        };
        let row = format!(
            "i{}, r{} ,{},{},{}",
            n / 3 % 20,
            n % 6,
            ["cat", "dog", "emu"][n * 7 % 3],
            if n % 4 == 0 {
                String::new()
            } else {
                (n * 13).to_string()
            },
            n % 60 % 9
        );
        text.extend_from_slice(row.as_bytes());
        text.extend_from_slice(end);
    }
    text
}

/// Every place a file could be cut into halves: after each run of line ends past the
/// header, short of the end.
fn every_cut(bytes: &[u8]) -> Vec<usize> {
    (1..bytes.len())
        .filter(|&at| bytes[at - 1] == b'\n' && !matches!(bytes[at], b'\n' | b'\r'))
        .collect()
}

fn one_pass(bytes: &[u8]) -> Result<Dataset, String> {
    let mut builder = DatasetBuilder::new();
    add_labels_csv(bytes, &mut builder).map_err(|e| e.to_string())?;
    builder.build().map_err(|e| e.to_string())
}

fn in_halves(bytes: &[u8], cut: usize) -> Result<Dataset, String> {
    let mut builder = DatasetBuilder::new();
    add_labels_in_halves(bytes, cut, &mut builder).map_err(|e| e.to_string())?;
    builder.build().map_err(|e| e.to_string())
}

#[test]
fn a_file_read_in_halves_makes_the_dataset_one_pass_makes_wherever_it_is_cut() {
    let bytes = mixed_labels_file(120);
    let whole = one_pass(&bytes).expect("valid");
    assert_eq!(
        whole.labels().len(),
        60,
        "the second 60 rows repeat the first"
    );
    let cuts = every_cut(&bytes);
    assert_eq!(cuts.len(), 120);
    for cut in cuts {
        assert_eq!(
            in_halves(&bytes, cut),
            Ok(whole.clone()),
            "cut at byte {cut}"
        );
    }
}

#[test]
fn a_bad_row_gets_the_error_one_pass_gives_wherever_the_file_is_cut() {
    let good = mixed_labels_file(30);
    let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
    let faults: [&[u8]; 5] = [
        b"i1,r1,cat,x,1",
        b"i1,r1",
        b"i1,r1,cat,1,2,3",
        b"i1,,cat,1,2",
        b"i1,r1,\xffcat,1,2",
    ];
    let rows = (1..lines.len()).filter(|&at| lines[at].len() > 2);
    for (row, fault) in rows.step_by(3).zip(faults.iter().cycle()) {
        let mut bytes = Vec::new();
        for (at, line) in lines.iter().enumerate() {
            if at == row {
                bytes.extend_from_slice(fault);
                bytes.extend_from_slice(b"\r\n");
            } else {
                bytes.extend_from_slice(line);
            }
        }
        let expected = one_pass(&bytes).expect_err("a bad row");
        for cut in every_cut(&bytes) {
            assert_eq!(
                in_halves(&bytes, cut),
                Err(expected.clone()),
                "row {row}, cut {cut}"
            );
        }
    }
    let header_only_first = b"item,rater,labels\ni1,r1,cat\n";
    assert_eq!(
        in_halves(header_only_first, 18).expect_err("a wrong header"),
        one_pass(header_only_first).expect_err("a wrong header")
    );
}

#[test]
fn only_a_big_file_without_quotes_is_cut_and_the_cut_starts_a_line() {
    let big = mixed_labels_file(60_000);
    assert!(big.len() > HALVES_FROM_BYTES);
    let cut = halves_cut(&big).expect("a big plain file is cut");
    assert!(cut > big.len() / 2);
    assert_eq!(big[cut - 1], b'\n');
    assert!(!matches!(big[cut], b'\n' | b'\r'));
    assert_eq!(halves_cut(&mixed_labels_file(100)), None, "small");
    let mut quoted = big.clone();
    quoted.extend_from_slice(b"\"i1\",r1,cat,,\n");
    assert_eq!(halves_cut(&quoted), None, "a quote anywhere");
    let mut bytes_of_big = DatasetBuilder::new();
    add_labels_csv_bytes(&big, &mut bytes_of_big).expect("valid");
    assert_eq!(bytes_of_big.build(), Ok(one_pass(&big).expect("valid")));
}

#[test]
fn a_row_past_the_most_columns_is_counted_and_its_text_checked_first() {
    let long = labels(b"item,rater,label\ni1,r1,cat,a,b,c,d,e,f\n").expect_err("too many");
    assert_eq!(
        long.problem,
        Problem::TooManyFields {
            found: 9,
            expected: 3
        }
    );
    let long_and_bad =
        labels(b"item,rater,label\ni1,r1,cat,a,b,c,d,e,\xff\n").expect_err("invalid UTF-8");
    assert_eq!(
        (long_and_bad.line, long_and_bad.problem),
        (2, Problem::InvalidUtf8)
    );
}
