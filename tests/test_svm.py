"""The classic baseline: SVM over utterance-level functionals (emogcn/classic, steps/train_svm.sh)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml

from conftest import run_sh
from emogcn.bin import compute_cmvn, train_svm as train_svm_bin
from emogcn.classic import experiment
from emogcn.classic.config import SvmConfig, check_config, load_svm_config
from emogcn.classic.data import combine, load_data_dir, load_functionals
from emogcn.classic.kernels import GramCache, GridPoint, class_scores, cross_kernel, fit_svc, resolve_gamma
from emogcn.classic.selection import choose, inner_folds, make_grid
from emogcn.config import ConfigError
from emogcn.data.cmvn import Cmvn
from emogcn.data.datadir import spk2utt_from_utt2spk, write_map
from emogcn.scoring.metrics import classification_metrics
from emogcn.scoring.report import read_classes, read_predictions, score_predictions

CLASSES = ["neutral", "happiness", "anger"]  # conf/emotions.yaml order
DIM = 8
TRAIN_SPK = ["s01", "s02", "s03", "s04", "s05"]
DEV_SPK = ["s06"]
TEST_SPK = ["s07", "s08"]


def _speaker_vectors(rng, spk_index: int, per_class: int, offset_scale: float) -> list[tuple[str, np.ndarray]]:
    """Utterances of one speaker: class signal on the first dimensions, plus a speaker offset in
    every dimension that is larger than the class separation (per-speaker normalisation removes it,
    since every speaker has every class equally often)."""
    offset = rng.normal(0.0, offset_scale, DIM)
    out = []
    for c, label in enumerate(CLASSES):
        mean = np.zeros(DIM)
        mean[c] = 2.0
        for _ in range(per_class):
            out.append((label, mean + offset + rng.normal(0.0, 0.5, DIM)))
    return out


def _write_dir(data: Path, ark_dir: Path, utts: dict[str, tuple[str, str, np.ndarray]]) -> Path:
    """A data directory of `utts` (utt -> (speaker, label, features)) with real kaldiio arks, then its
    per-speaker and global CMVN statistics (the stage-2 job)."""
    data.mkdir(parents=True)
    utt2spk = {u: s for u, (s, _, _) in utts.items()}
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_map(data / "utt2emo", {u: label for u, (_, label, _) in utts.items()})
    write_map(data / "utt2corpus", {u: "synth" for u in utts})
    write_map(data / "utt2lang", {u: "de" for u in utts})
    write_map(data / "wav.scp", {u: f"/nonexistent/{u}.wav" for u in utts})
    ark_dir.mkdir(parents=True, exist_ok=True)
    with kaldiio.WriteHelper(f"ark,scp:{ark_dir}/{data.name}.ark,{data}/feats.scp") as writer:
        for u in sorted(utts):
            feats = utts[u][2]
            writer(u, np.asarray(feats, dtype=np.float32).reshape(-1, feats.shape[-1]))
    assert compute_cmvn.main([str(data), str(ark_dir / f"cmvn_{data.name}")]) == 0
    return data


def _corpus(root: Path, per_class: int = 6, offset_scale: float = 4.0, seed: int = 0,
            test_shift: float | np.ndarray = 0.0) -> dict[str, Path]:
    """train (5 speakers), dev (1) and test (2 other speakers), as a fold of stage 2 leaves them;
    `test_shift` moves every test feature by that much (another corpus's recording conditions)."""
    rng = np.random.default_rng(seed)
    sets = {"train": TRAIN_SPK, "dev": DEV_SPK, "test": TEST_SPK}
    out = {}
    n = 0
    for name, speakers in sets.items():
        utts = {}
        for spk in speakers:
            for i, (label, vec) in enumerate(_speaker_vectors(rng, n, per_class, offset_scale)):
                utts[f"{spk}-u{i:03d}"] = (spk, label, vec + (test_shift if name == "test" else 0.0))
            n += 1
        out[name] = _write_dir(root / "data" / name, root / "feats", utts)
    return out


def _small_config(**overrides) -> SvmConfig:
    return check_config(SvmConfig(c_values=[0.01, 1.0], **overrides))


def _run(exp: Path, sets: dict[str, Path], cfg: SvmConfig, **kwargs) -> dict:
    return experiment.train_svm(exp, [sets["train"], sets["dev"]], [("test", sets["test"])], cfg, **kwargs)


def _ua(exp: Path) -> float:
    preds = read_predictions(exp / "scores" / "test" / "predictions.tsv", read_classes(exp / "classes.txt"))
    return score_predictions(preds)["UA"]


def test_per_speaker_normalisation_removes_speaker_offsets(tmp_path):
    sets = _corpus(tmp_path)
    ua = {}
    for mode in ("speaker", "global", "none"):
        summary = _run(tmp_path / f"exp_{mode}", sets, _small_config(cmvn=mode))
        assert summary["normalisation"]["cmvn"] == mode
        ua[mode] = _ua(tmp_path / f"exp_{mode}")
    # The test speakers' offsets are unseen in training: only their own statistics remove them.
    assert ua["speaker"] >= 0.9
    assert ua["speaker"] > ua["none"] + 0.2
    assert ua["speaker"] > ua["global"] + 0.2
    # Global statistics are the training set's: recorded, and the first training directory's.
    summary = yaml.safe_load((tmp_path / "exp_global" / "svm.yaml").read_text())
    assert summary["normalisation"]["global_stats"] == str(sets["train"] / "cmvn_global.scp")


def test_per_corpus_normalisation_removes_a_test_corpus_shift(tmp_path):
    # no speaker offsets, but the whole test set is shifted: its own statistics (corpus) remove the
    # shift, the training set's (global) do not
    toward_happiness = np.zeros(DIM)
    toward_happiness[:2] = [-2.0, 2.0]  # the neutral dimension down, the happiness one up
    sets = _corpus(tmp_path, offset_scale=0.0, test_shift=toward_happiness)
    ua = {}
    for mode in ("corpus", "global"):
        summary = _run(tmp_path / f"exp_{mode}", sets, _small_config(cmvn=mode))
        assert summary["normalisation"]["cmvn"] == mode
        assert summary["normalisation"]["description"].startswith("per-corpus" if mode == "corpus" else "mean")
        ua[mode] = _ua(tmp_path / f"exp_{mode}")
    assert ua["corpus"] >= 0.9
    assert ua["corpus"] > ua["global"] + 0.2


def test_inner_cv_uses_only_training_speakers(tmp_path, monkeypatch):
    sets = _corpus(tmp_path)
    seen = {}
    real_select = experiment.select_model

    def spy(train, cfg):
        seen["speakers"] = set(train.speakers)
        seen["utts"] = set(train.utts)
        return real_select(train, cfg)

    monkeypatch.setattr(experiment, "select_model", spy)
    summary = _run(tmp_path / "exp", sets, _small_config())
    training = set(TRAIN_SPK + DEV_SPK)
    assert seen["speakers"] == training
    test_utts = set((sets["test"] / "utt2spk").read_text().split()[0::2])
    assert not seen["utts"] & test_utts
    recorded = yaml.safe_load((tmp_path / "exp" / "svm.yaml").read_text())
    assert recorded == summary
    folds = recorded["inner_cv"]["folds"]
    assert recorded["inner_cv"]["scheme"] == "leave_one_speaker_out"
    assert sorted(s for f in folds for s in f["speakers"]) == sorted(training)  # one fold per speaker
    assert all(len(f["speakers"]) == 1 for f in folds)
    assert not {s for f in folds for s in f["speakers"]} & set(TEST_SPK)
    assert sum(f["num_utts"] for f in folds) == recorded["training"]["num_utts"] == 6 * 3 * len(training)


def test_speaker_groups_beyond_the_loso_limit():
    speakers = [f"spk{i:02d}" for i in range(14) for _ in range(3 + i % 4)]  # 14 speakers, 3-6 utts each
    cfg = _small_config(loso_max_speakers=12, group_folds=4)
    scheme, folds = inner_folds(speakers, cfg)
    assert scheme == "speaker_groups" and len(folds) == 4
    held_out = [s for f in folds for s in f.speakers]
    assert sorted(held_out) == sorted(set(speakers))  # each speaker held out exactly once
    sizes = [len(f.rows) for f in folds]
    assert sum(sizes) == len(speakers) and max(sizes) - min(sizes) <= 6  # balanced by utterances
    for f in folds:
        assert {speakers[r] for r in f.rows} == set(f.speakers)
    scheme, folds = inner_folds(speakers[:20], cfg)  # 5 speakers: leave one out
    assert scheme == "leave_one_speaker_out" and len(folds) == 5
    with pytest.raises(ValueError, match="at least two training speakers"):
        inner_folds(["a", "a"], cfg)


def test_a_perturbed_copy_stays_in_the_inner_fold_of_its_speaker():
    # noise10-s1 is s1's audio with noise: fitting on it while s1 is held out would leak s1 into
    # the selection, so the copies join their source speaker's fold
    speakers = ["s1", "s1", "s2", "s2", "s3", "noise10-s1", "noise10-s2", "reverb0.5-s1", "sp0.9-s3"]
    scheme, folds = inner_folds(speakers, _small_config())
    assert scheme == "leave_one_speaker_out" and [f.speakers for f in folds] == [["s1"], ["s2"], ["s3"]]
    assert [f.rows.tolist() for f in folds] == [[0, 1, 5, 7], [2, 3, 6], [4, 8]]


def test_chosen_setting_is_the_best_inner_ua_and_ties_go_to_the_simpler_model(tmp_path):
    grid = make_grid(check_config(SvmConfig(kernels=["rbf", "linear"], c_values=[10.0, 0.1])))
    assert [(p.kernel, p.C) for p in grid] == [("linear", 0.1), ("linear", 10.0), ("rbf", 0.1), ("rbf", 10.0)]
    assert choose([0.5, 0.7, 0.7, 0.6]) == 1  # linear C=10 over rbf C=0.1
    assert choose([0.5, 0.6, 0.8, 0.8]) == 2
    sets = _corpus(tmp_path)
    c_values = [1.0e-4, 0.01, 1.0, 100.0]
    # Without normalisation the speaker offsets make the grid matter: the best inner UA wins.
    summary = _run(tmp_path / "exp_none", sets, check_config(SvmConfig(c_values=c_values, cmvn="none")))
    points = summary["inner_cv"]["grid"]
    assert len(points) == 8 and {p["kernel"] for p in points} == {"linear", "rbf"}
    uas = [p["inner_ua"] for p in points]
    assert len(set(uas)) > 1
    best = points[choose(uas)]
    chosen = summary["chosen"]
    assert (chosen["kernel"], chosen["C"], chosen["inner_ua"]) == (best["kernel"], best["C"], max(uas))
    assert (chosen["gamma_value"] is None) == (chosen["kernel"] == "linear")
    # Per-speaker normalised, every grid point separates the held-out speakers: a tie, so the simplest.
    summary = _run(tmp_path / "exp_speaker", sets, check_config(SvmConfig(c_values=c_values, cmvn="speaker")))
    assert {p["inner_ua"] for p in summary["inner_cv"]["grid"]} == {1.0}
    assert (summary["chosen"]["kernel"], summary["chosen"]["C"]) == ("linear", 1.0e-4)


def test_precomputed_kernels_match_scikit_learn():
    from sklearn.svm import SVC

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 5)) * 2.0 + 1.0
    y = np.repeat([0, 1, 2], 20)
    x[y == 1, 0] += 2.0
    new = rng.normal(size=(7, 5))
    cache = GramCache(x)
    rows = np.arange(60)
    for kernel in ("linear", "rbf"):
        point = GridPoint(kernel, 1.0, "scale" if kernel == "rbf" else None)
        gamma = resolve_gamma("scale", x) if kernel == "rbf" else None
        # A tight tolerance: libsvm's path differs by rounding, its answer should not.
        ours = fit_svc(cache.block(point, rows, rows, gamma), y, 1.0, "balanced", 1e-10)
        theirs = SVC(kernel=kernel, C=1.0, gamma="scale", class_weight="balanced", tol=1e-10).fit(x, y)
        np.testing.assert_allclose(class_scores(ours, cross_kernel(point, new, x, gamma), 3),
                                   theirs.decision_function(new), atol=1e-6)
    # A class absent from a fit scores -inf (it can never be the hypothesis).
    two = fit_svc(cache.block(GridPoint("linear", 1.0), rows[:40], rows[:40], None), y[:40], 1.0, "balanced", 1e-3)
    scores = class_scores(two, cross_kernel(GridPoint("linear", 1.0), new, x[:40], None), 3)
    assert np.isneginf(scores[:, 2]).all() and np.isfinite(scores[:, :2]).all()


