"""Model selection on the TRAINING speakers only: speaker-grouped inner cross-validation.

Every grid point (kernel x C; gamma for rbf) is fitted on the inner training speakers and predicts
the held-out ones; its score is the UA (unweighted average recall, emogcn/scoring/metrics.py) of
the predictions of every held-out fold POOLED, as the outer folds are pooled for the results. Up to
`loso_max_speakers` training speakers, each speaker is one inner fold (leave one speaker out);
beyond, `group_folds` folds of whole speakers, balanced by utterance count. The best UA wins; a
tie goes to the simpler model: linear before rbf, then the smaller C. Test data never reaches
this module: it sees the training set and nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from emogcn.classic.config import KERNELS, SvmConfig
from emogcn.classic.data import FunctionalSet
from emogcn.classic.kernels import GramCache, GridPoint, class_scores, fit_svc, resolve_gamma
from emogcn.data.datadir import source_speaker
from emogcn.log import get_logger
from emogcn.scoring.metrics import metrics_from_confusion

logger = get_logger(__name__)

# UAs closer than this are a tie (the same confusion can sum its recalls in another order).
TIE = 1e-12


@dataclass
class InnerFold:
    speakers: list[str]  # held out in this fold
    rows: np.ndarray  # their rows of the training set


@dataclass
class Selection:
    scheme: str  # leave_one_speaker_out | speaker_groups
    folds: list[InnerFold]
    grid: list[GridPoint]
    inner_ua: list[float]  # per grid point
    chosen: int  # index into grid
    seconds: float
    inner_hyps: np.ndarray  # the chosen point's class index for every training row, from the fold that held it out


    @property
    def best(self) -> GridPoint:
        return self.grid[self.chosen]


def make_grid(cfg: SvmConfig) -> list[GridPoint]:
    """Grid points from the simplest to the most complex (the tie-break order)."""
    points = []
    for kernel in sorted(cfg.kernels, key=KERNELS.index):
        for c in sorted(cfg.c_values):
            points.append(GridPoint(kernel, c, cfg.gamma if kernel == "rbf" else None))
    return points


def inner_folds(speakers: list[str], cfg: SvmConfig) -> tuple[str, list[InnerFold]]:
    """The inner folds over the training set's speakers (one entry per row in `speakers`). A perturbed
    copy's rows go with the speaker they were made from: no fold is fitted on a copy of its held-out speaker."""
    spk = np.asarray([source_speaker(s) for s in speakers])
    counts = {s: int((spk == s).sum()) for s in sorted(set(spk.tolist()))}
    if len(counts) < 2:
        raise ValueError(f"model selection needs at least two training speakers, got {len(counts)} "
                         f"({', '.join(counts)})")
    if len(counts) <= cfg.loso_max_speakers:
        groups = [[s] for s in counts]
        scheme = "leave_one_speaker_out"
    else:
        # Largest speakers first, each to the fold with the fewest utterances so far (ties: the
        # lower fold): folds of similar size, the same every run.
        k = min(cfg.group_folds, len(counts))
        groups, sizes = [[] for _ in range(k)], [0] * k
        for s in sorted(counts, key=lambda s: (-counts[s], s)):
            j = min(range(k), key=lambda j: (sizes[j], j))
            groups[j].append(s)
            sizes[j] += counts[s]
        groups = [sorted(g) for g in groups]
        scheme = "speaker_groups"
    folds = [InnerFold(g, np.flatnonzero(np.isin(spk, g))) for g in groups]
    return scheme, folds


def choose(inner_ua: list[float]) -> int:
    """The first grid point (the simplest) within TIE of the best UA."""
    best = max(inner_ua)
    return next(i for i, ua in enumerate(inner_ua) if ua >= best - TIE)


def pooled_ua(labels: np.ndarray, hyps: np.ndarray, classes: list[str]) -> float:
    n = len(classes)
    confusion = np.bincount(labels * n + hyps, minlength=n * n).reshape(n, n)
    return float(metrics_from_confusion(confusion, classes)["UA"])


def select_model(train: FunctionalSet, cfg: SvmConfig) -> Selection:
    """Scores every grid point by inner cross-validation over `train`'s speakers."""
    t0 = time.time()
    scheme, folds = inner_folds(train.speakers, cfg)
    grid = make_grid(cfg)
    logger.info("Gram matrix of %d training utterances: %.0f MB", len(train), 8e-6 * len(train) ** 2)
    cache = GramCache(train.features)
    everything = np.arange(len(train))
    hyps = np.full((len(grid), len(train)), -1, dtype=np.int64)
    for f, fold in enumerate(folds):
        fit_rows = np.setdiff1d(everything, fold.rows)
        absent = sorted(set(range(len(train.classes))) - set(train.labels[fit_rows].tolist()))
        if absent:  # scored as errors on that fold; the refit on every speaker sees them
            logger.warning("inner fold %d (held out: %s): no training example of %s", f + 1,
                           " ".join(fold.speakers), ", ".join(train.classes[c] for c in absent))
        gammas: dict = {}
        for g, point in enumerate(grid):
            gamma = None
            if point.kernel == "rbf":
                if point.gamma not in gammas:
                    gammas[point.gamma] = resolve_gamma(point.gamma, train.features[fit_rows])
                gamma = gammas[point.gamma]
            svc = fit_svc(cache.block(point, fit_rows, fit_rows, gamma), train.labels[fit_rows], point.C,
                          cfg.class_weight, cfg.tol)
            scores = class_scores(svc, cache.block(point, fold.rows, fit_rows, gamma), len(train.classes))
            hyps[g, fold.rows] = scores.argmax(axis=1)
    inner_ua = [pooled_ua(train.labels, hyps[g], train.classes) for g in range(len(grid))]
    chosen = choose(inner_ua)
    for point, ua in zip(grid, inner_ua):
        logger.info("inner CV %-28s UA %.2f", point.describe(), 100 * ua)
    selection = Selection(scheme, folds, grid, inner_ua, chosen, time.time() - t0, hyps[chosen])
    logger.info("chose %s (inner UA %.2f) by %s over %d training speakers in %d fold(s), %.1f s",
                selection.best.describe(), 100 * inner_ua[chosen], scheme, len(set(train.speakers)), len(folds),
                selection.seconds)
    return selection
