//! Item import: JSON arrays, NDJSON/JSONL and CSV, all into one `NewItem` list.
//!
//! An import is all or nothing, so parsing checks every element before anything is stored,
//! and every error names the line it was found on. [`read_items`] streams NDJSON and CSV
//! from any reader, so a large file is never held whole; bytes that are not UTF-8 are kept
//! (replaced) and marked on the item, for `import_check` to report.

use serde_json::{Map, Value};

use super::kinds::Kind;
use super::project::Project;
use super::text::{check_text, MAX_EXPLANATION_CHARS};
use super::Invalid;

mod read;

pub use read::{read_items, ItemReader};

/// One item to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub external_id: Option<String>,
    pub data: Map<String, Value>,
    /// The known answer, as given; [`check_against_project`] makes it canonical.
    pub gold: Option<Value>,
    /// A model's pre-label, as given; made canonical like `gold`.
    pub prediction: Option<Value>,
    /// The item came from a CSV row, whose cells are text: a gold or prediction cell of a
    /// kind whose values are not strings is read as JSON.
    pub from_csv: bool,
    /// Higher first when the project orders by priority (a model's uncertainty, say).
    pub priority: Option<f64>,
    /// A qualification question: shown before real work, with `explanation` after each try.
    pub qualification: bool,
    pub explanation: Option<String>,
    /// Line of the source file the item came from, for error messages after parsing.
    pub line: usize,
    /// A line of this item that held bytes which are not UTF-8 (replaced by U+FFFD).
    pub encoding_line: Option<usize>,
    /// The item came from a Label Studio task: its prediction and annotations are Label
    /// Studio results, turned into the project's kind when checked.
    pub from_label_studio: bool,
    /// Labels that come with the item (a Label Studio task's annotations).
    pub annotations: Vec<Annotation>,
}

/// A label imported with its item, by an annotator of another tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The pseudonymous rater name it is stored under (never an email in clear).
    pub rater: String,
    /// The answer; made canonical for the project's kind by [`check_item`].
    pub value: Value,
    pub duration_ms: Option<i64>,
    pub created_at_ms: Option<i64>,
}

/// The formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonArray,
    Ndjson,
    Csv,
    /// Label Studio's JSON export: an array of tasks with `data`, `annotations`, `predictions`.
    LabelStudio,
}

impl Format {
    /// Picks the format from a file name's ending (`.csv`, `.jsonl`, `.ndjson`, `.json`).
    pub fn from_file_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::Ndjson)
        } else if lower.ends_with(".json") {
            Some(Format::JsonArray)
        } else {
            None
        }
    }

    /// Picks the format from a request's Content-Type; JSON when absent.
    pub fn from_content_type(content_type: Option<&str>) -> Format {
        let essence = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/x-ndjson" | "application/jsonl" | "application/jsonlines") => {
                Format::Ndjson
            }
            Some("text/csv") => Format::Csv,
            _ => Format::JsonArray,
        }
    }

    /// The format named on the command line or in `?format=`.
    pub fn from_name(name: &str) -> Result<Format, Invalid> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::JsonArray),
            "jsonl" | "ndjson" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            "label-studio" | "label_studio" | "labelstudio" => Ok(Format::LabelStudio),
            other => Err(Invalid::new(
                "format",
                format!("unknown format {other:?}: use json, jsonl, csv or label-studio"),
            )),
        }
    }
}

pub(super) fn at_line(line: usize, reason: impl Into<String>) -> Invalid {
    Invalid::new(format!("line {line}"), reason)
}

/// Parses a whole upload; the result is every item or the first error, bytes that are
/// not UTF-8 included.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<NewItem>, Invalid> {
    let items = parse_lenient(bytes, format)?;
    match items.iter().find_map(|item| item.encoding_line) {
        Some(line) => Err(at_line(line, "is not valid UTF-8")),
        None => Ok(items),
    }
}

/// Parses a whole upload, keeping rows with bytes that are not UTF-8 (marked on the item)
/// so that a check can report them rather than stop at the first.
pub fn parse_lenient(bytes: &[u8], format: Format) -> Result<Vec<NewItem>, Invalid> {
    let items = read_items(bytes, format)?.collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        return Err(Invalid::new("items", "the file holds no items"));
    }
    Ok(items)
}

/// serde_json appends "at line L column C"; we name the line ourselves.
pub(super) fn strip_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    }
}

