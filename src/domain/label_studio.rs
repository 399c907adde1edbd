//! Label Studio's JSON export: an array of tasks, each with its `data`, the `annotations`
//! people made (which become labels by pseudonymous raters) and the `predictions` of a
//! model (the best becomes the item's pre-label).
//!
//! Results stay as Label Studio wrote them until the project is known: [`kind_value`] turns
//! them into a value of the project's kind, and the kind's own checks run after that.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::import::{at_line, new_item, Annotation, NewItem};
use super::kinds::Kind;
use super::project::Project;
use super::Invalid;

/// A JSON array that reads as Label Studio tasks rather than tally items: its first element
/// has a `data` object and one of the keys tally items never have.
pub fn looks_like_tasks(elements: &[(usize, Value)]) -> bool {
    let Some((_, Value::Object(first))) = elements.first() else {
        return false;
    };
    first.get("data").is_some_and(Value::is_object)
        && ["annotations", "predictions", "id"]
            .iter()
            .any(|key| first.contains_key(*key))
}

/// One task as an item: `id` becomes the external id, the other keys Label Studio adds
/// (`meta`, `created_at`, `project` ...) are left out.
pub fn item_from_task(value: Value, line: usize) -> Result<NewItem, Invalid> {
    let Value::Object(mut task) = value else {
        return Err(at_line(
            line,
            "each Label Studio task must be a JSON object",
        ));
    };
    let data = match task.remove("data") {
        Some(Value::Object(data)) => data,
        _ => return Err(at_line(line, "the task has no \"data\" object")),
    };
    let external_id = match task.remove("id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let mut item = new_item(external_id, data, None, line)?;
    item.from_label_studio = true;
    item.prediction = best_prediction(task.remove("predictions"), line)?;
    item.annotations = annotations(task.remove("annotations"), line)?;
    Ok(item)
}

fn list(value: Option<Value>, key: &str, line: usize) -> Result<Vec<Value>, Invalid> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(values)) => Ok(values),
        Some(_) => Err(at_line(line, format!("\"{key}\" must be an array"))),
    }
}

/// The prediction with the highest `score` (the first on a tie or without scores).
fn best_prediction(value: Option<Value>, line: usize) -> Result<Option<Value>, Invalid> {
    let mut best: Option<(f64, Value)> = None;
    for prediction in list(value, "predictions", line)? {
        let score = prediction
            .get("score")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let Some(result) = prediction.get("result").filter(|r| is_nonempty_array(r)) else {
            continue;
        };
        if best.as_ref().is_none_or(|(top, _)| score > *top) {
            best = Some((score, result.clone()));
        }
    }
    Ok(best.map(|(_, result)| result))
}

fn is_nonempty_array(value: &Value) -> bool {
    value.as_array().is_some_and(|a| !a.is_empty())
}

/// Annotations with a result, one per annotator (the first they made): cancelled ones
/// (`was_cancelled`) and empty ones are left out.
fn annotations(value: Option<Value>, line: usize) -> Result<Vec<Annotation>, Invalid> {
    let mut out: Vec<Annotation> = Vec::new();
    for annotation in list(value, "annotations", line)? {
        let Value::Object(annotation) = annotation else {
            return Err(at_line(line, "each annotation must be a JSON object"));
        };
        if annotation.get("was_cancelled") == Some(&Value::Bool(true)) {
            continue;
        }
        let Some(result) = annotation.get("result").filter(|r| is_nonempty_array(r)) else {
            continue;
        };
        let rater = annotator_name(annotation.get("completed_by"))
            .ok_or_else(|| at_line(line, "an annotation has no \"completed_by\" annotator"))?;
        if out.iter().any(|a| a.rater == rater) {
            continue;
        }
        out.push(Annotation {
            rater,
            value: result.clone(),
            duration_ms: lead_time_ms(&annotation),
            created_at_ms: created_at_ms(&annotation),
        });
    }
    Ok(out)
}

/// `ls-annotator-3` for Label Studio's user 3; an annotator known only by email is named by
/// a hash of it, so the email itself is never stored.
pub fn annotator_name(completed_by: Option<&Value>) -> Option<String> {
    let tag = match completed_by? {
        Value::Number(n) => n.to_string(),
        Value::Object(user) => match (user.get("id"), user.get("email").and_then(Value::as_str)) {
            (Some(Value::Number(n)), _) => n.to_string(),
            (_, Some(email)) => email_tag(email),
            _ => return None,
        },
        Value::String(s) if !s.trim().is_empty() => email_tag(s),
        _ => return None,
    };
    Some(format!("ls-annotator-{tag}"))
}

/// `h` and 12 hex digits of the SHA-256 of a lower-cased email (or other annotator text).
fn email_tag(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("h{}", &hex::encode(digest)[..12])
}

fn lead_time_ms(annotation: &Map<String, Value>) -> Option<i64> {
    let seconds = annotation.get("lead_time")?.as_f64()?;
    (0.0..1e9)
        .contains(&seconds)
        .then_some((seconds * 1000.0) as i64)
}

