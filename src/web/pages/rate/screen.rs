//! What the labelling screen shows for one item: its text, its fields (hidden ones never
//! leave the server), its image, and the answer form of the project's kind, prefilled with
//! the rater's own answer (when changing it) or the model's pre-label (when shown).

use serde_json::Value;

use crate::domain::kinds::{display, image_size, Kind};
use crate::domain::presentation::RaterItem;
use crate::domain::project::Project;

/// One data field beside the text: text, or a link when it holds an http(s) URL.
pub struct Field {
    pub name: String,
    pub text: String,
    pub link: bool,
}

/// The item's image, for kinds that show one.
pub struct Image {
    pub src: String,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub name: String,
}

/// One answer the form offers (a choice, a multiple-choice label, a rating point).
pub struct Option_ {
    pub value: String,
    /// The digit that picks it, for the first nine.
    pub key: Option<usize>,
    /// Words beside it (a rating's anchor).
    pub note: Option<String>,
    pub checked: bool,
    /// Its colour, the same in every view (spans and boxes).
    pub colour: &'static str,
}

/// Colours for labels, distinguishable and readable on white (WCAG AA for text on them).
const COLOURS: [&str; 10] = [
    "#1f6feb", "#b42318", "#1a7f37", "#8250df", "#b35900", "#0e7490", "#be185d", "#4d5b1e",
    "#5b4636", "#374151",
];

pub fn colour(index: usize) -> &'static str {
    COLOURS[index % COLOURS.len()]
}

pub struct Screen {
    pub kind: Kind,
    pub text: Option<String>,
    pub fields: Vec<Field>,
    pub image: Option<Image>,
    pub options: Vec<Option_>,
    /// The starting value of free-form inputs (numbers, text, spans and boxes as JSON).
    pub start: String,
    pub prediction: Option<String>,
    pub number_min: String,
    pub number_max: String,
    pub number_step: String,
    pub max_length: usize,
    pub pattern: Option<String>,
    pub comment: bool,
    pub comment_start: String,
}

fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !text.chars().any(char::is_whitespace)
}

fn field_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn image_of(project: &Project, item: &RaterItem) -> Option<Image> {
    let field = project.settings.field.as_deref()?;
    let (width, height) =
        image_size(&item.data, field).map_or((None, None), |(w, h)| (Some(w), Some(h)));
    let (src, name) = match item.data.get(field)? {
        Value::String(url) => (
            url.clone(),
            url.rsplit('/').next().unwrap_or_default().to_string(),
        ),
        Value::Object(image) => {
            if let Some(sha) = image.get("media").and_then(Value::as_str) {
                let name = image.get("name").and_then(Value::as_str).unwrap_or(sha);
                (format!("/media/{}/{sha}", project.id), name.to_string())
            } else {
                let url = image.get("url").and_then(Value::as_str)?;
                (
                    url.to_string(),
                    url.rsplit('/').next().unwrap_or_default().to_string(),
                )
            }
        }
        _ => return None,
    };
    // Only images from the project's own media or its allowed origins are shown.
    let allowed = src.starts_with("/media/") || project.presentation.allows_url(&src);
    allowed.then_some(Image {
        src,
        width,
        height,
        name,
    })
}

fn options(project: &Project, current: Option<&Value>) -> Vec<Option_> {
    let picked = |value: &str| match current {
        Some(Value::String(s)) => s == value,
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(value)),
        Some(Value::Number(n)) => n.to_string() == value,
        _ => false,
    };
    let anchors = project.settings.scale.as_ref().map(|s| &s.anchors);
    project
        .schema()
        .categories()
        .into_iter()
        .enumerate()
        .map(|(i, value)| Option_ {
            key: (i < 9).then_some(i + 1),
            note: anchors.and_then(|a| a.get(&value).cloned()),
            checked: picked(&value),
            colour: colour(i),
            value,
        })
        .collect()
}

/// The screen for an item; `current` is the rater's own answer when they change it.
pub fn screen(
    project: &Project,
    item: &RaterItem,
    current: Option<&Value>,
    comment: Option<&str>,
) -> Screen {
    let presentation = &project.presentation;
    let image_field = project
        .settings
        .field
        .as_deref()
        .filter(|_| project.kind.shows_image());
    // Spans are marked on their own field, whichever field the project shows as text.
    let spans_field = project
        .settings
        .field
        .as_deref()
        .filter(|_| project.kind == Kind::Spans);
    let text_field = spans_field.unwrap_or(presentation.text_field.as_str());
    let text = match item.data.get(text_field) {
        Some(Value::String(text)) => Some(text.clone()),
        _ if image_field.is_some() => None,
        _ => Some(serde_json::to_string_pretty(&item.data).unwrap_or_default()),
    };
    let skip: Vec<&str> = image_field.into_iter().chain(spans_field).collect();
    let fields = presentation
        .table_fields(&item.data, &skip)
        .into_iter()
        .map(|(name, value)| {
            let text = field_text(value);
            Field {
                name: name.to_string(),
                link: is_url(&text),
                text,
            }
        })
        .collect();
    let start_value = current.or(item.prediction.as_ref());
    let range = project.settings.range.as_ref();
    Screen {
        kind: project.kind,
        text,
        fields,
        image: image_of(project, item),
        options: options(project, start_value),
        start: start_value
            .map(|v| match project.kind {
                Kind::Spans | Kind::Boxes => v.to_string(),
                _ => display(v),
            })
            .unwrap_or_default(),
        prediction: item.prediction.as_ref().map(display),
        number_min: range.map(|r| r.min.to_string()).unwrap_or_default(),
        number_max: range.map(|r| r.max.to_string()).unwrap_or_default(),
        number_step: range
            .and_then(|r| r.step)
            .map_or_else(|| "any".to_string(), |s| s.to_string()),
        max_length: project.settings.max_length.unwrap_or(1_000),
        pattern: project.settings.pattern.clone(),
        comment: project.settings.comment,
        comment_start: comment.unwrap_or_default().to_string(),
    }
}
