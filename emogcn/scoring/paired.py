"""Paired comparison of two systems over the same test utterances ("does the label graph help?").

Each system is a list of pooled result directories, one per seed (predictions.tsv, metrics.json
as pool_folds writes them); seed i of A pairs with seed i of B. A difference of two seed means
says little without knowing how much of it the test set's sampling explains, and unpaired
intervals overstate that: the systems err on largely the same utterances. So:

- paired_comparison: the effect, mean over seeds of UA_B - UA_A; a 95 % percentile interval and
  a two-sided p-value from a bootstrap over utterances (one index draw shared by A, B and every
  seed, so the pairing is kept); a Wilcoxon signed-rank test over the fold x seed pairs of
  per-fold UA (fold k of seed i of A against fold k of seed i of B).
- comparison_row / format_comparison / append_comparison_row: a markdown table of comparisons,
  one row per name; a comparison made again replaces its row.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.stats import wilcoxon

from emogcn.atomic import rewrite_lines
from emogcn.scoring.metrics import classification_metrics, mean_std
# The RESULTS.md cell syntax lives in pool.py; comparison tables use the same.
from emogcn.scoring.pool import _md_row, _pct_pm, _split_md_row
from emogcn.scoring.report import ScoringError, read_metrics, read_predictions

COLUMNS = ("comparison", "seeds", "A UA mean ± std", "B UA mean ± std", "effect B−A (pp)", "95 % CI (pp)",
           "p (bootstrap)", "fold×seed pairs W/L/T", "p (Wilcoxon)", "reading")
# Resampled utterance indices held at once (a chunk of resamples x utterances), to bound memory.
_CHUNK_CELLS = 2_000_000


class _Result:
    """One pooled result directory: per-utterance correctness in the first directory's utterance
    order, the pooled UA and the per-fold UAs (and sizes, where recorded)."""

    def __init__(self, directory: str | Path):
        self.dir = str(directory)
        self.preds = read_predictions(Path(directory) / "predictions.tsv")
        metrics = read_metrics(directory)
        where = f"{directory}/metrics.json"
        if not isinstance(metrics.get("UA"), (int, float)):
            raise ScoringError(f"{where}: no 'UA' in the metrics (not a scoring metrics.json)")
        per_fold = (metrics.get("folds") or {}).get("per_fold")
        if not per_fold:
            raise ScoringError(f"{where}: no folds.per_fold (not a result pooled over folds by pool_scores)")
        for k, fold in enumerate(per_fold, 1):
            if not isinstance(fold.get("UA"), (int, float)):
                raise ScoringError(f"{where}: fold {k} of folds.per_fold has no UA")
        self.ua = float(metrics["UA"])
        self.fold_ua = [float(f["UA"]) for f in per_fold]
        self.fold_sizes = [f.get("num_utts") for f in per_fold]
        # The bootstrap recomputes UA from predictions.tsv: a metrics.json left from other
        # predictions would make the interval and the effect disagree.
        ua = classification_metrics(self.preds.refs, self.preds.hyps, self.preds.classes)["UA"]
        if abs(ua - self.ua) > 1e-9:
            raise ScoringError(f"{where}: UA {self.ua:.6f} differs from {ua:.6f} of its predictions.tsv "
                               "(metrics.json out of date?)")


def _check_same_utterances(first: _Result, other: _Result) -> np.ndarray:
    """Row order of `other` that lists first's utterances; refuses other utterances or references."""
    here = dict(zip(other.preds.utts, other.preds.refs))
    where = f"{other.dir}/predictions.tsv"
    for utt, ref in zip(first.preds.utts, first.preds.refs):
        if utt not in here:
            raise ScoringError(f"{where}: utterance '{utt}' of {first.dir}/predictions.tsv is missing "
                               "(a paired comparison needs the same test utterances)")
        if here[utt] != ref:
            raise ScoringError(f"{where}: reference of '{utt}' is '{here[utt]}', but '{ref}' in "
                               f"{first.dir}/predictions.tsv")
    if len(here) != len(first.preds.utts):
        known = set(first.preds.utts)
        extra = next(u for u in other.preds.utts if u not in known)
        raise ScoringError(f"{where}: utterance '{extra}' is not in {first.dir}/predictions.tsv "
                           "(a paired comparison needs the same test utterances)")
    order = {u: i for i, u in enumerate(other.preds.utts)}
    return np.array([order[u] for u in first.preds.utts], dtype=np.int64)


