//! A plain-text rendering of a [`Report`] for a terminal (`--format text`).

use std::fmt::Write;

use super::report::Report;
use super::RaterQuality;

/// Krippendorff's lines: at or above this, data are reliable ...
const RELIABLE: f64 = 0.800;
/// ... at or above this, fit for tentative conclusions only.
const TENTATIVE: f64 = 0.667;

/// Render the report for a human: headline alpha with its interval and what it means,
/// other measures, per-category agreement, the rater table with flags, bias findings and
/// warnings.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    headline(&mut out, report);
    consensus_strength(&mut out, report);
    measures(&mut out, report);
    categories(&mut out, report);
    raters(&mut out, &report.raters);
    bias(&mut out, report);
    if !report.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "  - {} [{}]", warning.message, warning.code);
        }
    }
    out
}

/// What an alpha value means, in Krippendorff's terms, in one or two sentences.
pub fn interpret_alpha(alpha: f64, interval: Option<[f64; 2]>) -> String {
    let mut text = if alpha >= RELIABLE {
        "Reliable: raters agree well beyond chance (Krippendorff: alpha >= 0.800), so conclusions can rest on these labels."
            .to_string()
    } else if alpha >= TENTATIVE {
        "Tentative: agreement is good enough only for tentative conclusions (Krippendorff: 0.667 to 0.800); \
         tighten the guidelines before relying on these labels."
            .to_string()
    } else {
        "Unreliable: raters agree too little beyond chance to rely on these labels (Krippendorff: below 0.667); \
         review the guidelines and the flagged raters."
            .to_string()
    };
    if alpha < 0.0 {
        text.push_str(" Agreement is below chance: raters disagree systematically.");
    }
    if let Some([low, high]) = interval {
        for line in [RELIABLE, TENTATIVE] {
            if low < line && line <= high {
                let _ = write!(text, " The interval crosses {line:.3}, so more labelled items are needed to be sure.");
                break;
            }
        }
    }
    text
}

/// A p-value as a page should print it: `p < 0.001` below that, else three decimals
/// (`p = 0.042`).
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

