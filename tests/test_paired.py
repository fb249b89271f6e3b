"""Paired comparison of two systems (emogcn/scoring/paired.py, emogcn.bin.compare_systems): effect,
bootstrap interval and p, Wilcoxon over fold x seed pairs, refusals, the markdown row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emogcn.bin import compare_systems as cli
from emogcn.scoring.metrics import classification_metrics
from emogcn.scoring.paired import bootstrap_effects, comparison_row, paired_comparison
from emogcn.scoring.report import ScoringError

CLASSES = ["ang", "hap", "neu", "sad"]
# Unequal class sizes, so that UA (mean recall) differs from accuracy; 4 folds of 50 utterances.
REFS = ["ang"] * 80 + ["hap"] * 60 + ["neu"] * 40 + ["sad"] * 20
UTTS = [f"spk{i % 10}-u{i:03d}" for i in range(len(REFS))]
FOLDS = 4


def hand_ua(correct: np.ndarray, rows=None, refs=REFS) -> float:
    """Mean over the reference classes present of (correct / support), by hand."""
    rows = np.arange(len(refs)) if rows is None else rows
    refs = np.array(refs)[rows]
    return float(np.mean([correct[rows][refs == c].mean() for c in CLASSES if (refs == c).any()]))


def fold_rows(k: int, n: int = len(REFS)) -> np.ndarray:
    # Fold k holds every FOLDS-th utterance, so each fold has every class.
    return np.arange(k, n, FOLDS)


def write_result(d: Path, correct: np.ndarray, utts=None, refs=None) -> Path:
    """A pooled result directory as pool_scores writes it: predictions.tsv (a wrong hypothesis is
    the next class) and metrics.json with the pooled UA and per-fold UAs, all by hand."""
    utts = UTTS if utts is None else utts
    refs = REFS if refs is None else refs
    lines = ["\t".join(["utt", "reference", "hypothesis"] + [f"p_{c}" for c in CLASSES])]
    for utt, ref, ok in zip(utts, refs, correct):
        hyp = ref if ok else CLASSES[(CLASSES.index(ref) + 1) % len(CLASSES)]
        lines.append("\t".join([utt, ref, hyp] + [f"{0.7 if c == hyp else 0.1:.1f}" for c in CLASSES]))
    d.mkdir(parents=True)
    (d / "predictions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    per_fold = [{"dir": f"{d}/fold{k + 1}", "num_utts": len(fold_rows(k, len(refs))),
                 "UA": hand_ua(correct, fold_rows(k, len(refs)), refs)} for k in range(FOLDS)]
    metrics = {"name": d.name, "UA": hand_ua(correct, refs=refs), "folds": {"n": FOLDS, "per_fold": per_fold}}
    (d / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return d


def a_correct(seed: int, share: float = 0.5) -> np.ndarray:
    return np.random.default_rng(100 + seed).random(len(REFS)) < share


def better(correct: np.ndarray, seed: int, share: float = 0.6) -> np.ndarray:
    """Right wherever `correct` is, plus `share` of its errors outside fold 0 (fold 0 unchanged:
    a tie in the Wilcoxon pairs)."""
    out = correct.copy()
    fixable = np.flatnonzero(~correct)
    fixable = fixable[fixable % FOLDS != 0]
    pick = np.random.default_rng(200 + seed).random(len(fixable)) < share
    out[fixable[pick]] = True
    return out


def systems(tmp_path: Path, n_seeds: int, b_of=better) -> tuple[list[Path], list[Path], list, list]:
    a_dirs, b_dirs, a_ok, b_ok = [], [], [], []
    for s in range(n_seeds):
        a_ok.append(a_correct(s))
        b_ok.append(b_of(a_ok[-1], s))
        a_dirs.append(write_result(tmp_path / f"single_task_seed{s}", a_ok[-1]))
        b_dirs.append(write_result(tmp_path / f"emotion_gcn_seed{s}", b_ok[-1]))
    return a_dirs, b_dirs, a_ok, b_ok


def test_identical_systems_show_no_difference(tmp_path):
    a_dirs, b_dirs, _, _ = systems(tmp_path, 3, b_of=lambda ok, s: ok)
    result = paired_comparison(a_dirs, b_dirs, n_boot=500)
    assert result["n_seeds"] == 3 and result["n_utts"] == len(REFS)
    assert result["effect"] == 0.0 and result["a"]["UA"] == result["b"]["UA"]
    lo, hi = result["bootstrap"]["ci"]
    assert lo <= 0 <= hi
    assert result["bootstrap"]["p"] == 1.0
    test = result["wilcoxon"]
    assert (test["n"], test["wins"], test["losses"], test["ties"], test["p"]) == (3 * FOLDS, 0, 0, 3 * FOLDS, 1.0)
    row = comparison_row(result, "same")
    assert row[-1] == "no difference shown" == result["reading"]
    assert row[4] == "+0.00" and row[7] == f"0/0/{3 * FOLDS}"


def test_better_system_b_effect_interval_and_wilcoxon(tmp_path):
    a_dirs, b_dirs, a_ok, b_ok = systems(tmp_path, 3)
    result = paired_comparison(a_dirs, b_dirs, n_boot=2000, seed=1)
    diffs = [hand_ua(b) - hand_ua(a) for a, b in zip(a_ok, b_ok)]
    assert min(diffs) > 0.1  # the setup: B much better on every seed
    assert result["effect"] == pytest.approx(np.mean(diffs), abs=1e-12)
    assert result["a"]["UA"] == pytest.approx([hand_ua(a) for a in a_ok])
    assert result["b"]["std"] == pytest.approx(np.std([hand_ua(b) for b in b_ok], ddof=1))
    lo, hi = result["bootstrap"]["ci"]
    assert 0 < lo < result["effect"] < hi
    assert result["bootstrap"]["p"] < 0.05
    assert result["reading"] == "B better"
    # Folds 1-3 of each seed improve, fold 0 is left as it was: 9 wins, 0 losses, 3 ties.
    test = result["wilcoxon"]
    assert (test["n"], test["wins"], test["losses"], test["ties"]) == (12, 9, 0, 3)
    assert 0 < test["p"] < 0.05
    row = comparison_row(result, "EmoDB: emotion_gcn vs single_task")
    assert row[:2] == ["EmoDB: emotion_gcn vs single_task", "3"]
    assert row[4] == f"{100 * np.mean(diffs):+.2f}"
    assert row[5] == f"[{100 * lo:+.2f}, {100 * hi:+.2f}]"
    assert row[7] == "9/0/3" and row[-1] == "B better"
    # B and A swapped: the same effect negated, "A better".
    swapped = paired_comparison(b_dirs, a_dirs, n_boot=2000, seed=1)
    assert swapped["effect"] == pytest.approx(-result["effect"])
    assert swapped["bootstrap"]["ci"][1] < 0 and swapped["reading"] == "A better"
    assert (swapped["wilcoxon"]["wins"], swapped["wilcoxon"]["losses"]) == (0, 9)


def test_effect_is_the_mean_of_per_seed_differences(tmp_path):
    def b_of(ok, s):  # seed 0: a large gain; seed 1: B worse on a tenth of A's hits
        if s == 0:
            return better(ok, s, share=0.8)
        out = ok.copy()
        hits = np.flatnonzero(ok)
        out[hits[::10]] = False
        return out

    a_dirs, b_dirs, a_ok, b_ok = systems(tmp_path, 2, b_of=b_of)
    d0, d1 = (hand_ua(b_ok[s]) - hand_ua(a_ok[s]) for s in range(2))
    assert d0 > 0 > d1 and abs(d0 - -d1) > 0.05
    result = paired_comparison(a_dirs, b_dirs, n_boot=200)
    assert result["per_seed_effect"] == pytest.approx([d0, d1], abs=1e-12)
    assert result["effect"] == pytest.approx((d0 + d1) / 2, abs=1e-12)
    assert result["a"]["mean"] == pytest.approx((hand_ua(a_ok[0]) + hand_ua(a_ok[1])) / 2)


def test_bootstrap_matches_a_slow_resampling_and_is_deterministic():
    """The vectorised effects equal UA computed by classification_metrics on the same resamples
    (a rare class, often absent from a resample, included)."""
    rng = np.random.default_rng(5)
    refs = np.array(["a"] * 20 + ["b"] * 12 + ["c"] * 2)
    n_seeds, n_boot = 3, 40
    ok_a = rng.random((n_seeds, len(refs))) < 0.5
    ok_b = rng.random((n_seeds, len(refs))) < 0.7
    classes, ref = np.unique(refs, return_inverse=True)
    gain = (ok_b.astype(int) - ok_a.astype(int)).sum(axis=0)
    effects = bootstrap_effects(ref, gain, n_seeds, n_boot, seed=3)
    assert np.array_equal(effects, bootstrap_effects(ref, gain, n_seeds, n_boot, seed=3))
    assert not np.array_equal(effects, bootstrap_effects(ref, gain, n_seeds, n_boot, seed=4))
    draws = np.random.default_rng(3).integers(0, len(refs), size=(n_boot, len(refs)))

    def ua(ok, idx):
        hyp = np.where(ok[idx], refs[idx], "wrong")
        return classification_metrics(list(refs[idx]), list(hyp), [*classes, "wrong"])["UA"]

    slow = [np.mean([ua(ok_b[s], idx) - ua(ok_a[s], idx) for s in range(n_seeds)]) for idx in draws]
    assert any(len(set(refs[idx])) < 3 for idx in draws)
    assert effects == pytest.approx(slow, abs=1e-9)


def test_mismatched_utterances_references_or_seed_counts_are_refused(tmp_path):
    a_dirs, b_dirs, a_ok, _ = systems(tmp_path, 2)
    with pytest.raises(ScoringError, match=f"{a_dirs[1]}: seed 2 of system A has no partner"):
        paired_comparison(a_dirs, b_dirs[:1])
    missing = write_result(tmp_path / "missing", a_ok[0][1:], utts=UTTS[1:], refs=REFS[1:])
    with pytest.raises(ScoringError, match=f"{missing}/predictions.tsv: utterance '{UTTS[0]}' .* is missing"):
        paired_comparison(a_dirs, [b_dirs[0], missing])
    extra = write_result(tmp_path / "extra", np.append(a_ok[0], True), utts=UTTS + ["spk0-x"], refs=REFS + ["ang"])
    with pytest.raises(ScoringError, match=f"{extra}/predictions.tsv: utterance 'spk0-x' is not in"):
        paired_comparison(a_dirs, [extra, b_dirs[1]])
    relabelled = write_result(tmp_path / "relabelled", a_ok[0], refs=["hap"] + REFS[1:])
    with pytest.raises(ScoringError, match=f"{relabelled}/predictions.tsv: reference of '{UTTS[0]}' is 'hap'"):
        paired_comparison([a_dirs[0], relabelled], b_dirs)
    stale = tmp_path / "stale"
    shutil.copytree(b_dirs[0], stale)
    shutil.copy(a_dirs[0] / "metrics.json", stale / "metrics.json")
    with pytest.raises(ScoringError, match=f"{stale}/metrics.json: UA .* differs"):
        paired_comparison(a_dirs[:1], [stale])


def test_cli_prints_the_table_and_replaces_its_row(tmp_path, capsys):
    a_dirs, b_dirs, _, _ = systems(tmp_path, 2)
    results = tmp_path / "COMPARISONS.md"
    results.write_text("# Does the label graph help?\n", encoding="utf-8")
    name = "EmoDB: emotion_gcn vs single_task"
    a_args = ["--a", *map(str, a_dirs)]
    assert cli.main(["--name", name, "--boot", "300", "--results", str(results), *a_args,
                     "--b", *map(str, a_dirs)]) == 0  # first: B is A
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| comparison | seeds | A UA mean ± std |") and out[2].startswith(f"| {name} | 2 |")
    assert out[2].endswith("| no difference shown |")
    assert cli.main(["--name", name, "--boot", "300", "--results", str(results), "--json", str(tmp_path / "c.json"),
                     *a_args, "--b", *map(str, b_dirs)]) == 0
    assert cli.main(["--name", "other", "--boot", "300", "--results", str(results), *a_args,
                     "--b", *map(str, b_dirs)]) == 0
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Does the label graph help?\n\n| comparison |")
    assert text.count("| comparison |") == 1
    rows = [line for line in text.splitlines() if line.startswith(f"| {name} |")]
    assert len(rows) == 1 and rows[0].endswith("| B better |")
    assert text.splitlines()[-1].startswith("| other | 2 |")
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved["name"] == name and saved["reading"] == "B better" and saved["bootstrap"]["n"] == 300
    capsys.readouterr()
    assert cli.main(["--name", "x", "--a", *map(str, a_dirs), "--b", str(b_dirs[0])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("compare_systems: error: ") and str(a_dirs[1]) in err and err.count("\n") == 1


def _fold_scores(d: Path, utts, refs, post) -> Path:
    """One fold's scores/test/predictions.tsv with the given posteriors."""
    d.mkdir(parents=True)
    lines = ["\t".join(["utt", "reference", "hypothesis"] + [f"p_{c}" for c in CLASSES])]
    for utt, ref, p in zip(utts, refs, post):
        lines.append("\t".join([utt, ref, CLASSES[int(np.argmax(p))]] + [f"{v:.6f}" for v in p]))
    (d / "predictions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def test_a_fusion_keeps_the_folds_so_fusions_can_be_compared(tmp_path):
    # fusions (pool_scores --fuse) of pooled results: per-fold UAs cut by the first input's folds,
    # each equal to the UA of the fused posteriors of that fold's utterances; compare_systems takes them
    from emogcn.scoring.pool import fuse_results, pool_folds
    rng = np.random.default_rng(7)
    sizes = [70, 130]  # unequal folds, utterances interleaved by name so only the fold order tells them apart
    fold_utts = [[u for i, u in enumerate(UTTS) if (i % 3 == 0) == (k == 0)][: sizes[k]] for k in range(2)]
    ref_of = dict(zip(UTTS, REFS))
    pooled = {}
    for system in ("mlp", "svm", "gcn"):
        folds = []
        for k, utts in enumerate(fold_utts):
            post = rng.dirichlet(np.ones(len(CLASSES)), size=len(utts))
            folds.append(_fold_scores(tmp_path / system / f"fold{k + 1}", utts, [ref_of[u] for u in utts], post))
        pooled[system] = tmp_path / system / "pooled"
        pool_folds(folds, pooled[system], system)
    fused = fuse_results([pooled["mlp"], pooled["svm"]], tmp_path / "fusion_mlp", "fusion_mlp")
    per_fold = fused["folds"]["per_fold"]
    assert [f["num_utts"] for f in per_fold] == [len(u) for u in fold_utts]
    rows = {}
    for line in (tmp_path / "fusion_mlp/predictions.tsv").read_text().splitlines()[1:]:
        utt, ref, hyp = line.split("\t")[:3]
        rows[utt] = (ref, hyp)
    for k, utts in enumerate(fold_utts):
        m = classification_metrics([rows[u][0] for u in utts], [rows[u][1] for u in utts], CLASSES)
        assert per_fold[k]["UA"] == pytest.approx(m["UA"])
    fuse_results([pooled["gcn"], pooled["svm"]], tmp_path / "fusion_gcn", "fusion_gcn")
    result = paired_comparison([tmp_path / "fusion_mlp"], [tmp_path / "fusion_gcn"], n_boot=200)
    assert result["wilcoxon"]["n"] == 2
