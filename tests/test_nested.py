"""Nested selection over the training speakers (--dev inner): candidates of select.grid scored on
inner folds of whole training speakers, the chosen one retrained on all of them."""

from __future__ import annotations

import pytest
import yaml

from conftest import FAULT_TRAIN_CONFIG, REPO, run_sh
from emogcn.data import datadir as dd
from emogcn.training.config import TrainConfig
from emogcn.training.nested import grid_points, inner_groups
from emogcn.config import load_config


def test_grid_points_and_inner_groups(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"epochs": 5, "select": {
        "grid": {"epochs": [2, 4], "model.backbone_options.dropout": [0.1, 0.5]}}}))
    cfg = load_config(TrainConfig, tmp_path / "c.yaml")
    points = grid_points(cfg)
    assert [o for o, _ in points] == [{"epochs": 2, "model.backbone_options.dropout": 0.1},
                                      {"epochs": 2, "model.backbone_options.dropout": 0.5},
                                      {"epochs": 4, "model.backbone_options.dropout": 0.1},
                                      {"epochs": 4, "model.backbone_options.dropout": 0.5}]
    assert points[3][1].epochs == 4 and points[3][1].model.backbone_options["dropout"] == 0.5
    assert all(p.select.grid == {} for _, p in points)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"select": {"grid": {"optim.lr_typo": [1]}}}))
    with pytest.raises(ValueError, match="'optim.lr_typo' is not a key"):
        grid_points(load_config(TrainConfig, tmp_path / "bad.yaml"))
    assert inner_groups(["s3", "s1", "s2", "s4", "s5"], 3) == [["s1", "s4"], ["s2", "s5"], ["s3"]]
    assert inner_groups(["a", "b"], 3) == [["a"], ["b"]]  # no more groups than speakers: leave one out


def test_inner_selection_never_sees_the_test_speakers(mini):
    cfg = {**FAULT_TRAIN_CONFIG, "epochs": 2, "average_last": 1, "inference_checkpoint": "averaged",
           "select": {"grid": {"epochs": [1, 2]}, "inner_folds": 3}}
    (mini / "inner.yaml").write_text(yaml.safe_dump(cfg))
    p = run_sh("steps/train.sh --gpu -1 inner.yaml data/folds/fold1/train_dev inner exp/graph exp/inner", mini)
    choice = yaml.safe_load((mini / "exp/inner/inner.yaml").read_text())
    train_spk = set(dd.read_map(mini / "data/folds/fold1/train_dev/utt2spk").values())
    test_spk = set(dd.read_map(mini / "data/folds/fold1/test/utt2spk").values())
    groups = choice["groups"]
    assert {s for g in groups for s in g} == train_spk and not train_spk & test_spk
    assert len(groups) == len(train_spk)  # two training speakers: leave one out
    assert [c["overrides"] for c in choice["candidates"]] == [{"epochs": 1}, {"epochs": 2}]
    best = max(choice["candidates"], key=lambda c: c["inner_ua"])
    assert choice["inner_ua"] == best["inner_ua"]
    record = yaml.safe_load((mini / "exp/inner/.done").read_text())
    assert record["labels"]["dev"] == "inner" and record["inner_choice"] == choice["chosen"]
    assert record["made_from"]["configs"]["train"]["select"]["grid"] == {"epochs": [1, 2]}
    assert "inner folds chose" in (mini / "exp/inner/log/train.log").read_text(), p.stderr
    again = run_sh("steps/train.sh --gpu -1 inner.yaml data/folds/fold1/train_dev inner exp/graph exp/inner", mini)
    assert "already trained" in again.stderr
    run_sh("steps/infer.sh --gpu -1 exp/inner data/folds/fold1/test test", mini)


def test_inner_folds_keep_a_perturbed_copy_with_its_speaker(tmp_path):
    from emogcn.config import load_config as load
    from emogcn.graph.build import GraphConfig
    from emogcn.training.nested import _inner_sets

    spk = {"a-u1": "a", "a-u2": "a", "b-u1": "b", "noise10-a-u1": "noise10-a", "noise10-b-u1": "noise10-b",
           "sp0.9-a-u2": "sp0.9-a"}
    d = tmp_path / "train_dev_sp"
    d.mkdir()
    dd.write_map(d / "utt2spk", spk)
    dd.write_map(d / "utt2emo", {u: ("anger" if u.endswith("1") else "neutral") for u in spk})
    dd.write_map(d / "spk2utt", dd.spk2utt_from_utt2spk(spk))
    cfg = load_config(TrainConfig, None, {})
    _inner_sets(d, tmp_path / "fold1", ["a"], cfg, load(GraphConfig, None, {}))
    # a held out: none of its copies trains, and it is scored on its own (unperturbed) audio
    assert set(dd.read_map(tmp_path / "fold1/train/utt2spk")) == {"b-u1", "noise10-b-u1"}
    assert set(dd.read_map(tmp_path / "fold1/dev/utt2spk")) == {"a-u1", "a-u2"}


def test_dev_auto_follows_what_the_config_selects(tmp_path):
    """A recipe's --dev auto: inner for a select.grid, speaker for the best dev epoch, none (the dev
    speaker trains) for configs that score their last or averaged epochs, as the shipped MLP does."""
    from emogcn.bin.train import main

    cases = {"inner": {"average_last": 1, "inference_checkpoint": "averaged", "select": {"grid": {"epochs": [1, 2]}}},
             "speaker": {"inference_checkpoint": "best"},
             "none": {"average_last": 2, "inference_checkpoint": "averaged"}}
    for want, cfg in cases.items():
        (tmp_path / f"{want}.yaml").write_text(yaml.safe_dump({"epochs": 3, **cfg}))
        assert load_config(TrainConfig, tmp_path / f"{want}.yaml").dev_selection() == want
    p = run_sh(f"python -m emogcn.bin.train --dev-selection {tmp_path}/speaker.yaml", tmp_path)
    assert p.stdout == "speaker\n"
    p = run_sh("python -m emogcn.bin.train --dev-selection conf/train_mlp.yaml", REPO)
    assert p.stdout == "none\n"  # the speech default: the dev speaker trains
    with pytest.raises(SystemExit) as e:  # training still needs all five arguments
        main([str(tmp_path / "speaker.yaml"), "data/train"])
    assert e.value.code == 2