def test_predictions_read_back_and_scored(tmp_path):
    sets = _corpus(tmp_path)
    _run(tmp_path / "exp", sets, _small_config())
    exp = tmp_path / "exp"
    path = exp / "scores" / "test" / "predictions.tsv"
    lines = path.read_text().splitlines()
    header = ["utt", "reference", "hypothesis"] + [f"p_{c}" for c in CLASSES] + ["corpus", "lang"]
    assert lines[0].split("\t") == header  # emogcn/bin/infer.py's layout
    classes = read_classes(exp / "classes.txt")
    assert classes == CLASSES
    preds = read_predictions(path, classes)
    utt2emo = dict(line.split() for line in (sets["test"] / "utt2emo").read_text().splitlines())
    assert preds.utts == sorted(utt2emo) and preds.refs == [utt2emo[u] for u in preds.utts]
    np.testing.assert_allclose(preds.posteriors.sum(axis=1), 1.0, atol=1e-5)
    assert preds.hyps == [classes[i] for i in preds.posteriors.argmax(axis=1)]
    metrics = score_predictions(preds)
    assert metrics["UA"] == classification_metrics(preds.refs, preds.hyps, classes)["UA"]
    assert metrics["num_utts"] == len(utt2emo)
    assert set(metrics["per_corpus"]) == {"synth"} and set(metrics["per_lang"]) == {"de"}


