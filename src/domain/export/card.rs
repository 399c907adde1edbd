//! The dataset card: what whoever trains on a dataset version must know about it, as JSON
//! and as Markdown. Its figures come from the export itself (counts, pools, labels, split)
//! and from the project's quality report (agreement with its interval, bias findings).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::options::{ExportOptions, LabelsKept, Method};
use super::ExportRow;
use crate::domain::kinds::display;
use crate::domain::report::AgreementReport;

/// Counts gathered while the rows stream out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExportStats {
    /// Records written (items, or labels with `rows=labels`).
    pub rows: u64,
    /// Items written.
    pub items: u64,
    /// Human labels written.
    pub labels: u64,
    /// Process-feedback events written.
    pub feedback_events: u64,
    /// Labels per pool.
    pub pools: BTreeMap<String, u64>,
    /// Items per consensus value (`(none)` for items without one).
    pub consensus: BTreeMap<String, u64>,
    /// Items per consensus source (adjudicated, majority, dawid-skene, none).
    pub consensus_sources: BTreeMap<String, u64>,
    /// Items per split.
    pub splits: BTreeMap<String, u64>,
    /// Items left out, by reason.
    pub left_out: BTreeMap<String, u64>,
    /// Labels behind the exported items per guideline version they were given under
    /// (counted before `labels=consensus` drops them from the rows).
    #[serde(default)]
    pub guideline_versions: BTreeMap<i64, u64>,
}

pub const NO_CONSENSUS: &str = "(none)";

impl ExportStats {
    /// Counts an item that is written, with `records` records.
    pub fn add(&mut self, row: &ExportRow, records: usize, options: &ExportOptions) {
        self.rows += records as u64;
        self.items += 1;
        if options.labels == LabelsKept::All {
            self.labels += row.labels.len() as u64;
            for label in &row.labels {
                *self.pools.entry(label.pool.clone()).or_default() += 1;
            }
        }
        if options.include_feedback {
            self.feedback_events += row.feedback.len() as u64;
        }
        let value = row
            .consensus
            .as_ref()
            .map(display)
            .unwrap_or_else(|| NO_CONSENSUS.to_string());
        *self.consensus.entry(value).or_default() += 1;
        let source = row.consensus_source.unwrap_or("none");
        *self
            .consensus_sources
            .entry(source.to_string())
            .or_default() += 1;
        if let Some(split) = row.split {
            *self.splits.entry(split.to_string()).or_default() += 1;
        }
    }

    /// Counts the labels of an item that is written by the guideline version they were
    /// given under.
    pub fn count_versions(&mut self, row: &ExportRow) {
        for version in row.labels.iter().filter_map(|l| l.guideline_version) {
            *self.guideline_versions.entry(version).or_default() += 1;
        }
    }

    pub fn leave_out(&mut self, reason: &str) {
        *self.left_out.entry(reason.to_string()).or_default() += 1;
    }
}

/// How far the raters agree, as the report found it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CardAgreement {
    /// One line for people: the measure, its value and its interval.
    pub summary: String,
    /// The report's agreement section as it is.
    pub detail: Value,
}

/// The project's side of a card, taken from its report when the version is made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CardQuality {
    pub agreement: CardAgreement,
    /// Raters flagged, pool differences and the report's warnings, in plain words.
    pub findings: Vec<String>,
}

/// Everything the card says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetCard {
    pub project_id: i64,
    pub project_name: String,
    pub kind: String,
    pub categories: Vec<String>,
    pub version: i64,
    pub created_at: i64,
    pub created_by: String,
    pub format: String,
    pub settings: ExportOptions,
    pub content_sha256: String,
    pub bytes: u64,
    /// The guideline versions (numbers) the exported labels were given under.
    #[serde(default)]
    pub guideline_versions: Vec<i64>,
    pub consensus_method: String,
    pub stats: ExportStats,
    pub quality: CardQuality,
    pub fields_dropped: Vec<String>,
    pub tally_version: String,
}

