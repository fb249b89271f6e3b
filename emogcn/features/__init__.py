"""Speech features: reading wav.scp entries and Kaldi-compatible fbank/MFCC extraction."""

from emogcn.features.audio import AudioError, read_audio, resample
from emogcn.features.extract import FeatureConfig, FeatureExtractor, load_feature_config

__all__ = ["AudioError", "FeatureConfig", "FeatureExtractor", "load_feature_config", "read_audio", "resample"]
