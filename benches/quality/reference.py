#!/usr/bin/env python3
"""Python reference timings for tally's statistics engine benchmark.

Times the `krippendorff` package's alpha and crowd-kit's DawidSkene on data shaped like the
Rust benchmark (`quality::synth::generate(100_000, 5, 200, 4, seed)`): 100,000 items x 5
distinct raters each, 200 raters, 4 classes with priors proportional to 1/(c+1); every tenth
rater a spammer, index % 10 == 1 biased towards class 0 half of the time, the rest correct
with accuracy uniform in [0.60, 0.95). The model is re-implemented here in numpy with the
same parameters, so the data have the same shape and distribution, not the same draws.

Run from the repository root:

    pip install krippendorff crowd-kit numpy pandas
    python3 benches/quality/reference.py [--items 100000]
    python3 benches/quality/reference.py --labels labels.csv   # the exact data of a run

`cargo bench --bench report` writes its synthetic data to a CSV (item,rater,label) and calls
this script with `--labels`, so both sides time the same labels in one run. Lines starting
with `SECONDS` are for that caller.

A 1,000-draw bootstrap of alpha with the package is extrapolated from 20 draws.
"""

import argparse
import time

import krippendorff
import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene


def generate(items, per_item, raters, classes, seed):
    rng = np.random.default_rng(seed)
    priors = 1.0 / np.arange(1, classes + 1)
    truth = rng.choice(classes, size=items, p=priors / priors.sum())
    accuracy = rng.uniform(0.60, 0.95, size=raters)
    kind = np.arange(raters) % 10  # 0 spammer, 1 biased, else good
    # distinct raters per item: the first `per_item` of a random permutation key
    chosen = np.argsort(rng.random((items, raters)), axis=1)[:, :per_item] if raters <= 256 else None
    if chosen is None:
        raise SystemExit("this generator keeps a dense items x raters key; use <= 256 raters")
    item = np.repeat(np.arange(items), per_item)
    rater = chosen.reshape(-1)
    true = truth[item]
    correct = rng.random(item.size) < accuracy[rater]
    wrong = rng.integers(0, classes - 1, size=item.size)
    wrong = wrong + (wrong >= true)
    label = np.where(correct, true, wrong)
    biased = (kind[rater] == 1) & (rng.random(item.size) < 0.5)
    label = np.where(biased, 0, label)
    spam = kind[rater] == 0
    label = np.where(spam, rng.integers(0, classes, size=item.size), label)
    return item, rater, label


def timed(name, function):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    print(f"{name}: {elapsed:.3f} s")
    print(f"SECONDS {name.split(' (')[0].replace(' ', '_')} {elapsed:.6f}")
    return result, elapsed


def read_labels(path):
    frame = pd.read_csv(path, dtype=str)
    item, _ = pd.factorize(frame["item"])
    rater, _ = pd.factorize(frame["rater"])
    label, _ = pd.factorize(frame["label"], sort=True)
    return item, rater, label, int(item.max()) + 1, int(label.max()) + 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--labels", help="a CSV with the header item,rater,label to time instead")
    args = parser.parse_args()
    if args.labels:
        item, rater, label, args.items, classes = read_labels(args.labels)
    else:
        classes = 4
        item, rater, label = generate(args.items, 5, 200, classes, args.seed)
    print(f"{item.size} labels, {args.items} items, {int(rater.max()) + 1} raters, {classes} classes")
    counts = np.zeros((args.items, classes), dtype=np.int64)
    np.add.at(counts, (item, label), 1)
    for level in ("nominal", "ordinal"):
        timed(f"krippendorff.alpha {level} (value_counts)", lambda: krippendorff.alpha(value_counts=counts, level_of_measurement=level))
    rng = np.random.default_rng(0)
    _, twenty = timed(
        "krippendorff.alpha nominal, 20 bootstrap draws",
        lambda: [krippendorff.alpha(value_counts=counts[rng.integers(0, args.items, args.items)], level_of_measurement="nominal") for _ in range(20)],
    )
    print(f"  -> 1,000 draws extrapolated: {twenty * 50:.1f} s")
    print(f"SECONDS krippendorff.alpha_nominal,_1000_bootstrap_draws_extrapolated {twenty * 50:.6f}")
    frame = pd.DataFrame({"task": item, "worker": rater, "label": label})
    timed("crowd-kit DawidSkene(n_iter=100, tol=1e-5)", lambda: DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame))


if __name__ == "__main__":
    main()