def test_inner_predictions_are_each_speaker_predicted_without_them(tmp_path):
    """exp-dir/inner/predictions.tsv (a confusion graph's source): every training utterance, predicted
    by the chosen setting fitted on the other speakers; pooled, their UA is the chosen inner UA."""
    sets = _corpus(tmp_path, offset_scale=6.0, seed=2)
    cfg = check_config(SvmConfig(c_values=[0.01, 1.0], kernels=["linear"], cmvn="none"))  # offsets left in: errors
    summary = _run(tmp_path / "exp", sets, cfg)
    path = tmp_path / "exp" / experiment.INNER_PREDICTIONS
    lines = [line.split("\t") for line in path.read_text().splitlines()]
    assert lines[0] == ["utt", "reference", "hypothesis", "corpus", "lang"]
    hyp = {utt: h for utt, _, h, *_ in lines[1:]}
    utt2emo = {}
    for d in (sets["train"], sets["dev"]):  # the training set is train and dev combined
        utt2emo.update(dict(line.split() for line in (d / "utt2emo").read_text().splitlines()))
    assert sorted(hyp) == sorted(utt2emo) and all(ref == utt2emo[utt] for utt, ref, *_ in lines[1:])
    refs = sorted(utt2emo)
    ua = classification_metrics([utt2emo[u] for u in refs], [hyp[u] for u in refs], CLASSES)["UA"]
    assert 0.0 < ua < 1.0 and ua == pytest.approx(summary["chosen"]["inner_ua"], abs=1e-6)  # svm.yaml rounds
    # one speaker again by hand: the chosen setting fitted on every other training speaker
    train = combine([load_functionals(load_data_dir(d), CLASSES, Cmvn.from_data_dir(d, "none"))
                     for d in (sets["train"], sets["dev"])])
    rows = np.flatnonzero(np.asarray(train.speakers) == "s03")
    fit_rows = np.setdiff1d(np.arange(len(train)), rows)
    point = GridPoint("linear", summary["chosen"]["C"])
    svc = fit_svc(cross_kernel(point, train.features[fit_rows], train.features[fit_rows], None),
                  train.labels[fit_rows], point.C, cfg.class_weight, cfg.tol)
    by_hand = class_scores(svc, cross_kernel(point, train.features[rows], train.features[fit_rows], None), 3).argmax(1)
    assert [hyp[train.utts[r]] for r in rows] == [CLASSES[c] for c in by_hand]


