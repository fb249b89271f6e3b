"""The face path end to end: a FER2013-layout tree the test draws (learnable by brightness), run
through egs/fer2013/run.sh stages 0-5 with a tiny BReG-NeXt, every variant well above chance."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import yaml

from conftest import REPO, run_sh
from emogcn.data import datadir as dd

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def _draw_tree(root, per_class: dict[str, int]):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in per_class.items():
        for k, cls in enumerate(CLASSES):
            folder = root / split / (cls.upper() if k == 0 else cls)  # folder case varies between copies
            folder.mkdir(parents=True)
            for i in range(n):
                face = np.clip(25 + 32 * k + rng.normal(0, 6, (48, 48)), 0, 255).astype(np.uint8)
                Image.fromarray(face, mode="L").save(folder / f"{split}_{i:04d}.jpg", quality=95)
    (root / "train" / "notes.txt").write_text("not an image\n")
    Image.fromarray(np.zeros((48, 48), np.uint8), mode="L").save(root / "stray.png")  # outside any split


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    base = tmp_path_factory.mktemp("fer")
    _draw_tree(base / "FER2013", {"train": 20, "test": 6})
    d = base / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    (d / "conf").mkdir()
    for f in ("emotions.yaml", "graph.yaml", "label_words.yaml", "face48.yaml"):
        os.symlink(REPO / "conf" / f, d / "conf" / f)
    cfg = yaml.safe_load((REPO / "conf/train_bregnext.yaml").read_text())
    cfg.update(model=dict(cfg["model"], backbone_options={"width": 0.25, "depth": [1, 1, 1, 1, 1]}, gcn_hidden=16),
               optim={"name": "adam", "lr": 0.003}, schedule={"name": "none"}, epochs=6, batch_size=16)
    (d / "conf" / "train_tiny.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copy(REPO / "egs/fer2013/run.sh", d / "run.sh")
    return d, base / "FER2013"


def test_fer2013_all_stages_every_variant_above_chance(recipe):
    d, root = recipe
    p = run_sh(f"./run.sh --db-root {root} --train-config conf/train_tiny.yaml --train-tag tiny --train-nj 2", d)
    all_dir = d / "data/all"
    assert len(dd.read_map(all_dir / "img.scp")) == 7 * 26
    assert "stray.png" in p.stderr and "not under a train or test folder" in p.stderr
    assert len(dd.read_map(all_dir / "feats.scp")) == 7 * 26  # every face cropped once in stage 1
    assert not (all_dir / "cmvn.scp").exists()
    fold = d / "data/folds/fold1"
    assert len(dd.read_map(fold / "test/utt2spk")) == 42
    assert len(dd.read_map(fold / "dev/utt2spk")) == 14  # every 10th of 20 per class
    for variant in ("single_task", "multi_task", "emotion_gcn"):
        metrics = json.loads((d / f"exp/{variant}_tiny_seed0/pooled/metrics.json").read_text())
        assert metrics["UA"] > 0.4, (variant, metrics["UA"])  # chance: 1/7
    results = (d / "RESULTS.md").read_text()
    assert "| bregnext | face48 | prior | none |" in results
