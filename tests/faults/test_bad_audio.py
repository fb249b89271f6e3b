"""Fault injection, stage 1: every kind of bad audio a real corpus holds, through steps/make_feats.sh.

Each case ends one of two ways, and the test says which: the utterance is DROPPED (named with its
reason in failed.txt, counted in the log, removed from the data directory; the stage fails when
drops pass --max-fail-fraction) or KEPT (the audio is usable: converted, resampled, mixed down).
"""

from __future__ import annotations

import shutil

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from conftest import recipe_dir, run_sh  # noqa: F401  (recipe_dir is a fixture)
from emogcn.data import datadir as dd
from killing import kill_inside

RATE = 16000


def _tone(seconds: float, rate: int, channels: int = 1, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * 220 * t) + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return np.stack([x] * channels, axis=1).astype(np.float32) if channels > 1 else x.astype(np.float32)


def _write(path, data, rate, fmt="WAV"):
    sf.write(path, data, rate, format=fmt, subtype="PCM_16")
    return str(path)


def _truncated(path):
    full = _write(path, _tone(1.0, RATE), RATE)
    data = open(full, "rb").read()
    open(full, "wb").write(data[: len(data) // 2])  # header says 1 s, half the bytes are there
    return full


def _header_only(path):
    return _write(path, np.zeros(0, dtype=np.float32), RATE)  # a valid header and no samples


# case -> (writes the file and returns the wav.scp value, outcome, reason or check)
CASES = {
    "corrupt": (lambda p: (p.write_bytes(b"RIFF\x00\x00garbage" * 50), str(p))[1], "dropped", "cannot read audio"),
    "empty_file": (lambda p: (p.write_bytes(b""), str(p))[1], "dropped", "cannot read audio"),
    "header_only": (_header_only, "dropped", "no samples (empty audio)"),
    "shorter_than_a_frame": (lambda p: _write(p, _tone(0.01, RATE), RATE), "dropped", "too short"),
    "silent": (lambda p: _write(p, np.zeros(RATE // 2, dtype=np.float32), RATE), "dropped", "silent"),
    "missing": (lambda p: str(p), "dropped", "file not found"),
    "nan_samples": (lambda p: (sf.write(p, np.full(RATE // 2, np.nan, dtype=np.float32), RATE, subtype="FLOAT"),
                               str(p))[1], "dropped", "NaN or infinite samples"),
    "failing_pipe": (lambda p: "sh -c 'echo decoder broke >&2; exit 3' |", "dropped", "exited with status 3"),
    "truncated": (_truncated, "kept", 0.5),  # libsndfile reads the samples that are there
    "clipped": (lambda p: _write(p, np.clip(_tone(0.5, RATE, amplitude=4.0), -1, 1), RATE), "kept", 0.5),
    "stereo": (lambda p: _write(p, _tone(0.5, RATE, channels=2), RATE), "kept", 0.5),
    "rate_8k": (lambda p: _write(p, _tone(0.5, 8000), 8000), "kept", 0.5),
    "rate_96k": (lambda p: _write(p, _tone(0.5, 96000), 96000), "kept", 0.5),
    "aiff_named_wav": (lambda p: _write(p, _tone(0.5, RATE), RATE, fmt="AIFF"), "kept", 0.5),
}
GOOD = 40  # enough good utterances that the drops stay under the default 10 %... except all together


def _data_dir(root, cases):
    wavs = root / "wavs"
    wavs.mkdir(parents=True)
    wav_scp, utt2emo = {}, {}
    for i in range(GOOD):
        utt = f"f-s{i % 4}-good{i:03d}"
        wav_scp[utt] = _write(wavs / f"good{i}.wav", _tone(0.3 + 0.01 * i, RATE), RATE)
        utt2emo[utt] = ("anger", "neutral")[i % 2]
    for name in cases:
        utt = f"f-s0-{name}"
        wav_scp[utt] = CASES[name][0](wavs / f"{name}.wav")
        utt2emo[utt] = "anger"
    data = root / "data"
    data.mkdir()
    dd.write_map(data / "wav.scp", wav_scp)
    dd.write_map(data / "utt2emo", utt2emo)
    utt2spk = {u: u.split("-")[0] + "-" + u.split("-")[1] for u in wav_scp}
    dd.write_map(data / "utt2spk", utt2spk)
    dd.write_map(data / "spk2utt", dd.spk2utt_from_utt2spk(utt2spk))
    return data


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_audio_case(recipe_dir, case):
    data = _data_dir(recipe_dir / "in", [case])
    run_sh(f"steps/make_feats.sh --nj 1 {data} exp/log feats", recipe_dir)
    feats = dd.read_map(data / "feats.scp")
    utt = f"f-s0-{case}"
    failed = (recipe_dir / "exp/log/failed.txt").read_text()
    _, outcome, expect = CASES[case]
    if outcome == "dropped":
        assert utt not in feats and utt not in dd.read_map(data / "utt2spk")
        line = next(x for x in failed.splitlines() if x.startswith(utt + " "))
        assert expect in line, line
    else:
        assert utt in feats and utt not in failed
        frames = int(dd.read_map(data / "utt2num_frames")[utt])
        assert abs(frames - expect * 100) <= 3, frames  # 10 ms frames at any input rate
    assert len(feats) == GOOD + (outcome == "kept")


def test_too_many_drops_fail_the_stage_and_name_them(recipe_dir):
    dropped = [c for c, (_, outcome, _) in CASES.items() if outcome == "dropped"]
    data = _data_dir(recipe_dir / "in", dropped)  # 8 of 48: 17 % > 10 %
    p = run_sh(f"steps/make_feats.sh --nj 2 {data} exp/log feats", recipe_dir, check=False)
    assert p.returncode != 0
    assert f"{len(dropped)} of {GOOD + len(dropped)}" in p.stderr, p.stderr
    assert "failed.txt" in p.stderr
    assert not (data / "feats.scp").exists()  # nothing that a later stage would take as done
    p = run_sh(f"steps/make_feats.sh --nj 2 --max-fail-fraction 0.2 {data} exp/log feats", recipe_dir)
    assert len(dd.read_map(data / "feats.scp")) == GOOD


def test_sigkill_during_extraction_then_rerun_completes(recipe_dir):
    data = _data_dir(recipe_dir / "in", [])
    cmd = f"steps/make_feats.sh --nj 2 {data} exp/log feats"
    logs = recipe_dir / "exp/log"

    def after():
        assert not (data / "feats.scp").exists()  # a killed stage publishes nothing

    landed = kill_inside(cmd, recipe_dir, started=lambda: any(logs.glob("make_feats.*.log")),
                         finished=(data / "feats.scp").exists, wanted=3, after=after,
                         before=lambda: shutil.rmtree(logs, ignore_errors=True), delays=(0.0, 0.3, 0.8, 1.5))
    assert len(landed) == 3
    run_sh(cmd, recipe_dir)
    feats = dd.read_map(data / "feats.scp")
    assert len(feats) == GOOD
    for utt, entry in feats.items():
        assert np.isfinite(kaldiio.load_mat(entry)).all(), utt