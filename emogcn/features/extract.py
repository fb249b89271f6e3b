"""Kaldi-compatible fbank/MFCC features of one utterance (torchaudio.compliance.kaldi).

The options mirror Kaldi's compute-fbank-feats / compute-mfcc-feats with readable names; a YAML
file in conf/ (fbank.yaml, mfcc.yaml) sets them and an unknown key is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchaudio.compliance import kaldi

from emogcn.config import ConfigError, load_config

FEATURE_TYPES = ("fbank", "mfcc")
WINDOW_TYPES = ("povey", "hamming", "hanning", "rectangular", "blackman")
# Kaldi reads 16-bit PCM as integers; soundfile gives floats in [-1, 1). Scaling back makes the
# log energies (and energy_floor) mean what they mean in Kaldi.
INT16_SCALE = 32768.0


@dataclass
class FeatureConfig:
    type: str = "fbank"  # fbank | mfcc
    sample_rate: int = 16000  # audio is resampled to this rate first
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0  # 0 keeps features reproducible (Kaldi's default is 1.0)
    preemphasis: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    blackman_coeff: float = 0.42
    round_to_power_of_two: bool = True
    snip_edges: bool = True  # True: only frames that fit entirely (Kaldi's default)
    num_mel_bins: int = 80
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0: offset from the Nyquist frequency
    use_energy: bool = False  # fbank: extra log-energy column; mfcc: energy replaces C0
    energy_floor: float = 1.0
    raw_energy: bool = True  # energy before pre-emphasis and windowing
    use_log_fbank: bool = True
    use_power: bool = True
    num_ceps: int = 13  # mfcc only
    cepstral_lifter: float = 22.0  # mfcc only
    scale_to_int16: bool = True  # multiply [-1, 1) samples by 32768 as Kaldi sees them

    def check(self) -> None:
        """Raises ConfigError naming the first invalid option."""
        problems = []
        if self.type not in FEATURE_TYPES:
            problems.append(f"type '{self.type}' is not one of {', '.join(FEATURE_TYPES)}")
        if self.window_type not in WINDOW_TYPES:
            problems.append(f"window_type '{self.window_type}' is not one of {', '.join(WINDOW_TYPES)}")
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.frame_shift_ms <= self.frame_length_ms:
            problems.append(f"need 0 < frame_shift_ms <= frame_length_ms, got {self.frame_shift_ms} and "
                            f"{self.frame_length_ms}")
        if self.window_samples < 2:
            problems.append(f"frame_length_ms {self.frame_length_ms} is under two samples at {self.sample_rate} Hz")
        if self.num_mel_bins < 3:
            problems.append(f"num_mel_bins must be at least 3, got {self.num_mel_bins}")
        nyquist = self.sample_rate / 2
        high = self.high_freq if self.high_freq > 0 else nyquist + self.high_freq
        if not 0 <= self.low_freq < high <= nyquist:
            problems.append(f"need 0 <= low_freq < high_freq <= {nyquist:g} (Nyquist), got low_freq "
                            f"{self.low_freq} and high_freq {self.high_freq}")
        if self.type == "mfcc" and not 1 <= self.num_ceps <= self.num_mel_bins:
            problems.append(f"num_ceps must be in 1..num_mel_bins ({self.num_mel_bins}), got {self.num_ceps}")
        if self.dither < 0:
            problems.append(f"dither must be >= 0, got {self.dither}")
        if self.energy_floor < 0:
            problems.append(f"energy_floor must be >= 0, got {self.energy_floor}")
        if not 0 <= self.preemphasis <= 1:
            problems.append(f"preemphasis must be in [0, 1], got {self.preemphasis}")
        if not self.round_to_power_of_two and self.window_samples % 2:
            problems.append(f"a frame of {self.window_samples} samples must be even without round_to_power_of_two")
        if problems:
            raise ConfigError(f"feature config: {problems[0]}")

    @property
    def window_samples(self) -> int:
        # The same rounding as torchaudio.compliance.kaldi (and Kaldi): truncation.
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def shift_samples(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms * 0.001)

    @property
    def min_samples(self) -> int:
        """Fewest samples that give at least one frame."""
        return self.window_samples if self.snip_edges else (self.shift_samples + 1) // 2

    @property
    def dim(self) -> int:
        base = self.num_mel_bins if self.type == "fbank" else self.num_ceps
        return base + (1 if self.use_energy and self.type == "fbank" else 0)

    def num_frames(self, num_samples: int) -> int:
        """Frames that `num_samples` samples give (Kaldi's NumFrames)."""
        if self.snip_edges:
            return 0 if num_samples < self.window_samples else 1 + (num_samples - self.window_samples) // self.shift_samples
        return (num_samples + self.shift_samples // 2) // self.shift_samples

    def kaldi_options(self) -> dict:
        """Keyword arguments for torchaudio.compliance.kaldi.fbank / .mfcc."""
        opts = dict(
            sample_frequency=float(self.sample_rate),
            frame_length=self.frame_length_ms,
            frame_shift=self.frame_shift_ms,
            dither=self.dither,
            preemphasis_coefficient=self.preemphasis,
            remove_dc_offset=self.remove_dc_offset,
            window_type=self.window_type,
            blackman_coeff=self.blackman_coeff,
            round_to_power_of_two=self.round_to_power_of_two,
            snip_edges=self.snip_edges,
            num_mel_bins=self.num_mel_bins,
            low_freq=self.low_freq,
            high_freq=self.high_freq,
            use_energy=self.use_energy,
            energy_floor=self.energy_floor,
            raw_energy=self.raw_energy,
        )
        if self.type == "fbank":
            opts.update(use_log_fbank=self.use_log_fbank, use_power=self.use_power)
        else:
            opts.update(num_ceps=self.num_ceps, cepstral_lifter=self.cepstral_lifter)
        return opts


def load_feature_config(path: str | Path | None, overrides: dict | None = None) -> FeatureConfig:
    """Reads a feature YAML (strict keys) and checks the values; errors name the file."""
    cfg = load_config(FeatureConfig, path, overrides)
    try:
        cfg.check()
    except ConfigError as e:
        raise ConfigError(f"{path or 'config'}: {e}") from None
    return cfg


class FeatureExtractor:
    """Features of one utterance after another with the same config.

    torchaudio.compliance.kaldi.fbank rebuilds its window and mel filterbank on every call, which
    for a 2-second utterance costs about a third of the call. Here they are built once (by
    torchaudio's own functions) and the remaining steps are Kaldi's, in Kaldi's order, so the
    output equals kaldi.fbank's to float32 rounding (tests/test_features.py checks option by
    option). MFCC, and fbank with dither (random), go through torchaudio directly.
    """

    def __init__(self, cfg: FeatureConfig):
        cfg.check()
        self.cfg = cfg
        self.dim = cfg.dim
        self.min_samples = cfg.min_samples
        self.fast = cfg.type == "fbank" and cfg.dither == 0.0
        self.options = cfg.kaldi_options()
        if not self.fast:
            return
        window_size = cfg.window_samples
        self.fft_size = 1 << (window_size - 1).bit_length() if cfg.round_to_power_of_two else window_size
        # torchaudio's private helpers, so the constants are bit-identical to kaldi.fbank's
        # (torchaudio is pinned in pyproject.toml).
        self.window = kaldi._feature_window_function(cfg.window_type, window_size, cfg.blackman_coeff,
                                                      torch.device("cpu"), torch.float32)
        mel, _ = kaldi.get_mel_banks(cfg.num_mel_bins, self.fft_size, float(cfg.sample_rate), cfg.low_freq,
                                     cfg.high_freq, 100.0, -500.0, 1.0)
        # kaldi.fbank pads the Nyquist bin with a zero weight: (fft_size // 2 + 1, num_mel_bins).
        self.mel_matrix = torch.nn.functional.pad(mel.to(torch.float32), (0, 1)).T.contiguous()
        self.epsilon = torch.finfo(torch.float32).eps
        self.log_energy_floor = math.log(cfg.energy_floor) if cfg.energy_floor > 0 else None

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(frames, dim) float32 features of mono audio `wave` sampled at cfg.sample_rate."""
        cfg = self.cfg
        if wave.ndim != 1:
            raise ValueError(f"expected mono audio (1-D), got shape {tuple(wave.shape)}")
        if wave.shape[0] < cfg.min_samples:
            raise ValueError(f"audio of {wave.shape[0]} samples is shorter than one frame ({cfg.min_samples} samples)")
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        if cfg.scale_to_int16:
            x = x * INT16_SCALE
        with torch.no_grad():
            if self.fast:
                feats = self._fbank(x)
            else:
                compute = kaldi.fbank if cfg.type == "fbank" else kaldi.mfcc
                feats = compute(x[None], **self.options)
        return feats.numpy().astype(np.float32, copy=False)

    def _log_energy(self, frames: torch.Tensor) -> torch.Tensor:
        energy = frames.pow(2).sum(1).clamp_min(self.epsilon).log()
        return energy if self.log_energy_floor is None else energy.clamp_min(self.log_energy_floor)

    def _fbank(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        frames = kaldi._get_strided(x, cfg.window_samples, cfg.shift_samples, cfg.snip_edges)
        if cfg.remove_dc_offset:
            frames = frames - frames.mean(dim=1, keepdim=True)
        if cfg.use_energy and cfg.raw_energy:
            energy = self._log_energy(frames)
        if cfg.preemphasis != 0.0:
            previous = torch.cat((frames[:, :1], frames[:, :-1]), dim=1)  # x[max(0, j - 1)]
            frames = frames - cfg.preemphasis * previous
        frames = frames * self.window
        if cfg.use_energy and not cfg.raw_energy:
            energy = self._log_energy(frames)
        spectrum = torch.fft.rfft(frames, n=self.fft_size)  # zero-pads each frame to fft_size
        if cfg.use_power:
            spectrum = spectrum.real.square() + spectrum.imag.square()
        else:
            spectrum = spectrum.abs()
        feats = spectrum @ self.mel_matrix
        if cfg.use_log_fbank:
            feats = feats.clamp_min(self.epsilon).log()
        if cfg.use_energy:
            feats = torch.cat((energy[:, None], feats), dim=1)
        return feats
