"""The trainer at scale, on the CPU: torchrun DDP with the gloo backend (2 processes against 1 with the
same global batch, and a killed 2-process run resumed), bf16 autocast, DataLoader workers, batches
by total frames, and training without a dev set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from conftest import run_sh
from emogcn.data.dataset import BucketBatchSampler, FeatureDataset, make_loader
from emogcn.data.cmvn import Cmvn
from emogcn.training.trainer import load_checkpoint
from killing import kill_inside

# No dropout, no batch normalisation, plain mean cross-entropy: two processes that each average
# the gradient of half of every batch, averaged again by DDP, take the same steps as one process.
DDP_CONFIG = {
    "model": {"variant": "single_task", "backbone": "mlp", "backbone_options": {"hidden": [32], "dropout": 0.0}},
    "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "epochs": 6, "batch_size": 4, "seed": 3, "class_weighting": False,
}
TRAIN = "steps/train.sh --gpu -1 {extra} {cfg} data/folds/fold1/train data/folds/fold1/dev exp/graph {exp}"


def _weights(exp):
    return load_checkpoint(exp / "checkpoints/last.pt")["model"]


def test_two_processes_take_the_steps_of_one_with_the_same_global_batch(mini):
    (mini / "ddp.yaml").write_text(yaml.safe_dump(DDP_CONFIG))
    run_sh(TRAIN.format(extra="", cfg="ddp.yaml", exp="exp/one"), mini)
    p = run_sh(TRAIN.format(extra="--ngpu 2", cfg="ddp.yaml", exp="exp/two"), mini)
    log = (mini / "exp/two/log/train.log").read_text()
    assert "process 0 of 2" in log and "torch.distributed.run" in log, p.stderr
    assert (mini / "exp/two/command.txt").read_text().startswith("torchrun (2 processes) ")
    one, two = _weights(mini / "exp/one"), _weights(mini / "exp/two")
    diff = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert diff < 1e-4  # the stated tolerance: float sums in another order
    h1 = load_checkpoint(mini / "exp/one/checkpoints/last.pt")["history"]
    h2 = load_checkpoint(mini / "exp/two/checkpoints/last.pt")["history"]
    assert [r["dev_ua"] for r in h1] == [r["dev_ua"] for r in h2]  # dev metrics summed over both processes
    assert abs(h1[-1]["train_loss"] - h2[-1]["train_loss"]) < 1e-3
    # the DDP model scores like any other
    run_sh("steps/infer.sh --gpu -1 exp/two data/folds/fold1/test test", mini)
    assert (mini / "exp/two/scores/test/predictions.tsv").is_file()


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_weights(mini):
    (mini / "ddp_long.yaml").write_text(yaml.safe_dump({**DDP_CONFIG, "epochs": 10}))
    whole, killed = mini / "exp/two_whole", mini / "exp/two_killed"
    run_sh(TRAIN.format(extra="--ngpu 2", cfg="ddp_long.yaml", exp="exp/two_whole"), mini)
    cmd = TRAIN.format(extra="--ngpu 2", cfg="ddp_long.yaml", exp="exp/two_killed")
    last = killed / "checkpoints/last.pt"

    def after():
        # a kill between the last epoch's checkpoint and .done is inside the training too: the
        # checkpoint then holds epoch 10, and the rerun resumes from it to the same weights
        assert not (killed / ".done").exists() and 1 <= load_checkpoint(last)["epoch"] <= 10

    landed = kill_inside(cmd, mini, started=last.exists, finished=(killed / ".done").exists, wanted=1, after=after,
                         delays=(0.0, 0.3, 0.8))
    assert len(landed) == 1
    run_sh(cmd, mini)
    assert "resuming from" in (killed / "log/train.log").read_text()
    a, b = _weights(whole), _weights(killed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # resuming with another number of processes is refused (the batches would differ)
    (killed / ".done").unlink()
    p = run_sh(TRAIN.format(extra="", cfg="ddp_long.yaml", exp="exp/two_killed"), mini, check=False)
    assert p.returncode == 1 and "was trained by 2 process(es), not 1" in p.stderr


def test_bf16_autocast_trains_on_the_cpu_and_fp16_is_refused_there(mini):
    (mini / "bf16.yaml").write_text(yaml.safe_dump({**DDP_CONFIG, "epochs": 2, "amp": "bf16"}))
    run_sh(TRAIN.format(extra="", cfg="bf16.yaml", exp="exp/bf16"), mini)
    history = load_checkpoint(mini / "exp/bf16/checkpoints/last.pt")["history"]
    assert all(np.isfinite(r["train_loss"]) for r in history)
    (mini / "fp16.yaml").write_text(yaml.safe_dump({**DDP_CONFIG, "epochs": 1, "amp": "fp16"}))
    p = run_sh(TRAIN.format(extra="", cfg="fp16.yaml", exp="exp/fp16"), mini, check=False)
    assert p.returncode == 1 and "amp fp16 needs a CUDA device" in p.stderr


def test_loader_workers_give_the_same_training(mini):
    (mini / "w0.yaml").write_text(yaml.safe_dump({**DDP_CONFIG, "epochs": 2}))
    (mini / "w2.yaml").write_text(yaml.safe_dump({**DDP_CONFIG, "epochs": 2, "num_workers": 2}))
    run_sh(TRAIN.format(extra="", cfg="w0.yaml", exp="exp/w0"), mini)
    run_sh(TRAIN.format(extra="", cfg="w2.yaml", exp="exp/w2"), mini)
    a, b = _weights(mini / "exp/w0"), _weights(mini / "exp/w2")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # workers started by spawn (as on macOS, or with CUDA) receive the dataset and collate function pickled
    dataset = FeatureDataset(mini / "data/folds/fold1/dev", ["anger", "happiness", "neutral", "sadness", "fear"],
                             Cmvn("none"))
    loader = make_loader(dataset, 4, shuffle=False)
    spawned = torch.utils.data.DataLoader(dataset, batch_sampler=loader.batch_sampler, collate_fn=loader.collate_fn,
                                          num_workers=1, multiprocessing_context="spawn")
    for got, want in zip(spawned, loader):
        assert torch.equal(got["feats"], want["feats"]) and torch.equal(got["labels"], want["labels"])


def test_batches_by_total_frames_and_shares_of_a_global_batch():
    lengths = [10, 50, 20, 40, 30, 60, 5, 45]
    sampler = BucketBatchSampler(lengths, batch_size=100, shuffle=False, max_frames=100)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:  # padded size: the longest utterance times the count
        assert max(lengths[i] for i in b) * len(b) <= 100 or len(b) == 1
    shuffled = BucketBatchSampler(lengths, batch_size=4, seed=1)
    halves = [BucketBatchSampler(lengths, batch_size=4, seed=1, rank=r, world_size=2) for r in (0, 1)]
    for s in [shuffled, *halves]:
        s.set_epoch(3)
    for whole, a, b in zip(shuffled, *halves):  # each process takes its share of every global batch
        assert sorted(a + b) == sorted(whole) and not set(a) & set(b)
    with pytest.raises(ValueError, match="rank 2 is not in"):
        BucketBatchSampler(lengths, 4, rank=2, world_size=2)


def test_training_without_a_dev_set_scores_the_averaged_epochs(mini):
    cfg = {**DDP_CONFIG, "epochs": 3, "average_last": 2, "inference_checkpoint": "averaged"}
    (mini / "nodev.yaml").write_text(yaml.safe_dump(cfg))
    p = run_sh("steps/train.sh --gpu -1 nodev.yaml data/folds/fold1/train none exp/graph exp/nodev", mini)
    assert "trained 3 epochs without a dev set" in p.stderr
    record = yaml.safe_load((mini / "exp/nodev/.done").read_text())
    assert record["labels"]["dev"] == "none" and record["made_from"]["inputs"]["dev"] == "none"
    assert not (mini / "exp/nodev/checkpoints/best.pt").exists()
    run_sh("steps/infer.sh --gpu -1 exp/nodev data/folds/fold1/test test", mini)
    (mini / "nodev_best.yaml").write_text(yaml.safe_dump({**cfg, "inference_checkpoint": "best"}))
    p = run_sh("steps/train.sh --gpu -1 nodev_best.yaml data/folds/fold1/train none exp/graph exp/nodev_best", mini,
               check=False)
    assert p.returncode == 1 and "no dev set: inference_checkpoint 'best' needs one" in p.stderr
