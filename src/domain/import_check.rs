//! The check before an import: what a file holds and what looks wrong in it, computed one
//! row at a time so that it works on a stream of any length.
//!
//! Errors (bytes that are not UTF-8, a gold answer outside the label set, a row the project
//! cannot take) refuse an import unless their rows are skipped; warnings (a missing shown
//! field, mixed types, duplicates, personal data) are reported and imported unless skipped.
//! Duplicates compare a SHA-256 of the item's `data` as canonical JSON (keys sorted):
//! `external_id`, gold and the rest do not count, as raters see only the data.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::import::{ItemProblem, NewItem};
use super::project::Project;
use super::Invalid;

mod personal;
mod types;

pub use personal::{find_personal_data, luhn_valid, Pattern};
pub use types::ValueType;

/// How many rows a finding names; `count` says how many there are in all.
pub const ROWS_NAMED: usize = 20;

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
    fn add(&mut self, kind: FindingKind) {
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

#[derive(Debug, Default, Clone)]
struct Tally {
    count: usize,
    rows: Vec<usize>,
    example: Option<String>,
}

impl Tally {
    fn note(&mut self, line: usize, example: impl FnOnce() -> Option<String>) {
        self.count += 1;
        if self.rows.len() < ROWS_NAMED {
            self.rows.push(line);
        }
        if self.example.is_none() {
            self.example = example();
        }
    }
}

/// A 64-bit key of the SHA-256 of an item's data as canonical JSON (for sets in memory).
pub fn hash_key(hex_hash: &str) -> Option<u64> {
    let bytes = hex::decode(hex_hash.get(..16)?).ok()?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The SHA-256 (hex) of an item's data as canonical JSON: keys sorted at every level.
pub fn content_hash(data: &Map<String, Value>) -> String {
    let mut text = String::new();
    canonical_object(data, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn canonical_object(object: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        if let Some(value) = object.get(key) {
            canonical(value, out);
        }
    }
    out.push('}');
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(object) => canonical_object(object, out),
        Value::Array(values) => {
            out.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(value, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Checks rows one at a time. The first pass over a file gives the findings; a second
/// pass, given the first's result, also flags the rows of a field's less common types
/// (which only the whole file tells) and says exactly which rows an import would skip.
pub struct Checker<'a> {
    project: &'a Project,
    in_project: &'a HashSet<u64>,
    majority: HashMap<String, ValueType>,
    rows: usize,
    clean: usize,
    types: BTreeMap<String, BTreeMap<ValueType, Tally>>,
    first_seen: HashMap<u64, usize>,
    tallies: BTreeMap<(FindingKind, Option<Pattern>), Tally>,
}

impl<'a> Checker<'a> {
    /// `in_project`: the hash keys ([`hash_key`]) of the items already in the project.
    pub fn new(project: &'a Project, in_project: &'a HashSet<u64>) -> Checker<'a> {
        Checker {
            project,
            in_project,
            majority: HashMap::new(),
            rows: 0,
            clean: 0,
            types: BTreeMap::new(),
            first_seen: HashMap::new(),
            tallies: BTreeMap::new(),
        }
    }

    /// A checker for the second pass, knowing each field's most common type.
    pub fn second_pass(
        project: &'a Project,
        in_project: &'a HashSet<u64>,
        first: &Findings,
    ) -> Checker<'a> {
        let mut checker = Checker::new(project, in_project);
        checker.majority = first
            .fields
            .iter()
            .filter_map(|(field, types)| Some((field.clone(), types::majority(&types.types)?)))
            .collect();
        checker
    }

    /// The field raters read: the kind's field where it has one, else the text field.
    fn shown_field(&self) -> &str {
        match self.project.settings.field.as_deref() {
            Some(field) if self.project.kind.uses_field() => field,
            _ => &self.project.presentation.text_field,
        }
    }

    fn is_visible(&self, field: &str) -> bool {
        let presentation = &self.project.presentation;
        !presentation.hidden_fields.iter().any(|h| h == field)
            && (presentation.shown_fields.is_empty()
                || field == self.shown_field()
                || field == presentation.text_field
                || presentation.shown_fields.iter().any(|s| s == field))
    }

    /// Looks at one row (already checked against the project, with `problem` what that
    /// found) and returns what it is flagged with.
    pub fn observe(&mut self, item: &NewItem, problem: Option<&ItemProblem>) -> RowFlags {
        self.rows += 1;
        let line = item.line;
        let mut flags = RowFlags::default();
        if item.encoding_line.is_some() {
            self.flag(&mut flags, FindingKind::Encoding, None, line, || {
                Some("is not valid UTF-8".into())
            });
        }
        match problem {
            Some(ItemProblem::Gold(e)) => self.flag(
                &mut flags,
                FindingKind::GoldOutsideLabels,
                None,
                line,
                || Some(e.reason.clone()),
            ),
            Some(ItemProblem::Other(e)) => {
                self.flag(&mut flags, FindingKind::InvalidRow, None, line, || {
                    Some(e.reason.clone())
                })
            }
            None => {}
        }
        if is_blank(item.data.get(self.shown_field())) {
            self.flag(
                &mut flags,
                FindingKind::MissingShownField,
                None,
                line,
                || None,
            );
        }
        self.observe_types(item, &mut flags);
        self.observe_duplicates(item, &mut flags);
        self.observe_personal_data(item, &mut flags);
        if flags.is_empty() {
            self.clean += 1;
        }
        flags
    }

    fn flag(
        &mut self,
        flags: &mut RowFlags,
        kind: FindingKind,
        pattern: Option<Pattern>,
        line: usize,
        example: impl FnOnce() -> Option<String>,
    ) {
        flags.add(kind);
        self.tallies
            .entry((kind, pattern))
            .or_default()
            .note(line, example);
    }

    fn observe_types(&mut self, item: &NewItem, flags: &mut RowFlags) {
        let mut minority = false;
        for (field, value) in &item.data {
            let ty = ValueType::of(value, item.from_csv);
            if ty.is_mixable() && self.majority.get(field).is_some_and(|m| *m != ty) {
                minority = true;
            }
            let by_type = match self.types.get_mut(field) {
                Some(by_type) => by_type,
                None => self.types.entry(field.clone()).or_default(),
            };
            by_type.entry(ty).or_default().note(item.line, || None);
        }
        if minority {
            flags.add(FindingKind::MixedTypes);
        }
    }

    fn observe_duplicates(&mut self, item: &NewItem, flags: &mut RowFlags) {
        let Some(key) = hash_key(&content_hash(&item.data)) else {
            return;
        };
        if let Some(&first) = self.first_seen.get(&key) {
            self.flag(flags, FindingKind::DuplicateInFile, None, item.line, || {
                Some(format!(
                    "line {} repeats the data of line {first}",
                    item.line
                ))
            });
        } else {
            self.first_seen.insert(key, item.line);
        }
        if self.in_project.contains(&key) {
            self.flag(
                flags,
                FindingKind::DuplicateInProject,
                None,
                item.line,
                || None,
            );
        }
    }

    fn observe_personal_data(&mut self, item: &NewItem, flags: &mut RowFlags) {
        let mut found: Vec<Pattern> = Vec::new();
        for (field, value) in &item.data {
            if self.is_visible(field) {
                find_personal_data(value, &mut found);
            }
        }
        for pattern in found {
            self.flag(
                flags,
                FindingKind::PersonalData,
                Some(pattern),
                item.line,
                || None,
            );
        }
    }

    /// The findings so far; after a second pass, `importable` is exact.
    pub fn finish(self) -> Findings {
        let mut findings: Vec<Finding> = self
            .tallies
            .into_iter()
            .map(|((kind, pattern), tally)| finding(kind, pattern, None, tally, self.project))
            .collect();
        let mixed = self.types.iter().filter_map(|(field, by_type)| {
            let tally = types::minority_rows(by_type)?;
            Some(finding(
                FindingKind::MixedTypes,
                None,
                Some(field.clone()),
                tally,
                self.project,
            ))
        });
        findings.extend(mixed);
        findings.sort_by_key(|f| (f.kind, f.field.clone()));
        let blocked = findings.iter().any(|f| f.severity == Severity::Error);
        let fields = self
            .types
            .into_iter()
            .map(|(field, by_type)| {
                let types = by_type
                    .into_iter()
                    .map(|(ty, tally)| (ty.as_str().to_string(), tally.count))
                    .collect();
                (field, FieldTypes { types })
            })
            .collect();
        Findings {
            rows: self.rows,
            fields,
            findings,
            importable: self.clean,
            blocked,
        }
    }
}

/// What keeps one row out of an import that does not skip it: bytes that are not UTF-8,
/// or what the project found wrong with it (the importer's message, naming the line).
pub fn row_refusal(item: &NewItem, problem: Option<&ItemProblem>) -> Option<Invalid> {
    if let Some(line) = item.encoding_line {
        return Some(Invalid::new(format!("line {line}"), "is not valid UTF-8"));
    }
    problem.map(|p| p.invalid().clone())
}

/// Items in memory checked in both passes: the findings, and each row's flags.
pub struct Checked {
    pub findings: Findings,
    rows: Vec<(NewItem, RowFlags, Option<ItemProblem>)>,
}

/// Checks items held in memory (an upload) against the project, in both passes.
pub fn check_items(
    mut items: Vec<NewItem>,
    project: &Project,
    in_project: &HashSet<u64>,
) -> Checked {
    let problems: Vec<Option<ItemProblem>> = items
        .iter_mut()
        .map(|item| super::import::check_item(item, project).err())
        .collect();
    let mut first = Checker::new(project, in_project);
    for (item, problem) in items.iter().zip(&problems) {
        first.observe(item, problem.as_ref());
    }
    let first = first.finish();
    let mut second = Checker::second_pass(project, in_project, &first);
    let flags: Vec<RowFlags> = items
        .iter()
        .zip(&problems)
        .map(|(item, problem)| second.observe(item, problem.as_ref()))
        .collect();
    let rows = items
        .into_iter()
        .zip(flags)
        .zip(problems)
        .map(|((item, flags), problem)| (item, flags, problem))
        .collect();
    Checked {
        findings: second.finish(),
        rows,
    }
}

impl Checked {
    /// The rows to store and how many were skipped; refused when a row left in still has an
    /// error (with that row's own message, as an import without a check gives it).
    pub fn into_import(self, skip: &Skip) -> Result<(Vec<NewItem>, usize), Invalid> {
        let mut kept = Vec::with_capacity(self.rows.len());
        let mut skipped = 0;
        for (item, flags, problem) in self.rows {
            if skip.skips(flags) {
                skipped += 1;
                continue;
            }
            if let Some(refusal) = row_refusal(&item, problem.as_ref()) {
                return Err(refusal);
            }
            kept.push(item);
        }
        Ok((kept, skipped))
    }
}

fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

fn finding(
    kind: FindingKind,
    pattern: Option<Pattern>,
    field: Option<String>,
    tally: Tally,
    project: &Project,
) -> Finding {
    let n = tally.count;
    let message = match kind {
        FindingKind::Encoding => format!("{n} rows hold bytes that are not UTF-8"),
        FindingKind::InvalidRow => format!("{n} rows cannot be imported into this project"),
        FindingKind::GoldOutsideLabels => format!(
            "{n} rows have a gold answer outside the label set ({}) or not of this project's kind",
            project.labels.join(", ")
        ),
        FindingKind::MissingShownField => {
            let shown = match project.settings.field.as_deref() {
                Some(f) if project.kind.uses_field() => f,
                _ => &project.presentation.text_field,
            };
            format!("{n} rows have no {shown:?} (the field raters read) or it is empty")
        }
        FindingKind::MixedTypes => format!(
            "{n} rows hold a {:?} of another type than most rows",
            field.as_deref().unwrap_or_default()
        ),
        FindingKind::DuplicateInFile => format!("{n} rows repeat the data of an earlier row"),
        FindingKind::DuplicateInProject => {
            format!("{n} rows hold the same data as an item already in the project")
        }
        FindingKind::PersonalData => format!(
            "{n} rows hold what looks like {} in fields raters see",
            pattern.map_or("personal data", Pattern::describe)
        ),
    };
    let field = field.or_else(|| {
        (kind == FindingKind::MissingShownField).then(|| match project.settings.field.as_deref() {
            Some(f) if project.kind.uses_field() => f.to_string(),
            _ => project.presentation.text_field.clone(),
        })
    });
    Finding {
        kind,
        severity: kind.severity(),
        field,
        pattern,
        message,
        rows: tally.rows,
        count: n,
        example: tally.example,
    }
}

#[cfg(test)]
mod tests;
