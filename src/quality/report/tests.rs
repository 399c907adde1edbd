use serde_json::Value;

use super::*;
use crate::quality::synth::{generate, rater_kinds, RaterKind};
use crate::quality::text::render_text;
use crate::quality::{Categories, DatasetBuilder, LabelInput};

/// Every `null` must have a sibling `<key>_reason`, and no number may be non-finite.
fn assert_nulls_explained(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if child.is_null()
                    && !key.ends_with("_reason")
                    && key != "slice_field"
                    && key != "basis"
                {
                    assert!(
                        map.contains_key(&format!("{key}_reason")),
                        "{path}.{key} is null without a reason"
                    );
                }
                assert_nulls_explained(child, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| assert_nulls_explained(item, path)),
        Value::Number(n) => assert!(
            n.as_f64().is_some_and(f64::is_finite),
            "{path} is not finite"
        ),
        _ => {}
    }
}

fn report_json(data: &Dataset, options: &ReportOptions) -> Value {
    let report = build_report(data, options);
    let _ = render_text(&report);
    let json = serde_json::to_value(&report).expect("serialisable");
    assert_nulls_explained(&json, "");
    json
}

fn ds_options() -> ReportOptions {
    ReportOptions {
        level: Level::Ordinal,
        method: ConsensusMethod::DawidSkene,
        bootstrap_draws: 200,
        slice_field: Some("source".to_string()),
        ..ReportOptions::default()
    }
}

#[test]
fn synthetic_report_flags_spammers_and_biased_raters() {
    let data = generate(3000, 5, 40, 4, 5);
    let report = build_report(&data, &ds_options());
    let kinds = rater_kinds(40, 5);
    let flagged = |index: usize, flag: &str| {
        let name = format!("rater-{index:04}");
        report
            .raters
            .iter()
            .any(|r| r.rater == name && r.flags.iter().any(|f| f == flag))
    };
    for (index, kind) in kinds.iter().enumerate() {
        match kind {
            RaterKind::Spammer => {
                assert!(
                    flagged(index, "spammer"),
                    "rater {index} should be a spammer"
                );
                assert!(
                    flagged(index, "too_fast"),
                    "rater {index} should be too fast"
                );
            }
            RaterKind::Biased { .. } => {
                assert!(flagged(index, "biased"), "rater {index} should be biased")
            }
            RaterKind::Good { .. } => {
                assert!(!flagged(index, "spammer"), "rater {index} is no spammer")
            }
        }
    }
    let alpha = report.agreement.krippendorff_alpha.expect("alpha");
    let [low, high] = report.agreement.alpha_ci95.expect("interval");
    assert!(low <= alpha && alpha <= high);
    assert_eq!(report.consensus.len(), 3000);
    assert_eq!(report.bias.slices.len(), 3);
    assert_eq!(report.bias.pool_pairs.len(), 1);
    assert!(!report.bias.leniency.is_empty());
    assert!(!report.bias.drift.is_empty());
    assert!(render_text(&report).contains("Krippendorff's alpha"));
}

