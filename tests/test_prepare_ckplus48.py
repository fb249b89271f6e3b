"""local/prepare_ckplus48.py: CK+48 naming, every skipped file reported, subject-independent folds
(no subject and no sequence on two sides), on generated trees and on the real corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from emogcn.data.datadir import ValidateOptions, read_map, validate_data_dir
from emogcn.data.labels import load_label_config, load_label_set
from emogcn.graph.priors import class_priors
from test_prepare_corpora import LABELS, ROOT, prepare

CKPLUS48 = ROOT.parent / "shared" / "corpora" / "ckplus48"
FOLDERS = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def face(path: Path, value: int = 128) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((48, 48), value, np.uint8), mode="L").save(path)
    return path


def sequence(root: Path, folder: str, subject: int, seq: int, first_frame: int = 10, frames: int = 3) -> list[Path]:
    """The last `frames` frames of one sequence, named as CK+48 names them."""
    return [face(root / folder / f"S{subject:03d}_{seq:03d}_{f:08d}.png")
            for f in range(first_frame, first_frame + frames)]


def sets_of(fold: Path) -> dict[str, dict[str, str]]:
    return {name: read_map(fold / name / "utt2spk") for name in ("train", "dev", "test")}


def sequence_of(utt: str) -> str:
    return utt.rsplit("-", 1)[0]  # ckplus48-s010-004-00000017 -> ckplus48-s010-004


def test_label_map_covers_every_folder_and_the_graph_has_what_each_class_needs():
    cfg = load_label_config(LABELS)
    mapped = cfg["corpora"]["ckplus48"]
    assert sorted(mapped) == sorted(FOLDERS)
    classes = sorted(set(mapped.values()))
    assert classes == ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
    assert set(classes) <= set(cfg["classes"])
    priors = class_priors(classes)  # the `prior` graph needs valence/arousal of each, contempt included
    assert priors["contempt"] == pytest.approx((2 * 0.206 - 1, 2 * 0.635 - 1))  # NRC VAD v1: 0.206, 0.635
    import yaml

    words = yaml.safe_load((ROOT / "conf" / "label_words.yaml").read_text(encoding="utf-8"))
    assert all(words[c]["en"] == c for c in classes)  # node words for word-vector node features


def test_names_folders_and_every_skip(tmp_path, capsys):
    root = tmp_path / "CK+48"
    sequence(root, "ANGER", 10, 4, first_frame=17)  # folder case varies between copies
    sequence(root, "Happy", 10, 6)
    sequence(root, "contempt", 11, 2)
    face(root / "surprise" / "S005_001_00000009.png")
    # Skipped, each with its reason:
    face(root / "surprise" / "S5_1_9.png")  # other padding, the same frame again: duplicate id
    face(root / "stray.png")  # at the top, in no class folder
    face(root / "neutral" / "S012_001_00000001.png")  # CK+48 has no neutral folder
    face(root / "fear" / "face.png")  # name does not parse
    face(root / "fear" / "._S013_001_00000001.png")  # macOS metadata
    conflict = sequence(root, "sadness", 14, 3, frames=2) + sequence(root, "disgust", 14, 3, first_frame=12, frames=1)
    (root / "README.txt").write_text("not an image\n")  # ignored, not reported
    err = prepare("ckplus48", root, tmp_path / "all", capsys)

    out = tmp_path / "all"
    assert validate_data_dir(out, ValidateOptions(need_media=True, labels=load_label_set(LABELS))) == 10
    emo = read_map(out / "utt2emo")
    assert emo == {
        **{f"ckplus48-s010-004-{f:08d}": "anger" for f in (17, 18, 19)},
        **{f"ckplus48-s010-006-{f:08d}": "happiness" for f in (10, 11, 12)},
        **{f"ckplus48-s011-002-{f:08d}": "contempt" for f in (10, 11, 12)},
        "ckplus48-s005-001-00000009": "surprise",
    }
    assert read_map(out / "utt2spk")["ckplus48-s010-004-00000017"] == "ckplus48-s010"
    assert read_map(out / "spk2utt").keys() == {"ckplus48-s005", "ckplus48-s010", "ckplus48-s011"}
    assert set(read_map(out / "utt2corpus").values()) == {"ckplus48"}
    assert not (out / "utt2lang").exists() and not (out / "utt2va").exists() and not (out / "wav.scp").exists()
    img = read_map(out / "img.scp")
    assert img["ckplus48-s010-004-00000017"] == str((root / "ANGER" / "S010_004_00000017.png").resolve())
    assert Path(img["ckplus48-s005-001-00000009"]).name == "S005_001_00000009.png"  # the first in walk order

    skipped = {line.split("prepare_ckplus48: skipped ", 1)[1] for line in err.splitlines()
               if line.startswith("prepare_ckplus48: skipped /")}
    expected = {
        root / "surprise" / "S5_1_9.png": "duplicate utterance id",
        root / "stray.png": "not in a class folder",
        root / "neutral" / "S012_001_00000001.png": "not in a class folder",
        root / "fear" / "face.png": "name does not parse",
        root / "fear" / "._S013_001_00000001.png": "macOS metadata file",
        **{p: "sequence under more than one class folder (S014_003 is in disgust, sadness)" for p in conflict},
    }
    assert len(skipped) == len(expected) == 8
    for path, reason in expected.items():
        assert any(line.startswith(f"{path}: {reason}") for line in skipped), (path, reason, skipped)
    assert "skipped 8 image file(s) in all: 3 sequence under more than one class folder; 2 not in a class folder" in err
    assert "10 utterances, 3 speakers, 8 image file(s) skipped" in err
    assert "per class: anger=3 contempt=3 happiness=3 surprise=1" in err


def _subjects_tree(root: Path, num_subjects: int) -> None:
    """Subjects with 1-3 sequences of different classes, three frames each."""
    for s in range(1, num_subjects + 1):
        for j in range(1 + s % 3):
            sequence(root, FOLDERS[(s + j) % len(FOLDERS)], subject=s * 5, seq=j + 1)


def check_subject_folds(folds: Path, all_dir: Path, num_folds: int) -> None:
    """No subject and no sequence on two sides of a fold; every subject tested once and dev once,
    dev of fold k = test of fold k+1."""
    fold_dirs = [folds / f"fold{k}" for k in range(1, num_folds + 1)]
    assert sorted(folds.glob("fold*")) == sorted(fold_dirs)
    everything = read_map(all_dir / "utt2spk")
    tested, dev_of = Counter(), Counter()
    for k, fold in enumerate(fold_dirs):
        sets = sets_of(fold)
        for name in sets:
            validate_data_dir(fold / name)
        spk = {name: set(m.values()) for name, m in sets.items()}
        seq = {name: {sequence_of(u) for u in m} for name, m in sets.items()}
        for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
            assert spk[a] and spk[b] and not spk[a] & spk[b], (fold, a, b)
            assert not seq[a] & seq[b], (fold, a, b)
        assert sets["train"].keys() | sets["dev"].keys() | sets["test"].keys() == everything.keys()
        assert spk["dev"] == set(sets_of(fold_dirs[(k + 1) % num_folds])["test"].values())
        tested.update(spk["test"])
        dev_of.update(spk["dev"])
    subjects = set(everything.values())
    assert tested == dev_of == Counter({s: 1 for s in subjects})


def test_ten_subject_independent_folds_by_default(tmp_path, capsys):
    root = tmp_path / "CK+48"
    _subjects_tree(root, 25)
    err = prepare("ckplus48", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    assert "wrote 10 fold(s)" in err and "25 subjects in 10 groups" in err
    check_subject_folds(tmp_path / "folds", tmp_path / "all", 10)
    # Round-robin over the sorted subjects: group 1 holds the 1st, 11th and 21st.
    assert set(read_map(tmp_path / "folds/fold1/test/utt2spk").values()) == {"ckplus48-s005", "ckplus48-s055",
                                                                           "ckplus48-s105"}
    # A rerun with fewer groups leaves no stale fold behind.
    prepare("ckplus48", root, tmp_path / "all", capsys, "--num-groups", "4", folds=tmp_path / "folds")
    check_subject_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_fold_errors_are_one_line(tmp_path, capsys):
    root = tmp_path / "CK+48"
    _subjects_tree(root, 4)
    err = prepare("ckplus48", root, tmp_path / "all", capsys, "--num-groups", "2", folds=tmp_path / "folds", rc=1)
    assert err.strip().splitlines()[-1] == ("prepare_ckplus48: error: --num-groups 2: train, dev and test need "
                                            "3 subject groups at least")
    err = prepare("ckplus48", root, tmp_path / "all", capsys, "--num-groups", "5", folds=tmp_path / "folds", rc=1)
    assert err.strip().splitlines()[-1] == "prepare_ckplus48: error: cannot make 5 groups from 4 speakers"
    assert validate_data_dir(tmp_path / "all") == len(read_map(tmp_path / "all" / "utt2spk"))
    err = prepare("ckplus48", tmp_path / "nowhere", tmp_path / "x", capsys, rc=1)
    assert err.strip().splitlines() == [f"prepare_ckplus48: error: {tmp_path / 'nowhere'}: corpus folder not found"]


@pytest.mark.corpus  # ../shared/corpora
def test_real_corpus(tmp_path, capsys):
    if not CKPLUS48.is_dir():
        pytest.fail(f"CK+48 not found at {CKPLUS48}: this test needs ../shared/corpora/ckplus48")
    err = prepare("ckplus48", CKPLUS48, tmp_path / "all", capsys, folds=tmp_path / "folds")
    assert "981 utterances, 118 speakers, 0 image file(s) skipped" in err
    # The class counts of the corpus's README.
    assert Counter(read_map(tmp_path / "all" / "utt2emo").values()) == {
        "anger": 135, "contempt": 54, "disgust": 177, "fear": 75, "happiness": 207, "sadness": 84, "surprise": 249}
    check_subject_folds(tmp_path / "folds", tmp_path / "all", 10)
    for k in range(1, 11):  # every fold trains on all seven classes
        assert len(set(read_map(tmp_path / f"folds/fold{k}/train/utt2emo").values())) == 7
