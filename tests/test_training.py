"""Training (stage 4) and inference on a tiny prepared mini corpus: batching, resumption, outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

from conftest import prepare_mini_recipe, run_sh
from emogcn.data.dataset import BucketBatchSampler
from emogcn.training.trainer import load_checkpoint

TINY_CONFIG = {
    "model": {"variant": "emotion_gcn", "backbone": "speech_cnn",
              "backbone_options": {"channels": [8, 16], "embed_dim": 32}, "gcn_hidden": 16},
    "optim": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.001},
    "schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
    "augment": {"freq_masks": 1, "freq_width": 3, "time_masks": 1, "time_width": 5},  # resumed masks must match
    "epochs": 3,
    "batch_size": 8,
    "cmvn": "speaker",
    "seed": 3,
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Mini corpus (2 speakers per language, 3 utterances per class), features, CMVN, folds, graph."""
    return prepare_mini_recipe(tmp_path_factory.mktemp("train") / "recipe", TINY_CONFIG, utts_per_class=3)


TRAIN = "python -m emogcn.bin.train --gpu -1 {extra} tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph {exp}"


def test_bucket_sampler_is_a_function_of_seed_and_epoch():
    lengths = [5, 50, 7, 48, 9, 30, 31, 10, 12, 44]
    a = BucketBatchSampler(lengths, batch_size=3, seed=1, bucket_batches=2)
    b = BucketBatchSampler(lengths, batch_size=3, seed=1, bucket_batches=2)
    a.set_epoch(4)
    b.set_epoch(4)
    assert list(a) == list(b)
    assert sorted(i for batch in a for i in batch) == list(range(10))
    b.set_epoch(5)
    assert list(a) != list(b)