#[test]
fn json_has_the_contracted_shape() {
    let data = generate(400, 3, 12, 3, 1);
    let json = report_json(&data, &ds_options());
    for key in [
        "agreement",
        "raters",
        "bias",
        "consensus_method",
        "consensus",
        "items",
        "labels",
        "warnings",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["consensus_method"], "dawid_skene");
    let agreement = &json["agreement"];
    for key in [
        "krippendorff_alpha",
        "alpha_ci95",
        "fleiss_kappa",
        "percent_agreement",
        "cohen_kappa_pairs",
        "gwet_ac1",
        "pabak",
        "kappa_paradox",
        "per_category",
    ] {
        assert!(agreement.get(key).is_some(), "missing agreement.{key}");
    }
    let pair = &agreement["cohen_kappa_pairs"][0];
    for key in [
        "rater_a",
        "rater_b",
        "items",
        "kappa",
        "kappa_linear",
        "kappa_quadratic",
    ] {
        assert!(pair.get(key).is_some(), "missing pair.{key}");
    }
    let rater = &json["raters"][0];
    for key in [
        "rater",
        "labels",
        "gold_accuracy",
        "consensus_agreement",
        "consensus_kappa",
        "flags",
        "confusion",
        "median_ms",
        "informativeness",
        "consensus_compared",
        "consensus_excluded_tie",
        "consensus_excluded_alone",
    ] {
        assert!(rater.get(key).is_some(), "missing rater.{key}");
    }
    let item = &json["consensus"][0];
    assert!(
        item.get("item").is_some()
            && item.get("label").is_some()
            && item.get("confidence").is_some()
            && item.get("labels").is_some()
    );
    let summary = &json["consensus_summary"];
    for key in [
        "ties",
        "tie_share",
        "single_label",
        "single_label_share",
        "weak_share",
        "weak",
        "rater_labels_compared",
        "rater_labels_excluded_tie",
        "rater_labels_excluded_alone",
    ] {
        assert!(
            summary.get(key).is_some(),
            "missing consensus_summary.{key}"
        );
    }
}

#[test]
fn same_seed_same_report() {
    let data = generate(300, 3, 10, 3, 2);
    let options = ds_options();
    let a = serde_json::to_string(&build_report(&data, &options)).expect("json");
    let b = serde_json::to_string(&build_report(
        &data,
        &ReportOptions {
            threads: 1,
            ..options
        },
    ))
    .expect("json");
    assert_eq!(a, b, "thread count must not change the report");
}

/// A report that takes its consensus from one kept by an earlier report of the dataset is
/// the report a fresh fit gives, for another seed, level or number of draws; another method
/// is fitted anew.
#[test]
fn a_kept_consensus_gives_the_report_a_fresh_fit_gives() {
    let data = generate(300, 3, 10, 3, 2);
    let kept = KeptConsensus::default();
    let same_fit = |kept: &KeptConsensus, fit: &Arc<Fitted>| {
        kept.fitted.kept().is_some_and(|now| Arc::ptr_eq(&now, fit))
    };
    let first = ds_options();
    build_report_kept(&data, &first, &kept);
    let fit = kept.fitted.kept().expect("fitted by the first report");
    let variants = [
        ReportOptions {
            seed: first.seed + 1,
            ..first.clone()
        },
        ReportOptions {
            level: Level::Nominal,
            bootstrap_draws: 50,
            ..first.clone()
        },
    ];
    for options in variants {
        let with_kept = serde_json::to_string(&build_report_kept(&data, &options, &kept));
        let fresh = serde_json::to_string(&build_report(&data, &options));
        assert_eq!(with_kept.expect("json"), fresh.expect("json"));
        assert!(same_fit(&kept, &fit), "the fit was kept");
    }
    let distribution = kept
        .distribution
        .kept()
        .expect("tested by the first report");
    assert!(
        kept.distribution
            .kept()
            .is_some_and(|now| Arc::ptr_eq(&now, &distribution)),
        "the distribution test was kept across seeds, levels and draws"
    );
    // Other thresholds test the distributions anew, and find otherwise.
    let looser = ReportOptions {
        thresholds: Thresholds {
            significance: 1.0,
            bias_effect: 0.0,
            ..first.thresholds.clone()
        },
        ..first.clone()
    };
    let with_kept = build_report_kept(&data, &looser, &kept);
    let fresh = build_report(&data, &looser);
    assert_ne!(
        serde_json::to_string(&fresh.bias.distribution).expect("json"),
        serde_json::to_string(&build_report(&data, &first).bias.distribution).expect("json"),
        "the looser thresholds change what the test finds"
    );
    assert_eq!(
        serde_json::to_string(&with_kept).expect("json"),
        serde_json::to_string(&fresh).expect("json")
    );
    let majority = ReportOptions {
        method: ConsensusMethod::Majority,
        ..first.clone()
    };
    let with_kept = serde_json::to_string(&build_report_kept(&data, &majority, &kept));
    let fresh = serde_json::to_string(&build_report(&data, &majority));
    assert_eq!(with_kept.expect("json"), fresh.expect("json"));
    assert!(!same_fit(&kept, &fit), "another method fits anew");
}

