"""Fault injection, interruptions: SIGKILL inside graph building, training, scoring and data
preparation, then the same command again. Every kill counted here landed inside the stage
(tests/killing.py retries other delays until it does); after each, nothing half-written is
taken as complete, and the command run again ends where an uninterrupted run ends: a training run
killed mid-run and resumed has the uninterrupted run's weights. (SIGKILL during feature
extraction: tests/faults/test_bad_audio.py; at random moments of whole recipes:
tests/faults/kill_soak.py.)"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from conftest import EMODB, FAULT_TRAIN_CONFIG, recipe_dir, run_sh  # noqa: F401  (recipe_dir is a fixture)
from emogcn.data import datadir as dd
from emogcn.graph.build import GraphError, load_graph
from emogcn.training.trainer import load_checkpoint
from killing import kill_inside


def test_graph_killed_inside_the_stage_is_never_taken_as_built(mini, tmp_path):
    # a big word-vector file makes the stage last long enough to be killed in every phase
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60000)] + ["anger", "happiness", "neutral", "sadness", "fear", "valence", "arousal"]
    with open(tmp_path / "vectors.txt", "w") as f:
        for w in words:
            f.write(w + " " + " ".join(f"{v:.4f}" for v in rng.standard_normal(20)) + "\n")
    cmd = f"steps/build_graph.sh --word-vectors {tmp_path}/vectors.txt data/folds/fold1/train exp/graph_kill"
    g = mini / "exp/graph_kill"

    def after():
        assert not (g / ".done").exists()
        with pytest.raises(GraphError, match=r"\.done missing"):  # training would refuse it
            load_graph(g)

    landed = kill_inside(cmd, mini, started=lambda: (g / "log/build_graph.log").exists(),
                         finished=lambda: (g / ".done").exists(), wanted=3, after=after,
                         before=lambda: shutil.rmtree(g / "log", ignore_errors=True))
    assert len(landed) == 3
    run_sh(cmd, mini)
    assert load_graph(g).node_features.shape == (7, 20)


def test_training_killed_mid_run_resumes_to_the_uninterrupted_result(mini):
    epochs = 30  # about 3 s of epochs: the delays (1 s in all for three kills) fit inside one chain
    (mini / "long.yaml").write_text(yaml.safe_dump({**FAULT_TRAIN_CONFIG, "epochs": epochs}))
    train = "steps/train.sh --gpu -1 long.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph {}"
    run_sh(train.format("exp/whole"), mini)
    killed = mini / "exp/killed"
    last = killed / "checkpoints/last.pt"

    def after():
        assert not (killed / ".done").exists()
        # the checkpoint on disk is whole, whatever the moment; a kill after the last epoch's
        # checkpoint but before .done (averaging, the final write) finds epoch == epochs
        assert 1 <= load_checkpoint(last)["epoch"] <= epochs

    log = killed / "log/train.log"
    earlier_logs = []

    def in_epoch_loop() -> bool:  # this try's log: an epoch finished, or resumed from one
        text = log.read_text() if log.exists() else ""
        return last.exists() and ("resuming from" in text or " epoch 1/" in text)

    def set_aside_log():  # no try may be taken as started on the last one's log
        if (killed / ".done").exists():  # a try ran to the end: the chain starts again from nothing
            shutil.rmtree(killed)
            earlier_logs.clear()
        if log.exists():
            earlier_logs.append(log.read_text())
            log.unlink()

    # each try resumes the last one: the kills land in later and later epochs
    landed = kill_inside(train.format("exp/killed"), mini, started=in_epoch_loop,
                         finished=(killed / ".done").exists, wanted=3, after=after, before=set_aside_log,
                         delays=(0.0, 0.3, 0.7, 1.2), start_over=(killed / ".done").exists)
    assert len(landed) == 3
    p = run_sh(train.format("exp/killed"), mini)
    logs = "".join(earlier_logs) + "".join(f.read_text() for f in sorted(log.parent.glob("train.log*")))
    assert logs.count("resuming from") >= 3  # the two tries after the first, and the last run
    whole = load_checkpoint(mini / "exp/whole/checkpoints/last.pt")
    resumed = load_checkpoint(last)
    assert whole["epoch"] == resumed["epoch"] == epochs
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert whole["best"] == resumed["best"], p.stderr


def test_scoring_killed_inside_leaves_no_partial_results(mini):
    run_sh("steps/train.sh --gpu -1 tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/scored", mini)
    test_utts = set(dd.read_map(mini / "data/folds/fold1/test/utt2spk"))
    cmd = "bash -c 'steps/infer.sh --gpu -1 exp/scored data/folds/fold1/test test && steps/score.sh exp/scored test'"
    scores = mini / "exp/scored/scores/test"
    preds = scores / "predictions.tsv"
    log = mini / "exp/scored/log/infer_test.log"

    def whole_predictions() -> bool:
        rows = preds.read_text().splitlines()
        return rows[0].startswith("utt\t") and {r.split("\t")[0] for r in rows[1:]} == test_utts

    def after():
        assert not (scores / "metrics.json").exists()
        assert not preds.exists() or whole_predictions()  # present means complete: every test utterance

    landed = kill_inside(cmd, mini, started=log.exists, finished=(scores / "metrics.json").exists, wanted=3,
                         after=after, before=lambda: (shutil.rmtree(scores, ignore_errors=True), log.unlink(missing_ok=True)))
    assert len(landed) == 3
    run_sh(cmd, mini)
    assert whole_predictions()
    assert json.loads((scores / "metrics.json").read_text())["num_utts"] == len(test_utts)


@pytest.mark.corpus  # ../shared/corpora
def test_data_preparation_killed_inside_is_redone(recipe_dir):
    cmd = f"steps/prepare_corpus.sh emodb {EMODB} data"
    data = recipe_dir / "data"

    def after():
        assert not (data / "all/.done").exists()  # the next run prepares again

    landed = kill_inside(cmd, recipe_dir, started=(data / "all.tmp").exists, finished=(data / "all/.done").exists,
                         wanted=3, after=after, delays=(0.0, 0.1, 0.3, 0.6))
    assert len(landed) == 3
    run_sh(cmd, recipe_dir)
    assert len(dd.read_map(data / "all/utt2spk")) == 535
    assert len(list((data / "folds").glob("fold*"))) == 10
