"""Reference fixtures for span and box labels: one-to-one matching with scipy's
linear_sum_assignment, pooled F1 with scikit-learn's f1_score, token alpha with krippendorff,
and consensus units. Called from kind_fixtures.main()."""

import itertools
import re

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import f1_score

from kind_fixtures_common import NONE, by_item, nominal_alpha, rater_pairs, write


# ---------------------------------------------------------------- units: spans and boxes

def match_units(a, b, score):
    """One-to-one matching: only pairs with a score may match; the most pairs, then the
    largest summed score. Weights `big + score` with big above any sum of scores make
    linear_sum_assignment maximise the count first."""
    if not a or not b:
        return []
    big = min(len(a), len(b)) + 1
    scores = [[score(x, y) for y in b] for x in a]
    cost = np.array([[0.0 if s is None else -(big + s) for s in row] for row in scores])
    rows, cols = linear_sum_assignment(cost)
    return [(i, j, scores[i][j]) for i, j in zip(rows, cols) if scores[i][j] is not None]


def list_f1(a, b, matched):
    return 1.0 if not a and not b else 2 * len(matched) / (len(a) + len(b))


def pooled(grouped, score):
    """Pairwise matches over every pair of raters on every item, as the label vectors
    f1_score takes (an unmatched unit faces NONE), plus the matched scores by label."""
    y_true, y_pred, scores = [], [], {}
    for values in grouped.values():
        for r, s in rater_pairs(values):
            a, b = values[r], values[s]
            matched = match_units(a, b, score)
            for i, j, sc in matched:
                y_true.append(a[i]["label"])
                y_pred.append(b[j]["label"])
                scores.setdefault(a[i]["label"], []).append(sc)
            for i in set(range(len(a))) - {i for i, _, _ in matched}:
                y_true.append(a[i]["label"])
                y_pred.append(NONE)
            for j in set(range(len(b))) - {j for _, j, _ in matched}:
                y_true.append(NONE)
                y_pred.append(b[j]["label"])
    return y_true, y_pred, scores


def f1_figures(y_true, y_pred):
    """Micro F1 over the real labels and F1 per label, from sklearn."""
    labels = sorted(set(y_true + y_pred) - {NONE})
    if not labels:
        return None, {}
    overall = float(f1_score(y_true, y_pred, labels=labels, average="micro"))
    per = f1_score(y_true, y_pred, labels=labels, average=None)
    return overall, {label: float(v) for label, v in zip(labels, per)}