#[test]
fn degenerate_inputs_give_reasons_not_panics() {
    let empty = Dataset::from_labels(Vec::<(&str, &str, &str)>::new()).expect("empty");
    let one_label = Dataset::from_labels([("i", "r", "x")]).expect("one");
    let one_category = Dataset::from_labels([("i", "a", "x"), ("i", "b", "x"), ("j", "a", "x")])
        .expect("one category");
    let one_rater = Dataset::from_labels([("i", "a", "x"), ("j", "a", "y")]).expect("one rater");
    let no_overlap = Dataset::from_labels([("i", "a", "x"), ("i", "b", "y"), ("j", "c", "x")])
        .expect("no overlap");
    let mut words = DatasetBuilder::new();
    words.add(LabelInput {
        item: "i",
        rater: "a",
        value: "low",
        sequence: Some(1),
        duration_ms: Some(5),
    });
    words.add(LabelInput {
        item: "i",
        rater: "b",
        value: "high",
        ..Default::default()
    });
    words
        .set_item_meta("i", "source", "web")
        .set_rater_pool("a", "p1")
        .set_rater_pool("b", "p2");
    let words = words.build().expect("words");
    for data in [
        &empty,
        &one_label,
        &one_category,
        &one_rater,
        &no_overlap,
        &words,
    ] {
        for method in [ConsensusMethod::Majority, ConsensusMethod::DawidSkene] {
            for level in [
                Level::Nominal,
                Level::Ordinal,
                Level::Interval,
                Level::Ratio,
            ] {
                let options = ReportOptions {
                    method,
                    level,
                    bootstrap_draws: 20,
                    slice_field: Some("source".into()),
                    ..ReportOptions::default()
                };
                report_json(data, &options);
            }
        }
    }
    let json = report_json(&empty, &ReportOptions::default());
    assert!(json["agreement"]["krippendorff_alpha"].is_null());
    assert!(json["agreement"]["krippendorff_alpha_reason"].is_string());
    let json = report_json(&one_rater, &ReportOptions::default());
    assert!(json["agreement"]["fleiss_kappa_reason"].is_string());
}

#[test]
fn fleiss_kappa_is_defined_with_unequal_label_counts() {
    let data = Dataset::from_labels([
        ("i", "a", "x"),
        ("i", "b", "y"),
        ("j", "a", "x"),
        ("j", "b", "x"),
        ("j", "c", "y"),
        ("k", "a", "y"),
        ("k", "c", "y"),
    ])
    .expect("dataset");
    let report = build_report(&data, &ReportOptions::default());
    let kappa = report.agreement.fleiss_kappa.expect("defined");
    // p_a = (0 + 1/3 + 1) / 3; pi_x = (1/2 + 2/3 + 0) / 3; pi_y = 1 - pi_x.
    let pa = (1.0 / 3.0 + 1.0) / 3.0;
    let pi_x = (0.5 + 2.0 / 3.0) / 3.0;
    let pe = pi_x * pi_x + (1.0 - pi_x) * (1.0 - pi_x);
    assert!((kappa - (pa - pe) / (1.0 - pe)).abs() < 1e-12);
}