def test_resumed_training_matches_uninterrupted(prepared):
    run_sh(TRAIN.format(extra="", exp="exp/full"), prepared)
    # An interrupted run: stops after epoch 1 (as a kill between epochs would), then resumes.
    run_sh(TRAIN.format(extra="--stop-after-epoch 1", exp="exp/resumed"), prepared)
    assert not (prepared / "exp/resumed/.done").exists()
    assert load_checkpoint(prepared / "exp/resumed/checkpoints/last.pt")["epoch"] == 1
    p = run_sh(TRAIN.format(extra="", exp="exp/resumed"), prepared)
    assert "resuming from" in p.stderr
    full = load_checkpoint(prepared / "exp/full/checkpoints/last.pt")
    resumed = load_checkpoint(prepared / "exp/resumed/checkpoints/last.pt")
    assert full["epoch"] == resumed["epoch"] == 3
    for name, tensor in full["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert [h["dev_ua"] for h in full["history"]] == [h["dev_ua"] for h in resumed["history"]]


def test_experiment_directory_contents(prepared):
    exp = prepared / "exp/full"
    if not (exp / ".done").exists():
        run_sh(TRAIN.format(extra="", exp="exp/full"), prepared)
    for name in ("config.yaml", "command.txt", "classes.txt", "history.tsv", "curves.png",
                 "checkpoints/best.pt", "checkpoints/last.pt", "graph/propagation.npy", ".done"):
        assert (exp / name).is_file(), name
    rows = list(csv.DictReader(open(exp / "history.tsv"), delimiter="\t"))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.01, 0.005])
    assert (exp / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_infer_and_score(prepared):
    if not (prepared / "exp/full/.done").exists():
        run_sh(TRAIN.format(extra="", exp="exp/full"), prepared)
    run_sh("steps/infer.sh --gpu -1 exp/full data/folds/fold1/test test && steps/score.sh exp/full test", prepared)
    preds = list(csv.DictReader(open(prepared / "exp/full/scores/test/predictions.tsv"), delimiter="\t"))
    test_utts = (prepared / "data/folds/fold1/test/utt2spk").read_text().split("\n")
    assert len(preds) == len([u for u in test_utts if u])
    classes = (prepared / "exp/full/classes.txt").read_text().split()
    for row in preds:
        probs = [float(row[f"p_{c}"]) for c in classes]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert row["hypothesis"] == classes[max(range(len(classes)), key=probs.__getitem__)]
        assert row["lang"] in ("qaa", "qab") and row["corpus"] == "mini"
        assert -1.5 < float(row["hyp_valence"]) < 1.5
    assert (prepared / "exp/full/scores/test/metrics.json").is_file()
    assert (prepared / "exp/full/scores/test/confusion.png").is_file()


def test_unknown_config_key_is_an_error(prepared):
    bad = dict(TINY_CONFIG, learning_rate=0.1)
    (prepared / "bad.yaml").write_text(yaml.safe_dump(bad))
    p = run_sh(TRAIN.format(extra="", exp="exp/bad").replace("tiny.yaml", "bad.yaml"), prepared, check=False)
    assert p.returncode == 1
    assert "unknown key(s) learning_rate" in p.stderr


def test_resume_with_another_config_is_refused(prepared):
    run_sh(TRAIN.format(extra="--stop-after-epoch 1", exp="exp/changed"), prepared)
    changed = dict(TINY_CONFIG, batch_size=4)
    (prepared / "changed.yaml").write_text(yaml.safe_dump(changed))
    p = run_sh(TRAIN.format(extra="", exp="exp/changed").replace("tiny.yaml", "changed.yaml"), prepared, check=False)
    assert p.returncode == 1 and "another config" in p.stderr


def test_train_sh_skips_finished_experiment(prepared):
    if not (prepared / "exp/full/.done").exists():
        run_sh(TRAIN.format(extra="", exp="exp/full"), prepared)
    before = (prepared / "exp/full/checkpoints/last.pt").stat().st_mtime
    p = run_sh("steps/train.sh --gpu -1 tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/full",
               prepared)
    assert "already trained" in p.stderr
    assert (prepared / "exp/full/checkpoints/last.pt").stat().st_mtime == before
    # the same experiment asked for with another config is refused, never answered with old results
    (prepared / "other.yaml").write_text(yaml.safe_dump(dict(TINY_CONFIG, epochs=4)))
    p = run_sh("steps/train.sh --gpu -1 other.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/full",
               prepared, check=False)
    assert p.returncode == 1 and "made with other settings than this run asks for (configs.train.epochs: 3 -> 4)" in p.stderr
    assert (prepared / "exp/full/checkpoints/last.pt").stat().st_mtime == before


def test_resumed_training_keeps_the_interrupted_runs_log(prepared):
    steps = "steps/train.sh --gpu -1 tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/relog"
    # the interrupted run: one epoch, its log where steps/train.sh writes it
    p = run_sh(TRAIN.format(extra="--stop-after-epoch 1", exp="exp/relog"), prepared)
    log_dir = prepared / "exp/relog/log"
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "train.log").write_text(p.stderr)
    p = run_sh(steps, prepared)
    assert "training exp/relog" in p.stderr
    assert "epoch 1" in (log_dir / "train.log.1").read_text()
    assert "resuming from" in (log_dir / "train.log").read_text()
    assert (prepared / "exp/relog/.done").exists()


def test_single_and_multi_task_train(prepared):
    """One config (emotion_gcn) serves every variant: steps/train.sh --variant overrides model.variant,
    and the experiment records the variant it trained."""
    (prepared / "one.yaml").write_text(yaml.safe_dump(dict(TINY_CONFIG, epochs=1)))
    for variant in ("single_task", "multi_task"):
        run_sh(f"steps/train.sh --gpu -1 --variant {variant} one.yaml data/folds/fold1/train data/folds/fold1/dev "
               f"exp/graph exp/{variant}", prepared)
        ckpt = load_checkpoint(Path(prepared / f"exp/{variant}/checkpoints/best.pt"))
        assert ckpt["config"]["model"]["variant"] == variant
        assert yaml.safe_load((prepared / f"exp/{variant}/config.yaml").read_text())["model"]["variant"] == variant
    p = run_sh("python -m emogcn.bin.train --gpu -1 --variant gcn one.yaml data/folds/fold1/train "
               "data/folds/fold1/dev exp/graph exp/bad", prepared, check=False)
    assert p.returncode == 2 and "invalid choice: 'gcn'" in p.stderr