/// Pulls the agreement and the findings out of a project's report.
pub fn quality_of(report: &AgreementReport) -> CardQuality {
    let mut findings = Vec::new();
    let agreement = if let Some(r) = &report.report {
        let a = &r.agreement;
        let mut summary = match a.krippendorff_alpha {
            Some(alpha) => format!(
                "Krippendorff's alpha ({}) {alpha:.3}",
                format!("{:?}", r.level).to_lowercase()
            ),
            None => format!(
                "Krippendorff's alpha undefined: {}",
                a.krippendorff_alpha_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        };
        if let Some([lo, hi]) = a.alpha_ci95 {
            let _ = write!(summary, ", 95% interval {lo:.3} to {hi:.3}");
        }
        if let Some(kappa) = a.fleiss_kappa {
            let _ = write!(summary, "; Fleiss' kappa {kappa:.3}");
        }
        let _ = write!(summary, "; {} items, {} labels", r.items, r.labels);
        for rater in r.raters.iter().filter(|q| !q.flags.is_empty()) {
            findings.push(format!(
                "rater {} ({}): {}",
                rater.rater,
                rater.pool.as_deref().unwrap_or("no pool"),
                rater.flags.join(", ")
            ));
        }
        for pair in &r.bias.pool_pairs {
            let kappa = pair
                .kappa
                .map(|k| format!(", kappa {k:.3}"))
                .unwrap_or_default();
            findings.push(format!(
                "pools {} and {} agree on {:.1}% of {} shared items{kappa}",
                pair.pool_a,
                pair.pool_b,
                pair.percent_agreement * 100.0,
                pair.items
            ));
        }
        for warning in &r.warnings {
            findings.push(format!("{}: {}", warning.code, warning.message));
        }
        CardAgreement {
            summary,
            detail: serde_json::to_value(&r.agreement).unwrap_or(Value::Null),
        }
    } else if let Some(k) = &report.kind_agreement {
        let detail = serde_json::to_value(&k.agreement).unwrap_or(Value::Null);
        CardAgreement {
            summary: format!(
                "{} ({} items, {} labels)",
                compact_measure(&detail),
                k.items,
                k.labels
            ),
            detail,
        }
    } else {
        CardAgreement {
            summary: "no labels to measure".into(),
            detail: Value::Null,
        }
    };
    if let Some(anchoring) = &report.anchoring {
        if let Ok(Value::Object(a)) = serde_json::to_value(anchoring) {
            findings.push(format!(
                "pre-labels shown to raters (anchoring): {}",
                compact_measure(&Value::Object(a))
            ));
        }
    }
    CardQuality {
        agreement,
        findings,
    }
}

/// A measure's numbers as `name value` pairs on one line.
fn compact_measure(detail: &Value) -> String {
    match detail {
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Number(n) => n.as_f64().map(|f| format!("{k} {f:.3}")),
                Value::Object(_) => Some(format!("{k}: {}", compact_measure(v))),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Markdown text that may hold item or rater names: table pipes and HTML are defused.
fn md(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

impl DatasetCard {
    /// The guideline versions in one line, with the labels given under each.
    pub fn guideline_line(&self) -> String {
        let per_version: Vec<String> = self
            .guideline_versions
            .iter()
            .map(|v| match self.stats.guideline_versions.get(v) {
                Some(n) => format!("{v} ({n} label{})", if *n == 1 { "" } else { "s" }),
                None => v.to_string(),
            })
            .collect();
        match per_version.len() {
            0 => "Guideline version: none (no labels)".to_string(),
            1 => format!("Guideline version: {}", per_version[0]),
            _ => format!("Guideline versions: {}", per_version.join(", ")),
        }
    }

    pub fn consensus_method_text(options: &ExportOptions) -> String {
        let method = match options.method {
            Method::Majority => "the kind's majority rule",
            Method::DawidSkene => "Dawid-Skene",
        };
        format!("the experts' answer where they settled an item, else {method}")
    }

    /// The card as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Dataset card: {} (version {})\n",
            md(&self.project_name),
            self.version
        );
        let created = crate::domain::rfc3339_ms(self.created_at);
        let _ = writeln!(
            s,
            "- Project: {} (id {}), kind {}",
            md(&self.project_name),
            self.project_id,
            self.kind
        );
        if !self.categories.is_empty() {
            let _ = writeln!(s, "- Labels: {}", md(&self.categories.join(", ")));
        }
        let _ = writeln!(
            s,
            "- Made {created} by {} with tally {}",
            md(&self.created_by),
            self.tally_version
        );
        let _ = writeln!(s, "- Format: {}, {} rows", self.format, self.stats.rows);
        let _ = writeln!(
            s,
            "- Content SHA-256: `{}` ({} bytes)",
            self.content_sha256, self.bytes
        );
        let _ = writeln!(s, "- {}", self.guideline_line());
        let _ = writeln!(s, "- Consensus: {}", self.consensus_method);
        let fields = if self.fields_dropped.is_empty() {
            "none".to_string()
        } else {
            md(&self.fields_dropped.join(", "))
        };
        let _ = writeln!(s, "- Fields dropped: {fields}\n");

        let _ = writeln!(
            s,
            "## Agreement\n\n{}\n",
            md(&self.quality.agreement.summary)
        );

        let _ = writeln!(s, "## Contents\n");
        let _ = writeln!(
            s,
            "{} items, {} human labels, {} process-feedback events.\n",
            self.stats.items, self.stats.labels, self.stats.feedback_events
        );
        table(
            &mut s,
            "Pool",
            "Labels",
            &self.stats.pools,
            self.stats.labels,
        );
        table(
            &mut s,
            "Consensus",
            "Items",
            &self.stats.consensus,
            self.stats.items,
        );
        table(
            &mut s,
            "Consensus source",
            "Items",
            &self.stats.consensus_sources,
            self.stats.items,
        );
        if !self.stats.splits.is_empty() {
            table(
                &mut s,
                "Split",
                "Items",
                &self.stats.splits,
                self.stats.items,
            );
        }
        if !self.stats.left_out.is_empty() {
            let total = self.stats.left_out.values().sum();
            table(
                &mut s,
                "Left out because",
                "Items",
                &self.stats.left_out,
                total,
            );
        }

        let _ = writeln!(s, "## Findings of the quality report\n");
        if self.quality.findings.is_empty() {
            let _ = writeln!(s, "None.\n");
        }
        for finding in &self.quality.findings {
            let _ = writeln!(s, "- {}", md(finding));
        }
        let _ = writeln!(
            s,
            "\n## Settings\n\n```json\n{}\n```",
            serde_json::to_string_pretty(&self.settings).unwrap_or_default()
        );
        s
    }
}

fn table(s: &mut String, what: &str, count: &str, rows: &BTreeMap<String, u64>, total: u64) {
    let _ = writeln!(s, "| {what} | {count} | Share |\n|---|---:|---:|");
    let mut sorted: Vec<(&String, &u64)> = rows.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (name, n) in sorted.into_iter().take(50) {
        let share = if total > 0 {
            *n as f64 / total as f64 * 100.0
        } else {
            0.0
        };
        let _ = writeln!(s, "| {} | {n} | {share:.1}% |", md(name));
    }
    if rows.len() > 50 {
        let _ = writeln!(s, "| ({} more) | | |", rows.len() - 50);
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_defuses_names_and_lists_the_counts() {
        let mut stats = ExportStats {
            rows: 3,
            items: 3,
            labels: 6,
            ..ExportStats::default()
        };
        stats.pools.insert("generalist".into(), 6);
        stats.guideline_versions.extend([(1, 4), (2, 2)]);
        stats.consensus.insert("a|<b>".into(), 3);
        let card = DatasetCard {
            project_id: 1,
            project_name: "Reviews <script>".into(),
            kind: "single_choice".into(),
            categories: vec!["a|<b>".into()],
            version: 4,
            created_at: 0,
            created_by: "admin".into(),
            format: "jsonl".into(),
            settings: ExportOptions::default(),
            content_sha256: "ab".repeat(32),
            bytes: 10,
            guideline_versions: vec![1, 2],
            consensus_method: DatasetCard::consensus_method_text(&ExportOptions::default()),
            stats,
            quality: CardQuality {
                agreement: CardAgreement {
                    summary: "alpha 0.8".into(),
                    detail: Value::Null,
                },
                findings: vec!["rater r1: spammer".into()],
            },
            fields_dropped: vec!["email".into()],
            tally_version: "0.1.0".into(),
        };
        let text = card.markdown();
        assert!(text.contains("Reviews &lt;script&gt; (version 4)"));
        assert!(text.contains("| a\\|&lt;b&gt; | 3 | 100.0% |"));
        assert!(text.contains("- rater r1: spammer"));
        assert!(text.contains("Fields dropped: email"));
        assert!(
            text.contains("- Guideline versions: 1 (4 labels), 2 (2 labels)"),
            "{text}"
        );
        assert!(!text.contains("<script>"));
    }
}
