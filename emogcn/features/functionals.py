"""Hand-crafted acoustic parameter sets through openSMILE (eGeMAPS, ComParE 2016, ...).

Functionals give one vector per utterance, stored as a one-row matrix in the ark (the `mlp`
backbone takes it); low-level descriptors (`feature_level: lld`) give one row per 10 ms frame.
openSMILE is an optional dependency: `pip install emogcn[opensmile]` (tools/setup_env.sh installs
it), imported only when such a config is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogcn.config import ConfigError

# openSMILE's FeatureSet names (opensmile.FeatureSet members) and FeatureLevel names.
FEATURE_SETS = ("ComParE_2016", "eGeMAPSv02", "GeMAPSv01b", "eGeMAPSv01b", "emobase")
FEATURE_LEVELS = {"functionals": "Functionals", "lld": "LowLevelDescriptors", "lld_deltas": "LowLevelDescriptors_Deltas"}


@dataclass
class OpenSmileConfig:
    type: str = "opensmile"
    feature_set: str = "eGeMAPSv02"
    feature_level: str = "functionals"  # functionals (one row per utterance) | lld | lld_deltas
    sample_rate: int = 16000  # audio is resampled to this rate first
    min_duration_ms: float = 100.0  # shorter audio is dropped: openSMILE's pitch needs a few frames

    def check(self) -> None:
        if self.type != "opensmile":
            raise ConfigError(f"type '{self.type}' is not opensmile")
        if self.feature_set not in FEATURE_SETS:
            raise ConfigError(f"feature_set '{self.feature_set}' is not one of {', '.join(FEATURE_SETS)}")
        if self.feature_level not in FEATURE_LEVELS:
            raise ConfigError(f"feature_level '{self.feature_level}' is not one of {', '.join(FEATURE_LEVELS)}")
        if self.sample_rate <= 0:
            raise ConfigError(f"sample_rate must be positive, got {self.sample_rate}")
        if self.min_duration_ms < 0:
            raise ConfigError(f"min_duration_ms must be >= 0, got {self.min_duration_ms}")

    @property
    def min_samples(self) -> int:
        return max(1, int(self.sample_rate * self.min_duration_ms / 1000))


def import_opensmile():
    try:
        import opensmile
    except ImportError:
        raise ConfigError("openSMILE features need the opensmile package: pip install 'emogcn[opensmile]' "
                          "(or pip install opensmile)") from None
    return opensmile


class OpenSmileExtractor:
    """Features of one utterance after another; the openSMILE process is configured once."""

    def __init__(self, cfg: OpenSmileConfig):
        cfg.check()
        opensmile = import_opensmile()
        self.cfg = cfg
        self.min_samples = cfg.min_samples
        self.smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, cfg.feature_set),
                                     feature_level=getattr(opensmile.FeatureLevel, FEATURE_LEVELS[cfg.feature_level]))
        self.dim = len(self.smile.feature_names)
        self.feature_names = list(self.smile.feature_names)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(rows, dim) float32: one row of functionals, or one per frame of low-level descriptors."""
        if wave.ndim != 1:
            raise ValueError(f"expected mono audio (1-D), got shape {tuple(wave.shape)}")
        if wave.shape[0] < self.cfg.min_samples:
            raise ValueError(f"audio of {wave.shape[0]} samples is shorter than min_duration_ms "
                             f"({self.cfg.min_samples} samples)")
        frame = self.smile.process_signal(np.ascontiguousarray(wave, dtype=np.float32), self.cfg.sample_rate)
        feats = np.asarray(frame.to_numpy(), dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] == 0:
            raise ValueError(f"openSMILE gave no {self.cfg.feature_level} for {wave.shape[0]} samples")
        return feats