#[test]
fn guideline_problems_find_reliable_raters_outvoted_by_the_crowd() {
    // Three careful raters say "b" on items 0..10 where four sloppy raters say "a"; elsewhere
    // everyone agrees, so the careful raters rank highest.
    let mut builder = DatasetBuilder::new();
    let careful = ["c1", "c2", "c3"];
    let sloppy = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"];
    for item in 0..120 {
        let name = format!("item-{item:03}");
        let truth = ["a", "b", "c"][item % 3];
        for rater in careful {
            builder.add_label(&name, rater, if item < 10 { "b" } else { truth });
        }
        for (index, rater) in sloppy.iter().enumerate() {
            let noisy = item >= 10 && (item + index) % 4 == 0;
            let value = if item < 10 {
                "a"
            } else if noisy {
                "c"
            } else {
                truth
            };
            builder.add_label(&name, rater, value);
        }
    }
    let data = builder.build().expect("dataset");
    let report = build_report(
        &data,
        &ReportOptions {
            bootstrap_draws: 10,
            ..ReportOptions::default()
        },
    );
    let problems = &report.bias.guideline_problems;
    assert_eq!(problems.reliable_raters, vec!["c1", "c2", "c3"]);
    assert!(problems.items >= 10, "{problems:?}");
    assert_eq!(problems.patterns[0].reliable_label, "b");
    assert_eq!(problems.patterns[0].crowd_label, "a");
}

mod planted;

/// Ratings on a five-point scale from fair raters (right four times in five, else one step
/// off either way), one lenient rater (a step up on 60% of items) and one severe one (a
/// step down as often): leniency must name both, with intervals clear of zero, and no fair
/// rater, on any draw count; nor a rater with too few labels to judge.
#[test]
fn leniency_finds_planted_lenient_and_severe_raters_and_no_fair_one() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let raters: Vec<String> = (0..12).map(|r| format!("rater-{r:02}")).collect();
    let (lenient, severe) = (3usize, 8usize);
    let mut builder = DatasetBuilder::new();
    builder.categories(Categories::ordered(["1", "2", "3", "4", "5"]).expect("a scale"));
    for item in 0..600 {
        let truth: i32 = rng.gen_range(1..=5);
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < 4 {
            let rater = rng.gen_range(0..raters.len());
            if !chosen.contains(&rater) {
                chosen.push(rater);
            }
        }
        for rater in chosen {
            let mut value = truth;
            if rng.gen_bool(0.2) {
                value += if rng.gen_bool(0.5) { 1 } else { -1 };
            }
            if rater == lenient && rng.gen_bool(0.6) {
                value = truth + 1;
            }
            if rater == severe && rng.gen_bool(0.6) {
                value = truth - 1;
            }
            builder.add_label(
                &format!("item-{item}"),
                &raters[rater],
                &value.clamp(1, 5).to_string(),
            );
        }
    }
    // A rater who rates a step up on ten items only: too few labels to be judged.
    for item in 0..10 {
        builder.add_label(&format!("item-{item}"), "rater-few", "5");
    }
    let data = builder.build().expect("a dataset");
    for draws in [200, 1_000] {
        let options = ReportOptions {
            level: Level::Ordinal,
            bootstrap_draws: draws,
            ..ReportOptions::default()
        };
        let report = build_report(&data, &options);
        assert_eq!(report.bias.leniency.len(), raters.len() + 1);
        for row in &report.bias.leniency {
            if row.rater == "rater-few" {
                assert!(row.leniency > 0.5, "{row:?}");
                assert_eq!(row.tendency, None, "{row:?}");
                continue;
            }
            let [low, high] = row.leniency_ci95.expect("an interval");
            assert!(low <= row.leniency && row.leniency <= high, "{row:?}");
            match raters.iter().position(|r| *r == row.rater) {
                Some(r) if r == lenient => {
                    assert_eq!(row.tendency.as_deref(), Some("higher"), "{row:?}");
                    assert!(low > 0.0, "{row:?}");
                }
                Some(r) if r == severe => {
                    assert_eq!(row.tendency.as_deref(), Some("lower"), "{row:?}");
                    assert!(high < 0.0, "{row:?}");
                }
                _ => assert_eq!(row.tendency, None, "{row:?}"),
            }
        }
    }
}
