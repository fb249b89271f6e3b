"""Speech features: reading wav.scp entries and Kaldi-compatible fbank/MFCC extraction.

The names below are imported on first use, so that `emogcn.features.audio` alone (the speed
perturbation pipe, run once per utterance) imports no torch.
"""

_LAZY = {
    "AudioError": "emogcn.features.audio",
    "read_audio": "emogcn.features.audio",
    "resample": "emogcn.features.audio",
    "FeatureConfig": "emogcn.features.extract",
    "FeatureExtractor": "emogcn.features.extract",
    "load_feature_config": "emogcn.features.extract",
}

__all__ = ["AudioError", "FeatureConfig", "FeatureExtractor", "load_feature_config", "read_audio", "resample"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emogcn.features' has no attribute '{name}'")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
