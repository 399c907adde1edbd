"""Reference fixtures for tally's per-kind agreement (src/quality/kinds).

Called from quality_fixtures.py; writes tests/fixtures/quality/kinds/*.json. Each file holds
seeded random labels and the figures computed here by the reference packages, following the
definitions written in the Rust doc comments:

  - multi_label.json  krippendorff.alpha with a custom distance callable over the distinct
                      label sets, distances from nltk.metrics.masi_distance and
                      jaccard_distance; binary alpha per label with krippendorff.alpha
  - numbers.json      krippendorff.alpha (interval); mean absolute difference and median
                      (numpy) over every pair of raters
  - text.json         exact-match rate after unicodedata NFC, str.lower and str.split
  - spans.json        one-to-one matching with scipy.optimize.linear_sum_assignment, pooled
                      and per-label F1 with sklearn.metrics.f1_score, token alpha with
                      krippendorff.alpha (nominal), consensus spans
  - boxes.json        matching at an IoU threshold with linear_sum_assignment, F1 with
                      f1_score, mean IoU, consensus boxes (numpy median)

Extra packages: pip install nltk scipy
"""

import unicodedata

import krippendorff
import numpy as np
from nltk.metrics import jaccard_distance, masi_distance

from kind_fixtures_common import by_item, nominal_alpha, or_none, rater_pairs, write
from kind_fixtures_units import boxes_fixtures, spans_fixtures


# ---------------------------------------------------------------- multi-label

LABELS = ["bug", "docs", "feature", "question", "urgent"]


def set_distance(nltk_distance, a, b):
    # nltk divides by the union; two empty sets are identical, distance 0.
    return 0.0 if not a and not b else nltk_distance(a, b)


def set_alpha(units, nltk_distance):
    """Alpha with a set distance: value_counts over the distinct sets of pairable units and
    a distance callable that looks the nltk distance up by value index."""
    pairable = [unit for unit in units if len(unit) >= 2]
    domain = sorted({frozenset(v) for unit in pairable for v in unit}, key=lambda s: sorted(s))
    if not domain:
        return None
    index = {s: i for i, s in enumerate(domain)}
    counts = np.zeros((len(pairable), len(domain)), dtype=int)
    for u, unit in enumerate(pairable):
        for value in unit:
            counts[u, index[frozenset(value)]] += 1
    table = np.array([[set_distance(nltk_distance, set(a), set(b)) for b in domain] for a in domain])

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return table[i1, i2].astype(dtype)

    return or_none(lambda: krippendorff.alpha(value_counts=counts, value_domain=np.arange(len(domain)), level_of_measurement=metric))


def multi_label_case(rng, name, items, raters, per_item, keep, stray):
    rows = []
    for item in range(items):
        truth = {label for label in LABELS if rng.random() < 0.3}
        for rater in rng.choice(raters, size=per_item[item % len(per_item)], replace=False):
            chosen = [l for l in LABELS if (l in truth and rng.random() < keep) or (l not in truth and rng.random() < stray)]
            rng.shuffle(chosen)
            rows.append([f"i{item}", f"r{rater}", chosen])
    units = list(by_item(rows).values())
    per_label = []
    for label in sorted({l for _, _, labels in rows for l in labels}):
        codes = {}
        for item, rater, labels in rows:
            codes.setdefault(item, {})[rater] = int(label in labels)
        per_label.append({
            "label": label,
            "chosen": sum(label in labels for _, _, labels in rows),
            "alpha_binary": nominal_alpha(codes),
        })
    consensus = []
    for item, values in by_item(rows).items():
        sets = [set(v) for v in values]
        votes = {l: sum(l in s for s in sets) for l in set().union(*sets)}
        chosen = sorted(l for l, n in votes.items() if 2 * n > len(sets))
        consensus.append({
            "item": item,
            "value": chosen,
            "agreeing": sum(s == set(chosen) for s in sets),
            "raters": len(sets),
            "tie": any(2 * n == len(sets) for n in votes.values()),
        })
    return {
        "name": name,
        "rows": rows,
        "alpha_masi": set_alpha(units, masi_distance),
        "alpha_jaccard": set_alpha(units, jaccard_distance),
        "per_label": per_label,
        "consensus": consensus,
    }