def test_averaged_checkpoint_is_the_mean_of_the_last_epochs_and_scoring_uses_it(prepared):
    cfg = dict(TINY_CONFIG, average_last=2, inference_checkpoint="averaged")
    (prepared / "avg.yaml").write_text(yaml.safe_dump(cfg))
    run_sh(TRAIN.format(extra="", exp="exp/avg").replace("tiny.yaml", "avg.yaml"), prepared)
    ckpts = prepared / "exp/avg/checkpoints"
    assert not list(ckpts.glob("epoch*.pt"))  # averaged.pt is what they were kept for
    # Epoch 2's weights again: training is a function of (seed, epoch), so a run stopped after
    # epoch 2 ends where the full run was after epoch 2.
    run_sh(TRAIN.format(extra="--stop-after-epoch 2", exp="exp/avg_e2").replace("tiny.yaml", "avg.yaml"), prepared)
    e2 = load_checkpoint(prepared / "exp/avg_e2/checkpoints/last.pt")["model"]
    e3 = load_checkpoint(ckpts / "last.pt")["model"]
    assert (prepared / "exp/avg_e2/checkpoints/epoch2.pt").is_file()  # kept until the run ends and averages
    averaged = load_checkpoint(ckpts / "averaged.pt")
    assert averaged["epochs"] == [2, 3]
    for name, tensor in averaged["model"].items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, (e2[name] + e3[name]) / 2)
    p = run_sh("steps/infer.sh --gpu -1 exp/avg data/folds/fold1/test test", prepared)
    log = (prepared / "exp/avg/log/infer_test.log").read_text()
    assert "averaged.pt" in log, p.stderr
    # A run killed after the epochs were removed, before its .done, resumes onto its averaged.pt;
    # without that either, it says what is missing.
    (prepared / "exp/avg/.done").unlink()
    run_sh(TRAIN.format(extra="", exp="exp/avg").replace("tiny.yaml", "avg.yaml"), prepared)
    assert torch.equal(load_checkpoint(ckpts / "averaged.pt")["model"][name], averaged["model"][name])
    for path in (ckpts / "averaged.pt", prepared / "exp/avg/.done"):
        path.unlink()
    p = run_sh(TRAIN.format(extra="", exp="exp/avg").replace("tiny.yaml", "avg.yaml"), prepared, check=False)
    assert p.returncode == 1 and "epoch2.pt: needed to average epochs 2-3" in p.stderr, p.stderr


def test_averaged_without_epochs_to_average_is_refused(prepared):
    (prepared / "noavg.yaml").write_text(yaml.safe_dump(dict(TINY_CONFIG, inference_checkpoint="averaged")))
    p = run_sh(TRAIN.format(extra="", exp="exp/noavg").replace("tiny.yaml", "noavg.yaml"), prepared, check=False)
    assert p.returncode == 1 and "needs average_last >= 1" in p.stderr
    assert not (prepared / "exp/noavg/checkpoints").exists()


def test_corpus_normalisation_trains_and_predicts(prepared):
    # --cmvn corpus: every set is normalised with its own statistics (one corpus here), in training
    # and in inference, where a test corpus's unlabelled statistics are what travels across corpora
    (prepared / "one.yaml").write_text(yaml.safe_dump(dict(TINY_CONFIG, epochs=1)))
    run_sh("steps/train.sh --gpu -1 --cmvn corpus one.yaml data/folds/fold1/train data/folds/fold1/dev "
           "exp/graph exp/corpus_cmvn", prepared)
    assert yaml.safe_load((prepared / "exp/corpus_cmvn/config.yaml").read_text())["cmvn"] == "corpus"
    run_sh("steps/infer.sh --gpu -1 exp/corpus_cmvn data/folds/fold1/test test", prepared)
    preds = list(csv.DictReader(open(prepared / "exp/corpus_cmvn/scores/test/predictions.tsv"), delimiter="\t"))
    assert len(preds) == len((prepared / "data/folds/fold1/test/utt2spk").read_text().split()) // 2
    p = run_sh("python -m emogcn.bin.train --gpu -1 --cmvn corpora one.yaml data/folds/fold1/train "
               "data/folds/fold1/dev exp/graph exp/bad", prepared, check=False)
    assert p.returncode == 2 and "invalid choice: 'corpora'" in p.stderr
