//! What a check reports: the findings, their kinds and severities, which rows a row's
//! flags name, and which flagged rows an import leaves out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Pattern;
use crate::domain::Invalid;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Encoding,
    InvalidRow,
    GoldOutsideLabels,
    MissingShownField,
    MixedTypes,
    DuplicateInFile,
    DuplicateInProject,
    PersonalData,
}

/// Errors refuse an import unless their rows are skipped; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl FindingKind {
    pub const ALL: [FindingKind; 8] = [
        FindingKind::Encoding,
        FindingKind::InvalidRow,
        FindingKind::GoldOutsideLabels,
        FindingKind::MissingShownField,
        FindingKind::MixedTypes,
        FindingKind::DuplicateInFile,
        FindingKind::DuplicateInProject,
        FindingKind::PersonalData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Encoding => "encoding",
            FindingKind::InvalidRow => "invalid_row",
            FindingKind::GoldOutsideLabels => "gold_outside_labels",
            FindingKind::MissingShownField => "missing_shown_field",
            FindingKind::MixedTypes => "mixed_types",
            FindingKind::DuplicateInFile => "duplicate_in_file",
            FindingKind::DuplicateInProject => "duplicate_in_project",
            FindingKind::PersonalData => "personal_data",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            FindingKind::Encoding | FindingKind::InvalidRow | FindingKind::GoldOutsideLabels => {
                Severity::Error
            }
            _ => Severity::Warning,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The finding kinds a row is flagged with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowFlags(u16);

impl RowFlags {
    pub(super) fn add(&mut self, kind: FindingKind) {
        self.0 |= kind.bit();
    }

    pub fn has(self, kind: FindingKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the row has any of these kinds.
    pub fn any_of(self, kinds: &[FindingKind]) -> bool {
        kinds.iter().any(|&k| self.has(k))
    }

    /// The first error kind the row has.
    pub fn error(self) -> Option<FindingKind> {
        FindingKind::ALL
            .into_iter()
            .find(|&k| self.has(k) && k.severity() == Severity::Error)
    }
}

/// Which flagged rows an import leaves out: `flagged` (all of them) or some kinds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Skip(pub Vec<FindingKind>);

impl Skip {
    /// `flagged`, or kinds separated by commas (`duplicate_in_file,personal_data`).
    pub fn parse(text: &str) -> Result<Skip, Invalid> {
        let mut kinds = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "flagged" {
                return Ok(Skip(FindingKind::ALL.to_vec()));
            }
            let kind = FindingKind::ALL
                .into_iter()
                .find(|k| k.as_str() == name)
                .ok_or_else(|| {
                    let names: Vec<_> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
                    Invalid::new(
                        "skip",
                        format!(
                            "unknown finding {name:?}: use flagged or {}",
                            names.join(", ")
                        ),
                    )
                })?;
            kinds.push(kind);
        }
        Ok(Skip(kinds))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn skips(&self, flags: RowFlags) -> bool {
        flags.any_of(&self.0)
    }
}

/// The result of a check: the JSON the API, the page and the command line show.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Findings {
    /// Rows (items) in the file.
    pub rows: usize,
    /// Each data field with how many rows hold each type of value.
    pub fields: BTreeMap<String, FieldTypes>,
    pub findings: Vec<Finding>,
    /// Rows no finding names: what `skip=flagged` imports (exact after a second pass; the
    /// first cannot yet tell which rows hold a field's less common type).
    pub importable: usize,
    /// Some finding is an error: an import that skips none of its rows is refused.
    pub blocked: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldTypes {
    /// Type (`string`, `number`, `boolean`, `null`, `empty`, `object`, `array`) to rows.
    pub types: BTreeMap<String, usize>,
}

/// One kind of problem, with the rows (file lines) it was found on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The data field, for `missing_shown_field` and `mixed_types`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the personal data looks like, for `personal_data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Pattern>,
    pub message: String,
    /// The first rows (lines of the file), at most 20.
    pub rows: Vec<usize>,
    /// How many rows in all.
    pub count: usize,
    /// What is wrong with the first row named, where rows differ (a gold answer, a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

impl Findings {
    /// The refusal of an import that skips nothing: the first row (in the file) with an error.
    pub fn refusal(&self) -> Option<Invalid> {
        let error = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .min_by_key(|f| f.rows.first().copied().unwrap_or(usize::MAX))?;
        let line = error.rows.first().copied().unwrap_or(1);
        let reason = error
            .example
            .clone()
            .unwrap_or_else(|| error.message.clone());
        Some(Invalid::new(format!("line {line}"), reason))
    }
}
