"""Kernel matrices and the SVC trained on them (scikit-learn's libsvm, kernel='precomputed').

The linear and RBF kernels are computed here from one Gram matrix of the training utterances, so
that the many fits of model selection (every inner fold x every grid point) share it instead of
recomputing dot products of 6373-dimensional ComParE vectors in every fit. The kernels are
scikit-learn's own definitions: linear x.y, RBF exp(-gamma |x - y|^2) with gamma 'scale' =
1 / (dim * X.var()) of the fitted rows (1 when that variance is 0) and 'auto' = 1 / dim, so a fit
here equals SVC(kernel='linear'/'rbf') on the features (tests/test_svm.py checks it). The Gram
matrix takes 8 n^2 bytes for n training utterances: 0.8 GB at 10 000, 3.2 GB at 20 000.

Scores: the SVC's one-vs-rest-shaped decision function (votes of the one-vs-one classifiers plus
their confidence; for two classes the signed distance d as [-d, d]). A class absent from a fit's
training rows scores -inf. The hypothesis is the highest-scoring class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogcn.config import ConfigError


def import_svc():
    """scikit-learn's SVC, or one clear error naming the extra to install."""
    try:
        from sklearn.svm import SVC
    except ImportError:
        raise ConfigError("the SVM baseline needs scikit-learn: pip install 'emogcn[classic]' "
                          "(or pip install scikit-learn; tools/setup_env.sh installs it)") from None
    return SVC


@dataclass(frozen=True)
class GridPoint:
    """One setting of the grid; gamma is the config's (scale, auto or a number), rbf only."""

    kernel: str
    C: float
    gamma: str | float | None = None

    def describe(self) -> str:
        return f"{self.kernel} C={self.C:g}" + (f" gamma={self.gamma}" if self.kernel == "rbf" else "")


def resolve_gamma(gamma: str | float, fit_rows: np.ndarray) -> float:
    """The numeric RBF gamma for a fit on `fit_rows`, as scikit-learn resolves it."""
    if gamma == "scale":
        var = float(fit_rows.var())
        return 1.0 / (fit_rows.shape[1] * var) if var != 0 else 1.0
    if gamma == "auto":
        return 1.0 / fit_rows.shape[1]
    return float(gamma)


class GramCache:
    """Dot products and squared norms of one matrix of rows, sliced into kernel blocks."""

    def __init__(self, features: np.ndarray):
        self.features = features
        self.gram = features @ features.T
        self.sq_norms = np.einsum("ij,ij->i", features, features)

    def block(self, point: GridPoint, rows: np.ndarray, cols: np.ndarray, gamma: float | None) -> np.ndarray:
        """Kernel between rows `rows` and `cols` (cols are the fitted rows)."""
        dots = self.gram[np.ix_(rows, cols)]
        if point.kernel == "linear":
            return dots
        sq = self.sq_norms[rows][:, None] + self.sq_norms[cols][None, :] - 2.0 * dots
        return np.exp(-gamma * np.maximum(sq, 0.0))


def cross_kernel(point: GridPoint, x: np.ndarray, fit_rows: np.ndarray, gamma: float | None) -> np.ndarray:
    """Kernel between new rows x and the fitted rows (prediction)."""
    dots = x @ fit_rows.T
    if point.kernel == "linear":
        return dots
    sq = np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", fit_rows, fit_rows)[None, :] - 2.0 * dots
    return np.exp(-gamma * np.maximum(sq, 0.0))


def fit_svc(kernel: np.ndarray, labels: np.ndarray, C: float, class_weight: str, tol: float):
    """An SVC fitted on a precomputed (n, n) training kernel."""
    SVC = import_svc()
    svc = SVC(kernel="precomputed", C=C, class_weight="balanced" if class_weight == "balanced" else None,
              tol=tol, decision_function_shape="ovr")
    if len(np.unique(labels)) < 2:
        raise ValueError(f"an SVM needs at least two classes to train on, got {len(np.unique(labels))}")
    svc.fit(kernel, labels)
    return svc


def class_scores(svc, kernel: np.ndarray, num_classes: int) -> np.ndarray:
    """(n, num_classes) scores of the rows of `kernel` (n x fitted rows); -inf for classes the fit
    never saw."""
    decision = svc.decision_function(kernel)
    if decision.ndim == 1:  # two classes: the signed distance towards svc.classes_[1]
        decision = np.stack([-decision, decision], axis=1)
    scores = np.full((kernel.shape[0], num_classes), -np.inf)
    scores[:, svc.classes_] = decision
    return scores


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax; -inf scores get probability 0."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
