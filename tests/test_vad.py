"""Speech regions for --segment: Silero VAD (the optional `vad` extra) and the energy detector."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import speech_samples
from emogcn.inference import vad


def _bursts(rate=16000, seed=0):
    """Noise floor with three 220 Hz tone bursts (harmonics, amplitude-modulated) at known times."""
    rng = np.random.default_rng(seed)
    x = 3e-4 * rng.standard_normal(8 * rate)
    truth = [(1.0, 1.8), (3.0, 4.5), (6.2, 6.7)]
    for s, e in truth:
        t = np.arange(int(s * rate), int(e * rate)) / rate
        x[int(s * rate):int(e * rate)] += 0.2 * sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
    return x.astype(np.float32), truth


def test_energy_detector_finds_the_bursts():
    x, truth = _bursts()
    regions = vad.energy_regions(x, 16000, vad.VadOptions(pad_s=0.0))
    assert len(regions) == len(truth)
    for (s, e), (ts, te) in zip(regions, truth):
        assert abs(s - ts) < 0.04 and abs(e - te) < 0.04
    # short pauses are bridged, short blips dropped, padding added
    merged = vad.energy_regions(x, 16000, vad.VadOptions(min_silence_s=1.5, min_speech_s=1.0, pad_s=0.1))
    assert [(round(s, 1), round(e, 1)) for s, e in merged] == [(0.9, 4.6)]
    assert vad.energy_regions(np.zeros(100, np.float32), 16000, vad.VadOptions()) == []


def test_split_long_regions():
    assert vad.split_long([(0.0, 1.0), (2.0, 5.0)], 1.5) == [(0.0, 1.0), (2.0, 3.5), (3.5, 5.0)]
    assert vad.split_long([(0.0, 25.0)], 0) == [(0.0, 25.0)]


def test_silero_finds_speech_offline_and_leaves_threads_alone():
    import silero_vad

    # the model is the TorchScript file inside the installed wheel: nothing to download
    assert (Path(silero_vad.__file__).parent / "data" / "silero_vad.jit").is_file()
    waves = speech_samples(2, seed=13)
    gap = np.zeros(32000, np.float32)
    x = np.concatenate([gap, waves[0], gap, waves[1], gap])
    truth = [(2.0, 2.0 + len(waves[0]) / 16000)]
    truth.append((truth[0][1] + 2.0, truth[0][1] + 2.0 + len(waves[1]) / 16000))
    threads = torch.get_num_threads()
    regions, method = vad.speech_regions(x, 16000, vad.VadOptions(method="silero"))
    assert method == "silero" and torch.get_num_threads() == threads
    assert len(regions) == 2
    for (s, e), (ts, te) in zip(regions, truth):
        assert ts - 0.1 < s < te and ts < e < te + 0.1
    # 22.05 kHz goes to silero resampled to 16 kHz: the same regions, nearly
    from emogcn.features.audio import resample

    other, _ = vad.speech_regions(resample(x, 16000, 22050), 22050, vad.VadOptions(method="silero"))
    assert len(other) == 2 and all(abs(a - b) < 0.05 for r, o in zip(regions, other) for a, b in zip(r, o))


def test_auto_falls_back_to_energy_without_silero(monkeypatch, caplog):
    monkeypatch.setattr(vad, "silero_available", lambda: False)
    x, truth = _bursts()
    with caplog.at_level(logging.WARNING):
        vad.log_fallback_once(vad.VadOptions())
        regions, method = vad.speech_regions(x, 16000, vad.VadOptions())
    assert method == "energy" and len(regions) == len(truth)
    assert "silero-vad is not installed" in caplog.text
    with pytest.raises(vad.VadError, match="pip install 'emogcn\\[vad\\]'"):
        vad.speech_regions(x, 16000, vad.VadOptions(method="silero"))
