"""Aff-Wild2: frames kept only with an expression and valence/arousal in range, video folds, and
the challenge's measures in scoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO, run_sh
from emogcn.data import datadir as dd
from emogcn.scoring.report import affwild2_measures


def _tree(root):
    from PIL import Image

    videos = {"Train_Set": ["10-60-1280x720", "11-24-1920x1080_left", "12-24-1920x1080"],
              "Validation_Set": ["118-30-640x480"]}
    for set_name, names in videos.items():
        for v in names:
            expr = ["-1", "0", "1", "2", "3", "4", "5", "6", "7", "4"]  # frame 1 unlabelled, 9 is "Other"
            va = ["0.1,0.2", "0.1,0.2", "-0.5,0.3", "-5,-5", "0.2,0.9", "0.7,0.4", "-0.6,-0.3", "0.3,0.8",
                  "0.0,0.0", "0.5,0.5"]
            (root / "annotations/EXPR_Set" / set_name).mkdir(parents=True, exist_ok=True)
            (root / "annotations/VA_Set" / set_name).mkdir(parents=True, exist_ok=True)
            (root / "annotations/EXPR_Set" / set_name / f"{v}.txt").write_text(
                "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n" + "\n".join(expr) + "\n")
            (root / "annotations/VA_Set" / set_name / f"{v}.txt").write_text("valence,arousal\n" + "\n".join(va) + "\n")
            frames = root / "cropped_aligned" / v
            frames.mkdir(parents=True)
            for i in range(1, 11):
                if i == 6:
                    continue  # no face found in frame 6
                Image.fromarray(np.full((112, 112, 3), 20 * i, np.uint8)).save(frames / f"{i:05d}.jpg")


def test_affwild2_preparation(tmp_path):
    _tree(tmp_path / "Aff-Wild2")
    p = run_sh(f"python local/prepare_affwild2.py --folds-dir {tmp_path}/folds --dev-every 3 "
               f"{tmp_path}/Aff-Wild2 {tmp_path}/all", REPO)
    all_dir = tmp_path / "all"
    # per video: frame 1 has no label, 4 has VA -5, 6 has no image, 9 is "Other": the rest is kept
    emo = dd.read_map(all_dir / "utt2emo")
    kept = sorted({u.rsplit("-", 1)[1] for u in emo})
    assert kept == ["00002", "00003", "00005", "00007", "00008", "00010"]
    assert len(emo) == 4 * 6
    assert emo["affwild2-10_60_1280x720-00003"] == "anger"  # Aff-Wild2's order: 1 = Anger
    assert emo["affwild2-10_60_1280x720-00005"] == "fear"
    assert dd.read_map(all_dir / "utt2va")["affwild2-10_60_1280x720-00003"] == "-0.5000 0.3000"
    for reason in ("no expression label (-1): 4", "expression 7 is not a shared class: 4",
                   "outside [-1, 1] (-5 = no label): 4", "no cropped-aligned frame (no face found): 4"):
        assert reason in p.stderr, reason
    spk = {name: set(dd.read_map(tmp_path / f"folds/fold1/{name}/utt2spk").values()) for name in ("train", "dev", "test")}
    assert spk["test"] == {"affwild2-118_30_640x480"}
    assert spk["dev"] == {"affwild2-12_24_1920x1080"} and len(spk["train"]) == 2


def test_affwild2_measures():
    metrics = {"macro_f1": 0.5, "WA": 0.8, "dimensions": {"valence": {"ccc": 0.4}, "arousal": {"ccc": 0.6}}}
    m = affwild2_measures(metrics)
    assert m["expr_score"] == pytest.approx(0.67 * 0.5 + 0.33 * 0.8)
    assert m["va_score"] == pytest.approx(0.5)
    assert m["ccc_valence"] == 0.4


def test_scoring_adds_the_measures_for_affwild2_predictions(tmp_path):
    rows = ["utt\treference\thypothesis\tp_anger\tp_neutral\tref_valence\tref_arousal\thyp_valence\thyp_arousal\tcorpus"]
    for i, (ref, hyp) in enumerate([("anger", "anger"), ("neutral", "anger"), ("neutral", "neutral"), ("anger", "anger")]):
        p = "0.9\t0.1" if hyp == "anger" else "0.1\t0.9"
        rows.append(f"affwild2-v-{i:05d}\t{ref}\t{hyp}\t{p}\t{0.1 * i}\t{-0.1 * i}\t{0.12 * i}\t{-0.08 * i}\taffwild2")
    d = tmp_path / "scores"
    d.mkdir()
    (d / "predictions.tsv").write_text("\n".join(rows) + "\n")
    run_sh(f"python -m emogcn.bin.score {d}/predictions.tsv {d}", REPO)
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["affwild2"]["expr_accuracy"] == pytest.approx(0.75)
    assert metrics["affwild2"]["va_score"] > 0.8