fn created_at_ms(annotation: &Map<String, Value>) -> Option<i64> {
    let text = annotation.get("created_at")?.as_str()?;
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Label Studio results (`[{"type", "value", ...}]`) as a value of the project's kind:
/// choices to a choice (or the set of them), rating, number, textarea to text, labels to
/// spans, rectanglelabels (percent of the image) to boxes in pixels.
pub fn kind_value(
    project: &Project,
    data: &Map<String, Value>,
    results: &Value,
) -> Result<Value, String> {
    let results = results
        .as_array()
        .ok_or("must be a Label Studio result list")?;
    let of_type = |ty: &str| -> Vec<&Map<String, Value>> {
        results
            .iter()
            .filter(|r| r.get("type").and_then(Value::as_str) == Some(ty))
            .filter_map(|r| r.get("value").and_then(Value::as_object))
            .collect()
    };
    let missing = |ty: &str| {
        format!(
            "has no {ty:?} result for a {} project",
            project.kind.as_str()
        )
    };
    match project.kind {
        Kind::SingleChoice | Kind::ImageChoice => {
            let choice = of_type("choices")
                .into_iter()
                .find_map(|v| strings(v.get("choices")).into_iter().next());
            choice.map(Value::String).ok_or_else(|| missing("choices"))
        }
        Kind::MultiChoice => {
            let values = of_type("choices");
            if values.is_empty() {
                return Err(missing("choices"));
            }
            let mut all: Vec<String> = Vec::new();
            for choice in values.iter().flat_map(|v| strings(v.get("choices"))) {
                if !all.contains(&choice) {
                    all.push(choice);
                }
            }
            Ok(Value::from(all))
        }
        Kind::Rating => first_field(&of_type("rating"), "rating").ok_or_else(|| missing("rating")),
        Kind::Numeric => first_field(&of_type("number"), "number").ok_or_else(|| missing("number")),
        Kind::Text => {
            let texts: Vec<String> = of_type("textarea")
                .iter()
                .flat_map(|v| strings(v.get("text")))
                .collect();
            if texts.is_empty() {
                return Err(missing("textarea"));
            }
            Ok(Value::String(texts.join("\n")))
        }
        Kind::Spans => spans(&of_type("labels"), text_of(project, data)),
        Kind::Boxes => boxes(
            &of_type("rectanglelabels"),
            results,
            image_size(project, data),
        ),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn first_field(values: &[&Map<String, Value>], key: &str) -> Option<Value> {
    values.iter().find_map(|v| v.get(key).cloned())
}

fn text_of<'a>(project: &Project, data: &'a Map<String, Value>) -> Option<&'a str> {
    let field = project.settings.field.as_deref()?;
    data.get(field)?.as_str()
}

/// Label Studio's offsets count UTF-16 code units (JavaScript strings); tally's count
/// Unicode scalar values. Offsets are converted against the item's text when it is there.
fn spans(values: &[&Map<String, Value>], text: Option<&str>) -> Result<Value, String> {
    let mut out = Vec::new();
    for value in values {
        let offset = |key: &str| value.get(key).and_then(Value::as_u64);
        let (Some(start), Some(end)) = (offset("start"), offset("end")) else {
            return Err("has a \"labels\" result without start and end".into());
        };
        let label = strings(value.get("labels")).into_iter().next();
        let label = label.ok_or("has a \"labels\" result without a label")?;
        let (start, end) = match text {
            Some(text) => (scalar_offset(text, start), scalar_offset(text, end)),
            None => (start, end),
        };
        out.push(serde_json::json!({"start": start, "end": end, "label": label}));
    }
    if out.is_empty() {
        return Err("has no \"labels\" result for a spans project".into());
    }
    Ok(Value::Array(out))
}

fn scalar_offset(text: &str, utf16: u64) -> u64 {
    let mut units = 0u64;
    for (index, c) in text.chars().enumerate() {
        if units >= utf16 {
            return index as u64;
        }
        units += c.len_utf16() as u64;
    }
    text.chars().count() as u64 + utf16.saturating_sub(units)
}

fn image_size(project: &Project, data: &Map<String, Value>) -> Option<(f64, f64)> {
    let field = project.settings.field.as_deref()?;
    let image = data.get(field)?.as_object()?;
    Some((
        image.get("width")?.as_f64()?,
        image.get("height")?.as_f64()?,
    ))
}

/// Rectangles in percent of the image (`x`, `y`, `width`, `height`) as boxes in pixels,
/// using the result's `original_width`/`original_height` or else the item's image size.
fn boxes(
    values: &[&Map<String, Value>],
    results: &[Value],
    known: Option<(f64, f64)>,
) -> Result<Value, String> {
    let mut out = Vec::new();
    let rectangles = results
        .iter()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("rectanglelabels"));
    for (result, value) in rectangles.zip(values) {
        let size = |key: &str| result.get(key).and_then(Value::as_f64);
        let (width, height) = match (size("original_width"), size("original_height"), known) {
            (Some(w), Some(h), _) => (w, h),
            (_, _, Some(known)) => known,
            _ => {
                return Err(
                    "has a rectangle but neither it nor the item gives the image size".into(),
                )
            }
        };
        let number = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_f64)
                .ok_or(format!("has a rectangle without {key:?}"))
        };
        let label = strings(value.get("rectanglelabels")).into_iter().next();
        let label = label.ok_or("has a rectangle without a label")?;
        let pixels = |percent: f64, of: f64| (percent * of / 100.0 * 100.0).round() / 100.0;
        out.push(serde_json::json!({
            "x": pixels(number("x")?, width),
            "y": pixels(number("y")?, height),
            "w": pixels(number("width")?, width),
            "h": pixels(number("height")?, height),
            "label": label,
        }));
    }
    if out.is_empty() {
        return Err("has no \"rectanglelabels\" result for a boxes project".into());
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotators_are_named_without_their_email() {
        assert_eq!(
            annotator_name(Some(&json!(3))).as_deref(),
            Some("ls-annotator-3")
        );
        assert_eq!(
            annotator_name(Some(&json!({"id": 7, "email": "a@b.org"}))).as_deref(),
            Some("ls-annotator-7")
        );
        let by_email = annotator_name(Some(&json!({"email": "Ann@Example.org"}))).unwrap();
        assert!(by_email.starts_with("ls-annotator-h"), "{by_email}");
        assert!(!by_email.contains("example"));
        assert_eq!(
            by_email,
            annotator_name(Some(&json!({"email": "ann@example.org"}))).unwrap()
        );
        assert_eq!(annotator_name(None), None);
    }

    #[test]
    fn utf16_offsets_become_scalar_offsets() {
        let text = "😀 ok";
        assert_eq!(scalar_offset(text, 3), 2);
        assert_eq!(scalar_offset(text, 5), 4);
        assert_eq!(scalar_offset("abc", 2), 2);
    }

    fn project(body: Value) -> Project {
        let new: crate::domain::project::NewProject = serde_json::from_value(body).unwrap();
        Project::from_spec(1, new.validate().unwrap())
    }

    #[test]
    fn results_become_values_of_each_kind() {
        let multi = project(json!({"name": "m", "kind": "multi_choice", "labels": ["a", "b"]}));
        let results = json!([
            {"type": "choices", "value": {"choices": ["a"]}},
            {"type": "choices", "value": {"choices": ["b", "a"]}}
        ]);
        assert_eq!(
            kind_value(&multi, &Map::new(), &results).unwrap(),
            json!(["a", "b"])
        );

        let boxes =
            project(json!({"name": "b", "kind": "boxes", "labels": ["cat"], "field": "image"}));
        let data =
            json!({"image": {"url": "https://img.example/c.png", "width": 400, "height": 200}});
        let rectangle = json!([{"type": "rectanglelabels", "value":
            {"x": 10, "y": 25, "width": 50, "height": 50, "rectanglelabels": ["cat"]}}]);
        let data = data.as_object().unwrap();
        assert_eq!(
            kind_value(&boxes, data, &rectangle).unwrap(),
            json!([{"x": 40.0, "y": 50.0, "w": 200.0, "h": 100.0, "label": "cat"}])
        );
        let sized = json!([{"type": "rectanglelabels", "original_width": 1000, "original_height": 1000,
            "value": {"x": 10, "y": 10, "width": 10, "height": 10, "rectanglelabels": ["cat"]}}]);
        assert_eq!(
            kind_value(&boxes, &Map::new(), &sized).unwrap()[0]["w"],
            json!(100.0)
        );
        assert!(
            kind_value(&boxes, &Map::new(), &rectangle).is_err(),
            "no image size"
        );

        let spans =
            project(json!({"name": "s", "kind": "spans", "labels": ["PER"], "field": "text"}));
        let data = json!({"text": "😀 Ann"});
        let labels =
            json!([{"type": "labels", "value": {"start": 3, "end": 6, "labels": ["PER"]}}]);
        assert_eq!(
            kind_value(&spans, data.as_object().unwrap(), &labels).unwrap(),
            json!([{"start": 2, "end": 5, "label": "PER"}])
        );
        let rating = project(json!({"name": "r", "kind": "rating", "scale": {"min": 1, "max": 5}}));
        let choices_only = json!([{"type": "choices", "value": {"choices": ["a"]}}]);
        assert!(kind_value(&rating, &Map::new(), &choices_only)
            .unwrap_err()
            .contains("no \"rating\" result"));
    }

    #[test]
    fn the_best_prediction_wins() {
        let predictions = json!([
            {"result": [{"type": "choices", "value": {"choices": ["neg"]}}], "score": 0.2},
            {"result": [{"type": "choices", "value": {"choices": ["pos"]}}], "score": 0.9}
        ]);
        let best = best_prediction(Some(predictions), 1).unwrap().unwrap();
        assert_eq!(best[0]["value"]["choices"][0], "pos");
    }
}
