//! What raters see of an item: which data field is the text, which fields show and in
//! which order, which never leave the server, where images may come from, and whether a
//! model's pre-label is shown.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::text::check_text;
use super::Invalid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Presentation {
    /// The field shown as the item's main text.
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// Data fields shown (besides the text), in this order; empty shows every field that
    /// is not hidden, in the item's own order.
    #[serde(default)]
    pub shown_fields: Vec<String>,
    /// Data fields raters never see: not on their pages, not in their API answers.
    #[serde(default)]
    pub hidden_fields: Vec<String>,
    /// Origins (`https://host[:port]`) image URLs may come from; the pages allow them.
    #[serde(default)]
    pub media_origins: Vec<String>,
    /// Raters see a model's pre-label as a starting point.
    #[serde(default)]
    pub show_prediction: bool,
    /// Share of raters who label items with a pre-label blind, for the anchoring measure.
    #[serde(default)]
    pub prediction_blind_share: f64,
    /// Seconds after a label during which its rater may still change it.
    #[serde(default = "default_edit_window")]
    pub edit_window_seconds: i64,
}

fn default_edit_window() -> i64 {
    60
}

/// Longest edit window a project may allow: a day.
pub const MAX_EDIT_WINDOW_SECONDS: i64 = 86_400;

/// An item as one rater may see it: hidden fields left out, the pre-label only when this
/// rater is shown it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RaterItem {
    pub id: i64,
    pub external_id: Option<String>,
    pub data: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Value>,
}

fn default_text_field() -> String {
    "text".into()
}

impl Default for Presentation {
    fn default() -> Self {
        Presentation {
            text_field: default_text_field(),
            shown_fields: Vec::new(),
            hidden_fields: Vec::new(),
            media_origins: Vec::new(),
            show_prediction: false,
            prediction_blind_share: 0.0,
            edit_window_seconds: default_edit_window(),
        }
    }
}

/// The presentation as `POST /api/v1/projects` takes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PresentationInput {
    pub text_field: Option<String>,
    pub shown_fields: Option<Vec<String>>,
    pub hidden_fields: Option<Vec<String>>,
    pub media_origins: Option<Vec<String>>,
    pub show_prediction: Option<bool>,
    pub prediction_blind_share: Option<f64>,
    pub edit_window_seconds: Option<i64>,
}

fn field_names(key: &str, names: Vec<String>) -> Result<Vec<String>, Invalid> {
    if names.len() > 100 {
        return Err(Invalid::new(key, "name at most 100 fields"));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(Invalid::new(key, "field names must not be empty"));
        }
        check_text(key, &name, 100)?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// An origin as browsers compare them: scheme, host and port, no path.
pub fn parse_origin(text: &str) -> Option<String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))?;
    let ok_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok_host.then(|| text.to_ascii_lowercase())
}

impl PresentationInput {
    pub fn validate(self) -> Result<Presentation, Invalid> {
        let text_field = self.text_field.unwrap_or_else(default_text_field);
        if text_field.trim().is_empty() {
            return Err(Invalid::new("text_field", "must not be empty"));
        }
        check_text("text_field", &text_field, 100)?;
        let shown_fields = field_names("shown_fields", self.shown_fields.unwrap_or_default())?;
        let hidden_fields = field_names("hidden_fields", self.hidden_fields.unwrap_or_default())?;
        if let Some(both) = shown_fields.iter().find(|f| hidden_fields.contains(f)) {
            return Err(Invalid::new(
                "hidden_fields",
                format!("{both:?} is both shown and hidden"),
            ));
        }
        let mut media_origins = Vec::new();
        for origin in self.media_origins.unwrap_or_default() {
            let parsed = parse_origin(&origin).ok_or_else(|| {
                Invalid::new(
                    "media_origins",
                    format!(
                        "{origin:?} is not an http(s) origin such as https://images.example.com"
                    ),
                )
            })?;
            media_origins.push(parsed);
        }
        if media_origins.len() > 20 {
            return Err(Invalid::new("media_origins", "name at most 20 origins"));
        }
        let share = self.prediction_blind_share.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&share) {
            return Err(Invalid::new(
                "prediction_blind_share",
                "must be a share between 0 and 1",
            ));
        }
        let edit_window_seconds = self.edit_window_seconds.unwrap_or_else(default_edit_window);
        if !(0..=MAX_EDIT_WINDOW_SECONDS).contains(&edit_window_seconds) {
            return Err(Invalid::new(
                "edit_window_seconds",
                format!("must be between 0 and {MAX_EDIT_WINDOW_SECONDS}"),
            ));
        }
        Ok(Presentation {
            edit_window_seconds,
            text_field: text_field.trim().to_string(),
            shown_fields,
            hidden_fields,
            media_origins,
            show_prediction: self.show_prediction.unwrap_or(false),
            prediction_blind_share: share,
        })
    }
}