fn figure(value: Option<f64>, reason: &Option<String>, decimals: usize) -> String {
    match (value, reason) {
        (Some(v), _) => format!("{v:.decimals$}"),
        (None, Some(reason)) => format!("n/a ({reason})"),
        (None, None) => "n/a".to_string(),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn headline(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "Agreement report: {} items, {} labels, {} raters, {} categories ({} level)",
        report.items,
        report.labels,
        report.raters.len(),
        report.categories.len(),
        report.level.name()
    );
    let consensus = match &report.dawid_skene {
        Some(ds) if ds.converged => {
            format!("Dawid-Skene (converged after {} iterations)", ds.iterations)
        }
        Some(ds) => format!(
            "Dawid-Skene (not converged after {} iterations)",
            ds.iterations
        ),
        None => "majority vote".to_string(),
    };
    let _ = writeln!(out, "Consensus: {consensus}\n");
    let agreement = &report.agreement;
    match agreement.krippendorff_alpha {
        Some(alpha) => {
            let interval = agreement.alpha_ci95.map_or_else(
                || "no interval".to_string(),
                |[lo, hi]| format!("95% CI {lo:.3} to {hi:.3}"),
            );
            let _ = writeln!(out, "Krippendorff's alpha  {alpha:.3}  ({interval})");
            let _ = writeln!(out, "  {}", interpret_alpha(alpha, agreement.alpha_ci95));
        }
        None => {
            let _ = writeln!(
                out,
                "Krippendorff's alpha  {}",
                figure(None, &agreement.krippendorff_alpha_reason, 3)
            );
        }
    }
}

fn consensus_strength(out: &mut String, report: &Report) {
    let s = &report.consensus_summary;
    let _ = writeln!(
        out,
        "\nConsensus labels: {} ties ({}), {} on a single label ({}){}",
        s.ties,
        percent(Some(s.tie_share)),
        s.single_label,
        percent(Some(s.single_label_share)),
        if s.weak {
            ": weak, see the warnings"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "Rater figures are leave-one-out: {} labels compared with the other raters' consensus, \
         {} left out as ties, {} with no other rater",
        s.rater_labels_compared, s.rater_labels_excluded_tie, s.rater_labels_excluded_alone
    );
}

fn measures(out: &mut String, report: &Report) {
    let a = &report.agreement;
    out.push_str("\nOther measures\n");
    let percent_text = a.percent_agreement.map_or_else(
        || figure(None, &a.percent_agreement_reason, 3),
        |v| percent(Some(v)),
    );
    let rows = [
        ("Percent agreement", percent_text),
        (
            "Fleiss' kappa",
            figure(a.fleiss_kappa, &a.fleiss_kappa_reason, 3),
        ),
        ("Gwet's AC1", figure(a.gwet_ac1, &a.gwet_ac1_reason, 3)),
        ("PABAK", figure(a.pabak, &a.pabak_reason, 3)),
        (
            "Mean Cohen's kappa",
            match a.cohen_kappa_mean {
                Some(v) => format!("{v:.3} over {} rater pairs", a.cohen_kappa_pairs.len()),
                None => figure(None, &a.cohen_kappa_mean_reason, 3),
            },
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<20}{value}");
    }
    if a.kappa_paradox {
        out.push_str("  Kappa paradox: raw agreement is high but kappa is low because one category dominates.\n");
    }
}

fn categories(out: &mut String, report: &Report) {
    out.push_str("\nPer category\n");
    let _ = writeln!(
        out,
        "  {:<16}{:>9}{:>8}{:>10}{:>8}",
        "category", "labels", "share", "specific", "alpha"
    );
    for c in &report.agreement.per_category {
        let alpha = c
            .alpha
            .map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        let specific = c
            .specific_agreement
            .map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        let _ = writeln!(
            out,
            "  {:<16}{:>9}{:>8}{:>10}{:>8}",
            clip(&c.category, 16),
            c.labels,
            percent(Some(c.share)),
            specific,
            alpha
        );
    }
}

fn raters(out: &mut String, raters: &[RaterQuality]) {
    let flagged = raters.iter().filter(|r| !r.flags.is_empty()).count();
    let _ = writeln!(
        out,
        "\nRaters ({} of {} flagged; flagged first)",
        flagged,
        raters.len()
    );
    let _ = writeln!(
        out,
        "  {:<20}{:>7}{:>9}{:>8}{:>8}{:>10}{:>7}  flags",
        "rater", "labels", "gold", "agree", "kappa", "median s", "inform"
    );
    let mut ordered: Vec<&RaterQuality> = raters.iter().collect();
    ordered.sort_by_key(|r| r.flags.is_empty());
    for r in ordered {
        let number = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
        let seconds = r
            .median_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{:.1}", ms / 1000.0));
        let _ = writeln!(
            out,
            "  {:<20}{:>7}{:>9}{:>8}{:>8}{:>10}{:>7}  {}",
            clip(&r.rater, 20),
            r.labels,
            percent(r.gold_accuracy),
            percent(r.consensus_agreement),
            number(r.consensus_kappa),
            seconds,
            number(r.informativeness),
            r.flags.join(", ")
        );
    }
}

fn bias(out: &mut String, report: &Report) {
    let b = &report.bias;
    out.push_str("\nBias\n");
    let leaning: Vec<String> = b
        .leniency
        .iter()
        .filter_map(|l| {
            l.tendency
                .as_ref()
                .map(|t| format!("{} ({t}, {:+.2})", l.rater, l.leniency))
        })
        .collect();
    match &b.leniency_reason {
        Some(reason) => {
            let _ = writeln!(out, "  Leniency: n/a ({reason})");
        }
        None => {
            let _ = writeln!(out, "  Leniency: {}", list_or_none(&leaning));
        }
    }
    let skewed: Vec<String> = b
        .distribution
        .iter()
        .filter(|d| d.biased)
        .map(|d| {
            format!(
                "{} ({:.0}% of labels shifted, {})",
                d.rater,
                d.shift * 100.0,
                format_p(d.p_adjusted)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "  Label mix differs from the other raters': {}",
        list_or_none(&skewed)
    );
    for pair in &b.pool_pairs {
        let kappa = figure(pair.kappa, &pair.kappa_reason, 3);
        let _ = writeln!(
            out,
            "  Pools {} vs {}: {} items, kappa {kappa}",
            pair.pool_a, pair.pool_b, pair.items
        );
    }
    if let Some(field) = &b.slice_field {
        for s in &b.slices {
            let alpha = figure(s.krippendorff_alpha, &s.krippendorff_alpha_reason, 3);
            let _ = writeln!(
                out,
                "  Slice {field}={}: {} items, alpha {alpha} {}",
                s.value,
                s.items,
                s.flags.join(", ")
            );
        }
    }
    let drifting: Vec<String> = b
        .drift
        .iter()
        .filter(|d| d.drifting)
        .map(|d| {
            format!(
                "{} ({:+.0} pts, {})",
                d.rater,
                d.change * 100.0,
                format_p(d.p_adjusted)
            )
        })
        .collect();
    let _ = writeln!(out, "  Drift within sessions: {}", list_or_none(&drifting));
    let g = &b.guideline_problems;
    let _ = writeln!(out, "  Possible guideline problems: {} items", g.items);
    for p in g.patterns.iter().take(5) {
        let _ = writeln!(
            out,
            "    reliable raters say {:?}, the crowd says {:?}: {} items",
            p.reliable_label, p.crowd_label, p.items
        );
    }
}

fn list_or_none(names: &[String]) -> String {
    const SHOWN: usize = 10;
    match names.len() {
        0 => "none".to_string(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpretation_follows_krippendorffs_lines() {
        assert!(interpret_alpha(0.85, None).starts_with("Reliable"));
        assert!(interpret_alpha(0.70, None).starts_with("Tentative"));
        assert!(interpret_alpha(0.30, None).starts_with("Unreliable"));
        assert!(interpret_alpha(-0.1, None).contains("below chance"));
        assert!(interpret_alpha(0.81, Some([0.78, 0.84])).contains("crosses 0.800"));
    }

    #[test]
    fn p_values_read_as_a_page_prints_them() {
        assert_eq!(format_p(0.0), "p < 0.001");
        assert_eq!(format_p(0.0004), "p < 0.001");
        assert_eq!(format_p(0.0421), "p = 0.042");
    }

    #[test]
    fn clip_keeps_short_names() {
        assert_eq!(clip("ann", 5), "ann");
        assert_eq!(clip("annabelle", 5), "anna…");
    }
}
