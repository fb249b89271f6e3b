"""Fault injection, data directories, labels and features: each case is either a clear one-line
error naming the file, line and problem before any work is done, or dropped, counted and logged."""

from __future__ import annotations

import shutil

import kaldiio
import numpy as np
import pytest
import yaml

from conftest import REPO, make_data_dir, run_sh
from emogcn.data import datadir as dd
from test_prepare_corpora import audio


def _replace(name, old, new, count=1):
    def corrupt(d):
        p = d / name
        p.write_bytes(p.read_bytes().replace(old, new, count))
    return corrupt


def _duplicate(d):
    lines = (d / "utt2emo").read_text().splitlines()
    (d / "utt2emo").write_text("\n".join([lines[0]] + lines) + "\n")


def _unsorted(d):
    lines = (d / "utt2emo").read_text().splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    (d / "utt2emo").write_text("\n".join(lines) + "\n")


def _dangling(d):
    (d / "utt2emo").write_text((d / "utt2emo").read_text() + "c-s9-u000 anger\n")


DATA_CASES = {
    "duplicate_key": (_duplicate, r"utt2emo:2: duplicate key 'c-s1-u000' \(first on line 1\)"),
    "unsorted_keys": (_unsorted, r"utt2emo:2: not sorted"),
    "dangling_key": (_dangling, r"utt2emo:7: utterance 'c-s9-u000' is not in utt2spk"),
    "unknown_label": (_replace("utt2emo", b"anger", b"angry"), r"(utt2emo:1: unknown|'c-s1-u000' has) label 'angry'"),
    "dims_out_of_range": (_replace("utt2va", b"-0.5", b"-1.5"), r"utt2va:1: value -1.5 outside \[-1, 1\]"),
    "dims_not_numeric": (_replace("utt2va", b"-0.5", b"high"), r"utt2va:1: 'high' is not a number"),
    "dims_nan": (_replace("utt2va", b"-0.5", b"nan"), r"utt2va:1: value nan outside"),
    "non_utf8": (_replace("utt2emo", b"anger", b"ang\xe9r"), r"utt2emo:1: not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_directory_is_refused_before_any_work(recipe_dir, case):
    import re

    d = make_data_dir(recipe_dir / "data", {"c-s1": 3, "c-s2": 3})
    corrupt, message = DATA_CASES[case]
    corrupt(d)
    # stage 0's check (with the label set), and the first stage that reads what is broken: stage 1
    # reads every file, stage 3 (the graph) is the first to use the label set
    first = "steps/build_graph.sh data exp/graph" if case == "unknown_label" else "steps/make_feats.sh data exp/log feats"
    for cmd in ("utils/validate_data_dir.sh --labels conf/emotions.yaml data", first):
        p = run_sh(cmd, recipe_dir, check=False)
        assert p.returncode != 0, cmd
        errors = [line for line in p.stderr.splitlines() if "error" in line]
        assert errors and re.search(message, errors[0]), p.stderr
    assert not (recipe_dir / "feats").exists() or not any((recipe_dir / "feats").iterdir())
    assert not (d / "feats.scp").exists()


def _emodb_fixture(root):
    for name in ("03a01Wa.wav", "03a01La.wav", "08a02Fb.wav", "08a02Lb.wav", "09b01Na.wav"):
        audio(root / "wav" / name)


def test_label_map_without_a_corpus_label_skips_and_counts(tmp_path):
    _emodb_fixture(tmp_path / "emodb")
    labels = yaml.safe_load((REPO / "conf/emotions.yaml").read_text())
    del labels["corpora"]["emodb"]["L"]  # boredom left out of the map
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels, allow_unicode=True))
    p = run_sh(f"python local/prepare_emodb.py --labels {tmp_path}/labels.yaml {tmp_path}/emodb {tmp_path}/all", REPO)
    utt2emo = dd.read_map(tmp_path / "all/utt2emo")
    assert len(utt2emo) == 3 and "boredom" not in utt2emo.values()
    assert "emotion code 'L' is not in" in p.stderr
    assert "skipped 2" in p.stderr, p.stderr


