"""egs/emodb on the real EmoDB in ../shared/corpora/emodb, reduced (2 folds, few epochs)."""

from __future__ import annotations

import json
import os
import shutil

import kaldiio
import pytest

from conftest import EMODB, REPO, run_sh
from emogcn.data import datadir as dd


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    if not (EMODB / "wav").is_dir():
        pytest.fail(f"EmoDB not found at {EMODB}: the real-speech tests need ../shared/corpora/emodb")
    d = tmp_path_factory.mktemp("emodb") / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / "egs/emodb" / name, d / name)
    os.symlink(REPO / "egs/emodb/conf", d / "conf")
    shutil.copy(REPO / "egs/emodb/run.sh", d / "run.sh")
    shutil.copy(REPO / "egs/emodb/run_frontends.sh", d / "run_frontends.sh")
    return d


def test_frontend_grid_names_a_missing_config(recipe):
    p = run_sh("./run_frontends.sh --pairs 'mfcc:ecapa spectrogram:mlp'", recipe, check=False)
    assert p.returncode == 1 and "pair spectrogram:mlp: no conf/spectrogram.yaml" in p.stderr
    p = run_sh("./run_frontends.sh --pairs 'compare:transformer'", recipe, check=False)
    assert p.returncode == 1 and "pair compare:transformer: no conf/train_transformer.yaml" in p.stderr


def test_emodb_default_recipe_two_folds_well_above_chance(recipe):
    # the default of every speech recipe: ComParE functionals x MLP, and --dev auto trains the dev
    # speaker too, as the MLP config scores its averaged last epochs (selects nothing on dev); the
    # training speakers' audio with its noise and reverberation copies (--augment auto)
    run_sh(f"./run.sh --db-root {EMODB} --folds '1 2' --seeds 0 --epochs 8 --train-nj 2", recipe)
    all_dir = recipe / "data/all"
    feats = dd.read_map(all_dir / "feats.scp")
    assert len(feats) == 535
    assert kaldiio.load_mat(next(iter(feats.values()))).shape == (1, 6373)  # ComParE 2016 functionals
    assert sorted(set(dd.read_map(all_dir / "utt2spk").values())) == [
        f"emodb-{s}" for s in ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")]
    assert len(list((recipe / "data/folds").glob("fold*"))) == 10  # leave-one-speaker-out
    test_spk = set(dd.read_map(recipe / "data/folds/fold1/test/utt2spk").values())
    train_spk = set(dd.read_map(recipe / "data/folds/fold1/train_dev/utt2spk").values())
    assert test_spk == {"emodb-03"} and len(train_spk) == 9 and not train_spk & test_spk
    for copy in ("noise10", "reverb0.5"):
        assert len(dd.read_map(recipe / f"data/all_{copy}/feats.scp")) == 535
    train_sp = dd.read_map(recipe / "data/folds/fold1/train_dev_sp/utt2spk")
    assert set(train_sp.values()) == train_spk | {f"{c}-{s}" for c in ("noise10", "reverb0.5") for s in train_spk}
    assert set(dd.read_map(recipe / "data/folds/fold1/test/utt2spk").values()) == {"emodb-03"}  # as recorded
    for variant in ("single_task", "emotion_gcn"):
        exp = recipe / f"exp/{variant}_mlp_seed0"
        assert "fold1/train_dev_sp none " in (exp / "fold1/command.txt").read_text()
        metrics = json.loads((exp / "pooled/metrics.json").read_text())
        # 7 classes: chance UA is 14.3 %; two folds of this configuration score about 70-85 %
        assert metrics["UA"] > 0.55, (variant, metrics["UA"])
    assert not (recipe / "exp/multi_task_mlp_seed0").exists()
    # the fusion partner (--fusion auto: an SVM over eGeMAPS, its own data/egemaps), and each seed fused with it
    assert kaldiio.load_mat(next(iter(dd.read_map(recipe / "data/egemaps/all/feats.scp").values()))).shape == (1, 88)
    svm = json.loads((recipe / "exp/svm_egemaps/pooled/metrics.json").read_text())
    results = (recipe / "RESULTS.md").read_text()
    for variant in ("single_task", "emotion_gcn"):
        fused = json.loads((recipe / f"exp/fusion_{variant}_mlp_seed0/pooled/metrics.json").read_text())
        alone = json.loads((recipe / f"exp/{variant}_mlp_seed0/pooled/metrics.json").read_text())
        assert fused["info"]["fused"] == "2" and fused["num_utts"] == svm["num_utts"] == alone["num_utts"] > 0
        assert fused["UA"] > 0.55, (variant, fused["UA"])
        assert f"| fusion_{variant}_mlp_seed0 |" in results
    assert "emotion_gcn_mlp_seed0" in results and "| svm_egemaps |" in results


def test_frontend_grid_passes_normalisation_and_names_it(recipe):
    p = run_sh("./run_frontends.sh --pairs fbank:ecapa --cmvn per-utterance", recipe, check=False)
    assert p.returncode == 1 and "--cmvn per-utterance: expected speaker, global or none" in p.stderr
    p = run_sh(f"./run_frontends.sh --db-root {EMODB} --pairs fbank:ecapa --cmvn global --folds 1 --epochs 1 "
               "--seeds 0 --variants single_task", recipe)
    metrics = json.loads((recipe / "exp/single_task_fbank_ecapa_global_seed0/pooled/metrics.json").read_text())
    assert metrics["info"]["cmvn"] == "global" and len(metrics["folds"]["per_fold"]) == 1
    assert "| fbank | ecapa_tdnn | single_task | global | 0 | 1 |" in p.stdout
