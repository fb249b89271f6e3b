"""egs/<corpus>/run.sh for every corpus: the thin recipes (each names its corpus, has its prepare
script and label map, and hands its defaults and the user's options to steps/run_corpus.sh, which
parses them), stage 0 (steps/prepare_corpus.sh) and the class selection that gives every recipe
the four-class option."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO, link_recipe_dir, make_data_dir, run_sh
from emogcn.config import ConfigError
from emogcn.data import datadir as dd
from emogcn.data.labels import resolve_classes
from test_prepare_corpora import audio, script

CORPORA = sorted(p.stem.removeprefix("prepare_") for p in (REPO / "local").glob("prepare_*.py"))
# every recipe directory but the multilingual one, which drives several corpus recipes
RECIPES = sorted(p.parent.name for p in (REPO / "egs").glob("*/run.sh") if p.parent.name != "multilingual")
FOUR = ["anger", "happiness", "neutral", "sadness"]
# options a user gives a recipe: run.sh must pass them on verbatim (one argument with a space
# stays one), after the recipe's own defaults so that they win
USER_OPTIONS = ["--stage", "3", "--folds", "1 2", "--classes", "four", "--epochs", "1"]


def _option(text: str, name: str, default: str) -> str:
    import re

    m = re.search(rf"--{name} (\S+)", text)
    return m.group(1) if m else default


def test_every_prepared_corpus_has_a_recipe():
    assert len(CORPORA) == 20  # 16 speech corpora and 4 face corpora
    assert RECIPES == CORPORA  # and every recipe has its prepare script
    for corpus in CORPORA:
        d = REPO / "egs" / corpus
        run = d / "run.sh"
        assert run.is_file() and os.access(run, os.X_OK), corpus
        text = run.read_text()
        assert f"--corpus {corpus}" in text, corpus
        # the configs its run.sh names (or run_corpus.sh's defaults) resolve from the recipe
        train_config = _option(text, "train-config", "conf/train_mlp.yaml")
        needed = ["steps", "utils", "local", "path.sh", "cmd.sh", "conf/emotions.yaml", "conf/graph.yaml",
                  "conf/label_words.yaml", _option(text, "feat-config", "conf/compare.yaml"), train_config]
        for name in needed:
            assert (d / name).exists(), f"{corpus}: {name} is missing or a broken link"


def test_every_corpus_has_its_prepare_script_and_label_map(capsys):
    cfg = yaml.safe_load((REPO / "conf/emotions.yaml").read_text())
    for corpus in CORPORA:
        module = script(corpus)  # local/prepare_<corpus>.py, imported
        assert module.CORPUS == corpus
        codes = cfg["corpora"].get(corpus)
        assert codes, f"conf/emotions.yaml has no corpora.{corpus} label map"
        assert set(codes.values()) <= set(cfg["classes"]), (corpus, set(codes.values()) - set(cfg["classes"]))
        with pytest.raises(SystemExit) as e:
            module.main(["--help"])
        assert e.value.code == 0, corpus
        out = capsys.readouterr().out
        assert module.__doc__.splitlines()[0] in out and "--folds-dir" in out, corpus


def _stub_recipe(tmp_path: Path, corpus: str) -> Path:
    """egs/<corpus>/run.sh beside a stub steps/run_corpus.sh that records its arguments."""
    d = tmp_path / corpus
    (d / "steps").mkdir(parents=True)
    shutil.copy2(REPO / "egs" / corpus / "run.sh", d / "run.sh")
    stub = d / "steps" / "run_corpus.sh"
    stub.write_text('#!/usr/bin/env bash\nprintf \'%s\\0\' "$@" > args\n')
    stub.chmod(0o755)
    return d


def test_every_recipe_names_its_corpus_and_passes_the_users_options_on(tmp_path):
    for corpus in CORPORA:
        d = _stub_recipe(tmp_path, corpus)
        subprocess.run(["./run.sh", *USER_OPTIONS], cwd=d, check=True)
        args = (d / "args").read_bytes().decode().split("\0")[:-1]
        assert args[:2] == ["--corpus", corpus], (corpus, args)
        assert args[-len(USER_OPTIONS):] == USER_OPTIONS, (corpus, args)
        defaults = args[2:-len(USER_OPTIONS)]  # the recipe's own: option-value pairs
        assert len(defaults) % 2 == 0 and all(a.startswith("--") for a in defaults[::2]), (corpus, defaults)


def test_run_corpus_parses_every_recipes_defaults_and_options():
    """The real steps/run_corpus.sh, stopped by --help before any work: utils/parse_options.sh
    rejects an option it does not know and a non-boolean value of a boolean option, so each
    recipe's defaults and the user's options are all valid options of the driver."""
    opts = " ".join(f"'{o}'" for o in USER_OPTIONS)
    for corpus in CORPORA:
        p = run_sh(f"./run.sh {opts} --help", REPO / "egs" / corpus)
        assert "Usage:" in p.stderr and "--corpus <name>" in p.stderr, (corpus, p.stderr)
    p = run_sh("./run.sh --no-such-option 1", REPO / "egs" / "emodb", check=False)
    assert p.returncode != 0 and "unknown option '--no-such-option'" in p.stderr


def _scratch_recipe(tmp_path: Path, corpus: str) -> Path:
    """A copy of egs/<corpus> whose links point into the checkout, as a user's clone has it."""
    d = tmp_path / corpus
    d.mkdir()
    src = REPO / "egs" / corpus
    for entry in src.iterdir():
        if entry.name in ("data", "exp", "RESULTS.md"):
            continue
        if entry.is_symlink():
            os.symlink(entry.resolve(), d / entry.name)
        elif entry.is_dir():
            shutil.copytree(src / entry.name, d / entry.name, symlinks=False)
        else:
            shutil.copy2(entry, d / entry.name)
    return d


