"""The speaker-emotion confound guard: stage 0 reports it, and per-speaker normalisation is refused
where speakers and emotions are confounded (emogcn/data/confound.py)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import FAULT_TRAIN_CONFIG, make_data_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.data.confound import check_speaker_cmvn, speaker_emotion_confound


def _maps(per_speaker: dict[str, list[str]]):
    utt2spk, utt2emo = {}, {}
    for spk, labels in per_speaker.items():
        for i, label in enumerate(labels):
            utt2spk[f"{spk}-{i}"] = spk
            utt2emo[f"{spk}-{i}"] = label
    return utt2spk, utt2emo


def test_balanced_actors_are_not_confounded_and_one_emotion_speakers_are():
    acted = _maps({f"s{k}": ["anger", "neutral", "sadness"] * 4 for k in range(5)})
    c = speaker_emotion_confound(*acted)
    assert c.share == pytest.approx(0.0, abs=1e-9) and c.coverage == 1.0 and c.num_classes == 3
    check_speaker_cmvn(c, "acted")  # allowed
    talk_show = _maps({f"s{k}": [("anger", "neutral", "sadness")[k % 3]] * 6 + ["neutral"] for k in range(6)})
    c = speaker_emotion_confound(*talk_show)
    assert c.share > 0.6 and c.coverage == 0.0
    with pytest.raises(ValueError) as e:
        check_speaker_cmvn(c, "data/folds/fold1/train")
    message = str(e.value)
    assert message.startswith("data/folds/fold1/train: per-speaker normalisation (cmvn: speaker) on data whose speakers")
    assert "--cmvn global" in message and "cmvn_confound_limit" in message and "\n" not in message


def test_training_refuses_speaker_cmvn_on_a_confounded_set_unless_overridden(mini, tmp_path):
    # the mini recipe's utterances, relabelled so that each of its 4 speakers speaks one emotion
    train = tmp_path / "train"
    src = mini / "data/all"
    dd.subset_data_dir(src, train, utts=dd.read_map(src / "utt2spk"))
    spk = dd.read_map(train / "utt2spk")
    speakers = sorted(set(spk.values()))
    dd.write_map(train / "utt2emo", {u: ("anger", "neutral", "sadness", "happiness", "fear")[speakers.index(s) % 5]
                                      for u, s in spk.items()})
    (train / "utt2va").unlink(missing_ok=True)
    run_sh(f"steps/build_graph.sh --method prior {train} {tmp_path}/graph", mini)
    base = f"{tmp_path}/graph {tmp_path}/exp"
    (mini / "confounded.yaml").write_text(yaml.safe_dump({**FAULT_TRAIN_CONFIG, "epochs": 1}))
    p = run_sh(f"steps/train.sh --gpu -1 confounded.yaml {train} data/folds/fold1/dev {base}", mini, check=False)
    assert p.returncode == 1 and "per-speaker normalisation (cmvn: speaker) on data whose speakers and emotions are " \
                                 "confounded" in p.stderr, p.stderr
    assert not (tmp_path / "exp/checkpoints").exists()
    (mini / "override.yaml").write_text(yaml.safe_dump({**FAULT_TRAIN_CONFIG, "epochs": 1, "cmvn_confound_limit": 1.0}))
    run_sh(f"steps/train.sh --gpu -1 override.yaml {train} data/folds/fold1/dev {base}", mini)
    assert (tmp_path / "exp/.done").is_file()


def test_stage_0_reports_the_confound(tmp_path):
    d = make_data_dir(tmp_path / "d", {"a-s1": 4, "a-s2": 4}, labels=("anger", "neutral"))
    p = subprocess.run(["python", "-m", "emogcn.bin.datadir", "confound", str(d)], capture_output=True, text=True)
    assert p.returncode == 0
    assert "speaker-emotion confound: I(speaker; emotion) = 0.000 bits" in p.stderr
    assert "100% of 2 speakers cover all 2 classes" in (d / "confound.txt").read_text()
