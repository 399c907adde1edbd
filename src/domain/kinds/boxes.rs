//! Boxes on an image: `{"x", "y", "w", "h", "label"}` in image pixels, positive sizes,
//! inside the image wherever its size is known.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{decode_all, from_item, Consensus, Settings, MAX_UNITS};
use crate::quality::kinds::{box_consensus, boxes_agree, BoxShape};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBox {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    label: String,
}

pub(super) fn parse(labels: &[String], raw: &Value) -> Result<Value, String> {
    let Value::Array(items) = raw else {
        return Err("must be an array of {\"x\", \"y\", \"w\", \"h\", \"label\"}".into());
    };
    if items.len() > MAX_UNITS {
        return Err(format!("holds more than {MAX_UNITS} boxes"));
    }
    let mut boxes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let b: RawBox = serde_json::from_value(item.clone()).map_err(|e| {
            format!(
                "box {}: {e} (a box is {{\"x\", \"y\", \"w\", \"h\", \"label\"}})",
                i + 1
            )
        })?;
        let finite = [b.x, b.y, b.w, b.h].iter().all(|v| v.is_finite());
        if !finite || b.x < 0.0 || b.y < 0.0 {
            return Err(format!(
                "box {}: x and y must be numbers of at least 0",
                i + 1
            ));
        }
        if b.w <= 0.0 || b.h <= 0.0 {
            return Err(format!("box {}: w and h must be above 0", i + 1));
        }
        // Beyond this, x + w loses w to rounding and a box no longer overlaps itself.
        if [b.x, b.y, b.w, b.h].iter().any(|v| *v > MAX_COORDINATE) {
            return Err(format!(
                "box {}: x, y, w and h must be at most {MAX_COORDINATE}",
                i + 1
            ));
        }
        if !labels.contains(&b.label) {
            return Err(format!(
                "box {}: {:?} is not one of this project's labels ({})",
                i + 1,
                b.label,
                labels.join(", ")
            ));
        }
        boxes.push(BoxShape {
            x: b.x,
            y: b.y,
            w: b.w,
            h: b.h,
            label: b.label,
        });
    }
    boxes.sort_by(|a, b| {
        a.label
            .cmp(&b.label)
            .then(a.x.total_cmp(&b.x))
            .then(a.y.total_cmp(&b.y))
            .then(a.w.total_cmp(&b.w))
            .then(a.h.total_cmp(&b.h))
    });
    if boxes.windows(2).any(|w| w[0] == w[1]) {
        return Err("two boxes are identical".into());
    }
    serde_json::to_value(boxes).map_err(|e| e.to_string())
}

/// The size of the item's image when known: `width` and `height` beside the image (in an
/// object `{"url", "width", "height"}` or as data fields of the item).
pub fn image_size(data: &Map<String, Value>, field: &str) -> Option<(f64, f64)> {
    let size_in = |object: &Map<String, Value>| {
        let w = object.get("width")?.as_f64()?;
        let h = object.get("height")?.as_f64()?;
        (w > 0.0 && h > 0.0).then_some((w, h))
    };
    match data.get(field) {
        Some(Value::Object(image)) => size_in(image).or_else(|| size_in(data)),
        _ => size_in(data),
    }
}

pub(super) fn check_for_item(
    settings: &Settings,
    value: &Value,
    data: &Map<String, Value>,
) -> Result<(), String> {
    let field = settings.field.as_deref().unwrap_or("image");
    let Some((width, height)) = image_size(data, field) else {
        return Ok(());
    };
    let boxes: Vec<BoxShape> = serde_json::from_value(value.clone()).unwrap_or_default();
    let slack = 1e-6;
    match boxes
        .iter()
        .find(|b| b.x + b.w > width + slack || b.y + b.h > height + slack)
    {
        Some(b) => Err(format!(
            "a {:?} box reaches past the image ({width} x {height} pixels)",
            b.label
        )),
        None => Ok(()),
    }
}

/// Largest coordinate or size a box may have, in pixels.
const MAX_COORDINATE: f64 = 10_000_000.0;

fn iou(settings: &Settings) -> f64 {
    settings.iou_threshold.unwrap_or(0.5)
}

fn min_f1(settings: &Settings) -> f64 {
    settings.min_f1.unwrap_or(1.0)
}

fn boxes_of(value: &Value) -> Vec<BoxShape> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

pub(super) fn agree(settings: &Settings, value: &Value, gold: &Value) -> bool {
    boxes_agree(
        &boxes_of(value),
        &boxes_of(gold),
        iou(settings),
        min_f1(settings),
    )
}

/// The boxes a majority of raters matched, coordinates by median.
pub(super) fn consensus(settings: &Settings, values: &[Value]) -> Consensus {
    let lists: Vec<Vec<BoxShape>> = decode_all(values);
    from_item(box_consensus(&lists, iou(settings), min_f1(settings)))
}
