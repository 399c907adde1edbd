//! What an export holds and in which shape: one set of options, read the same way from
//! the API's query string, the export form and `tally export`.

use serde::{Deserialize, Serialize};

use crate::domain::kinds::Kind;
use crate::domain::policy::Pool;
use crate::domain::Invalid;

/// The file formats a dataset leaves in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
    Tfrecord,
    LabelStudio,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Jsonl,
        Format::Csv,
        Format::Parquet,
        Format::Tfrecord,
        Format::LabelStudio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Tfrecord => "tfrecord",
            Format::LabelStudio => "label-studio",
        }
    }

    pub fn parse(s: &str) -> Result<Format, Invalid> {
        match s {
            "ndjson" => Ok(Format::Jsonl),
            other => Format::ALL
                .into_iter()
                .find(|f| f.as_str() == other)
                .ok_or_else(|| {
                    Invalid::new(
                        "format",
                        format!(
                        "unknown export format {other:?}: use jsonl, csv, parquet, tfrecord or label-studio"
                    ),
                    )
                }),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Tfrecord => "application/octet-stream",
            Format::LabelStudio => "application/json",
        }
    }

    /// The file name ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Tfrecord => "tfrecord",
            Format::LabelStudio => "json",
        }
    }
}

/// One row per item (labels nested where the format allows) or one row per label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    Items,
    Labels,
}

/// Every label, or only the consensus of each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelsKept {
    All,
    Consensus,
}

/// How an item's consensus is found where no expert settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Majority,
    DawidSkene,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Majority => "majority",
            Method::DawidSkene => "dawid-skene",
        }
    }
}

/// Shares of a train / validation / test split and the seed that makes it repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitShares {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
    pub seed: u64,
}

/// Everything an export was asked for; recorded with each dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportOptions {
    pub format: Format,
    pub rows: Rows,
    pub labels: LabelsKept,
    pub method: Method,
    /// Items whose labels agree with their consensus less than this share are left out.
    pub min_agreement: Option<f64>,
    /// Items whose Dawid-Skene posterior for their consensus is below this are left out.
    pub min_confidence: Option<f64>,
    /// Only labels from these pools; all pools when empty.
    pub pools: Vec<Pool>,
    pub include_gold: bool,
    pub include_feedback: bool,
    pub split: Option<SplitShares>,
    /// Item data fields left out (personal data, say).
    pub drop_fields: Vec<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: Format::Jsonl,
            rows: Rows::Items,
            labels: LabelsKept::All,
            method: Method::Majority,
            min_agreement: None,
            min_confidence: None,
            pools: Vec::new(),
            include_gold: false,
            include_feedback: true,
            split: None,
            drop_fields: Vec::new(),
        }
    }
}

/// The options as text, as a query string, a form or the command line gives them. Empty
/// strings count as not given, so a form's blank fields keep the defaults.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawExportOptions {
    /// `jsonl` (default; also `ndjson`), `csv`, `parquet`, `tfrecord` or `label-studio`.
    pub format: Option<String>,
    /// `items` (default: one row per item, labels nested) or `labels` (one row per label).
    pub rows: Option<String>,
    /// `all` (default) or `consensus` (each item's consensus, without the labels).
    pub labels: Option<String>,
    /// Consensus where no expert settled the item: `majority` (default) or `dawid-skene`.
    pub method: Option<String>,
    /// Leave out items whose agreement with their consensus is below this share (0 to 1).
    pub min_agreement: Option<String>,
    /// Leave out items whose Dawid-Skene confidence is below this (0 to 1).
    pub min_confidence: Option<String>,
    /// Comma-separated pools whose labels are kept (generalist, expert, user); all if absent.
    pub pools: Option<String>,
    /// Include gold questions and their answers (`true`/`false`, default false).
    pub include_gold: Option<String>,
    /// Include process feedback (`true`/`false`, default true).
    pub include_feedback: Option<String>,
    /// Train, validation and test shares, such as `80,10,10` or `0.8,0.1,0.1`.
    pub split: Option<String>,
    /// Seed of the split (default 0).
    pub seed: Option<String>,
    /// Comma-separated item data fields to leave out.
    pub drop: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_flag(field: &str, s: Option<&str>, default: bool) -> Result<bool, Invalid> {
    match s {
        None => Ok(default),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some("false" | "0" | "off" | "no") => Ok(false),
        Some(other) => Err(Invalid::new(
            field,
            format!("{other:?} is not true or false"),
        )),
    }
}

