#!/usr/bin/env python3
"""Reference fixtures for tally's statistics engine (src/quality).

Generates seeded random datasets and writes JSON files with the inputs and the reference
outputs of well-known Python packages into tests/fixtures/quality/. The Rust unit tests in
src/quality read these files with include_str!, so `cargo test` needs no Python.

Rerun (from the repository root) after changing the generators:

    pip install krippendorff scikit-learn statsmodels crowd-kit irrCAC numpy pandas
    python3 scripts/quality_fixtures.py

Reference functions:
  - krippendorff.alpha (nominal, ordinal, interval, ratio)      -> alpha_random.json
  - sklearn.metrics.cohen_kappa_score (None, linear, quadratic) -> cohen_kappa.json
  - statsmodels fleiss_kappa + aggregate_raters                 -> fleiss_kappa.json
  - irrCAC CAC.fleiss (Gwet's form, unequal label counts)       -> fleiss_kappa_missing.json
  - statsmodels SquareTable.homogeneity (Stuart-Maxwell)        -> stuart_maxwell.json
  - crowdkit.aggregation.DawidSkene                             -> dawid_skene.json
Versions used are recorded in each file under "generated_with".
"""

import json
import math
from importlib.metadata import version
import pathlib
import sys

import crowdkit
import krippendorff
import numpy as np
import pandas as pd
import sklearn
import statsmodels
from crowdkit.aggregation import DawidSkene
from irrCAC.raw import CAC
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import SquareTable
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quality"
VERSIONS = {
    "python": sys.version.split()[0],
    "numpy": np.__version__,
    "krippendorff": version("krippendorff"),
    "scikit-learn": sklearn.__version__,
    "statsmodels": statsmodels.__version__,
    "crowd-kit": getattr(crowdkit, "__version__", "unknown"),
    "irrCAC": version("irrCAC"),
}


def write(name, payload):
    payload = {"generated_with": VERSIONS, **payload}
    path = OUT / name
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)} ({path.stat().st_size} bytes)")


def noisy_ratings(rng, units, raters, domain, agree, missing):
    """raters x units matrix: each rater copies the unit's true value with probability
    `agree`, else picks a random value; a share `missing` of cells is NaN."""
    truth = rng.choice(domain, size=units)
    data = np.where(
        rng.random((raters, units)) < agree,
        truth[np.newaxis, :],
        rng.choice(domain, size=(raters, units)),
    ).astype(float)
    data[rng.random((raters, units)) < missing] = np.nan
    return data


def alpha_fixtures():
    rng = np.random.default_rng(20240601)
    specs = [
        ("small_1to5_missing", 30, 3, [1, 2, 3, 4, 5], 0.6, 0.2),
        ("many_raters_1to7_sparse", 200, 12, [1, 2, 3, 4, 5, 6, 7], 0.5, 0.6),
        ("ratio_with_zero", 50, 4, [0.0, 0.5, 1.5, 4.0, 10.0], 0.55, 0.3),
        ("binary_high_agreement", 100, 2, [0, 1], 0.9, 0.1),
        ("four_levels_six_raters", 80, 6, [1, 2, 3, 4], 0.45, 0.4),
        ("uneven_scale", 60, 5, [-3.0, -1.0, 0.0, 2.0, 7.5, 20.0], 0.5, 0.25),
    ]
    cases = []
    for name, units, raters, domain, agree, missing in specs:
        data = noisy_ratings(rng, units, raters, domain, agree, missing)
        domain_f = [float(v) for v in domain]
        expected = {
            level: float(krippendorff.alpha(reliability_data=data, value_domain=domain_f, level_of_measurement=level))
            for level in ("nominal", "ordinal", "interval", "ratio")
        }
        matrix = [[None if math.isnan(v) else v for v in row] for row in data.tolist()]
        cases.append({"name": name, "categories": domain_f, "ratings": matrix, "alpha": expected})
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C.
    nan = np.nan
    k2011 = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ])
    expected = {
        level: float(krippendorff.alpha(reliability_data=k2011, value_domain=[1.0, 2.0, 3.0, 4.0, 5.0], level_of_measurement=level))
        for level in ("nominal", "ordinal", "interval", "ratio")
    }
    matrix = [[None if math.isnan(v) else v for v in row] for row in k2011.tolist()]
    cases.append({"name": "krippendorff_2011", "categories": [1.0, 2.0, 3.0, 4.0, 5.0], "ratings": matrix, "alpha": expected})
    write("alpha_random.json", {"cases": cases})


def kappa_fixtures():
    rng = np.random.default_rng(7)
    cases = []
    for k, n, agree in [(2, 40, 0.8), (3, 120, 0.6), (5, 300, 0.5), (4, 25, 0.3), (6, 200, 0.7)]:
        truth = rng.integers(0, k, size=n)
        a = np.where(rng.random(n) < agree, truth, rng.integers(0, k, size=n))
        # the second rater leans one step up, to make weighted and unweighted kappa differ
        b = np.where(rng.random(n) < agree, np.minimum(truth + (rng.random(n) < 0.3), k - 1), rng.integers(0, k, size=n))
        labels = list(range(k))
        cases.append({
            "categories": k,
            "a": a.tolist(),
            "b": b.tolist(),
            "none": float(cohen_kappa_score(a, b, labels=labels)),
            "linear": float(cohen_kappa_score(a, b, labels=labels, weights="linear")),
            "quadratic": float(cohen_kappa_score(a, b, labels=labels, weights="quadratic")),
        })
    write("cohen_kappa.json", {"cases": cases})


