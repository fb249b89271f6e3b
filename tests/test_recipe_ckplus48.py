"""egs/ckplus48 end to end: a CK+48-named tree the test draws (learnable by brightness), run through
the recipe's run.sh, stages 0-5, with a tiny BReG-NeXt: three subject-independent folds, the first
trained and scored (to keep the test short), every variant well above chance."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import yaml

from conftest import REPO, run_sh
from emogcn.data import datadir as dd
from test_prepare_ckplus48 import FOLDERS, check_subject_folds

SUBJECTS = (10, 11, 14, 22, 26, 28, 29, 32, 34)
FRAMES = 3  # CK+48 keeps the last three frames of each sequence


def _draw_tree(root):
    """Every subject poses each expression once (one sequence of three frames); the class sets the
    brightness, the subject a small offset, the frame some noise."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for s, subject in enumerate(SUBJECTS):
        for k, folder in enumerate(FOLDERS):
            for f in range(FRAMES):
                face = np.clip(25 + 32 * k + 2 * s + rng.normal(0, 6, (48, 48)), 0, 255).astype(np.uint8)
                path = root / folder / f"S{subject:03d}_{k + 1:03d}_{20 + f:08d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(face, mode="L").save(path)
    (root / "README.md").write_text("not an image\n")
    Image.fromarray(np.zeros((48, 48), np.uint8), mode="L").save(root / "stray.png")  # in no class folder


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    base = tmp_path_factory.mktemp("ckplus48")
    _draw_tree(base / "CK+48")
    d = base / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    (d / "conf").mkdir()
    for f in ("emotions.yaml", "graph.yaml", "label_words.yaml", "face48.yaml"):
        os.symlink(REPO / "conf" / f, d / "conf" / f)
    cfg = yaml.safe_load((REPO / "conf/train_bregnext_small.yaml").read_text())
    cfg.update(model=dict(cfg["model"], backbone_options={"width": 0.25, "depth": [1, 1, 1, 1, 1]}, gcn_hidden=16),
               optim={"name": "adam", "lr": 0.003}, schedule={"name": "none"}, epochs=12, batch_size=8)
    (d / "conf" / "train_tiny.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copy(REPO / "egs/ckplus48/run.sh", d / "run.sh")
    return d, base / "CK+48"


def test_ckplus48_all_stages_every_variant_above_chance(recipe):
    d, root = recipe
    p = run_sh(f"./run.sh --db-root {root} --fold-opts '--num-groups 3' --train-config conf/train_tiny.yaml "
               "--train-tag tiny --train-nj 2 --folds 1", d)
    n = len(SUBJECTS) * len(FOLDERS) * FRAMES
    all_dir = d / "data/all"
    assert len(dd.read_map(all_dir / "img.scp")) == n
    assert "stray.png: not in a class folder" in p.stderr
    assert len(dd.read_map(all_dir / "feats.scp")) == n  # every face cropped once in stage 1
    assert not (all_dir / "cmvn.scp").exists()
    check_subject_folds(d / "data/folds", all_dir, 3)
    nodes = (d / "exp/graph_prior/fold1/nodes.txt").read_text().split()
    assert nodes == ["happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt", "valence", "arousal"]
    for variant in ("single_task", "multi_task", "emotion_gcn"):
        metrics = json.loads((d / f"exp/{variant}_tiny_seed0/pooled/metrics.json").read_text())
        assert metrics["num_utts"] == n // 3  # fold 1's test group: three of the nine subjects
        assert metrics["UA"] > 0.4, (variant, metrics["UA"])  # chance: 1/7
    results = (d / "RESULTS.md").read_text()
    assert "| bregnext | face48 | prior | none |" in results