def test_unknown_file_name_is_skipped_and_reported(tmp_path):
    _emodb_fixture(tmp_path / "emodb")
    audio(tmp_path / "emodb/wav/03a01Xa.wav")  # no emotion X
    p = run_sh(f"python local/prepare_emodb.py {tmp_path}/emodb {tmp_path}/all", REPO)
    assert len(dd.read_map(tmp_path / "all/utt2emo")) == 5
    assert "03a01Xa.wav" in p.stderr and "emotion code 'X'" in p.stderr


def test_folder_mends_a_name_and_a_contradicting_folder_is_skipped(tmp_path):
    top = tmp_path / "tess" / "TESS Toronto emotional speech set data"
    audio(top / "OAF_neutral" / "OAF_back_neutral.wav")
    audio(top / "OAF_neutral" / "OA_bite_neutral.wav")  # the release's typo: the folder names OAF
    audio(top / "OAF_angry" / "YAF_dog_angry.wav")  # the folder contradicts the name
    audio(top / "YAF_sad" / "YAF_dog_sad.wav")
    p = run_sh(f"python local/prepare_tess.py '{tmp_path}/tess' {tmp_path}/all", REPO)
    assert sorted(dd.read_map(tmp_path / "all/utt2emo")) == ["tess-oaf-back-neutral", "tess-oaf-bite-neutral",
                                                             "tess-yaf-dog-sad"]
    assert "took from the folder " in p.stderr and "OA_bite_neutral.wav: speaker 'OAF'" in p.stderr
    assert "YAF_dog_angry.wav: speaker folder and file name disagree" in p.stderr
    assert "3 utterances, 2 speakers, 1 audio file(s) skipped, 1 with speaker or emotion from the folder" in p.stderr


def test_nothing_left_after_class_selection_is_an_error(recipe_dir):
    make_data_dir(recipe_dir / "data", {"c-s1": 3}, labels=("anger", "neutral"))
    p = run_sh("python -m emogcn.bin.datadir select-classes --classes sadness,fear data", recipe_dir, check=False)
    assert p.returncode == 1 and "data: no utterance has one of the classes fear, sadness" in p.stderr
    assert len(dd.read_map(recipe_dir / "data/utt2spk")) == 3  # left as it was


def test_every_utterance_failing_fails_stage_1(recipe_dir):
    d = make_data_dir(recipe_dir / "data", {"c-s1": 3})  # every wav.scp path is missing
    p = run_sh("steps/make_feats.sh data exp/log feats", recipe_dir, check=False)
    assert p.returncode != 0 and "3 of 3" in p.stderr
    assert not (d / "feats.scp").exists()


def _train(recipe, train, dev="data/folds/fold1/dev", exp="exp/t"):
    return run_sh(f"steps/train.sh --gpu -1 tiny.yaml {train} {dev} exp/graph {exp}", recipe, check=False)


def test_nan_in_features_fails_training_before_the_first_step(mini):
    bad = mini / "data/nan_train"
    if bad.exists():
        shutil.rmtree(bad)
    shutil.copytree(mini / "data/folds/fold1/train", bad)
    feats = dd.read_map(bad / "feats.scp")
    victim = sorted(feats)[3]
    mat = np.array(kaldiio.load_mat(feats[victim]))
    mat[5, 7] = np.nan
    kaldiio.save_ark(str(mini / "data/nan.ark"), {victim: mat}, scp=str(mini / "data/nan.scp"))
    feats[victim] = dd.read_map(mini / "data/nan.scp")[victim]
    dd.write_map(bad / "feats.scp", feats)
    p = _train(mini, "data/nan_train", exp="exp/nan")
    assert p.returncode != 0
    assert f"features of '{victim}'" in p.stderr and "NaN or infinite" in p.stderr
    assert not (mini / "exp/nan/checkpoints/last.pt").exists()


def test_a_class_without_training_examples_is_named(mini):
    train = mini / "data/no_fear_train"
    if train.exists():
        shutil.rmtree(train)
    shutil.copytree(mini / "data/folds/fold1/train", train)
    dd.select_classes(train, ["anger", "happiness", "neutral", "sadness"])
    p = _train(mini, "data/no_fear_train", exp="exp/no_fear")  # the graph (and dev set) still has fear
    assert p.returncode != 0
    assert "no training examples of class(es) fear" in p.stderr