def test_test_labels_outside_the_classes_are_dropped_and_counted(tmp_path):
    sets = _corpus(tmp_path, per_class=2)
    rng = np.random.default_rng(5)
    utts = {f"s09-u{i:03d}": ("s09", label, rng.normal(size=DIM))
            for i, label in enumerate(["neutral", "fear", "anger", "fear", "happiness"])}
    other = _write_dir(tmp_path / "data" / "other", tmp_path / "feats", utts)
    summary = experiment.train_svm(tmp_path / "exp", [sets["train"]], [("other", other)], _small_config())
    assert summary["classes"] == CLASSES
    assert summary["test_sets"]["other"]["dropped"] == {"fear": 2}
    assert summary["test_sets"]["other"]["num_utts"] == 3
    preds = read_predictions(tmp_path / "exp" / "scores" / "other" / "predictions.tsv")
    assert preds.utts == ["s09-u000", "s09-u002", "s09-u004"]


def test_step_script_end_to_end(recipe_dir):
    sets = _corpus(recipe_dir)
    rel = {k: v.relative_to(recipe_dir) for k, v in sets.items()}
    cmd = f"steps/train_svm.sh --cmvn speaker {rel['train']},{rel['dev']} test={rel['test']} exp/svm/fold1"
    p = run_sh(cmd, recipe_dir)
    assert "exp/svm/fold1: chose " in p.stderr
    exp = recipe_dir / "exp" / "svm" / "fold1"
    log = (exp / "log" / "train_svm.log").read_text()
    assert "emogcn.bin.train_svm" in log and "refitted" in log
    assert (exp / ".done").is_file()
    assert yaml.safe_load((exp / "svm.yaml").read_text())["made_from"]["configs"]["svm"]["cmvn"] == "speaker"
    run_sh("steps/score.sh exp/svm/fold1 test", recipe_dir)
    ua = json.loads((exp / "scores" / "test" / "metrics.json").read_text())["UA"]
    assert ua >= 0.9
    run_sh(". ./path.sh && python -m emogcn.bin.pool_scores --name svm exp/svm/pooled exp/svm/fold1/scores/test",
           recipe_dir)
    assert json.loads((recipe_dir / "exp/svm/pooled/metrics.json").read_text())["UA"] == ua
    again = run_sh(cmd, recipe_dir)  # done with the same request: kept
    assert "already done" in again.stderr
    other = run_sh(cmd.replace("--cmvn speaker", "--cmvn none"), recipe_dir, check=False)
    assert other.returncode != 0 and "made with other settings than this run asks for" in other.stderr
    bad = run_sh(f"steps/train_svm.sh {rel['train']} {rel['test']} exp/svm/fold2", recipe_dir, check=False)
    assert bad.returncode != 0 and "expected <name>=<test-dir>" in bad.stderr


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("train_svm: error:")]


