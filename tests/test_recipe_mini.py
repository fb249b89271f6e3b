"""The default recipe (./run.sh) on the mini corpus, run as a user runs it, in a scratch copy.

The recipe runs once per module, in two module-scoped fixtures (stages 0-2, then 3-5 on top of
them); every test only reads what they made, so each passes alone and in any order."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import REPO, run_sh
from emogcn.data import datadir as dd

VARIANTS = ("single_task", "multi_task", "emotion_gcn")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    d = tmp_path_factory.mktemp("mini") / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "conf", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    shutil.copy(REPO / "run.sh", d / "run.sh")
    return d


@pytest.fixture(scope="module")
def stages_0_to_2(recipe):
    """./run.sh --stop-stage 2, once: (recipe dir, the finished process)."""
    return recipe, run_sh("./run.sh --stop-stage 2", recipe)


@pytest.fixture(scope="module")
def stages_3_to_5(stages_0_to_2):
    """./run.sh --stage 3 --stop-stage 5 on fold 1, once, after stages 0-2."""
    recipe, _ = stages_0_to_2
    return recipe, run_sh("./run.sh --stage 3 --stop-stage 5 --folds 1 --epochs 8 --train-nj 2", recipe)


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_stages_0_to_2(stages_0_to_2):
    recipe, p = stages_0_to_2
    all_dir = recipe / "data/all"
    assert dd.validate_data_dir(all_dir, dd.ValidateOptions(need_feats=True)) == 480
    assert len(dd.read_map(all_dir / "feats.scp")) == 480
    assert len(dd.read_map(all_dir / "cmvn.scp")) == 8
    assert all(1.0 <= float(v) <= 2.6 for v in dd.read_map(all_dir / "utt2dur").values())
    for k in range(1, 5):
        for name in ("train", "dev", "test"):
            set_dir = recipe / f"data/folds/fold{k}/{name}"
            dd.validate_data_dir(set_dir, dd.ValidateOptions(need_feats=True))
            assert (set_dir / "cmvn.scp").is_file()
        assert (recipe / f"data/folds/fold{k}/train/cmvn_global.scp").is_file()
    assert list((recipe / "exp/make_feats/log").glob("make_feats.*.log"))
    # the default copies (--augment auto): every utterance once with noise and once reverberated,
    # in the training sets only
    for copy in ("noise10", "reverb0.5"):
        assert len(dd.read_map(recipe / f"data/all_{copy}/feats.scp")) == 480
    train = dd.read_map(recipe / "data/folds/fold1/train/utt2spk")
    train_sp = dd.read_map(recipe / "data/folds/fold1/train_sp/utt2spk")
    assert set(train_sp) == set(train) | {f"{c}-{u}" for c in ("noise10", "reverb0.5") for u in train}
    for name in ("dev", "test"):
        assert not any(u.startswith(("noise", "reverb")) for u in dd.read_map(recipe / f"data/folds/fold1/{name}/utt2spk"))
    assert "stage 2" in p.stderr


def test_stages_0_to_2_again_skip_cleanly(stages_0_to_2):
    recipe, _ = stages_0_to_2
    before = _mtimes(recipe / "data")
    p = run_sh("./run.sh --stop-stage 2", recipe)
    assert "stage 0: data/all and data/folds already done" in p.stderr
    assert "stage 1: features of data/all already done" in p.stderr
    assert "stage 2: normalization of data already done" in p.stderr
    assert _mtimes(recipe / "data") == before


def test_stages_3_to_5_every_variant_learns(stages_3_to_5):
    recipe, _ = stages_3_to_5
    for variant in VARIANTS:
        metrics = json.loads((recipe / f"exp/{variant}_seed0/pooled/metrics.json").read_text())
        # 5 balanced classes: chance is 20 %.
        assert metrics["UA"] > 0.4, (variant, metrics["UA"])
        assert (recipe / f"exp/{variant}_seed0/fold1/scores/test/confusion.png").is_file()
    results = (recipe / "RESULTS.md").read_text()
    assert all(f"{v}_seed0" in results for v in VARIANTS)


def test_stages_3_to_5_end_with_the_table_of_the_variants(stages_3_to_5):
    _, p = stages_3_to_5
    table = p.stdout.strip().splitlines()[-4:]
    assert table[0].split()[:4] == ["name", "UA", "WA", "macro-F1"]
    assert [row.split()[0] for row in table[1:]] == [f"{v}_seed0" for v in VARIANTS]