fn parse_share(field: &str, s: Option<&str>) -> Result<Option<f64>, Invalid> {
    let Some(s) = s else { return Ok(None) };
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(Some(v)),
        _ => Err(Invalid::new(
            field,
            format!("{s:?} is not a share between 0 and 1"),
        )),
    }
}

fn comma_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// Reads `80,10,10` or `0.8,0.1,0.1` (any three non-negative numbers with a positive sum)
/// as shares that add up to one.
fn parse_split(s: &str, seed: u64) -> Result<SplitShares, Invalid> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let numbers: Option<Vec<f64>> = parts
        .iter()
        .map(|p| p.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
        .collect();
    let invalid = || {
        Invalid::new(
            "split",
            format!("{s:?} is not three shares for train, validation and test, such as 80,10,10"),
        )
    };
    let numbers = numbers.filter(|n| n.len() == 3).ok_or_else(invalid)?;
    let total: f64 = numbers.iter().sum();
    if total <= 0.0 {
        return Err(invalid());
    }
    Ok(SplitShares {
        train: numbers[0] / total,
        validation: numbers[1] / total,
        test: numbers[2] / total,
        seed,
    })
}

impl RawExportOptions {
    /// Checks every option against the project's kind; the first problem names its field.
    pub fn parse(&self, kind: Kind) -> Result<ExportOptions, Invalid> {
        let format = given(&self.format)
            .map(Format::parse)
            .transpose()?
            .unwrap_or(Format::Jsonl);
        let rows = match given(&self.rows) {
            None | Some("items") => Rows::Items,
            Some("labels") => Rows::Labels,
            Some(other) => {
                return Err(Invalid::new(
                    "rows",
                    format!("unknown row shape {other:?}: use items or labels"),
                ))
            }
        };
        let labels = match given(&self.labels) {
            None | Some("all") => LabelsKept::All,
            Some("consensus") => LabelsKept::Consensus,
            Some(other) => {
                return Err(Invalid::new(
                    "labels",
                    format!("unknown choice {other:?}: use all or consensus"),
                ))
            }
        };
        let method = match given(&self.method) {
            None | Some("majority") => Method::Majority,
            Some("dawid-skene" | "dawid_skene") => Method::DawidSkene,
            Some(other) => {
                return Err(Invalid::new(
                    "method",
                    format!("unknown consensus method {other:?}: use majority or dawid-skene"),
                ))
            }
        };
        if method == Method::DawidSkene && !kind.is_categorical() {
            return Err(Invalid::new(
                "method",
                format!(
                    "dawid-skene needs categories (single choice, image choice or rating); this project's kind is {}",
                    kind.as_str()
                ),
            ));
        }
        let min_confidence = parse_share("min_confidence", given(&self.min_confidence))?;
        if min_confidence.is_some() && method != Method::DawidSkene {
            return Err(Invalid::new(
                "min_confidence",
                "a confidence comes from dawid-skene: set method=dawid-skene, or use min_agreement",
            ));
        }
        if rows == Rows::Labels && labels == LabelsKept::Consensus {
            return Err(Invalid::new(
                "rows",
                "one row per label needs the labels: use labels=all with rows=labels",
            ));
        }
        if format == Format::LabelStudio && rows == Rows::Labels {
            return Err(Invalid::new(
                "rows",
                "Label Studio holds one task per item with its annotations: use rows=items",
            ));
        }
        let pools = comma_list(given(&self.pools))
            .iter()
            .map(|p| Pool::parse(p).map_err(|e| Invalid::new("pools", e.reason)))
            .collect::<Result<Vec<_>, _>>()?;
        let seed = match given(&self.seed) {
            None => 0,
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| Invalid::new("seed", format!("{s:?} is not a whole number")))?,
        };
        let split = given(&self.split)
            .map(|s| parse_split(s, seed))
            .transpose()?;
        Ok(ExportOptions {
            format,
            rows,
            labels,
            method,
            min_agreement: parse_share("min_agreement", given(&self.min_agreement))?,
            min_confidence,
            pools,
            include_gold: parse_flag("include_gold", given(&self.include_gold), false)?,
            include_feedback: parse_flag("include_feedback", given(&self.include_feedback), true)?,
            split,
            drop_fields: comma_list(given(&self.drop)),
        })
    }
}

