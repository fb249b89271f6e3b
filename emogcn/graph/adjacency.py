"""The Emotion-GCN label graph: correlation -> adjacency -> propagation matrix (numpy only).

Nodes are the C emotion classes followed by the dimensional nodes (valence, arousal). The
original (Antoniadis et al., FG 2021) builds the graph from the Spearman correlation, over the
training set, of the columns [one-hot class indicators..., valence, arousal]:

1. absolute value (a strong negative correlation is as informative as a positive one);
2. class-class off-diagonal entries set to 0 (one-hot indicators are mutually exclusive, so
   their correlations only restate the class priors, not a dependency);
3. binarize: |r| >= tau -> 1, else 0;
4. re-weight each row i: off-diagonal A_ij = p / (number of neighbours of i), A_ii = 1 - p,
   so that a node keeps 1 - p of its own signal and spreads p over its neighbours; a node
   with no neighbour keeps all of it (A_ii = 1). Every row therefore sums to 1.

The forward pass multiplies by A^T (see `propagation_matrix`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def spearman_correlation(columns: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between the columns of `columns` (n_samples, n_vars).

    Ranks use the average rank for ties (as scipy.stats.spearmanr does); the Pearson
    correlation of the ranks follows. A constant column has no defined correlation: it gets 0
    with every other column (not NaN) and 1 on the diagonal.
    """
    x = np.asarray(columns, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"spearman_correlation: expected a 2-D array (samples, variables), got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"spearman_correlation: need at least 2 samples, got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("spearman_correlation: input holds NaN or infinite values")
    ranks = rankdata(x, method="average", axis=0)
    centred = ranks - ranks.mean(axis=0, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=0))
    constant = norms <= 1e-12 * max(1.0, float(x.shape[0]))
    safe = np.where(constant, 1.0, norms)
    corr = (centred.T @ centred) / np.outer(safe, safe)
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def emotion_gcn_adjacency(corr: np.ndarray, num_classes: int, tau: float = 0.1, p: float = 0.5,
                          zero_class_block: bool = True) -> np.ndarray:
    """The re-weighted adjacency A of the original, from a (N, N) correlation matrix.

    The first `num_classes` nodes are the classes. `zero_class_block=False` keeps class-class
    edges (used for label-embedding similarity graphs, where they carry meaning).
    Rows of the result sum to 1.
    """
    a = np.abs(np.asarray(corr, dtype=np.float64))
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"emotion_gcn_adjacency: expected a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("emotion_gcn_adjacency: the correlation matrix holds NaN or infinite values")
    n = a.shape[0]
    if not 0 <= num_classes <= n:
        raise ValueError(f"emotion_gcn_adjacency: num_classes={num_classes} is not in [0, {n}]")
    if not tau >= 0:
        raise ValueError(f"emotion_gcn_adjacency: tau must be >= 0, got {tau}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"emotion_gcn_adjacency: p must be in [0, 1], got {p}")

    if zero_class_block:
        a[:num_classes, :num_classes] = 0.0
    edges = (a >= tau).astype(np.float64)
    # The diagonal is set by the re-weighting, not by the threshold (corr_ii = 1 always).
    np.fill_diagonal(edges, 0.0)
    neighbours = edges.sum(axis=1)
    has = neighbours > 0
    adjacency = np.zeros_like(edges)
    adjacency[has] = p * edges[has] / neighbours[has, None]
    np.fill_diagonal(adjacency, np.where(has, 1.0 - p, 1.0))
    return adjacency


def propagation_matrix(adjacency: np.ndarray) -> np.ndarray:
    """The matrix the GCN multiplies node features by: A^T.

    The original normalizes with gen_adj: D = diag(rowsum(A))^-1/2, adj = (A D)^T D = D A^T D.
    Because every row of the re-weighted A sums to 1, D = I and the result is A^T. Row j of A^T
    is column j of A: node j gathers A_ij from each node i. On the published AffectNet graph
    the Valence row gathers 0.5 from Happy (whose only neighbour is Valence) and 0.25 from each
    class linked to both dimensions, while each class gathers p / 6 = 1/12 from Valence (which
    has six neighbours). Rows of A^T need not sum to 1; columns do.
    """
    a = np.asarray(adjacency, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"propagation_matrix: expected a square matrix, got shape {a.shape}")
    return a.T.copy()


def cosine_similarity(features: np.ndarray) -> np.ndarray:
    """Cosine similarity between the rows of `features` (N, dim); a zero row has 0 similarity."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"cosine_similarity: expected a 2-D array (nodes, dim), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = x / safe[:, None]
    sim = unit @ unit.T
    np.clip(sim, -1.0, 1.0, out=sim)
    np.fill_diagonal(sim, 1.0)
    return sim
