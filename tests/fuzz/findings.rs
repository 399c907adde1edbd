//! Regression tests for what fuzzing found that no small saved input can show.

use std::time::{Duration, Instant};

use tally::domain::import::{parse, Format};

/// Each item of a JSON array had its line counted from the start of the file, so import
/// time grew with the square of the item count: 100,000 items took minutes in a release
/// build and a 32 MB upload hours. The count now carries on from the item before. In this
/// (unoptimised) test build the old code took about 20 s for these 10,000 items, the new
/// one a few milliseconds.
#[test]
fn a_large_json_array_imports_in_linear_time() {
    let count = 10_000;
    let text = format!("[\n{}\n]", vec![r#"{"data": {"t": 1}}"#; count].join(",\n"));
    let started = Instant::now();
    let items = parse(text.as_bytes(), Format::JsonArray).expect("a valid array");
    let took = started.elapsed();
    assert_eq!(items.len(), count);
    assert_eq!(items[0].line, 2);
    assert_eq!(items[count - 1].line, count + 1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