fn item_from_json(value: Value, line: usize) -> Result<NewItem, Invalid> {
    let Value::Object(mut object) = value else {
        return Err(at_line(line, "each item must be a JSON object"));
    };
    let data = match object.remove("data") {
        Some(Value::Object(data)) => data,
        Some(_) => return Err(at_line(line, "\"data\" must be a JSON object")),
        None => return Err(at_line(line, "the item has no \"data\" object")),
    };
    let external_id = match object.remove("external_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(at_line(
                line,
                "\"external_id\" must be a string or a number",
            ));
        }
    };
    let gold = object.remove("gold").filter(|g| !g.is_null());
    let prediction = object.remove("prediction").filter(|p| !p.is_null());
    let priority = match object.remove("priority") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => return Err(at_line(line, "\"priority\" must be a number")),
    };
    let qualification = match object.remove("qualification") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(at_line(line, "\"qualification\" must be true or false")),
    };
    let explanation = match object.remove("explanation") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(at_line(line, "\"explanation\" must be a string")),
    };
    if let Some(text) = &explanation {
        check_text("explanation", text, MAX_EXPLANATION_CHARS)
            .map_err(|e| at_line(line, format!("\"explanation\" {}", e.reason)))?;
    }
    if let Some(unknown) = object.keys().next() {
        return Err(at_line(
            line,
            format!(
                "unknown field {unknown:?} (expected external_id, data, gold, prediction, priority, qualification, explanation)"
            ),
        ));
    }
    let mut item = new_item(external_id, data, gold, line)?;
    item.prediction = prediction;
    item.priority = priority;
    item.qualification = qualification;
    item.explanation = explanation;
    check_qualification(&item)?;
    Ok(item)
}

pub(super) fn new_item(
    external_id: Option<String>,
    data: Map<String, Value>,
    gold: Option<Value>,
    line: usize,
) -> Result<NewItem, Invalid> {
    if let Some(id) = &external_id {
        if id.is_empty() || id.len() > 500 {
            return Err(at_line(line, "\"external_id\" must be 1 to 500 bytes"));
        }
    }
    if data.is_empty() {
        return Err(at_line(line, "\"data\" is empty"));
    }
    Ok(NewItem {
        external_id,
        data,
        gold: gold.filter(|g| g.as_str() != Some("")),
        prediction: None,
        from_csv: false,
        priority: None,
        qualification: false,
        explanation: None,
        line,
        encoding_line: None,
        from_label_studio: false,
        annotations: Vec::new(),
    })
}

fn check_csv_headers(headers: &[String]) -> Result<(), Invalid> {
    if headers.iter().all(|h| {
        matches!(
            h.as_str(),
            "external_id" | "gold" | "prediction" | "priority"
        )
    }) {
        return Err(at_line(
            1,
            "the header names no data column (for example: external_id,text)",
        ));
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(at_line(1, format!("column {} has no name", i + 1)));
        }
        if headers[..i].contains(h) {
            return Err(at_line(1, format!("column {h:?} is named twice")));
        }
    }
    Ok(())
}

fn item_from_csv_record(
    headers: &[String],
    record: &[String],
    line: usize,
) -> Result<NewItem, Invalid> {
    let mut data = Map::new();
    let mut external_id = None;
    let mut gold = None;
    let mut prediction = None;
    let mut priority = None;
    let mut qualification = false;
    let mut explanation = None;
    for (header, field) in headers.iter().zip(record.iter()) {
        match header.as_str() {
            "external_id" => external_id = Some(field.to_string()).filter(|s| !s.is_empty()),
            "gold" => gold = Some(Value::String(field.to_string())),
            "prediction" if !field.is_empty() => {
                prediction = Some(Value::String(field.to_string()))
            }
            "prediction" => {}
            "priority" if !field.trim().is_empty() => {
                let value = field.trim().parse::<f64>().ok().filter(|p| p.is_finite());
                priority =
                    Some(value.ok_or_else(|| {
                        at_line(line, format!("priority {field:?} is not a number"))
                    })?);
            }
            "priority" => {}
            "qualification" => {
                qualification = matches!(
                    field.trim().to_ascii_lowercase().as_str(),
                    "true" | "1" | "yes"
                )
            }
            "explanation" => explanation = Some(field.to_string()).filter(|e| !e.is_empty()),
            _ => {
                data.insert(header.clone(), Value::String(field.to_string()));
            }
        }
    }
    let mut item = new_item(external_id, data, gold, line)?;
    item.prediction = prediction;
    item.from_csv = true;
    item.priority = priority;
    item.qualification = qualification;
    item.explanation = explanation;
    check_qualification(&item)?;
    Ok(item)
}

