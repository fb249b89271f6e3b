"""Shared fixtures: small data directories and recipe directories linked to this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EMODB = REPO.parent / "shared" / "corpora" / "emodb"


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def make_data_dir(path: Path, spk_utts: dict[str, int], labels=("anger", "neutral"), with_va: bool = True) -> Path:
    """A valid data directory: speakers with n utterances each, labels cycling, fake wav paths."""
    path.mkdir(parents=True, exist_ok=True)
    utt2spk, utt2emo, utt2va, wav = [], [], [], []
    for spk, n in sorted(spk_utts.items()):
        for i in range(n):
            utt = f"{spk}-u{i:03d}"
            utt2spk.append(f"{utt} {spk}")
            utt2emo.append(f"{utt} {labels[i % len(labels)]}")
            utt2va.append(f"{utt} {0.1 * (i % 3):.1f} -0.5")
            wav.append(f"{utt} /nonexistent/{utt}.wav")
    write_lines(path / "utt2spk", utt2spk)
    write_lines(path / "spk2utt", [f"{s} " + " ".join(f"{s}-u{i:03d}" for i in range(n)) for s, n in sorted(spk_utts.items())])
    write_lines(path / "utt2emo", utt2emo)
    write_lines(path / "wav.scp", wav)
    if with_va:
        write_lines(path / "utt2va", utt2va)
    return path


def link_recipe_dir(d: Path) -> Path:
    """Makes d a recipe directory like egs/<corpus>/: steps, utils, conf, local and path.sh link to the checkout."""
    d.mkdir(parents=True)
    for name in ("steps", "utils", "conf", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    return d


@pytest.fixture
def recipe_dir(tmp_path: Path) -> Path:
    return link_recipe_dir(tmp_path / "recipe")


def run_sh(cmd: str, cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs a shell command line as a user would, from `cwd`."""
    full_env = {**os.environ, **(env or {})}
    p = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, env=full_env)
    if check and p.returncode != 0:
        raise AssertionError(f"`{cmd}` failed ({p.returncode}):\nSTDOUT:\n{p.stdout}\nSTDERR:\n{p.stderr}")
    return p


FAULT_TRAIN_CONFIG = {
    "model": {"variant": "emotion_gcn", "backbone": "speech_cnn",
              "backbone_options": {"channels": [8, 16], "embed_dim": 32}, "gcn_hidden": 16},
    "optim": {"name": "adam", "lr": 0.003},
    "epochs": 3,
    "batch_size": 4,
    "seed": 5,
}


def prepare_mini_recipe(d: Path, train_config: dict, utts_per_class: int = 4) -> Path:
    """A small mini-corpus recipe in d: 2 speakers per language, features, CMVN (per speaker, and
    fold 1's global), 2 speaker-group folds, fold 1's graph in exp/graph, the config as tiny.yaml."""
    import yaml

    d.mkdir(parents=True)
    for name in ("steps", "utils", "conf", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    run_sh(f"python local/make_mini_corpus.py --speakers-per-language 2 --utts-per-class {utts_per_class} db data/all"
           " && python -m emogcn.bin.make_folds --protocol groups --num-groups 2 data/all data/folds"
           " && steps/make_feats.sh --nj 2 data/all exp/log data/feats"
           " && steps/compute_cmvn.sh data/all exp/log data/cmvn"
           " && python -m emogcn.bin.refresh_folds data/all data/folds"
           " && steps/compute_cmvn.sh data/folds/fold1/train exp/log data/cmvn1"
           " && steps/build_graph.sh data/folds/fold1/train exp/graph", d)
    (d / "tiny.yaml").write_text(yaml.safe_dump(train_config))
    return d


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """prepare_mini_recipe with the fault suite's training config."""
    return prepare_mini_recipe(tmp_path_factory.mktemp("faults") / "recipe", FAULT_TRAIN_CONFIG)


def make_random_experiment(exp: Path, train_config: dict, input_dim: int, labels=("anger", "happiness", "neutral"),
                           seed: int = 0) -> Path:
    """A finished experiment directory without training: a graph from a small data directory and a
    randomly initialised checkpoint (best.pt), for tests of packaging and export."""
    import shutil

    import torch

    from emogcn.config import dump_config, from_dict, to_dict
    from emogcn.graph.build import GraphConfig, build_graph
    from emogcn.inference.model import build_inference_model
    from emogcn.training.config import TrainConfig

    data = make_data_dir(exp.parent / f"{exp.name}_data", {"s1": 6, "s2": 6}, labels=labels)
    graph_dir = exp.parent / f"{exp.name}_graph"
    build_graph(data, graph_dir, GraphConfig(method="identity"))
    cfg = from_dict(TrainConfig, train_config)
    torch.manual_seed(seed)
    model, classes = build_inference_model(cfg, graph_dir, input_dim)
    (exp / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict(), "epoch": 1, "config": to_dict(cfg), "classes": classes},
               exp / "checkpoints" / "best.pt")
    dump_config(cfg, exp / "config.yaml")
    (exp / "classes.txt").write_text("".join(c + "\n" for c in classes))
    shutil.copytree(graph_dir, exp / "graph")
    (exp / ".done").write_text("best_epoch 1\n")
    return exp


def train_mini_experiment(d: Path, name: str = "emotion_gcn_tiny_seed5") -> Path:
    """Trains FAULT_TRAIN_CONFIG on fold 1 of a prepare_mini_recipe directory (about 20 s)."""
    run_sh(f"steps/train.sh tiny.yaml data/folds/fold1/train data/folds/fold1/dev exp/graph exp/{name}/fold1", d)
    return d / "exp" / name


@pytest.fixture(scope="session")
def packaged_mini(tmp_path_factory):
    """A mini recipe with one trained fold (FAULT_TRAIN_CONFIG, per-speaker CMVN), packaged by
    steps/package.sh into exp/model: (recipe dir, experiment dir, package dir)."""
    d = prepare_mini_recipe(tmp_path_factory.mktemp("packaged") / "recipe", FAULT_TRAIN_CONFIG)
    exp = train_mini_experiment(d)
    run_sh(f"steps/package.sh --fold 1 {exp.relative_to(d)} exp/model", d)
    return d, exp, d / "exp" / "model"


def speech_samples(n: int, seed: int = 77, rate: int = 16000) -> list:
    """n mono float32 utterances at `rate` from the mini corpus's synthesiser, with speakers (a
    seed) the recipe directories of the tests never saw."""
    import importlib.util

    import numpy as np

    from emogcn.features.audio import resample

    spec = importlib.util.spec_from_file_location("make_mini_corpus", REPO / "local" / "make_mini_corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, corpus)  # its dataclasses look their module up there
    spec.loader.exec_module(corpus)
    speakers = corpus.make_speakers(seed, 1)
    out = []
    for i in range(n):
        spk = speakers[i % len(speakers)]
        emotion = corpus.CLASSES[i % len(corpus.CLASSES)]
        audio = corpus.synthesize(spk, emotion, np.random.default_rng([seed, i]))
        out.append(resample(audio.mean(axis=1).astype(np.float32), spk.rate, rate))
    return out