def _correct(result: _Result, rows: np.ndarray) -> np.ndarray:
    refs = np.array(result.preds.refs)[rows]
    hyps = np.array(result.preds.hyps)[rows]
    return (refs == hyps).astype(np.int64)


def _load(a_dirs: Sequence[str | Path], b_dirs: Sequence[str | Path]) -> tuple[list[_Result], list[_Result], dict]:
    """The results of both systems, checked to pair up, and per system the correctness (seeds x
    utterances) in the utterance order of A's first directory."""
    if not a_dirs or not b_dirs:
        raise ScoringError(f"no result directories for system {'A' if not a_dirs else 'B'}")
    if len(a_dirs) != len(b_dirs):
        longer, which = (a_dirs, "A") if len(a_dirs) > len(b_dirs) else (b_dirs, "B")
        raise ScoringError(f"{longer[min(len(a_dirs), len(b_dirs))]}: seed {min(len(a_dirs), len(b_dirs)) + 1} "
                           f"of system {which} has no partner: A has {len(a_dirs)} seed directories, "
                           f"B {len(b_dirs)} (seed i of A pairs with seed i of B)")
    a = [_Result(d) for d in a_dirs]
    b = [_Result(d) for d in b_dirs]
    correct = {name: np.stack([_correct(r, _check_same_utterances(a[0], r)) for r in results])
               for name, results in (("A", a), ("B", b))}
    for ra, rb in zip(a, b):
        if len(ra.fold_ua) != len(rb.fold_ua):
            raise ScoringError(f"{rb.dir}/metrics.json: {len(rb.fold_ua)} folds, but {len(ra.fold_ua)} in "
                               f"{ra.dir} (fold k of A pairs with fold k of B)")
        for k, (na, nb) in enumerate(zip(ra.fold_sizes, rb.fold_sizes), 1):
            if na is not None and nb is not None and na != nb:
                raise ScoringError(f"{rb.dir}/metrics.json: fold {k} has {nb} utterances, but {na} in "
                                   f"{ra.dir} (not the same test fold)")
    return a, b, correct


def bootstrap_effects(ref: np.ndarray, gain: np.ndarray, n_seeds: int, n_boot: int,
                      seed: int) -> np.ndarray:
    """The effect (mean over seeds of UA_B - UA_A) on n_boot resamples of the utterances.

    ref: class index per utterance; gain: per utterance, the sum over seeds of correct_B -
    correct_A. UA is linear in the per-class hits and every system and seed shares the resample's
    class counts, so one weighted count per resample gives the effect: sum over the classes
    present of gain_c / support_c, over the classes present, over the seeds. Classes absent from
    a resample are left out, as classification_metrics does.
    """
    n = len(ref)
    n_classes = int(ref.max()) + 1
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    out = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        keys = (np.arange(b)[:, None] * n_classes + ref[idx]).ravel()
        support = np.bincount(keys, minlength=b * n_classes).reshape(b, n_classes)
        gains = np.bincount(keys, weights=gain[idx].ravel().astype(np.float64),
                            minlength=b * n_classes).reshape(b, n_classes)
        present = support > 0
        recall_gain = np.where(present, gains / np.maximum(support, 1), 0.0)
        out.append(recall_gain.sum(axis=1) / present.sum(axis=1) / n_seeds)
    # Integer gains keep exact ties exact; rounding removes the last-bit noise of the class sums,
    # so that "no difference on this resample" counts on both sides of 0.
    return np.round(np.concatenate(out), 12)


def _wilcoxon(a: list[_Result], b: list[_Result]) -> dict:
    diffs = np.array([fb - fa for ra, rb in zip(a, b) for fa, fb in zip(ra.fold_ua, rb.fold_ua)])
    n = len(diffs)
    found = {"n": n, "wins": int((diffs > 0).sum()), "losses": int((diffs < 0).sum()),
             "ties": int((diffs == 0).sum()), "zero_method": "zsplit"}
    if not diffs.any():
        # No difference anywhere: zsplit's statistic (every rank split evenly), nothing to test.
        return {**found, "statistic": n * (n + 1) / 4, "p": 1.0}
    test = wilcoxon(diffs, zero_method="zsplit", alternative="two-sided")
    p = float(test.pvalue)
    return {**found, "statistic": float(test.statistic), "p": 1.0 if math.isnan(p) else min(p, 1.0)}


