"""Data-directory behaviour: validation errors name file and line; fix, subset, combine, split, folds."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_data_dir, write_lines
from emogcn.data import datadir as dd
from emogcn.data.folds import make_folds, speaker_groups


def test_valid_dir_passes(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3, "s2": 2})
    assert dd.validate_data_dir(d) == 5


def test_unsorted_entry_names_file_and_line(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3})
    lines = (d / "utt2emo").read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(d / "utt2emo", lines)
    with pytest.raises(dd.DataDirError, match=r"utt2emo:3: not sorted"):
        dd.validate_data_dir(d)


def test_duplicate_entry_names_both_lines(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3})
    lines = (d / "wav.scp").read_text().splitlines()
    write_lines(d / "wav.scp", lines[:2] + [lines[1]] + lines[2:])
    with pytest.raises(dd.DataDirError, match=r"wav.scp:3: duplicate key 's1-u001' \(first on line 2\)"):
        dd.validate_data_dir(d)


def test_dangling_entry_is_named(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 2})
    with open(d / "utt2emo", "a") as f:
        f.write("s1-u999 anger\n")
    with pytest.raises(dd.DataDirError, match=r"utt2emo:3: utterance 's1-u999' is not in utt2spk"):
        dd.validate_data_dir(d)


def test_missing_entry_is_named(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3})
    write_lines(d / "utt2emo", (d / "utt2emo").read_text().splitlines()[:2])
    with pytest.raises(dd.DataDirError, match=r"utt2emo: utterance 's1-u002' of utt2spk is missing"):
        dd.validate_data_dir(d)


def test_dimensions_may_cover_some_utterances(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3})
    write_lines(d / "utt2va", (d / "utt2va").read_text().splitlines()[:2])
    assert dd.validate_data_dir(d) == 3  # a set pooled from corpora with and without dimensions
    dd.fix_data_dir(d)
    assert len(dd.read_map(d / "utt2spk")) == 3 and len(dd.read_map(d / "utt2va")) == 2


@pytest.mark.parametrize(
    "line, problem",
    [("s1-u000 0.5", "expected 2 or 3 values"), ("s1-u000 0.5 abc", "'abc' is not a number"),
     ("s1-u000 1.5 0", "value 1.5 outside"), ("s1-u000 nan 0", "value nan outside")],
)
def test_bad_dimensions(tmp_path, line, problem):
    d = make_data_dir(tmp_path / "d", {"s1": 2})
    lines = (d / "utt2va").read_text().splitlines()
    write_lines(d / "utt2va", [line] + lines[1:])
    with pytest.raises(dd.DataDirError, match=rf"utt2va:1: {problem}"):
        dd.validate_data_dir(d)


def test_unknown_label_with_label_set(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 2}, labels=("anger", "rage"))
    with pytest.raises(dd.DataDirError, match=r"utt2emo:2: unknown label 'rage'"):
        dd.validate_data_dir(d, dd.ValidateOptions(labels={"anger", "neutral"}))


def test_non_utf8_names_line(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 2})
    (d / "utt2emo").write_bytes(b"s1-u000 anger\ns1-u001 \xff\xfe\n")
    with pytest.raises(dd.DataDirError, match=r"utt2emo:2: not valid UTF-8"):
        dd.validate_data_dir(d)


def test_utterance_must_begin_with_speaker(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 1})
    write_lines(d / "utt2spk", ["s1-u000 s2"])
    write_lines(d / "spk2utt", ["s2 s1-u000"])
    with pytest.raises(dd.DataDirError, match=r"utt2spk:1: utterance id 's1-u000' does not begin with its speaker"):
        dd.validate_data_dir(d)


def test_spk2utt_must_match(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 2, "s2": 1})
    write_lines(d / "spk2utt", ["s1 s1-u000", "s2 s2-u000"])
    with pytest.raises(dd.DataDirError, match=r"spk2utt:1: utterances of 's1' differ"):
        dd.validate_data_dir(d)


def test_fix_data_dir_sorts_dedups_and_reports(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3, "s2": 2})
    wav = (d / "wav.scp").read_text().splitlines()
    write_lines(d / "wav.scp", list(reversed(wav[1:])) + [wav[2]])  # drop one, unsort, duplicate one
    report = dd.fix_data_dir(d)
    assert report == {"duplicate keys in wav.scp": 1, "not in every file, removed from utt2spk": 1,
                      "not in every file, removed from utt2emo": 1, "not in every file, removed from utt2va": 1}
    assert dd.validate_data_dir(d) == 4
    assert "s1-u000" not in dd.read_map(d / "utt2emo")
    assert "s1-u000" not in (d / "spk2utt").read_text()
    assert (d / ".backup" / "wav.scp").is_file()


def test_fix_data_dir_nothing_left_is_an_error(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 2})
    write_lines(d / "wav.scp", ["other-u1 /x.wav"])
    with pytest.raises(dd.DataDirError, match="no utterances left"):
        dd.fix_data_dir(d)


def test_subset_carries_emotion_files(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 3, "s2": 2, "s3": 1})
    write_lines(d / "utt2lang", [f"{u} de" for u in dd.read_map(d / "utt2spk")])
    n = dd.subset_data_dir(d, tmp_path / "sub", spks=["s2", "s3"])
    assert n == 3
    sub = tmp_path / "sub"
    for name in ("utt2emo", "utt2va", "utt2lang", "wav.scp"):
        assert list(dd.read_map(sub / name)) == ["s2-u000", "s2-u001", "s3-u000"]
    assert dd.validate_data_dir(sub) == 3


def test_combine_and_duplicate_ids(tmp_path):
    a = make_data_dir(tmp_path / "a", {"s1": 2})
    b = make_data_dir(tmp_path / "b", {"s2": 3}, with_va=False)
    assert dd.combine_data(tmp_path / "c", [a, b]) == 5
    assert dd.validate_data_dir(tmp_path / "c") == 5
    # utt2va may be partial: it covers the utterances of the sources that have dimensions
    assert list(dd.read_map(tmp_path / "c" / "utt2va")) == ["s1-u000", "s1-u001"]
    (b / "utt2lang").write_text("s2-u000 de\ns2-u001 de\ns2-u002 de\n")
    dd.combine_data(tmp_path / "c3", [a, b])
    assert not (tmp_path / "c3" / "utt2lang").exists()  # a full file not in every source is left out
    with pytest.raises(dd.DataDirError, match="also in another source"):
        dd.combine_data(tmp_path / "c2", [a, a])


def test_split_by_speaker_keeps_speakers_whole(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 4, "s2": 4, "s3": 4, "s4": 1})
    parts = dd.split_data(d, 3)
    assert [p.name for p in parts] == ["1", "2", "3"]
    spk_sets = [set(dd.read_map(p / "utt2spk").values()) for p in parts]
    assert all(spk_sets)
    assert set().union(*spk_sets) == {"s1", "s2", "s3", "s4"}
    assert sum(len(s) for s in spk_sets) == 4  # no speaker in two parts
    for p in parts:
        dd.validate_data_dir(p)


def test_split_per_utt_and_too_many_jobs(tmp_path):
    d = make_data_dir(tmp_path / "d", {"s1": 5})
    parts = dd.split_data(d, 2, per_utt=True)
    assert [len(dd.read_map(p / "utt2spk")) for p in parts] == [2, 3] or [len(dd.read_map(p / "utt2spk")) for p in parts] == [3, 2]
    with pytest.raises(dd.DataDirError, match="cannot split 1 speakers into 2 parts"):
        dd.split_data(d, 2)


def test_filter_scp():
    lines = ["a 1\n", "b 2\n", "c 3\n"]
    assert list(dd.filter_scp(["a", "c"], lines)) == ["a 1\n", "c 3\n"]
    assert list(dd.filter_scp(["a", "c"], lines, exclude=True)) == ["b 2\n"]


def test_speaker_groups():
    spk = ["a", "b", "c", "d", "e"]
    assert speaker_groups(spk, "loso") == [["a"], ["b"], ["c"], ["d"], ["e"]]
    assert speaker_groups(spk, "groups", 2) == [["a", "c", "e"], ["b", "d"]]


def test_folds_are_speaker_independent(tmp_path):
    d = make_data_dir(tmp_path / "all", {f"s{i}": 2 for i in range(5)})
    folds = make_folds(d, tmp_path / "folds", protocol="loso", num_dev_speakers=1)
    assert len(folds) == 5
    dev_speakers = []
    for fold in folds:
        spk = {name: set(dd.read_map(fold / name / "utt2spk").values()) for name in ("train", "dev", "test")}
        assert not spk["train"] & spk["test"] and not spk["dev"] & spk["test"] and not spk["train"] & spk["dev"]
        assert len(spk["test"]) == 1 and len(spk["dev"]) == 1 and len(spk["train"]) == 3
        dev_speakers.extend(spk["dev"])
    assert sorted(dev_speakers) == [f"s{i}" for i in range(5)]  # each speaker is dev once


def test_rater_votes_are_checked_partial_and_carried_into_subsets(tmp_path):
    """utt2votes (`<utt> <label>:<count> ...`) may cover some utterances (only some corpora ship
    votes), must parse, and travels with its utterances into subsets such as the folds."""
    d = make_data_dir(tmp_path / "d", {"s1": 3, "s2": 3})
    utts = dd.read_list(d / "utt2spk")
    write_lines(d / "utt2votes", [f"{utts[0]} anger:3 neutral:1", f"{utts[4]} neutral:2"])
    assert dd.validate_data_dir(d) == 6
    dd.subset_data_dir(d, tmp_path / "s2", spks=["s2"])
    assert dd.read_map(tmp_path / "s2" / "utt2votes") == {utts[4]: "neutral:2"}
    write_lines(d / "utt2votes", [f"{utts[0]} anger:three"])
    with pytest.raises(dd.DataDirError, match=r"utt2votes:1: 'anger:three' is not <label>:<count>"):
        dd.validate_data_dir(d)
