"""Shared fixtures: small data directories and recipe directories linked to this checkout; the
test tiers (unit, recipe, corpus: pytest_collection_modifyitems below)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EMODB = REPO.parent / "shared" / "corpora" / "emodb"
TESTS = Path(__file__).resolve().parent

# Test tiers (markers registered in pyproject.toml). Every test gets exactly one:
#   corpus  needs a real corpus from ../shared/corpora (EmoDB, CK+48): the files in CORPUS_FILES,
#           and single tests marked @pytest.mark.corpus in other files (a new test that reads
#           ../shared/corpora must be marked so)
#   recipe  runs whole recipes or stages end to end, kills processes or starts Slurm: slow
#   unit    everything else: tools/run_tests.sh --fast runs these (under 2 minutes on 2 cores)
# The rule: an explicit unit/recipe/corpus marker on the test, its class or its module (pytestmark)
# wins; else, by the test's file (path relative to tests/), CORPUS_FILES -> corpus; RECIPE_FILES,
# RECIPE_TESTS or a file named test_recipe_*.py -> recipe; everything else -> unit. A new test file
# is unit unless it says otherwise: keep unit tests quick (a few seconds), and mark the slow ones.
TIERS = ("unit", "recipe", "corpus")
CORPUS_FILES = {
    "test_recipe_emodb.py",  # egs/emodb on the real EmoDB
}
# Files that are not test_recipe_*.py but run recipes, stages or trainings, with the reason. The
# unit tier must stay under 2 minutes (`time tools/run_tests.sh --fast -q` on 2 cores); the times
# are from `--durations=0` on 2 cores shared with other work (load about 10), so they are high.
RECIPE_FILES = {
    "test_multilingual.py": "egs/multilingual/run.sh end to end",
    "test_slurm.py": "starts a single-node Slurm",
    "test_stage6.py": "steps/run_corpus.sh stages 0-6 with trainings",
    "test_ssl_inloop.py": "trains and scores through the steps with an SSL upstream in the loop",
    "faults/test_interrupts.py": "kills stages at random moments, many times",
    "faults/test_kill_soak.py": "the kill soak: 50 SIGKILLs",
    "faults/test_bad_audio.py": "stage 1 once per bad-audio case (130 s)",
    "faults/test_bad_data.py": "a mini recipe's stages 0-3, then trainings on broken data (85 s)",
    "test_distributed.py": "torchrun DDP trainings, one killed and resumed (over 5 min)",
    "test_confound.py": "a mini recipe's stages 0-3 and trainings (80 s)",
    "test_norm_policies.py": "trains a mini recipe, then scores it under every policy (125 s)",
    "test_nested.py": "nested selection: a training per grid point and inner fold (100 s)",
    "test_predict.py": "trains and packages a mini model, then many emogcn-predict runs (100 s)",
    "test_package.py": "trains and packages a mini model (75 s)",
    "test_export.py": "TorchScript and ONNX export of every speech backbone, checked (55 s)",
    "test_predict_faces.py": "trains a face model through the recipe, then predicts (65 s)",
    "test_training.py": "a mini recipe's stages 0-3, then a dozen trainings through steps/train.sh (240 s)",
}
# Single slow tests of otherwise quick files: "file::test" -> the reason.
RECIPE_TESTS = {
    "test_features.py::test_make_feats_stage_counts_failures_and_applies_threshold": "steps/make_feats.sh (27 s)",
    "test_graph.py::test_build_graph_sh": "steps/build_graph.sh (19 s)",
    "test_graph.py::test_build_graph_sh_errors": "steps/build_graph.sh, several times (16 s)",
    "test_faces.py::test_affectnet_csv_preparation_and_face_crops": "stages 0 and 1 on a face tree (20 s)",
    "test_face_backbones.py::test_densenet121_max_pools_pre_relu_features_and_loads_local_weights":
        "a whole DenseNet-121 (20 s)",
    "test_svm.py::test_step_script_end_to_end": "steps/train_svm.sh with its grid search (18 s)",
}
# test_provenance.py: the tests on its module fixture `recipe`, a mini recipe run through stages 0-5
# (with a second front-end) that they then rerun with other settings (about 5 min in all)
RECIPE_TESTS.update({f"test_provenance.py::{name}": "stages 0-5 of a mini recipe, rerun" for name in (
    "test_a_finished_stage_asked_for_other_features_is_refused_and_kept",
    "test_other_classes_or_graph_settings_are_refused",
    "test_features_remade_renormalise_and_refuse_the_old_models",
    "test_global_statistics_for_every_fold_after_a_quick_run",
    "test_rescoring_replaces_the_row",
    "test_two_runs_in_one_directory_the_second_exits_at_once",
    "test_scores_and_models_record_what_made_them",
)})


def tier_of(rel_path: str, test_name: str = "") -> str:
    """The tier of a test by the rule above: its file (a path relative to tests/) and its name
    (without parameters)."""
    name = rel_path.rsplit("/", 1)[-1]
    if rel_path in CORPUS_FILES:
        return "corpus"
    if (rel_path in RECIPE_FILES or f"{rel_path}::{test_name}" in RECIPE_TESTS
            or (name.startswith("test_recipe_") and name.endswith(".py"))):
        return "recipe"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(t) for t in TIERS):
            continue
        try:
            rel = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
        except ValueError:  # a test outside tests/ (pytest given another path)
            rel = Path(str(item.path)).name
        item.add_marker(getattr(pytest.mark, tier_of(rel, getattr(item, "originalname", item.name))))


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


def make_label_dir(path: Path, labels: list[str], va: list[tuple[float, float]] | None = None) -> tuple[Path, list[str]]:
    """A data directory of len(labels) utterances over two speakers (no media), for graph tests:
    (its path, its utterance ids in the order of labels)."""
    from emogcn.data.datadir import spk2utt_from_utt2spk, write_map

    path.mkdir(parents=True)
    utts = [f"spk{i % 2}-utt{i:03d}" for i in range(len(labels))]
    utt2spk = {u: u.split("-")[0] for u in utts}
    write_map(path / "utt2spk", utt2spk)
    write_map(path / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_map(path / "utt2emo", dict(zip(utts, labels)))
    if va is not None:
        write_map(path / "utt2va", {u: f"{v:.3f} {a:.3f}" for u, (v, a) in zip(utts, va)})
    return path, utts