def multi_label_fixtures(rng):
    samples = [set(), {"bug"}, {"bug", "docs"}, {"bug", "docs", "feature", "urgent"}, {"question"}, {"docs", "question"}]
    distances = [
        {"a": sorted(a), "b": sorted(b), "masi": set_distance(masi_distance, a, b), "jaccard": set_distance(jaccard_distance, a, b)}
        for a in samples for b in samples
    ]
    cases = [
        multi_label_case(rng, "three_raters_each", 60, 3, [3], 0.85, 0.08),
        multi_label_case(rng, "sparse_pool_of_six", 120, 6, [2, 3, 4, 1], 0.7, 0.1),
        multi_label_case(rng, "noisy_many_empty", 80, 4, [4], 0.5, 0.02),
    ]
    write("multi_label.json", {"distances": distances, "cases": cases})


# ---------------------------------------------------------------- numbers

def numbers_case(rng, name, items, raters, per_item, spread, noise, decimals):
    rows = []
    for item in range(items):
        truth = rng.uniform(-spread, spread)
        for rater in rng.choice(raters, size=per_item[item % len(per_item)], replace=False):
            rows.append([f"i{item}", f"r{rater}", round(float(truth + rng.normal(0, noise)), decimals)])
    grouped = by_item(rows)
    rater_ids = sorted({r for _, r, _ in rows})
    data = np.full((len(rater_ids), len(grouped)), np.nan)
    for item, rater, value in rows:
        data[rater_ids.index(rater), list(grouped).index(item)] = value
    diffs = [abs(v[i] - v[j]) for v in grouped.values() for i, j in rater_pairs(v)]
    tolerance = noise
    consensus = []
    for item, values in grouped.items():
        center = float(np.median(values))
        consensus.append({
            "item": item,
            "value": center,
            "agreeing": sum(abs(v - center) <= tolerance for v in values),
            "raters": len(values),
        })
    return {
        "name": name,
        "rows": rows,
        "alpha_interval": or_none(lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="interval")),
        "mean_abs_difference": float(np.mean(diffs)) if diffs else None,
        "pairs": len(diffs),
        "tolerance": tolerance,
        "consensus": consensus,
    }


def numbers_fixtures(rng):
    cases = [
        numbers_case(rng, "close_raters", 50, 3, [3], 100.0, 5.0, 2),
        numbers_case(rng, "sparse_noisy", 150, 8, [2, 3, 1, 5], 10.0, 6.0, 3),
        numbers_case(rng, "integers", 40, 4, [4, 2], 5.0, 1.0, 0),
    ]
    write("numbers.json", {"cases": cases})


# ---------------------------------------------------------------- free text

ANSWERS = ["Paris", "New York", "Crème brûlée", "naïve café", "ΟΔΟΣ", "İstanbul", "Straße", "Ångström unit", "yes", "no"]
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\u3000"]


def normalize(text):
    return unicodedata.normalize("NFC", " ".join(text.lower().split()))


def variant(rng, text):
    words = text.split(" ")
    words = [w.upper() if rng.random() < 0.2 else w.lower() if rng.random() < 0.2 else w for w in words]
    joined = "".join(w + (rng.choice(SPACES) if i < len(words) - 1 else "") for i, w in enumerate(words))
    if rng.random() < 0.3:
        joined = unicodedata.normalize("NFD", joined)
    return rng.choice(["", " ", "\n"]) + joined + rng.choice(["", " ", "\t"])


def text_fixtures(rng):
    rows = []
    for item in range(150):
        truth = ANSWERS[rng.integers(len(ANSWERS))]
        for rater in rng.choice(6, size=int(rng.integers(1, 5)), replace=False):
            answer = truth if rng.random() < 0.7 else ANSWERS[rng.integers(len(ANSWERS))]
            rows.append([f"i{item}", f"r{rater}", variant(rng, answer)])
    grouped = by_item(rows)
    matches = [normalize(v[i]) == normalize(v[j]) for v in grouped.values() for i, j in rater_pairs(v)]
    samples = [[text, normalize(text)] for _, _, text in rows[:60]]
    write("text.json", {
        "rows": rows,
        "exact_match_rate": sum(matches) / len(matches),
        "pairs": len(matches),
        "matching_pairs": sum(matches),
        "normalized": samples,
    })


def main():
    rng = np.random.default_rng(20250707)
    multi_label_fixtures(rng)
    numbers_fixtures(rng)
    text_fixtures(rng)
    spans_fixtures(rng)
    boxes_fixtures(rng)


if __name__ == "__main__":
    raise SystemExit("run scripts/quality_fixtures.py, which calls kind_fixtures.main()")
