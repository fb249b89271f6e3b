"""The embedded mini corpus (local/make_mini_corpus.py): a valid data directory, the audio formats
it promises, deterministic output, and emotion-dependent prosody."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emogcn.data.datadir import ValidateOptions, read_map, validate_data_dir
from emogcn.data.labels import load_label_set

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("make_mini_corpus", ROOT / "local" / "make_mini_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


mini = _load_script()
CLASSES = ("neutral", "happiness", "sadness", "anger", "fear")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """1 speaker per language, 2 utterances per class: 20 utterances."""
    root = tmp_path_factory.mktemp("mini")
    mini.make_mini_corpus(root / "corpus", root / "data", seed=0, speakers_per_language=1, utts_per_class=2)
    return root


def _maps(data: Path) -> dict[str, dict[str, str]]:
    return {p.name: read_map(p) for p in data.iterdir() if p.is_file()}


def test_data_dir_is_valid_and_complete(small):
    data = small / "data"
    labels = load_label_set(ROOT / "conf" / "emotions.yaml")
    assert validate_data_dir(data, ValidateOptions(labels=labels)) == 20
    maps = _maps(data)
    assert set(maps) >= {"wav.scp", "utt2spk", "spk2utt", "utt2emo", "utt2va", "utt2lang", "utt2corpus",
                         "spk2gender"}
    assert Counter(maps["utt2emo"].values()) == {c: 4 for c in CLASSES}
    assert Counter(maps["utt2spk"].values()) == {"mini-qaa-f1": 10, "mini-qab-m1": 10}
    assert maps["spk2gender"] == {"mini-qaa-f1": "f", "mini-qab-m1": "m"}
    assert set(maps["utt2corpus"].values()) == {"mini"}
    for utt, spk in maps["utt2spk"].items():
        assert utt.startswith(spk + "-")
        assert maps["utt2lang"][utt] == spk.split("-")[1]
        assert utt.split("-")[3] == maps["utt2emo"][utt]
    for path in maps["wav.scp"].values():
        assert Path(path).is_absolute() and Path(path).is_file()


def test_utt2va_follows_the_class(small):
    maps = _maps(small / "data")
    va = {u: tuple(map(float, v.split())) for u, v in maps["utt2va"].items()}
    by_class: dict[str, list[tuple[float, float]]] = {c: [] for c in CLASSES}
    for utt, (v, a) in va.items():
        assert -1 <= v <= 1 and -1 <= a <= 1
        emotion = maps["utt2emo"][utt]
        cv, ca = mini.canonical_va(emotion)
        assert abs(v - cv) < 0.4 and abs(a - ca) < 0.4, (utt, v, a)
        by_class[emotion].append((v, a))
    mean = {c: np.mean(by_class[c], axis=0) for c in CLASSES}
    assert mean["happiness"][0] > mean["neutral"][0] > mean["sadness"][0]
    assert mean["anger"][1] > mean["neutral"][1] > mean["sadness"][1]
    assert mean["anger"][0] < 0 < mean["happiness"][0]


def test_audio_formats(small):
    maps = _maps(small / "data")
    formats = {}
    for utt, path in maps["wav.scp"].items():
        info = sf.info(path)
        assert info.format == "WAV" and info.subtype == "PCM_16"
        assert 0.8 < info.duration < 3.0, (utt, info.duration)
        formats[maps["utt2spk"][utt]] = formats.get(maps["utt2spk"][utt], set()) | {(info.samplerate, info.channels)}
    # One format per speaker; both rates; the last speaker stereo.
    assert formats == {"mini-qaa-f1": {(16000, 1)}, "mini-qab-m1": {(22050, 2)}}
    x, _ = sf.read(maps["wav.scp"]["mini-qab-m1-anger-001"])
    assert not np.array_equal(x[:, 0], x[:, 1])  # two real channels, not a copy


def test_same_seed_same_bytes(small, tmp_path):
    # Each utterance has its own generator: a run with fewer utterances per class reproduces
    # the first ones byte for byte; another seed does not.
    mini.make_mini_corpus(tmp_path / "c", tmp_path / "d", seed=0, speakers_per_language=1, utts_per_class=1)
    mini.make_mini_corpus(tmp_path / "c7", tmp_path / "d7", seed=7, speakers_per_language=1, utts_per_class=1)
    first = read_map(small / "data" / "wav.scp")
    again = read_map(tmp_path / "d" / "wav.scp")
    other = read_map(tmp_path / "d7" / "wav.scp")
    assert len(again) == 10 and set(again) < set(first)
    for utt, path in again.items():
        assert Path(path).read_bytes() == Path(first[utt]).read_bytes()
        assert Path(other[utt]).read_bytes() != Path(path).read_bytes()
    assert read_map(tmp_path / "d" / "utt2va") == {u: v for u, v in read_map(small / "data" / "utt2va").items()
                                                   if u in again}


def _median_f0(x: np.ndarray, rate: int) -> float:
    """Autocorrelation pitch over the loudest frames (enough to compare emotions of one speaker)."""
    if x.ndim > 1:
        x = x.mean(axis=1)
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop] * np.hanning(frame)
    energy = (frames ** 2).sum(axis=1)
    frames = frames[energy >= np.quantile(energy, 0.6)]
    spec = np.fft.rfft(frames, 2 * frame)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :frame]
    ac /= ac[:, :1]
    lo, hi = int(rate / 500), int(rate / 70)
    lags = lo + np.argmax(ac[:, lo:hi], axis=1)
    voiced = ac[np.arange(len(lags)), lags] > 0.4
    return float(np.median(rate / lags[voiced]))


def test_prosody_depends_on_emotion(small):
    maps = _maps(small / "data")
    for spk in ("mini-qaa-f1", "mini-qab-m1"):
        f0, rms = {}, {}
        for emotion in ("anger", "sadness"):
            utts = [u for u, s in maps["utt2spk"].items() if s == spk and maps["utt2emo"][u] == emotion]
            f0s, levels = [], []
            for utt in utts:
                x, rate = sf.read(maps["wav.scp"][utt])
                f0s.append(_median_f0(x, rate))
                levels.append(np.sqrt(np.mean(x ** 2)))
            f0[emotion], rms[emotion] = np.mean(f0s), np.mean(levels)
        # Anger is higher (several semitones) and louder than sadness for the same speaker
        # (margins checked over 25 seeds; the estimator makes the odd octave error).
        assert f0["anger"] > 1.05 * f0["sadness"], (spk, f0)
        assert rms["anger"] > 1.4 * rms["sadness"], (spk, rms)
    # The female speaker's voice is higher than the male's.
    median = {spk: np.median([_median_f0(*sf.read(p)) for u, p in maps["wav.scp"].items() if u.startswith(spk)])
              for spk in ("mini-qaa-f1", "mini-qab-m1")}
    assert median["mini-qaa-f1"] > 1.1 * median["mini-qab-m1"], median


def test_killed_run_leaves_no_complete_data_dir(small, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("utt2spk", "spk2utt", "wav.scp"):  # a finished earlier run
        (data / name).write_text((small / "data" / name).read_text())
    calls = []

    def dies(*args):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return original(*args)

    original = mini.synthesize
    monkeypatch.setattr(mini, "synthesize", dies)
    with pytest.raises(KeyboardInterrupt):
        mini.make_mini_corpus(tmp_path / "corpus", data, seed=0, speakers_per_language=1, utts_per_class=2)
    assert not (data / "utt2spk").exists() and not (data / "spk2utt").exists()
    assert not list((tmp_path / "corpus").rglob("*.tmp"))


def test_command_line_prints_counts(tmp_path, capsys):
    assert mini.main(["--seed", "3", "--speakers-per-language", "1", "--utts-per-class", "1",
                      str(tmp_path / "c"), str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "10 utterances, 2 speakers, 5 classes" in out
    for emotion in CLASSES:
        assert f"{emotion:<10} 2" in out
    assert "mini-qaa-f1" in out and "mini-qab-m1" in out
    with pytest.raises(SystemExit):
        mini.main(["--utts-per-class", "0", str(tmp_path / "c"), str(tmp_path / "d")])