impl Presentation {
    /// The item as this rater may see it.
    pub fn rater_item(
        &self,
        rater_id: i64,
        id: i64,
        external_id: Option<String>,
        data: &Map<String, Value>,
        prediction: Option<Value>,
    ) -> RaterItem {
        RaterItem {
            id,
            external_id,
            data: self.visible_data(data),
            prediction: prediction.filter(|_| !self.is_blind(rater_id, id)),
        }
    }

    /// The item's data as a rater may see it: hidden fields removed.
    pub fn visible_data(&self, data: &Map<String, Value>) -> Map<String, Value> {
        data.iter()
            .filter(|(k, _)| !self.hidden_fields.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The fields shown beside the text, in order, without the text and hidden fields.
    pub fn table_fields<'a>(
        &self,
        data: &'a Map<String, Value>,
        skip: &[&str],
    ) -> Vec<(&'a str, &'a Value)> {
        let wanted = |k: &str| {
            k != self.text_field && !skip.contains(&k) && !self.hidden_fields.iter().any(|h| h == k)
        };
        if self.shown_fields.is_empty() {
            data.iter()
                .filter(|(k, _)| wanted(k))
                .map(|(k, v)| (k.as_str(), v))
                .collect()
        } else {
            self.shown_fields
                .iter()
                .filter(|k| wanted(k))
                .filter_map(|k| data.get_key_value(k.as_str()))
                .map(|(k, v)| (k.as_str(), v))
                .collect()
        }
    }

    /// Whether an http(s) URL comes from one of the allowed origins.
    pub fn allows_url(&self, url: &str) -> bool {
        let lower = url.to_ascii_lowercase();
        self.media_origins.iter().any(|origin| {
            lower
                .strip_prefix(origin.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Whether this rater labels this item blind, though it has a pre-label: a fixed draw
    /// per rater and item, so asking again gives the same answer.
    pub fn is_blind(&self, rater_id: i64, item_id: i64) -> bool {
        if !self.show_prediction {
            return true;
        }
        let draw = super::policy::random_key(rater_id, item_id) as f64 / i64::MAX as f64;
        draw < self.prediction_blind_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_fields_never_show_and_shown_fields_keep_their_order() {
        let p = PresentationInput {
            shown_fields: Some(vec!["b".into(), "a".into()]),
            hidden_fields: Some(vec!["email".into()]),
            ..PresentationInput::default()
        }
        .validate()
        .unwrap();
        let data = json!({"text": "t", "a": 1, "b": 2, "email": "x@y.z", "c": 3});
        let data = data.as_object().unwrap();
        assert!(!p.visible_data(data).contains_key("email"));
        let fields: Vec<&str> = p
            .table_fields(data, &[])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(fields, ["b", "a"]);
    }

    #[test]
    fn origins_are_checked_and_matched_exactly() {
        assert_eq!(
            parse_origin("https://IMG.example.com/").as_deref(),
            Some("https://img.example.com")
        );
        assert_eq!(parse_origin("javascript:alert(1)"), None);
        assert_eq!(parse_origin("https://a.example/path?x"), None);
        let p = PresentationInput {
            media_origins: Some(vec!["https://img.example.com".into()]),
            ..PresentationInput::default()
        }
        .validate()
        .unwrap();
        assert!(p.allows_url("https://img.example.com/a.png"));
        assert!(!p.allows_url("https://img.example.com.evil.example/a.png"));
        assert!(!p.allows_url("http://img.example.com/a.png"));
    }

    #[test]
    fn the_blind_share_is_stable_per_rater_and_item() {
        let p = Presentation {
            show_prediction: true,
            prediction_blind_share: 0.3,
            ..Presentation::default()
        };
        let blind = (0..1000).filter(|i| p.is_blind(7, *i)).count();
        assert!((200..400).contains(&blind), "{blind}");
        assert_eq!(p.is_blind(7, 3), p.is_blind(7, 3));
    }
}
