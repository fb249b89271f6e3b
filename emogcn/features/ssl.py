"""Frozen self-supervised upstreams (wav2vec 2.0, HuBERT, WavLM) from torchaudio, every layer to ark.

The model is a torchaudio.models builder (`model: hubert_base`, or `wav2vec2_model` / `wavlm_model`
with `model_options` for any other size); its weights come from
  - `weights: bundle:HUBERT_BASE`  torchaudio.pipelines downloads them (needs internet once; the
                                   bundle also fixes the architecture, so `model` stays empty),
  - `weights: /path/file.pth`      a state dict in torchaudio's layout, e.g. the .pth file a
                                   bundle downloads into ~/.cache/torch/hub/checkpoints,
  - `weights: none`                random initialisation: tests and speed benchmarks only.
Each utterance's hidden states of the chosen transformer layers (1-based; all by default) are
concatenated along the feature axis: a (frames, layers x dim) matrix at 50 frames a second. The
training config's `model.layer_sum: <layers>` splits them again and learns the weighted sum of
SUPERB (emogcn/models/layer_sum.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from emogcn.config import ConfigError

# torchaudio.models builders of Wav2Vec2Model (the *_model ones take the whole architecture).
BUILDERS = (
    "wav2vec2_model", "wav2vec2_base", "wav2vec2_large", "wav2vec2_large_lv60k", "wav2vec2_xlsr_300m",
    "wav2vec2_xlsr_1b", "wav2vec2_xlsr_2b", "hubert_base", "hubert_large", "hubert_xlarge", "wavlm_model",
    "wavlm_base", "wavlm_large",
)
BUNDLE_PREFIX = "bundle:"


@dataclass
class SslConfig:
    type: str = "ssl"
    model: str = ""  # a torchaudio.models builder (BUILDERS); empty with weights: bundle:<NAME>
    model_options: dict = field(default_factory=dict)  # keyword arguments of the builder
    weights: str = ""  # bundle:<torchaudio.pipelines name> | <state-dict file> | none
    layers: list = field(default_factory=list)  # transformer layers to keep, 1-based; empty: all
    normalize_waveform: bool = False  # layer-normalise the waveform first (large wav2vec2/HuBERT/WavLM)
    sample_rate: int = 16000

    def check(self) -> None:
        if self.type != "ssl":
            raise ConfigError(f"type '{self.type}' is not ssl")
        if not self.weights:
            raise ConfigError("weights must be bundle:<NAME> (download), a state-dict file, or none (random)")
        if self.weights.startswith(BUNDLE_PREFIX):
            if self.model:
                raise ConfigError(f"model '{self.model}' given with weights '{self.weights}': the bundle fixes "
                                  "the architecture; leave model empty")
        elif self.model not in BUILDERS:
            raise ConfigError(f"model '{self.model}' is not a torchaudio builder: {', '.join(BUILDERS)}")
        if any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in self.layers):
            raise ConfigError(f"layers must be 1-based layer numbers, got {self.layers}")
        if len(set(self.layers)) != len(self.layers):
            raise ConfigError(f"layers lists a layer twice: {self.layers}")
        if self.sample_rate <= 0:
            raise ConfigError(f"sample_rate must be positive, got {self.sample_rate}")


def load_upstream(cfg: SslConfig) -> torch.nn.Module:
    """The torchaudio Wav2Vec2Model of `cfg`, weights loaded, in eval mode."""
    import torchaudio

    if cfg.weights.startswith(BUNDLE_PREFIX):
        name = cfg.weights[len(BUNDLE_PREFIX):]
        bundle = getattr(torchaudio.pipelines, name, None)
        if bundle is None or not hasattr(bundle, "get_model"):
            raise ConfigError(f"weights '{cfg.weights}': torchaudio.pipelines has no wav2vec2-style bundle {name}")
        if int(bundle.sample_rate) != cfg.sample_rate:
            raise ConfigError(f"weights '{cfg.weights}': the bundle expects {int(bundle.sample_rate)} Hz audio, "
                              f"sample_rate is {cfg.sample_rate}")
        return bundle.get_model().eval()  # downloads once into torch.hub's cache
    try:
        model = getattr(torchaudio.models, cfg.model)(**cfg.model_options)
    except TypeError as e:
        raise ConfigError(f"model_options of {cfg.model}: {e}") from None
    if cfg.weights != "none":
        try:
            state = torch.load(cfg.weights, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise ConfigError(f"weights '{cfg.weights}': file not found") from None
        except Exception as e:
            raise ConfigError(f"weights '{cfg.weights}': not a loadable state dict ({type(e).__name__}: {e})") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise ConfigError(f"weights '{cfg.weights}' do not fit {cfg.model}: {first[1].strip() if len(first) > 1 else e}") from None
    return model.eval()


def receptive_field(model: torch.nn.Module) -> int:
    """Samples the convolutional feature encoder needs for one frame (400 = 25 ms at 16 kHz for
    the standard stack)."""
    field_size, hop = 1, 1
    for layer in model.feature_extractor.conv_layers:
        conv = layer.conv
        field_size += (conv.kernel_size[0] - 1) * hop
        hop *= conv.stride[0]
    return field_size


class SslExtractor:
    """Hidden states of the chosen layers of a frozen upstream, one utterance after another."""

    def __init__(self, cfg: SslConfig, model: torch.nn.Module | None = None):
        cfg.check()
        self.cfg = cfg
        self.model = model if model is not None else load_upstream(cfg)
        self.num_layers = len(self.model.encoder.transformer.layers)
        self.layers = list(cfg.layers) or list(range(1, self.num_layers + 1))
        if max(self.layers) > self.num_layers:
            raise ConfigError(f"layers {cfg.layers}: the model has {self.num_layers} transformer layers")
        self.min_samples = receptive_field(self.model)
        self.layer_dim = self.model.encoder.feature_projection.projection.out_features
        self.dim = self.layer_dim * len(self.layers)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(frames, len(layers) * dim) float32: the layers' hidden states side by side."""
        if wave.ndim != 1:
            raise ValueError(f"expected mono audio (1-D), got shape {tuple(wave.shape)}")
        if wave.shape[0] < self.min_samples:
            raise ValueError(f"audio of {wave.shape[0]} samples is shorter than one frame ({self.min_samples} samples)")
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        with torch.inference_mode():
            if self.cfg.normalize_waveform:
                x = torch.nn.functional.layer_norm(x, x.shape[1:])
            hidden, _ = self.model.extract_features(x, num_layers=max(self.layers))
            feats = torch.cat([hidden[k - 1][0] for k in self.layers], dim=1)
        return feats.numpy().astype(np.float32, copy=False)