def test_bad_input_gives_one_clear_line(tmp_path, capsys):
    sets = _corpus(tmp_path, per_class=2)
    args = [str(tmp_path / "exp"), f"{sets['train']},{sets['dev']}", f"test={sets['test']}"]
    # A class with no training example.
    classes = tmp_path / "classes.txt"
    classes.write_text("neutral\nhappiness\nanger\nfear\n")
    assert train_svm_bin.main(["--classes", str(classes)] + args) == 1
    [line] = _error_lines(capsys)
    assert "no training example of class(es) fear" in line and str(classes) in line
    # A missing feats.scp.
    (sets["dev"] / "feats.scp").rename(tmp_path / "dev_feats.scp")
    assert train_svm_bin.main(args) == 1
    [line] = _error_lines(capsys)
    assert f"{sets['dev']}/feats.scp" in line and "missing" in line
    (tmp_path / "dev_feats.scp").rename(sets["dev"] / "feats.scp")
    # Frame-level features: more than one row per utterance.
    frames = {f"s09-u{i:03d}": ("s09", CLASSES[i % 3], np.zeros((3, DIM)) + i) for i in range(3)}
    frame_dir = _write_dir(tmp_path / "data" / "frames", tmp_path / "feats", frames)
    assert train_svm_bin.main(args[:2] + [f"test={frame_dir}"]) == 1
    [line] = _error_lines(capsys)
    assert f"{frame_dir}/feats.scp" in line and "'s09-u000' has 3 rows" in line and "functionals" in line
    assert not (tmp_path / "exp" / ".done").exists()


def test_missing_scikit_learn_is_one_clear_line(tmp_path, capsys, monkeypatch):
    sets = _corpus(tmp_path, per_class=2)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.svm", None)
    assert train_svm_bin.main([str(tmp_path / "exp"), str(sets["train"]), f"test={sets['test']}"]) == 1
    [line] = _error_lines(capsys)
    assert "needs scikit-learn" in line and "emogcn[classic]" in line


def test_config_is_read_strictly(tmp_path):
    cfg = load_svm_config(Path(__file__).resolve().parent.parent / "conf" / "svm.yaml")
    assert cfg.kernels == ["linear", "rbf"] and cfg.c_values == sorted(cfg.c_values) and cfg.gamma == "scale"
    bad = {"kernel: [linear]\n": "unknown key", "kernels: [poly]\n": "kernel 'poly'",
           "c_values: [1e-3]\n": "not a positive number", "gamma: 0\n": "gamma 0",
           "cmvn: cepstral\n": "cmvn 'cepstral'", "group_folds: 1\n": "group_folds"}
    for text, message in bad.items():
        path = tmp_path / "svm.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_svm_config(path)
    assert load_svm_config(None, {"cmvn": "none"}).cmvn == "none"