def fleiss_fixtures():
    rng = np.random.default_rng(11)
    cases = []
    for items, raters, k, agree in [(50, 6, 4, 0.5), (20, 3, 2, 0.7), (120, 10, 5, 0.35), (30, 2, 3, 0.6)]:
        truth = rng.integers(0, k, size=items)
        ratings = np.where(rng.random((items, raters)) < agree, truth[:, None], rng.integers(0, k, size=(items, raters)))
        table, _ = aggregate_raters(ratings, n_cat=k)
        cases.append({
            "categories": k,
            "ratings": ratings.tolist(),
            "table": table.tolist(),
            "kappa": float(fleiss_kappa(table, method="fleiss")),
        })
    write("fleiss_kappa.json", {"cases": cases})


def fleiss_missing_fixtures():
    """Items with different numbers of labels (skips, dynamic overlap, escalation): some
    cells are missing, a few items have a single label. Reference: irrCAC's Fleiss' kappa,
    Gwet's generalisation for missing ratings."""
    rng = np.random.default_rng(23)
    cases = []
    for items, raters, k, agree, missing in [
        (60, 5, 4, 0.5, 0.3),
        (40, 3, 2, 0.7, 0.35),
        (150, 8, 5, 0.4, 0.6),
        (30, 4, 3, 0.6, 0.5),
    ]:
        truth = rng.integers(0, k, size=items)
        ratings = np.where(rng.random((items, raters)) < agree, truth[:, None], rng.integers(0, k, size=(items, raters))).astype(float)
        ratings[rng.random((items, raters)) < missing] = np.nan
        frame = pd.DataFrame(ratings)
        cac = CAC(frame, categories=list(range(k)), digits=15)
        kappa = float(cac.fleiss()["est"]["coefficient_value"])
        matrix = [[None if math.isnan(v) else int(v) for v in row] for row in ratings.tolist()]
        cases.append({"categories": k, "ratings": matrix, "kappa": kappa})
    write("fleiss_kappa_missing.json", {"cases": cases})


def stuart_maxwell_fixtures():
    """Square tables of one rater's labels (rows) against a reference (columns)."""
    rng = np.random.default_rng(5)
    cases = []
    for k, n, agree, lean in [(2, 80, 0.7, 0.2), (3, 150, 0.6, 0.3), (4, 300, 0.5, 0.1), (5, 200, 0.55, 0.4)]:
        reference = rng.integers(0, k, size=n)
        rater = np.where(rng.random(n) < agree, reference, rng.integers(0, k, size=n))
        rater = np.where(rng.random(n) < lean, 0, rater)
        table = np.zeros((k, k))
        for r, c in zip(rater, reference):
            table[r, c] += 1
        result = SquareTable(table, shift_zeros=False).homogeneity(method="stuart_maxwell")
        cases.append({
            "categories": k,
            "table": table.tolist(),
            "statistic": float(result.statistic),
            "df": int(result.df),
            "p_value": float(result.pvalue),
        })
    write("stuart_maxwell.json", {"cases": cases})


def dawid_skene_fixture():
    """2,000 items, 4 classes with skewed priors, 40 raters: 28 good (accuracy 0.55-0.95),
    6 spammers (uniform answers) and 6 biased raters (answer class 0 half of the time),
    5 distinct raters per item."""
    rng = np.random.default_rng(31337)
    items, raters, k, per_item = 2000, 40, 4, 5
    priors = np.array([0.4, 0.3, 0.2, 0.1])
    truth = rng.choice(k, size=items, p=priors)
    kinds = ["good"] * 28 + ["spammer"] * 6 + ["biased"] * 6
    accuracy = rng.uniform(0.55, 0.95, size=raters)
    rows = []
    for item in range(items):
        for rater in rng.choice(raters, size=per_item, replace=False):
            kind = kinds[rater]
            if kind == "spammer":
                label = int(rng.integers(0, k))
            elif kind == "biased" and rng.random() < 0.5:
                label = 0
            elif rng.random() < accuracy[rater]:
                label = int(truth[item])
            else:
                label = int(rng.choice([c for c in range(k) if c != truth[item]]))
            rows.append([item, int(rater), label])
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    ds = DawidSkene(n_iter=100, tol=1e-5)
    predicted = ds.fit_predict(df)
    labels = [int(predicted.loc[item]) for item in range(items)]
    write("dawid_skene.json", {
        "categories": k,
        "kinds": kinds,
        "labels": rows,
        "truth": truth.tolist(),
        "crowdkit_labels": labels,
        "crowdkit_iterations": len(ds.loss_history_),
    })


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    alpha_fixtures()
    kappa_fixtures()
    fleiss_fixtures()
    fleiss_missing_fixtures()
    stuart_maxwell_fixtures()
    dawid_skene_fixture()
    __import__("kind_fixtures").main()  # scripts/kind_fixtures.py: label kinds beyond single choice


if __name__ == "__main__":
    main()
