"""The default recipe (./run.sh) on the mini corpus, run as a user runs it, in a scratch copy."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import REPO, run_sh
from emogcn.data import datadir as dd


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    d = tmp_path_factory.mktemp("mini") / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "conf", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    shutil.copy(REPO / "run.sh", d / "run.sh")
    return d


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_stages_0_to_2(recipe):
    p = run_sh("./run.sh --stop-stage 2", recipe)
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
    assert "stage 2" in p.stderr


def test_stages_0_to_2_again_skip_cleanly(recipe):
    before = _mtimes(recipe / "data")
    p = run_sh("./run.sh --stop-stage 2", recipe)
    assert "stage 0: data/all and data/folds already done" in p.stderr
    assert "stage 1: features of data/all already done" in p.stderr
    assert "stage 2: normalization of data already done" in p.stderr
    assert _mtimes(recipe / "data") == before


def test_stages_3_to_5_every_variant_learns(recipe):
    p = run_sh("./run.sh --stage 3 --stop-stage 5 --folds 1 --epochs 8 --train-nj 2", recipe)
    for variant in ("single_task", "multi_task", "emotion_gcn"):
        metrics = json.loads((recipe / f"exp/{variant}_seed0/pooled/metrics.json").read_text())
        # 5 balanced classes: chance is 20 %.
        assert metrics["UA"] > 0.4, (variant, metrics["UA"])
        assert (recipe / f"exp/{variant}_seed0/fold1/scores/test/confusion.png").is_file()
    results = (recipe / "RESULTS.md").read_text()
    assert all(f"{v}_seed0" in results for v in ("single_task", "multi_task", "emotion_gcn"))
    # The run ends with the table of the three variants.
    table = p.stdout.strip().splitlines()[-4:]
    assert table[0].split()[:4] == ["name", "UA", "WA", "macro-F1"]
    assert [row.split()[0] for row in table[1:]] == ["single_task_seed0", "multi_task_seed0", "emotion_gcn_seed0"]