def reading(ci: Sequence[float]) -> str:
    """The plain-word reading of an interval of B - A."""
    if ci[0] > 0:
        return "B better"
    if ci[1] < 0:
        return "A better"
    return "no difference shown"


def paired_comparison(a_dirs: Sequence[str | Path], b_dirs: Sequence[str | Path], n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """Compares system B with system A over the same utterances, seed i of A with seed i of B.

    UA values and the effect are fractions (as in metrics.json); std is the sample std over
    seeds (None for one seed). The bootstrap is deterministic given `seed`.
    """
    if n_boot < 1:
        raise ScoringError(f"the bootstrap needs at least 1 resample, not {n_boot}")
    a, b, correct = _load(a_dirs, b_dirs)
    first = a[0]
    classes, ref = np.unique(np.array(first.preds.refs), return_inverse=True)
    gain = (correct["B"] - correct["A"]).sum(axis=0)
    per_seed = [rb.ua - ra.ua for ra, rb in zip(a, b)]
    effects = bootstrap_effects(ref, gain, len(a), n_boot, seed)
    ci = [float(np.percentile(effects, 2.5)), float(np.percentile(effects, 97.5))]
    p = min(1.0, 2 * min(float(np.mean(effects <= 0)), float(np.mean(effects >= 0))))
    systems = {}
    for name, results in (("a", a), ("b", b)):
        mean, std, _ = mean_std([r.ua for r in results])
        systems[name] = {"dirs": [r.dir for r in results], "UA": [r.ua for r in results], "mean": mean,
                         "std": std}
    return {
        "n_seeds": len(a), "n_utts": len(first.preds), "n_classes": len(classes),
        **systems,
        "effect": float(np.mean(per_seed)), "per_seed_effect": per_seed,
        "bootstrap": {"n": n_boot, "seed": seed, "level": 0.95, "ci": ci, "p": p},
        "wilcoxon": _wilcoxon(a, b),
        "reading": reading(ci),
    }


# ---------------------------------------------------------------- markdown


def _pp(value: float) -> str:
    return f"{100 * value:+.2f}"


def _p(p: float, n_boot: int | None = None) -> str:
    if p == 0 and n_boot:  # no resample on the other side: below the bootstrap's resolution
        return f"< {1 / n_boot:.2g}"
    return f"{p:.3g}"


def comparison_row(result: dict, name: str) -> list[str]:
    """The cells of one comparison (COLUMNS): UA and differences in percent, 2 decimals."""
    boot, test = result["bootstrap"], result["wilcoxon"]
    lo, hi = boot["ci"]
    return [name, str(result["n_seeds"]), _pct_pm(result["a"]["mean"], result["a"]["std"]),
            _pct_pm(result["b"]["mean"], result["b"]["std"]), _pp(result["effect"]), f"[{_pp(lo)}, {_pp(hi)}]",
            _p(boot["p"], boot["n"]), f"{test['wins']}/{test['losses']}/{test['ties']}", _p(test["p"]),
            reading(boot["ci"])]


def comparison_header() -> str:
    """The markdown header of a comparison table (column names and the rule below them)."""
    return _md_row(COLUMNS) + _md_row(["---"] * len(COLUMNS))


def format_comparison(result: dict, name: str) -> str:
    """A markdown table of one comparison: header and its row."""
    return comparison_header() + _md_row(comparison_row(result, name))


def append_comparison_row(results_md: str | Path, result: dict, name: str) -> str:
    """Writes one comparison's row into the comparison tables of results_md; returns the row text.

    A row of that name already in a comparison table is replaced (others of that name removed);
    a new one goes to the comparison table that ends the file, or after a new header. Other text
    is kept. Rewritten under a temporary name, under a lock on the directory, as pool's rows are.
    """
    line = _md_row(comparison_row(result, name))
    own = _split_md_row(line)[0]

    def edit(lines: list[str]) -> str:
        header, replaced, last_header = None, False, None
        for i, text in enumerate(lines):
            cells = _split_md_row(text)
            if cells is None:
                header = None
                continue
            if header is None:
                header = last_header = cells
            elif header == list(COLUMNS) and cells[0] == own:
                lines[i] = "" if replaced else line
                replaced = True
        if not replaced:
            ends_in_table = bool(lines) and _split_md_row(lines[-1]) is not None
            if not (ends_in_table and last_header == list(COLUMNS)):
                lines.append(("\n" if lines else "") + comparison_header())
            lines.append(line)
        return "".join(lines)

    rewrite_lines(results_md, edit)
    return line
