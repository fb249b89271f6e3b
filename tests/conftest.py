"""Shared fixtures: small data directories and recipe directories linked to this checkout."""

from __future__ import annotations

import os
import subprocess
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
