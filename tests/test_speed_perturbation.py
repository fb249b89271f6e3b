"""Speed perturbation of a data directory (Kaldi's perturb_data_dir_speed.sh), read by stage 1."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from conftest import REPO, make_data_dir, run_sh
from emogcn.data import datadir as dd


def test_perturbed_copy_is_read_by_stage_1_with_scaled_durations(recipe_dir):
    data = make_data_dir(recipe_dir / "data/train", {"c-s1": 2, "c-s2": 1})
    wavs = {}
    t = np.arange(16000) / 16000
    for i, utt in enumerate(dd.read_map(data / "utt2spk")):
        path = recipe_dir / f"{utt}.wav"
        sf.write(path, (0.3 * np.sin(2 * np.pi * 200 * (i + 1) * t)).astype(np.float32), 16000)
        wavs[utt] = str(path)
    dd.write_map(data / "wav.scp", wavs)
    dd.write_map(data / "utt2lang", {u: "de" for u in wavs})
    for factor in ("0.9", "1.1"):
        run_sh(f"utils/perturb_data_dir_speed.sh {factor} data/train data/train_sp{factor}", recipe_dir)
    copy = recipe_dir / "data/train_sp0.9"
    assert dd.validate_data_dir(copy) == 3
    assert dd.read_map(copy / "utt2spk")["sp0.9-c-s1-u000"] == "sp0.9-c-s1"
    assert dd.read_map(copy / "utt2emo")["sp0.9-c-s1-u000"] == dd.read_map(data / "utt2emo")["c-s1-u000"]
    assert dd.read_map(copy / "utt2lang")["sp0.9-c-s2-u000"] == "de"
    run_sh("utils/combine_data.sh data/train_sp data/train data/train_sp0.9 data/train_sp1.1", recipe_dir)
    run_sh("steps/make_feats.sh --nj 1 data/train_sp exp/log feats", recipe_dir)
    dur = {u: float(v) for u, v in dd.read_map(recipe_dir / "data/train_sp/utt2dur").items()}
    assert len(dur) == 9
    assert abs(dur["c-s1-u000"] - 1.0) < 0.01
    assert abs(dur["sp0.9-c-s1-u000"] - 1 / 0.9) < 0.01  # slower: longer
    assert abs(dur["sp1.1-c-s1-u000"] - 1 / 1.1) < 0.01


def test_bad_factor_is_an_error(recipe_dir):
    make_data_dir(recipe_dir / "data/train", {"c-s1": 1})
    p = run_sh("utils/perturb_data_dir_speed.sh 3 data/train data/sp", recipe_dir, check=False)
    assert p.returncode == 1 and "'3': speed factor 3.0 outside [0.5, 2.0]" in p.stderr
