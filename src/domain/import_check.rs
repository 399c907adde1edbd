//! The check before an import: what a file holds and what looks wrong in it, computed one
//! row at a time so that it works on a stream of any length.
//!
//! Errors (bytes that are not UTF-8, a gold answer outside the label set, a row the project
//! cannot take) refuse an import unless their rows are skipped; warnings (a missing shown
//! field, mixed types, duplicates, personal data) are reported and imported unless skipped.
//! Duplicates compare a SHA-256 of the item's `data` as canonical JSON (keys sorted):
//! `external_id`, gold and the rest do not count, as raters see only the data.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::import::{ItemProblem, NewItem};
use super::project::Project;
use super::Invalid;

mod findings;
mod hash;
mod personal;
mod types;

pub use findings::{FieldTypes, Finding, FindingKind, Findings, RowFlags, Severity, Skip};
pub use hash::{content_key, hash_key};
pub use personal::{find_personal_data, luhn_valid, Pattern};
pub use types::ValueType;

/// How many rows a finding names; `count` says how many there are in all.
pub const ROWS_NAMED: usize = 20;

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
    /// `in_project`: the content keys ([`content_key`]) of the items already in the project.
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
        let key = content_key(&item.data);
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
    // "1 row has", "2 rows have": the subject and its verb agree with the count.
    let rows = |singular: &str, plural: &str| {
        if n == 1 {
            format!("1 row {singular}")
        } else {
            format!("{n} rows {plural}")
        }
    };
    let message = match kind {
        FindingKind::Encoding => format!("{} bytes that are not UTF-8", rows("holds", "hold")),
        FindingKind::InvalidRow => {
            format!("{} be imported into this project", rows("cannot", "cannot"))
        }
        FindingKind::GoldOutsideLabels => format!(
            "{} a gold answer outside the label set ({}) or not of this project's kind",
            rows("has", "have"),
            project.labels.join(", ")
        ),
        FindingKind::MissingShownField => {
            let shown = match project.settings.field.as_deref() {
                Some(f) if project.kind.uses_field() => f,
                _ => &project.presentation.text_field,
            };
            format!(
                "{} no {shown:?} (the field raters read) or it is empty",
                rows("has", "have")
            )
        }
        FindingKind::MixedTypes => format!(
            "{} a {:?} of another type than most rows",
            rows("holds", "hold"),
            field.as_deref().unwrap_or_default()
        ),
        FindingKind::DuplicateInFile => {
            format!("{} the data of an earlier row", rows("repeats", "repeat"))
        }
        FindingKind::DuplicateInProject => format!(
            "{} the same data as an item already in the project",
            rows("holds", "hold")
        ),
        FindingKind::PersonalData => format!(
            "{} what looks like {} in fields raters see",
            rows("holds", "hold"),
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
