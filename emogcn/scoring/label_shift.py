"""Label-shift corrections of a model's posteriors on an unlabelled test corpus.

Across corpora a model meets a corpus whose class balance and recording conditions differ from
its training data, and its posteriors drift towards a few classes (a collapse: one class takes
most of the corpus). Both corrections below reweight each posterior by one factor per class,
estimated from the test corpus's own posteriors, never from its labels:

em       Saerens, Latinne and Decaestecker, "Adjusting the outputs of a classifier to new a priori
         probabilities: a simple procedure", Neural Computation 14(1), 2002. EM re-estimates the
         test corpus's class priors q: q <- mean over utterances of p(y | x) q(y) / s(y), normalised
         per utterance, from q = s; the posteriors are then reweighted by q / s. It assumes the
         posteriors are calibrated and only the priors moved; where the model collapses it
         follows the collapse (it reads the collapse as a prior).
balance  the factors are chosen so that the reweighted posteriors average to the uniform
         distribution over the corpus (over the classes the corpus can be predicted as): the
         corpus is assumed balanced, as acted emotion corpora are by design. It undoes a
         collapse by construction, and is wrong where a corpus is far from balanced.

s, the training prior, is uniform by default: every toolkit model trains with class weights
(class_weighting: true; the SVM's class_weight: balanced), which makes its posteriors those of a
balanced training set. Classes a posterior gives zero (restricted label spaces) stay zero.
"""

from __future__ import annotations

import numpy as np

METHODS = ("em", "balance")


def reweight(posteriors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """p(y | x) w(y), normalised per row; a row whose reweighted mass is zero is kept as it was."""
    out = posteriors * weights[None, :]
    mass = out.sum(axis=1, keepdims=True)
    keep = mass[:, 0] <= 0
    out[~keep] /= mass[~keep]
    out[keep] = posteriors[keep]
    return out


def _check(posteriors: np.ndarray) -> np.ndarray:
    p = np.asarray(posteriors, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"posteriors: expected a non-empty (utterances, classes) matrix, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("posteriors: negative or non-finite values")
    return p


def em_priors(posteriors: np.ndarray, train_prior: np.ndarray | None = None, max_iter: int = 1000,
              tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """(estimated test priors, reweighted posteriors) by the EM of Saerens et al. (2002)."""
    p = _check(posteriors)
    classes = p.shape[1]
    s = np.full(classes, 1.0 / classes) if train_prior is None else np.asarray(train_prior, dtype=np.float64)
    if s.shape != (classes,) or np.any(s <= 0):
        raise ValueError(f"train_prior: expected {classes} positive values, got {train_prior}")
    s = s / s.sum()
    q = s.copy()
    for _ in range(max_iter):
        new = reweight(p, q / s).mean(axis=0)
        done = np.abs(new - q).max() < tol
        q = new
        if done:
            break
    # a class whose prior went to zero gets no weight: its posteriors become zero, as EM's fixed point says
    return q, reweight(p, q / s)


def balance(posteriors: np.ndarray, max_iter: int = 1000, tol: float = 1e-8) -> np.ndarray:
    """Posteriors reweighted per class so that their mean is uniform over the classes that any
    utterance can take (a non-zero column). Alternating scaling of columns (to the uniform
    target) and rows (to sum one), as Sinkhorn's; each column keeps some mass, so it converges."""
    p = _check(posteriors)
    live = p.sum(axis=0) > 0
    target = np.where(live, 1.0 / max(int(live.sum()), 1), 0.0)
    w = np.ones(p.shape[1])
    for _ in range(max_iter):
        mean = reweight(p, w).mean(axis=0)
        if np.abs(mean - target).max() < tol:
            break
        w = np.where(live, w * target / np.where(mean > 0, mean, 1.0), 0.0)
        w /= w[live].max()  # only ratios matter; keeps the factors in range
    return reweight(p, w)


def adapt(posteriors: np.ndarray, method: str) -> np.ndarray:
    """The posteriors corrected by `method` (em or balance), with a uniform training prior."""
    if method == "em":
        return em_priors(posteriors)[1]
    if method == "balance":
        return balance(posteriors)
    raise ValueError(f"label-shift method '{method}': expected one of {', '.join(METHODS)}")


def adapt_predictions(preds, method: str, by: str | None = "corpus"):
    """A copy of `preds` (scoring.report.Predictions with posteriors) whose posteriors are
    corrected per group of utterances (its `by` column, e.g. each test corpus on its own; None or
    an absent column: all rows together) and whose hypotheses are the corrected argmax."""
    from dataclasses import replace  # noqa: PLC0415  (kept beside its only use)
    if preds.posteriors is None:
        raise ValueError(f"{preds.origins[0].rsplit(':', 1)[0] if preds.origins else 'predictions'}: "
                         "no p_<class> columns, so there are no posteriors to correct")
    post = np.array(preds.posteriors, dtype=np.float64)
    keys = preds.extra.get(by) if by else None
    groups = {}
    for i, key in enumerate(keys if keys is not None else [None] * len(preds.utts)):
        groups.setdefault(key, []).append(i)
    for rows in groups.values():
        post[rows] = adapt(post[rows], method)
    hyps = [preds.classes[j] for j in post.argmax(axis=1)]
    return replace(preds, posteriors=post, hyps=hyps)
