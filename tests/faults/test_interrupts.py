"""Fault injection, interruptions: SIGKILL during graph building, training and scoring, then the
same command again. No half-written graph, checkpoint or results file is ever taken as complete,
and a training run killed mid-epoch and resumed ends where an uninterrupted run ends.
(SIGKILL during feature extraction: tests/faults/test_bad_audio.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import torch
import yaml

from conftest import EMODB, FAULT_TRAIN_CONFIG, recipe_dir, run_sh  # noqa: F401  (recipe_dir is a fixture)
from emogcn.data import datadir as dd
from emogcn.graph.build import load_graph
from emogcn.training.trainer import load_checkpoint


def _start(cmd, cwd):
    return subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=cwd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_graph_killed_at_any_moment_is_never_taken_as_built(mini, tmp_path):
    # a big word-vector file makes the stage last long enough to be killed in every phase
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60000)] + ["anger", "happiness", "neutral", "sadness", "fear", "valence", "arousal"]
    with open(tmp_path / "vectors.txt", "w") as f:
        for w in words:
            f.write(w + " " + " ".join(f"{v:.4f}" for v in rng.standard_normal(20)) + "\n")
    cmd = f"steps/build_graph.sh --word-vectors {tmp_path}/vectors.txt data/folds/fold1/train exp/graph_kill"
    for delay in (0.3, 0.8, 1.5, 2.5):
        proc = _start(cmd, mini)
        time.sleep(delay)
        _kill(proc)
        g = mini / "exp/graph_kill"
        if (g / ".done").exists():  # finished before the kill: then it must be whole
            assert load_graph(g).node_features.shape == (7, 20)
    run_sh(cmd, mini)
    assert load_graph(mini / "exp/graph_kill").node_features.shape == (7, 20)


def test_training_killed_mid_epoch_resumes_to_the_uninterrupted_result(mini):
    # enough epochs that a kill soon after the first checkpoint always lands mid-run, however
    # fast or slow the machine is
    epochs = 8
    (mini / "long.yaml").write_text(yaml.safe_dump({**FAULT_TRAIN_CONFIG, "epochs": epochs}))
    train = "steps/train.sh --gpu -1 long.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph {}"
    run_sh(train.format("exp/whole"), mini)
    proc = _start(train.format("exp/killed"), mini)
    last = mini / "exp/killed/checkpoints/last.pt"
    deadline = time.time() + 300
    while time.time() < deadline and not last.exists() and proc.poll() is None:
        time.sleep(0.01)
    assert last.exists(), "epoch 1 never finished"
    _kill(proc)  # during epoch 2 (or writing its checkpoint)
    assert not (mini / "exp/killed/.done").exists()
    assert load_checkpoint(last)["epoch"] < epochs  # the checkpoint on disk is whole, whatever the moment
    p = run_sh(train.format("exp/killed"), mini)
    assert "resuming from" in (mini / "exp/killed/log/train.log").read_text()
    whole = load_checkpoint(mini / "exp/whole/checkpoints/last.pt")
    resumed = load_checkpoint(last)
    assert whole["epoch"] == resumed["epoch"] == epochs
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert whole["best"] == resumed["best"], p.stderr


def test_scoring_killed_at_any_moment_leaves_no_partial_results(mini):
    if not (mini / "exp/whole/.done").exists():
        run_sh("steps/train.sh --gpu -1 tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/whole", mini)
    test_utts = set(dd.read_map(mini / "data/folds/fold1/test/utt2spk"))
    cmd = "steps/infer.sh --gpu -1 exp/whole data/folds/fold1/test test && steps/score.sh exp/whole test"
    scores = mini / "exp/whole/scores/test"
    for delay in (0.5, 1.5, 3.0, 4.5):
        proc = _start(f"bash -c '{cmd}'", mini)
        time.sleep(delay)
        _kill(proc)
        preds = scores / "predictions.tsv"
        if preds.exists():  # present means complete: every test utterance, header first
            rows = preds.read_text().splitlines()
            assert rows[0].startswith("utt\t") and {r.split("\t")[0] for r in rows[1:]} == test_utts
        if (scores / "metrics.json").exists():
            assert json.loads((scores / "metrics.json").read_text())["num_utts"] == len(test_utts)
    run_sh(cmd, mini)
    assert json.loads((scores / "metrics.json").read_text())["num_utts"] == len(test_utts)


def test_data_preparation_killed_at_any_moment_is_redone(recipe_dir):
    cmd = f"steps/prepare_corpus.sh emodb {EMODB} data"
    for delay in (0.3, 0.8, 1.5):
        proc = _start(cmd, recipe_dir)
        time.sleep(delay)
        _kill(proc)
        if (recipe_dir / "data/all/.done").exists():  # finished before the kill: then whole
            assert len(dd.read_map(recipe_dir / "data/all/utt2spk")) == 535
            assert len(list((recipe_dir / "data/folds").glob("fold*"))) == 10
    run_sh(cmd, recipe_dir)
    assert len(dd.read_map(recipe_dir / "data/all/utt2spk")) == 535
    assert len(list((recipe_dir / "data/folds").glob("fold*"))) == 10
