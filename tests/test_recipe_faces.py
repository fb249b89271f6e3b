"""egs/affectnet and egs/affwild2, every stage, on trees in each corpus's own format, with a tiny
BReG-NeXt (the real configs' settings otherwise)."""

from __future__ import annotations

import json
import os
import shutil

import yaml

from conftest import REPO, run_sh
from test_affwild2 import _tree as write_affwild2_tree
from test_faces import write_affectnet_tree


def _recipe(base, corpus, feat_config):
    d = base / corpus
    d.mkdir()
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    (d / "conf").mkdir()
    for f in ("emotions.yaml", "graph.yaml", "label_words.yaml", feat_config):
        os.symlink(REPO / "conf" / f, d / "conf" / f)
    cfg = yaml.safe_load((REPO / "conf/train_bregnext.yaml").read_text())
    cfg.update(model=dict(cfg["model"], backbone_options={"width": 0.125, "depth": [1, 1, 1, 1, 1]}, gcn_hidden=8),
               epochs=2, batch_size=8)
    (d / "conf" / "train_tiny.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copy(REPO / f"egs/{corpus}/run.sh", d / "run.sh")
    return d


def _check(d, tag="tiny"):
    for variant in ("single_task", "multi_task", "emotion_gcn"):
        metrics = json.loads((d / f"exp/{variant}_{tag}_seed0/pooled/metrics.json").read_text())
        assert 0.0 <= metrics["UA"] <= 1.0
        if variant != "single_task":  # both corpora have dimensions, which these variants predict
            assert set(metrics["dimensions"]) >= {"valence", "arousal"}
    assert (d / "exp/graph_auto/fold1/.done").is_file()
    assert "correlation" in (d / "exp/graph_auto/fold1/graph.yaml").read_text()  # from the training labels


def test_affectnet_every_stage(tmp_path):
    write_affectnet_tree(tmp_path / "AffectNet", per_class=(4, 1))
    d = _recipe(tmp_path, "affectnet", "face227.yaml")
    run_sh(f"./run.sh --db-root {tmp_path}/AffectNet --fold-opts '--dev-every 4' "
           "--train-config conf/train_tiny.yaml --train-tag tiny --train-nj 2", d)
    _check(d)


def test_affwild2_every_stage(tmp_path):
    write_affwild2_tree(tmp_path / "Aff-Wild2")
    d = _recipe(tmp_path, "affwild2", "face112.yaml")
    run_sh(f"./run.sh --db-root {tmp_path}/Aff-Wild2 --fold-opts '--dev-every 3' "
           "--train-config conf/train_tiny.yaml --train-tag tiny --train-nj 2", d)
    _check(d)
    metrics = json.loads((d / "exp/emotion_gcn_tiny_seed0/pooled/metrics.json").read_text())
    assert "expr_score" in metrics["affwild2"]