fn check_qualification(item: &NewItem) -> Result<(), Invalid> {
    if item.qualification && item.gold.is_none() {
        return Err(at_line(
            item.line,
            "a qualification item needs its \"gold\" answer",
        ));
    }
    Ok(())
}

/// What is wrong with the CSV record on `line`.
fn csv_error(e: &csv::Error, line: usize) -> Invalid {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => at_line(
            line,
            format!("has {len} fields but the header has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { .. } => at_line(line, "is not valid UTF-8"),
        _ => at_line(line, format!("unreadable CSV: {e}")),
    }
}

/// A gold or prediction read as the kind's value: a CSV cell is text, so for kinds whose
/// values are not strings it holds the value as JSON.
fn as_kind_value(kind: Kind, raw: &Value, from_csv: bool) -> Value {
    match raw {
        Value::String(cell) if from_csv => kind.value_from_text(cell),
        _ => raw.clone(),
    }
}

/// What is wrong with one item for a project: its gold answer (outside the label set, or
/// not an answer of the project's kind), or anything else (the field the kind is about,
/// a pre-label, an imported annotation).
#[derive(Debug, Clone, PartialEq)]
pub enum ItemProblem {
    Gold(Invalid),
    Other(Invalid),
}

impl ItemProblem {
    pub fn invalid(&self) -> &Invalid {
        match self {
            ItemProblem::Gold(invalid) | ItemProblem::Other(invalid) => invalid,
        }
    }
}

/// Checks what only the project can tell, and makes answers canonical: gold answers,
/// pre-labels and imported annotations are checked like labels (against the item too:
/// spans inside its text, boxes inside its image), and the field a kind is about must be
/// there (text for spans, an image from an allowed origin for boxes and image choice).
pub fn check_against_project(items: &mut [NewItem], project: &Project) -> Result<(), Invalid> {
    for item in items.iter_mut() {
        check_item(item, project).map_err(|problem| problem.invalid().clone())?;
    }
    Ok(())
}

/// [`check_against_project`] for one item, telling a bad gold answer from other problems.
pub fn check_item(item: &mut NewItem, project: &Project) -> Result<(), ItemProblem> {
    let line = item.line;
    let other = |reason: String| ItemProblem::Other(at_line(line, reason));
    check_item_field(project, item).map_err(other)?;
    if let Some(raw) = item.gold.take() {
        let gold = checked_value(project, item, "gold", &raw)
            .map_err(|reason| ItemProblem::Gold(at_line(line, reason)))?;
        item.gold = Some(gold);
    }
    if let Some(raw) = item.prediction.take() {
        item.prediction = Some(checked_value(project, item, "prediction", &raw).map_err(other)?);
    }
    let mut annotations = std::mem::take(&mut item.annotations);
    for annotation in &mut annotations {
        let name = format!("the annotation by {}:", annotation.rater);
        annotation.value = checked_value(project, item, &name, &annotation.value).map_err(other)?;
    }
    item.annotations = annotations;
    item.from_label_studio = false;
    Ok(())
}

/// A gold answer, pre-label or annotation as the project's canonical value.
fn checked_value(
    project: &Project,
    item: &NewItem,
    name: &str,
    raw: &Value,
) -> Result<Value, String> {
    let raw = if item.from_label_studio {
        super::label_studio::kind_value(project, &item.data, raw)
            .map_err(|r| format!("{name} {r}"))?
    } else {
        as_kind_value(project.kind, raw, item.from_csv)
    };
    let schema = project.schema();
    schema
        .parse_as(name, &raw)
        .and_then(|v| schema.check_for_item(name, &v, &item.data).map(|_| v))
        .map_err(|e| format!("{name} {}", e.reason))
}

/// The data field the project's kind is about, if it has one.
fn check_item_field(project: &Project, item: &NewItem) -> Result<(), String> {
    let Some(field) = project.settings.field.as_deref() else {
        return Ok(());
    };
    let value = item.data.get(field);
    match project.kind {
        Kind::Spans => match value {
            Some(Value::String(_)) => Ok(()),
            _ => Err(format!("the text field {field:?} is missing or not text")),
        },
        kind if kind.shows_image() => check_image(project, field, value),
        _ => Ok(()),
    }
}

/// An image is an http(s) URL from one of the project's media origins (alone, or as
/// `{"url", "width", "height"}`), or a file uploaded to tally (`{"media": SHA-256}`).
fn check_image(project: &Project, field: &str, value: Option<&Value>) -> Result<(), String> {
    let url = match value {
        Some(Value::String(url)) => url.as_str(),
        Some(Value::Object(image)) if image.get("media").and_then(Value::as_str).is_some() => {
            return Ok(());
        }
        Some(Value::Object(image)) => match image.get("url") {
            Some(Value::String(url)) => url.as_str(),
            _ => return Err(format!("the image in {field:?} has no \"url\"")),
        },
        _ => return Err(format!("the image field {field:?} is missing")),
    };
    if project.presentation.allows_url(url) {
        Ok(())
    } else {
        Err(format!(
            "the image URL {url:?} is not from one of the project's media_origins ({})",
            project.presentation.media_origins.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array_elements_know_their_lines() {
        let text = "[\n {\"data\": {\"text\": \"a\"}},\n {\"external_id\": \"x\"}\n]";
        let err = parse(text.as_bytes(), Format::JsonArray).unwrap_err();
        assert_eq!(err.field, "line 3");
        assert!(err.reason.contains("no \"data\""), "{}", err.reason);
    }

    #[test]
    fn ndjson_bad_json_names_the_line() {
        let mut text = String::new();
        for i in 0..6 {
            text.push_str(&format!("{{\"data\": {{\"text\": \"t{i}\"}}}}\n"));
        }
        text.push_str("{\"data\": {\"text\": oops}}\n");
        let err = parse(text.as_bytes(), Format::Ndjson).unwrap_err();
        assert_eq!(err.field, "line 7");
        assert!(err.reason.starts_with("bad JSON"));
    }

    #[test]
    fn csv_rows_become_items() {
        let text = "external_id,text,gold\nr1,\"Great, really\",pos\nr2,meh,\n";
        let items = parse(text.as_bytes(), Format::Csv).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].external_id.as_deref(), Some("r1"));
        assert_eq!(items[0].data["text"], "Great, really");
        assert_eq!(items[0].gold, Some(Value::String("pos".into())));
        assert_eq!(items[1].gold, None);
    }

    #[test]
    fn csv_with_too_many_fields_names_the_line() {
        let text = "external_id,text\nr1,fine\nr2,too,many\n";
        let err = parse(text.as_bytes(), Format::Csv).unwrap_err();
        assert_eq!(err.field, "line 3");
        assert!(err.reason.contains("3 fields"), "{}", err.reason);
    }

    #[test]
    fn csv_saved_with_crlf_line_ends_and_blank_lines_names_the_line() {
        let crlf = "external_id,text\r\nr1,fine\r\nr2,too,many\r\n";
        let err = parse(crlf.as_bytes(), Format::Csv).unwrap_err();
        assert_eq!(err.field, "line 3");
        let blank = "external_id,text\n\nr1,fine\r\n\r\nr2,too,many\n";
        let err = parse(blank.as_bytes(), Format::Csv).unwrap_err();
        assert_eq!(err.field, "line 5");
        // A duplicate id is found after the record is read: its line too.
        let duplicate = "external_id,text\r\nr1,a\r\nr1,b\r\n";
        let err = parse(duplicate.as_bytes(), Format::Csv).unwrap_err();
        assert_eq!(err.field, "line 3");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut bytes = b"external_id,text\nr1,ok\nr2,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        let err = parse(&bytes, Format::Csv).unwrap_err();
        assert_eq!(err.field, "line 3");
    }

    #[test]
    fn duplicate_external_ids_are_refused() {
        let text = "{\"external_id\": \"a\", \"data\": {\"t\": 1}}\n{\"external_id\": \"a\", \"data\": {\"t\": 2}}\n";
        let err = parse(text.as_bytes(), Format::Ndjson).unwrap_err();
        assert_eq!(err.field, "line 2");
    }

    #[test]
    fn formats_follow_names_and_types() {
        assert_eq!(Format::from_file_name("x.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_file_name("x.jsonl"), Some(Format::Ndjson));
        assert_eq!(Format::from_file_name("x.txt"), None);
        assert_eq!(
            Format::from_content_type(Some("application/x-ndjson; charset=utf-8")),
            Format::Ndjson
        );
        assert_eq!(Format::from_content_type(None), Format::JsonArray);
    }
}
