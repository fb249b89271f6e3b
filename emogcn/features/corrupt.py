"""Additive noise and reverberation generated here, for data augmentation without a noise corpus
or measured room responses (nothing can be downloaded where the toolkit runs).

- add_noise: Gaussian noise whose spectrum falls as 1/f^a, a drawn from [0, 2] per utterance
  (white to brown, the slopes of fans, traffic and hum), scaled to a signal-to-noise ratio over
  the whole utterance.
- reverberate: convolution with a simulated room impulse response, Polack's statistical model:
  a direct path, then Gaussian noise under an envelope that falls 60 dB in rt60 seconds (the
  exponential decay of a diffuse field), as image-free RIR generators do. The output keeps the
  input's length and RMS level, as Kaldi's reverberate_data_dir.py keeps its length.

Each utterance's randomness comes from a seed (the copy's wav.scp derives it from the utterance id:
data/datadir.py), so a copy made again is the same copy. numpy only: this runs once per utterance in
a wav.scp pipe.
"""

from __future__ import annotations

import numpy as np


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def coloured_noise(n: int, slope: float, rng: np.random.Generator) -> np.ndarray:
    """n samples of Gaussian noise whose power spectrum falls as 1/f^slope (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spectrum.shape[0], dtype=np.float64)
    freqs[0] = 1.0  # no infinite gain at DC
    noise = np.fft.irfft(spectrum / freqs ** (slope / 2.0), n=n)
    return (noise / max(_rms(noise), 1e-12)).astype(np.float32)


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """samples (mono or (n, channels)) plus coloured noise at snr_db below their power."""
    x = np.asarray(samples, dtype=np.float32)
    noise = coloured_noise(x.shape[0], float(rng.uniform(0.0, 2.0)), rng)
    if x.ndim == 2:
        noise = noise[:, None]
    return x + noise * (_rms(x) / 10.0 ** (snr_db / 20.0))


def simulated_rir(rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response: the direct path (1.0), then after 1-5 ms a Gaussian tail under an
    envelope falling 60 dB in rt60 s (Polack); the tail's energy relative to the direct path grows
    with rt60, as a larger or barer room's does."""
    if rt60 <= 0:
        raise ValueError(f"reverberation time {rt60} s: expected > 0")
    length = max(2, int(rt60 * rate))
    delay = int(rate * rng.uniform(0.001, 0.005))
    t = np.arange(length - delay, dtype=np.float64) / rate
    tail = rng.standard_normal(t.shape[0]) * np.exp(-3.0 * np.log(10.0) * t / rt60)  # -60 dB at rt60
    # the tail's energy 2 * rt60 times the direct path's: direct-to-reverberant ratio +4 dB at
    # 0.2 s, 0 dB at 0.5 s, -3 dB at 1 s
    tail *= np.sqrt(2.0 * rt60 / max(float(np.sum(tail ** 2)), 1e-12))
    rir = np.zeros(length)
    rir[0] = 1.0
    rir[delay:] += tail
    return rir


def reverberate(samples: np.ndarray, rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """samples convolved with simulated_rir, cut to their length and brought back to their RMS."""
    x = np.asarray(samples, dtype=np.float32)
    rir = simulated_rir(rate, rt60, rng)
    n = x.shape[0] + rir.shape[0] - 1
    size = 1 << (n - 1).bit_length()
    h = np.fft.rfft(rir, size)
    spectrum = np.fft.rfft(x, size, axis=0)
    y = np.fft.irfft(spectrum * (h[:, None] if x.ndim == 2 else h), size, axis=0)[:x.shape[0]]
    return (y * (_rms(x) / max(_rms(y), 1e-12))).astype(np.float32)
