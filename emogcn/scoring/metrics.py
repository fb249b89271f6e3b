"""Emotion-recognition metrics: UA, WA, macro-F1, per-class scores, CCC (docs/DESIGN.md, "Evaluation").

Conventions, the same everywhere in emogcn:
- Scores are fractions in [0, 1] (reports print them as percent).
- UA (unweighted average recall, the SER standard) and macro-F1 average over the classes that
  occur in the reference. A class of the model's label set that no reference utterance carries
  has no recall, so it would add an arbitrary 0 (or 1) to the average; it is left out and listed
  under `absent_classes`, and its recall and F1 are None. Predictions of such a class still count
  as errors in WA and lower the recall of the true classes.
- A class that occurs in the reference but is never predicted has precision 0 and F1 0 (not NaN).
- The confusion matrix has rows = reference, columns = hypothesis, both in the class order given.
- CCC uses population statistics (divide by N), as in the Emotion-GCN CCC loss.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# The flat "headline" metrics that fold and seed summaries average (see headline()).
HEADLINE = ("UA", "WA", "macro_f1")


def confusion_matrix(ref: Sequence[str], hyp: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Counts (C x C int64): entry [i, j] = utterances of reference class i predicted as class j."""
    if len(ref) != len(hyp):
        raise ValueError(f"{len(ref)} references but {len(hyp)} hypotheses")
    index = {c: i for i, c in enumerate(classes)}
    if len(index) != len(classes):
        raise ValueError(f"duplicate class names in {list(classes)}")
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for n, (r, h) in enumerate(zip(ref, hyp)):
        for what, label in (("reference", r), ("hypothesis", h)):
            if label not in index:
                raise ValueError(f"item {n}: {what} '{label}' is not one of the classes {list(classes)}")
        matrix[index[r], index[h]] += 1
    return matrix


def _safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def metrics_from_confusion(confusion: np.ndarray, classes: Sequence[str]) -> dict:
    """All categorical metrics from a confusion matrix (rows reference, columns hypothesis)."""
    confusion = np.asarray(confusion, dtype=np.int64)
    if confusion.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion matrix of shape {confusion.shape} for {len(classes)} classes")
    total = int(confusion.sum())
    if total == 0:
        raise ValueError("no utterances to score")
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    correct = np.diag(confusion)
    recall: dict[str, float | None] = {}
    precision: dict[str, float] = {}
    f1: dict[str, float | None] = {}
    present, absent = [], []
    for i, c in enumerate(classes):
        precision[c] = _safe_div(correct[i], predicted[i])
        if support[i] == 0:
            absent.append(c)
            recall[c] = f1[c] = None
            continue
        present.append(c)
        recall[c] = _safe_div(correct[i], support[i])
        f1[c] = _safe_div(2 * precision[c] * recall[c], precision[c] + recall[c])
    return {
        "num_utts": total,
        "classes": list(classes),
        "UA": float(np.mean([recall[c] for c in present])),
        "WA": _safe_div(correct.sum(), total),
        "macro_f1": float(np.mean([f1[c] for c in present])),
        "per_class_recall": recall,
        "per_class_precision": precision,
        "per_class_f1": f1,
        "support": {c: int(support[i]) for i, c in enumerate(classes)},
        "predicted": {c: int(predicted[i]) for i, c in enumerate(classes)},
        "absent_classes": absent,
        "confusion": confusion.tolist(),
    }


def classification_metrics(ref: Sequence[str], hyp: Sequence[str], classes: Sequence[str]) -> dict:
    """UA, WA, macro-F1, per-class recall/precision/F1, support and confusion (see module doc)."""
    return metrics_from_confusion(confusion_matrix(ref, hyp, classes), classes)


def ccc(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Concordance correlation coefficient 2 cov / (var_x + var_y + (mean_x - mean_y)^2).

    Population (1/N) statistics. NaN when undefined: no items, or both series constant and equal.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"ccc needs two 1-d series of one length, got shapes {x.shape} and {y.shape}")
    if x.size == 0:
        return math.nan
    mx, my = x.mean(), y.mean()
    cov = np.mean((x - mx) * (y - my))
    den = x.var() + y.var() + (mx - my) ** 2
    return float(2.0 * cov / den) if den > 0 else math.nan


def dimension_metrics(ref: np.ndarray, hyp: np.ndarray, names: Sequence[str]) -> dict:
    """CCC per dimension over the utterances whose reference is a number.

    ref, hyp: (N, D) arrays, NaN where an utterance has no value. Returns
    {name: {"ccc": value or None, "n": count}} for every dimension with at least one reference,
    plus "mean_ccc" over the dimensions whose CCC is defined. Empty dict when no utterance has any.
    A hypothesis NaN where the reference is a number is an error (a model that predicts
    dimensions predicts them for every utterance).
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    hyp = np.asarray(hyp, dtype=np.float64).reshape(len(hyp), -1)
    if ref.shape != hyp.shape or ref.shape[1] != len(names):
        raise ValueError(f"dimension arrays of shapes {ref.shape} and {hyp.shape} for dimensions {list(names)}")
    out: dict = {}
    values = []
    for d, name in enumerate(names):
        has_ref = np.isfinite(ref[:, d])
        if not has_ref.any():
            continue
        if not np.isfinite(hyp[has_ref, d]).all():
            raise ValueError(f"hypothesis {name} is missing or not finite for an utterance that has a reference")
        value = ccc(ref[has_ref, d], hyp[has_ref, d])
        out[name] = {"ccc": None if math.isnan(value) else value, "n": int(has_ref.sum())}
        if not math.isnan(value):
            values.append(value)
    if out:
        out["mean_ccc"] = float(np.mean(values)) if values else None
    return out


def headline(metrics: dict) -> dict[str, float | None]:
    """The flat numbers a summary averages: UA, WA, macro_f1 and ccc_<dimension> where present."""
    flat = {k: metrics.get(k) for k in HEADLINE}
    for name, value in (metrics.get("dimensions") or {}).items():
        if name != "mean_ccc":
            flat[f"ccc_{name}"] = value["ccc"]
    return flat


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """Mean and sample standard deviation (ddof 1) of the values that are not None.

    std is None with fewer than two values (one fold or seed has no spread to estimate).
    """
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return None, None, 0
    mean = float(np.mean(kept))
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else None
    return mean, std, len(kept)