def consensus_units(lists, matcher, merge):
    """Units linked by pairwise matches form groups; a group with units from more than
    half the raters becomes one unit. Returns the units and whether a group had exactly half."""
    owner = [(r, p) for r, units in enumerate(lists) for p in range(len(units))]
    offsets = list(itertools.accumulate([0] + [len(units) for units in lists]))
    parent = list(range(len(owner)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for r, s in rater_pairs(lists):
        for i, j, _ in matcher(lists[r], lists[s]):
            a, b = find(offsets[r] + i), find(offsets[s] + j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups = {}
    for unit in range(len(owner)):
        groups.setdefault(find(unit), []).append(unit)
    merged, tie = [], False
    for members in groups.values():
        support = len({owner[u][0] for u in members})
        if 2 * support > len(lists):
            merged.append(merge([lists[owner[u][0]][owner[u][1]] for u in members]))
        elif 2 * support == len(lists):
            tie = True
    return merged, tie


def unit_consensus(values, matcher, merge, order, min_f1):
    units, tie = consensus_units(values, matcher, merge)
    units.sort(key=order)
    agreeing = sum(list_f1(v, units, matcher(v, units)) >= min_f1 - 1e-12 for v in values)
    return {"value": units, "agreeing": agreeing, "raters": len(values), "tie": tie}


# ---------------------------------------------------------------- spans

WORDS = ["Zoë", "went", "to", "Malmö", "with", "Acme", "Corp", "and", "日本", "naïve", "café", "on", "Monday", "the", "board", "met", "Ana", "Li"]
SPAN_LABELS = ["LOC", "ORG", "PER"]


def make_text(rng, n_words):
    text, positions = "", []
    for k in range(n_words):
        word = WORDS[rng.integers(len(WORDS))]
        positions.append((len(text), len(text) + len(word)))
        text += word
        if k < n_words - 1:
            text += " " if rng.random() < 0.8 else rng.choice(["  ", "\n", "\t "])
    return text, positions


def word_span(rng, positions, first, label):
    last = min(len(positions) - 1, first + int(rng.integers(0, 3)))
    return {"start": positions[first][0], "end": positions[last][1], "label": label}


def rater_spans(rng, text, positions, truth, jitter):
    if rng.random() < 0.1:
        return []
    spans = []
    for span in truth:
        if rng.random() < 0.15:
            continue
        start, end, label = span["start"], span["end"], span["label"]
        if rng.random() < jitter:
            start = int(np.clip(start + rng.integers(-2, 3), 0, len(text)))
            end = int(np.clip(end + rng.integers(-2, 3), 0, len(text)))
        if rng.random() < 0.1:
            label = SPAN_LABELS[rng.integers(len(SPAN_LABELS))]
        if start < end:
            spans.append({"start": start, "end": end, "label": label})
    if rng.random() < 0.2:
        spans.append(word_span(rng, positions, int(rng.integers(len(positions))), SPAN_LABELS[rng.integers(3)]))
    rng.shuffle(spans)
    return spans


def span_score(exact):
    def score(a, b):
        if a["label"] != b["label"]:
            return None
        if a["start"] == b["start"] and a["end"] == b["end"]:
            return 1.0
        if exact:
            return None
        shared = min(a["end"], b["end"]) - max(a["start"], b["start"])
        covered = max(a["end"], b["end"]) - min(a["start"], b["start"])
        return shared / covered if shared > 0 else None
    return score


def token_alpha(grouped, texts):
    codes, values = {}, {}
    for item, spans_by_rater in grouped.items():
        if len(spans_by_rater) < 2:
            continue
        for t, match in enumerate(re.finditer(r"\S+", texts[item])):
            unit = {}
            for r, spans in enumerate(spans_by_rater):
                touching = tuple(sorted({s["label"] for s in spans if s["start"] < match.end() and match.start() < s["end"]}))
                unit[r] = values.setdefault(touching, len(values))
            codes[(item, t)] = unit
    return nominal_alpha(codes), len(codes)


def merge_spans(group):
    starts = sorted(s["start"] for s in group)
    ends = sorted(s["end"] for s in group)
    return {"start": starts[(len(group) - 1) // 2], "end": ends[len(group) // 2], "label": group[0]["label"]}


def spans_case(rng, name, items, raters, per_item, jitter):
    rows, texts = [], {}
    for item in range(items):
        text, positions = make_text(rng, int(rng.integers(4, 16)))
        texts[f"i{item}"] = text
        truth, k = [], 0
        while k < len(positions):
            if rng.random() < 0.25:
                truth.append(word_span(rng, positions, k, SPAN_LABELS[rng.integers(3)]))
                k = next(n for n, p in enumerate(positions) if p[1] == truth[-1]["end"])
            k += 1
        for rater in rng.choice(raters, size=per_item[item % len(per_item)], replace=False):
            rows.append([f"i{item}", f"r{rater}", rater_spans(rng, text, positions, truth, jitter)])
    grouped = by_item(rows)
    figures = {}
    for mode in ("exact", "overlap"):
        y_true, y_pred, _ = pooled(grouped, span_score(mode == "exact"))
        figures[mode] = f1_figures(y_true, y_pred)
    alpha, pairable_tokens = token_alpha(grouped, texts)
    labels = sorted({s["label"] for values in grouped.values() for spans in values for s in spans})
    per_label = [{
        "label": label,
        "spans": sum(s["label"] == label for values in grouped.values() for spans in values for s in spans),
        "f1_exact": figures["exact"][1].get(label),
        "f1_overlap": figures["overlap"][1].get(label),
    } for label in labels]
    consensus = []
    for item, values in grouped.items():
        for mode, min_f1 in (("exact", 1.0), ("overlap", 1.0), ("overlap", 0.5)):
            matcher = lambda a, b, mode=mode: match_units(a, b, span_score(mode == "exact"))
            order = lambda s: (s["start"], s["end"], s["label"])
            consensus.append({"item": item, "mode": mode, "min_f1": min_f1, **unit_consensus(values, matcher, merge_spans, order, min_f1)})
    return {
        "name": name,
        "texts": texts,
        "rows": rows,
        "pairs": sum(len(v) * (len(v) - 1) // 2 for v in grouped.values()),
        "f1_exact": figures["exact"][0],
        "f1_overlap": figures["overlap"][0],
        "alpha_tokens": alpha,
        "pairable_tokens": pairable_tokens,
        "per_label": per_label,
        "consensus": consensus,
    }


def spans_fixtures(rng):
    cases = [
        spans_case(rng, "three_raters_some_jitter", 40, 3, [3], 0.3),
        spans_case(rng, "sparse_pool_boundary_slips", 80, 6, [2, 3, 1, 4], 0.6),
    ]
    write("spans.json", {"cases": cases})


# ---------------------------------------------------------------- boxes

BOX_LABELS = ["car", "dog", "person"]


def iou(a, b):
    def real(s):
        return all(np.isfinite([s["x"], s["y"], s["w"], s["h"]])) and s["w"] > 0 and s["h"] > 0
    if not real(a) or not real(b):
        return 0.0
    across = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    down = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    shared = across * down
    return shared / (a["w"] * a["h"] + b["w"] * b["h"] - shared)


def box_score(threshold):
    def score(a, b):
        value = iou(a, b)
        return value if a["label"] == b["label"] and value > 0 and value >= threshold else None
    return score


def rater_boxes(rng, truth, noise):
    boxes = []
    for box in truth:
        if rng.random() < 0.15:
            continue
        w = box["w"] * float(np.exp(rng.normal(0, noise)))
        h = box["h"] * float(np.exp(rng.normal(0, noise)))
        label = box["label"] if rng.random() > 0.08 else BOX_LABELS[rng.integers(3)]
        boxes.append({
            "x": round(box["x"] + float(rng.normal(0, noise * box["w"])), 2),
            "y": round(box["y"] + float(rng.normal(0, noise * box["h"])), 2),
            "w": round(w, 2), "h": round(h, 2), "label": label,
        })
    if rng.random() < 0.2:
        boxes.append(random_box(rng))
    rng.shuffle(boxes)
    return boxes


def random_box(rng):
    return {
        "x": round(float(rng.uniform(0, 560)), 2), "y": round(float(rng.uniform(0, 400)), 2),
        "w": round(float(rng.uniform(20, 200)), 2), "h": round(float(rng.uniform(20, 200)), 2),
        "label": BOX_LABELS[rng.integers(3)],
    }


def merge_boxes(group):
    return {key: float(np.median([b[key] for b in group])) for key in ("x", "y", "w", "h")} | {"label": group[0]["label"]}


def boxes_case(rng, name, items, raters, per_item, noise, threshold):
    rows = []
    for item in range(items):
        truth = [random_box(rng) for _ in range(int(rng.integers(0, 5)))]
        for rater in rng.choice(raters, size=per_item[item % len(per_item)], replace=False):
            rows.append([f"i{item}", f"r{rater}", rater_boxes(rng, truth, noise)])
    grouped = by_item(rows)
    y_true, y_pred, scores = pooled(grouped, box_score(threshold))
    f1, per_f1 = f1_figures(y_true, y_pred)
    matched = [s for values in scores.values() for s in values]
    labels = sorted({b["label"] for values in grouped.values() for boxes in values for b in boxes})
    per_label = [{
        "label": label,
        "boxes": sum(b["label"] == label for values in grouped.values() for boxes in values for b in boxes),
        "f1": per_f1.get(label),
        "mean_iou": float(np.mean(scores[label])) if scores.get(label) else None,
    } for label in labels]
    matcher = lambda a, b: match_units(a, b, box_score(threshold))
    order = lambda b: (b["label"], b["x"], b["y"], b["w"], b["h"])
    consensus = [{"item": item, "min_f1": 1.0, **unit_consensus(values, matcher, merge_boxes, order, 1.0)} for item, values in grouped.items()]
    return {
        "name": name,
        "iou_threshold": threshold,
        "rows": rows,
        "pairs": sum(len(v) * (len(v) - 1) // 2 for v in grouped.values()),
        "matched": len(matched),
        "f1": f1,
        "mean_iou": float(np.mean(matched)) if matched else None,
        "per_label": per_label,
        "consensus": consensus,
    }


def boxes_fixtures(rng):
    cases = [
        boxes_case(rng, "careful_raters_at_0.5", 50, 3, [3], 0.04, 0.5),
        boxes_case(rng, "sloppy_raters_at_0.7", 80, 5, [2, 3, 4], 0.1, 0.7),
        boxes_case(rng, "loose_threshold_0.3", 40, 4, [4, 2], 0.12, 0.3),
    ]
    write("boxes.json", {"cases": cases})