def test_ravdess_stage_0_with_four_classes(tmp_path):
    root = tmp_path / "RAVDESS"
    names = []
    for actor in ("01", "02", "03", "04"):
        for emo in ("01", "02", "03", "04", "05", "06"):  # neutral calm happy sad angry fearful
            names.append(f"Actor_{actor}/03-01-{emo}-01-01-01-{actor}.wav")
    for rel in names:
        audio(root / rel)
    audio(root / "Actor_01/03-02-05-01-01-01-01.wav")  # song: skipped and reported
    recipe = _scratch_recipe(tmp_path, "ravdess")
    p = run_sh(f"./run.sh --db-root {root} --stop-stage 0 --classes four", recipe)
    all_dir = recipe / "data/all"
    labels = dd.read_map(all_dir / "utt2emo")
    assert sorted(set(labels.values())) == FOUR
    assert len(labels) == 4 * 4  # calm and fear dropped, counted
    assert "dropped 4 calm, 4 fear" in p.stderr
    assert "song (vocal channel 02)" in p.stderr
    folds = sorted((recipe / "data/folds").glob("fold*"))
    assert len(folds) == 4  # 4 actors: leave-one-speaker-out
    for fold in folds:
        spk = {name: set(dd.read_map(fold / name / "utt2spk").values()) for name in ("train", "dev", "test")}
        assert not spk["test"] & (spk["train"] | spk["dev"])
        assert set(dd.read_map(fold / "train/utt2emo").values()) <= set(FOUR)
    assert not list((recipe / "data").glob("*.tmp"))
    again = run_sh(f"./run.sh --db-root {root} --stop-stage 0 --classes four", recipe)
    assert "stage 0: data/all and data/folds already done" in again.stderr


def test_stage_0_names_a_missing_corpus_folder(tmp_path):
    recipe = _scratch_recipe(tmp_path, "emovo")
    p = run_sh(f"./run.sh --db-root {tmp_path}/nowhere --stop-stage 0", recipe, check=False)
    assert p.returncode != 0 and "nowhere' not found" in p.stderr
    assert not (recipe / "data/all").exists()


def test_select_classes_keeps_every_file_in_step(tmp_path):
    d = make_data_dir(tmp_path / "d", {"a-s1": 3, "a-s2": 3}, labels=("anger", "neutral", "calm"))
    dd.write_map(d / "cmvn.scp", {"a-s1": "x.ark:1", "a-s2": "x.ark:2"})
    (d / ".done").write_text("done\n")
    dropped = dd.select_classes(d, ["anger", "neutral"])
    assert dropped == {"calm": 2}
    assert dd.validate_data_dir(d, dd.ValidateOptions()) == 4
    assert set(dd.read_map(d / "utt2emo").values()) == {"anger", "neutral"}
    assert (d / ".done").is_file() and (d / "cmvn.scp").is_file()
    assert dd.select_classes(d, ["anger", "neutral"]) == {}  # nothing to drop: untouched
    with pytest.raises(dd.DataDirError, match="no utterance has one of the classes boredom"):
        dd.select_classes(d, ["boredom"])


def test_resolve_classes():
    labels = REPO / "conf/emotions.yaml"
    assert resolve_classes("all", labels) is None
    assert resolve_classes("four", labels) == FOUR
    assert resolve_classes("anger, sadness", labels) == ["anger", "sadness"]
    with pytest.raises(ConfigError, match="unknown: angry"):
        resolve_classes("angry,sadness", labels)


def test_combine_carries_speaker_files(tmp_path):
    a = make_data_dir(tmp_path / "a", {"x-s1": 2})
    b = make_data_dir(tmp_path / "b", {"y-s1": 2})
    dd.write_map(a / "cmvn.scp", {"x-s1": "a.ark:1"})
    dd.write_map(b / "cmvn.scp", {"y-s1": "b.ark:1"})
    dd.combine_data(tmp_path / "ab", [a, b])
    assert dd.read_map(tmp_path / "ab/cmvn.scp") == {"x-s1": "a.ark:1", "y-s1": "b.ark:1"}


def test_fusion_partner_must_be_functionals(tmp_path):
    # --fusion names an SVM's features: frame features are refused in one line, before any work
    d = link_recipe_dir(tmp_path / "recipe")
    p = run_sh("steps/run_corpus.sh --corpus mini --stage 1 --fusion conf/fbank.yaml", d, check=False)
    assert p.returncode == 1 and ("--fusion conf/fbank.yaml: expected openSMILE functionals "
                                  "(conf/egemaps.yaml, conf/compare.yaml) or none") in p.stderr, p.stderr
    assert not (d / "data").exists()
