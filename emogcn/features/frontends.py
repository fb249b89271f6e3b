"""Every audio front-end of stage 1 behind one interface, chosen by the `type` key of its YAML.

    fbank | mfcc   Kaldi-compatible frames (emogcn/features/extract.py)
    opensmile      eGeMAPS / ComParE functionals or LLDs (emogcn/features/functionals.py)
    ssl            frozen wav2vec 2.0 / HuBERT / WavLM layers (emogcn/features/ssl.py)

An extractor is built once per job and called per utterance: `extractor(wave) -> (rows, dim)`
float32, with attributes `dim` and `min_samples` (shorter audio is dropped with the reason).
Face configs (`type: face`, emogcn/features/faces.py) load here too; their extractor reads images.
"""

from __future__ import annotations

from pathlib import Path

from emogcn.config import ConfigError, load_config, read_yaml
from emogcn.features.extract import FEATURE_TYPES, FeatureConfig, FeatureExtractor
from emogcn.features.faces import FaceConfig, FaceExtractor
from emogcn.features.functionals import OpenSmileConfig, OpenSmileExtractor
from emogcn.features.ssl import SslConfig, SslExtractor

CONFIG_CLASSES = {**{t: FeatureConfig for t in FEATURE_TYPES}, "opensmile": OpenSmileConfig, "ssl": SslConfig,
                  "face": FaceConfig}
EXTRACTORS = {FeatureConfig: FeatureExtractor, OpenSmileConfig: OpenSmileExtractor, SslConfig: SslExtractor,
              FaceConfig: FaceExtractor}
FrontendConfig = FeatureConfig | OpenSmileConfig | SslConfig | FaceConfig


def frontend_type(path: str | Path | None) -> str:
    """The `type` of a front-end YAML (fbank when the file or the key is absent)."""
    raw = read_yaml(path) if path else {}
    kind = raw.get("type", "fbank") if isinstance(raw, dict) else "fbank"
    return kind if isinstance(kind, str) else repr(kind)


def load_frontend_config(path: str | Path | None) -> FrontendConfig:
    """Reads a front-end YAML (strict keys) into its config class and checks it."""
    kind = frontend_type(path)
    cls = CONFIG_CLASSES.get(kind)
    if cls is None:
        raise ConfigError(f"{path}: type '{kind}' is not one of {', '.join(CONFIG_CLASSES)}")
    cfg = load_config(cls, path)
    try:
        cfg.check()
    except ConfigError as e:
        raise ConfigError(f"{path or 'config'}: {e}") from None
    return cfg


def make_extractor(cfg: FrontendConfig):
    return EXTRACTORS[type(cfg)](cfg)
