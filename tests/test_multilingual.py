"""The multilingual recipe: the sets of each mode, the cross-corpus tables, and an end-to-end
cross-corpus matrix over the mini corpus and the real EmoDB (with the networks, and with the classic
SVM baseline beside them)."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
import yaml

from conftest import EMODB, REPO, make_data_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.data.multicorpus import make_sets
from emogcn.scoring.cross_corpus import collect_cells
from emogcn.scoring.metrics import classification_metrics
from emogcn.scoring.report import read_classes, read_predictions


def _corpus(root, name, speakers, num_folds):
    """A prepared corpus directory: all/ with feats.scp, and leave-one-speaker-out folds."""
    spk_utts = {f"{name}-s{i}": 2 for i in range(speakers)}
    all_dir = make_data_dir(root / name / "all", spk_utts)
    dd.write_map(all_dir / "feats.scp", {u: f"f.ark:{i}" for i, u in enumerate(dd.read_map(all_dir / "utt2spk"))})
    spks = sorted(spk_utts)
    for k in range(1, num_folds + 1):
        test, dev = spks[k - 1], spks[k % len(spks)]
        train = [s for s in spks if s not in (test, dev)]
        for set_name, set_spks in (("train", train), ("dev", [dev]), ("test", [test])):
            dd.subset_data_dir(all_dir, root / name / f"folds/fold{k}/{set_name}", spks=set_spks)
    return root / name


def _spks(d):
    return set(dd.read_map(d / "utt2spk").values())


@pytest.fixture
def corpora(tmp_path):
    return {"a": _corpus(tmp_path, "a", 4, 4), "b": _corpus(tmp_path, "b", 3, 2)}


def test_matrix_sets(tmp_path, corpora):
    splits = make_sets("matrix", corpora, tmp_path / "matrix")
    assert [s.name for s in splits] == ["from_a", "from_b"]
    a = tmp_path / "matrix/from_a"
    assert (a / "tests").read_text().split() == ["test_a", "test_b"]
    assert _spks(a / "train") == {"a-s2", "a-s3"} and _spks(a / "dev") == {"a-s1"}
    assert _spks(a / "test_a") == {"a-s0"}  # the diagonal: the source corpus's own test speakers
    assert _spks(a / "test_b") == {"b-s0", "b-s1", "b-s2"}  # the whole other corpus
    assert not _spks(a / "train") & _spks(a / "test_a")
    assert dd.read_map(a / "train/feats.scp")


def test_loco_and_pooled_sets(tmp_path, corpora):
    loco = make_sets("loco", corpora, tmp_path / "loco")
    assert [s.name for s in loco] == ["without_a", "without_b"]
    without_a = tmp_path / "loco/without_a"
    assert {s.split("-")[0] for s in _spks(without_a / "train") | _spks(without_a / "dev")} == {"b"}
    assert _spks(without_a / "test_a") == {f"a-s{i}" for i in range(4)}

    pooled = make_sets("pooled", corpora, tmp_path / "pooled", folds=[1, 3])
    assert [s.name for s in pooled] == ["fold1", "fold3"]
    fold3 = tmp_path / "pooled/fold3"
    # b has 2 folds: its fold 3 wraps around to fold 1
    assert _spks(fold3 / "test_all") == {"a-s2", "b-s0"}
    assert not _spks(fold3 / "test_all") & (_spks(fold3 / "train") | _spks(fold3 / "dev"))
    assert dd.validate_data_dir(fold3 / "train", dd.ValidateOptions()) > 0


def test_sets_train_on_the_perturbed_copies_where_asked(tmp_path, corpora):
    for name, d in corpora.items():  # a train_sp per fold, as stage 2 with --augment writes it
        for fold in sorted((d / "folds").glob("fold*")):
            utts = list(dd.read_map(fold / "train/utt2spk"))
            dd.subset_data_dir(fold / "train", fold / "train_sp", utts=utts)
            dd.write_map(fold / "train_sp/utt2spk", {**dd.read_map(fold / "train/utt2spk"),
                                                     **{f"noise10-{u}": f"noise10-{s}" for u, s in
                                                        dd.read_map(fold / "train/utt2spk").items()}})
    make_sets("loco", corpora, tmp_path / "sp", train_set="train_sp")
    train = _spks(tmp_path / "sp/without_a/train")
    assert {"noise10-b-s2", "b-s2", "b-s0"} <= train  # fold 1 of b: train (with copies) and test (without)
    assert "noise10-b-s0" not in train and not any(s.startswith("noise") for s in _spks(tmp_path / "sp/without_a/dev"))
    make_sets("matrix", corpora, tmp_path / "m", train_set="train_sp")
    assert not any(s.startswith("noise") for s in _spks(tmp_path / "m/from_a/test_b"))
    with pytest.raises(dd.DataDirError, match="fold1/train_dev: no such set"):
        make_sets("matrix", corpora, tmp_path / "x", train_set="train_dev")


def test_sets_need_prepared_corpora(tmp_path, corpora):
    (corpora["b"] / "all/feats.scp").unlink()
    with pytest.raises(dd.DataDirError, match="no feats.scp; run stages 1-2"):
        make_sets("matrix", corpora, tmp_path / "m")
    with pytest.raises(ValueError, match="needs at least 2 corpora"):
        make_sets("loco", {"a": corpora["a"]}, tmp_path / "m")


def _recipe_copy(tmp_path):
    """A scratch egs/multilingual: its run.sh copied, the rest linked."""
    d = tmp_path / "multilingual"
    d.mkdir()
    src = REPO / "egs/multilingual"
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh", "conf"):
        os.symlink(src / name, d / name)
    shutil.copy(src / "run.sh", d / "run.sh")
    return d


def _need_emodb():
    if not (EMODB / "wav").is_dir():
        pytest.fail(f"EmoDB not found at {EMODB}: the real-speech tests need ../shared/corpora/emodb")


@pytest.mark.corpus  # ../shared/corpora
def test_cross_corpus_matrix_over_mini_and_emodb(tmp_path):
    _need_emodb()
    d = _recipe_copy(tmp_path)
    p = run_sh(f"./run.sh --corpora 'mini emodb' --db-roots 'emodb={EMODB}' --mode matrix --epochs 1 --classic true", d)
    results = (d / "RESULTS.md").read_text()
    # the default trains on noise and reverberation copies of the training speakers' audio, and tests on
    # the audio as recorded
    data = d / "data/matrix_mini_emodb_sp/from_emodb"
    train = set(dd.read_map(data / "train/utt2spk"))
    originals = {u for u in train if not dd.is_perturbed(u)}
    assert originals and train == originals | {f"{t}-{u}" for t in ("noise10", "reverb0.5") for u in originals}
    for t in ("test_emodb", "test_mini"):
        assert not any(dd.is_perturbed(u) for u in dd.read_map(data / f"{t}/utt2spk"))
    # the classic baseline does not: it trains on the audio as recorded
    svm = yaml.safe_load((d / "exp/matrix_mini_emodb_sp/svm/from_emodb/svm.yaml").read_text())
    assert set(svm["training"]["speakers"]) == _spks(data / "train_unperturbed") | _spks(data / "dev")
    assert svm["training"]["num_utts"] == len(originals) + len(dd.read_map(data / "dev/utt2spk"))
    for variant in ("single_task", "emotion_gcn"):
        assert f"### matrix: {variant}_mlp_seed0" in results  # the default: ComParE x MLP
        assert f"### matrix: {variant}_mlp_seed0_balance" in results  # and its label-shift correction
        exp = d / f"exp/matrix_mini_emodb_sp/{variant}_mlp_seed0"
        assert (exp / "ua_by_corpus.png").read_bytes()[:4] == b"\x89PNG"
        cells = collect_cells(exp, ["from_emodb", "from_mini"], "corpus")
        assert set(cells) == {(s, c) for s in ("from_emodb", "from_mini") for c in ("emodb", "mini")}
        assert all(0.0 <= v.ua <= 1.0 for v in cells.values())
        assert {k for k, v in cells.items() if v.within} == {("from_emodb", "emodb"), ("from_mini", "mini")}
    # four shared classes: fear, boredom and disgust were dropped at stage 0, and counted
    assert set(dd.read_map(d / "data/emodb/all/utt2emo").values()) == {"anger", "happiness", "neutral", "sadness"}
    assert "dropped" in p.stderr and "| from_emodb |" in p.stdout


@pytest.mark.unit  # refused before stage 0: no corpus is read
def test_classic_refuses_frame_features_before_any_work(tmp_path):
    d = _recipe_copy(tmp_path)
    before = sorted(os.listdir(d))
    p = run_sh("./run.sh --corpora 'mini emodb' --classic true --feat-config conf/fbank.yaml", d, check=False)
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["run.sh: error: --classic true needs utterance-level functionals, not "
                                     "conf/fbank.yaml: use --feat-config conf/egemaps.yaml or conf/compare.yaml"]
    assert sorted(os.listdir(d)) == before  # no data/, exp/, not even the recipe lock
    # the functionals pass the check (stop before stage 0: nothing is made either)
    for feats in ("egemaps", "compare"):
        run_sh(f"./run.sh --corpora 'mini emodb' --classic true --feat-config conf/{feats}.yaml --stop-stage -1", d)
    assert not (d / "data").exists()


@pytest.mark.unit  # stops before stage 0: no corpus is read
def test_the_training_config_and_copies_follow_the_mode_unless_given(tmp_path):
    d = _recipe_copy(tmp_path)
    for mode, config, tag in (("loco", "conf/train_mlp_dann.yaml", "mlp_dann"), ("matrix", "conf/train_mlp.yaml", "mlp"),
                              ("pooled", "conf/train_mlp.yaml", "mlp")):
        p = run_sh(f"./run.sh --corpora 'mini emodb' --mode {mode} --stop-stage -1", d)
        assert f"mode {mode}: training config {config}, experiments <variant>_{tag}_seed<seed>" in p.stderr, p.stderr
        assert "training copies: noise10 reverb0.5" in p.stderr  # the default's augmentation, every mode
    p = run_sh("./run.sh --corpora 'mini emodb' --mode loco --train-config conf/train_ecapa.yaml --stop-stage -1", d)
    assert "training config conf/train_ecapa.yaml, experiments <variant>_ecapa_seed<seed>" in p.stderr
    p = run_sh("./run.sh --corpora 'mini emodb' --augment none --speed-perturb '0.9 1.1' --stop-stage -1", d)
    assert "training copies: speed 0.9 1.1\n" in p.stderr
    p = run_sh("./run.sh --corpora 'mini emodb' --augment none --stop-stage -1", d)
    assert "training copies: none\n" in p.stderr


def _table_row(block: str, title: str, row: str) -> dict[str, str]:
    """{column: cell} of one row of a markdown table in a RESULTS.md block, found by its title."""
    lines = block.split(title, 1)[1].strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == row:
            return dict(zip(header, cells))
    raise AssertionError(f"no row {row} under '{title}'")


@pytest.mark.corpus  # ../shared/corpora
def test_classic_svm_in_the_matrix_over_mini_and_emodb(tmp_path):
    _need_emodb()
    d = _recipe_copy(tmp_path)
    cmd = (f"./run.sh --corpora 'mini emodb' --db-roots 'emodb={EMODB}' --mode matrix --feat-config conf/egemaps.yaml"
           " --train-config conf/train_mlp.yaml --train-tag mlp --classic true --epochs 1 --variants single_task --augment none")
    p = run_sh(cmd, d)
    data, exp = d / "data/matrix_mini_emodb", d / "exp/matrix_mini_emodb/svm"
    splits = (data / "splits").read_text().split()
    assert sorted(splits) == ["from_emodb", "from_mini"]
    for split in splits:  # an SVM per split, trained on its training speakers, predicting every one of its test sets
        tests = (data / split / "tests").read_text().split()
        assert sorted(tests) == ["test_emodb", "test_mini"]
        for t in tests:
            assert (exp / split / f"scores/{t}/predictions.tsv").is_file()
            assert (exp / split / f"scores/{t}/metrics.json").is_file()  # steps/score.sh
        svm = yaml.safe_load((exp / split / "svm.yaml").read_text())
        # kernel and C chosen on all the split's training speakers (train and dev), as run_corpus.sh does
        assert set(svm["training"]["speakers"]) == _spks(data / split / "train") | _spks(data / split / "dev")
    assert p.stderr.count("train_svm.sh: SVM ") == 2

    results = (d / "RESULTS.md").read_text()
    assert "### matrix: single_task_mlp_seed0" in results
    assert results.count("### matrix: svm (") == 1
    block = results.split("### matrix: svm (", 1)[1].split("\n### ", 1)[0]
    assert re.search(r"mean within UA \d+\.\d\d \(2 cells\); mean cross UA \d+\.\d\d \(2 cells\)", block)
    # a cross cell recomputed from the SVM's own predictions: EmoDB's SVM on the whole mini corpus
    preds = read_predictions(exp / "from_emodb/scores/test_mini/predictions.tsv",
                             read_classes(exp / "from_emodb/classes.txt"))
    ua = classification_metrics(preds.refs, preds.hyps, preds.classes)["UA"]
    row = _table_row(block, "UA % by test corpus:", "from_emodb")
    assert row["mini"] == f"{100 * ua:.2f}"
    assert row["emodb"].endswith("*")  # within: its own test speakers

    # the same run again: nothing is trained again, the SVMs and their predictions are kept
    done = {split: (exp / split / ".done").read_text() for split in splits}
    mtime = (exp / "from_emodb/scores/test_mini/predictions.tsv").stat().st_mtime_ns
    p2 = run_sh(cmd, d)
    assert "train_svm.sh: SVM " not in p2.stderr
    assert p2.stderr.count("is already done with this config and data") >= 2
    assert {split: (exp / split / ".done").read_text() for split in splits} == done
    assert (exp / "from_emodb/scores/test_mini/predictions.tsv").stat().st_mtime_ns == mtime

    # label-shift corrections at stage 5 (--adapt): the model's predictions are kept, a corrected
    # copy of each experiment gets its own table; balance makes each test corpus's posteriors uniform
    p3 = run_sh(cmd + " --stage 5 --adapt 'em balance'", d)
    assert (exp / "from_emodb/scores/test_mini/predictions.tsv").stat().st_mtime_ns == mtime
    results = (d / "RESULTS.md").read_text()
    for name in ("svm_em", "svm_balance", "single_task_mlp_seed0_em", "single_task_mlp_seed0_balance"):
        assert results.count(f"### matrix: {name} (") == 1, name
    balanced = read_predictions(d / "exp/matrix_mini_emodb/svm_balance/from_emodb/scores/test_mini/predictions.tsv",
                                read_classes(exp / "from_emodb/classes.txt"))
    assert balanced.refs == preds.refs
    assert np.allclose(balanced.posteriors.mean(axis=0), 1 / len(balanced.classes), atol=1e-4)
    assert "adapt_priors: balance: 4 test sets of 2 splits" in p3.stdout


@pytest.mark.unit  # refused before stage 0
def test_an_unknown_label_shift_method_is_refused(tmp_path):
    d = _recipe_copy(tmp_path)
    p = run_sh("./run.sh --corpora 'mini emodb' --adapt 'em prior' --stop-stage -1", d, check=False)
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["run.sh: error: --adapt prior: expected em and/or balance"]
