"""Shared helpers of the per-kind fixture scripts (kind_fixtures.py, kind_fixtures_units.py)."""

import itertools
import json
import pathlib

import krippendorff
import nltk
import numpy as np
import scipy
import sklearn

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quality" / "kinds"
NONE = "\u2205"  # the "no unit" class on the other side of an unmatched unit
VERSIONS = {
    "numpy": np.__version__,
    "krippendorff": getattr(krippendorff, "__version__", "unknown"),
    "scikit-learn": sklearn.__version__,
    "scipy": scipy.__version__,
    "nltk": nltk.__version__,
}


def write(name, payload):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_text(json.dumps({"generated_with": VERSIONS, **payload}, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(OUT.parents[3])} ({path.stat().st_size} bytes)")


def or_none(compute):
    """A reference figure, or None where the package finds it undefined."""
    try:
        value = float(compute())
    except (ValueError, ZeroDivisionError):
        return None
    return value if np.isfinite(value) else None


def by_item(rows):
    items = {}
    for item, rater, value in rows:
        items.setdefault(item, {})[rater] = value
    return {item: [raters[r] for r in sorted(raters)] for item, raters in sorted(items.items())}


def rater_pairs(values):
    return itertools.combinations(range(len(values)), 2)


def nominal_alpha(rows_of_codes):
    """krippendorff.alpha (nominal) over units given as {unit: {rater: code}}."""
    raters = sorted({r for unit in rows_of_codes.values() for r in unit})
    units = list(rows_of_codes)
    data = np.full((len(raters), len(units)), np.nan)
    for u, unit in enumerate(units):
        for rater, code in rows_of_codes[unit].items():
            data[raters.index(rater), u] = code
    return or_none(lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