impl ExportOptions {
    /// Whether labels from this pool are kept.
    pub fn keeps_pool(&self, pool: Pool) -> bool {
        self.pools.is_empty() || self.pools.contains(&pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawExportOptions {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_urlencoded::from_str(&query).expect("test query")
    }

    #[test]
    fn defaults_are_every_label_by_majority_as_jsonl() {
        let options = raw(&[]).parse(Kind::SingleChoice).expect("defaults");
        assert_eq!(options, ExportOptions::default());
    }

    #[test]
    fn blank_form_fields_keep_the_defaults() {
        let options = raw(&[("format", ""), ("split", ""), ("min_agreement", "")])
            .parse(Kind::SingleChoice)
            .expect("blank");
        assert_eq!(options, ExportOptions::default());
    }

    #[test]
    fn split_shares_are_normalised() {
        let options = raw(&[("split", "80,10,10"), ("seed", "7")])
            .parse(Kind::SingleChoice)
            .expect("split");
        let split = options.split.expect("a split");
        assert!((split.train - 0.8).abs() < 1e-12);
        assert!((split.test - 0.1).abs() < 1e-12);
        assert_eq!(split.seed, 7);
        for bad in ["80,20", "a,b,c", "0,0,0", "-1,1,1"] {
            let e = raw(&[("split", bad)])
                .parse(Kind::SingleChoice)
                .unwrap_err();
            assert_eq!(e.field, "split", "{bad}");
        }
    }

    #[test]
    fn contradictions_are_refused_with_their_field() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Kind, &'a str);
        let cases: &[Case] = &[
            (&[("method", "dawid-skene")], Kind::Spans, "method"),
            (
                &[("min_confidence", "0.9")],
                Kind::SingleChoice,
                "min_confidence",
            ),
            (
                &[("rows", "labels"), ("labels", "consensus")],
                Kind::SingleChoice,
                "rows",
            ),
            (
                &[("format", "label-studio"), ("rows", "labels")],
                Kind::SingleChoice,
                "rows",
            ),
            (&[("format", "xml")], Kind::SingleChoice, "format"),
            (
                &[("pools", "generalist,robots")],
                Kind::SingleChoice,
                "pools",
            ),
            (
                &[("min_agreement", "1.5")],
                Kind::SingleChoice,
                "min_agreement",
            ),
            (
                &[("include_gold", "maybe")],
                Kind::SingleChoice,
                "include_gold",
            ),
        ];
        for (pairs, kind, field) in cases {
            let e = raw(pairs).parse(*kind).unwrap_err();
            assert_eq!(e.field, *field, "{pairs:?}");
        }
    }

    #[test]
    fn pools_and_dropped_fields_are_lists() {
        let options = raw(&[("pools", "expert, generalist"), ("drop", "email,phone")])
            .parse(Kind::SingleChoice)
            .expect("lists");
        assert_eq!(options.pools, vec![Pool::Expert, Pool::Generalist]);
        assert!(options.keeps_pool(Pool::Expert));
        assert!(!options.keeps_pool(Pool::User));
        assert_eq!(options.drop_fields, vec!["email", "phone"]);
    }
}
