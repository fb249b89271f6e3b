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

For big corpora: `device: auto` runs the upstream on CUDA when present; `batch_size: N` extracts N
utterances at once, padded, with their true lengths given to the upstream, so the padding does not
change any utterance's features (beyond float rounding; see SslExtractor.extract_batch);
`dtype: float16` stores the layers at half the size (the training data loader reads them back as
float32; an utterance whose values exceed float16's range fails instead of holding inf).
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
DTYPES = ("float32", "float16")


@dataclass
class SslConfig:
    type: str = "ssl"
    model: str = ""  # a torchaudio.models builder (BUILDERS); empty with weights: bundle:<NAME>
    model_options: dict = field(default_factory=dict)  # keyword arguments of the builder
    weights: str = ""  # bundle:<torchaudio.pipelines name> | <state-dict file> | none
    layers: list = field(default_factory=list)  # transformer layers to keep, 1-based; empty: all
    normalize_waveform: bool = False  # layer-normalise the waveform first (large wav2vec2/HuBERT/WavLM)
    sample_rate: int = 16000
    dtype: str = "float32"  # what the ark holds: float32 | float16 (half the size)
    batch_size: int = 1  # utterances extracted together (stage 1, make_feats)
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:<N>

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
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype '{self.dtype}' is not one of {', '.join(DTYPES)}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ConfigError(f"device '{self.device}' is not auto, cpu, cuda or cuda:<N>") from None


def resolve_device(name: str) -> torch.device:
    """`auto`: the current CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{name}': CUDA is not available here (device: auto uses it only when present)")
    return device


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
    """Hidden states of the chosen layers of a frozen upstream, one utterance or a batch at a time."""

    def __init__(self, cfg: SslConfig, model: torch.nn.Module | None = None):
        cfg.check()
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.model = (model if model is not None else load_upstream(cfg)).to(self.device)
        self.num_layers = len(self.model.encoder.transformer.layers)
        self.layers = list(cfg.layers) or list(range(1, self.num_layers + 1))
        if max(self.layers) > self.num_layers:
            raise ConfigError(f"layers {cfg.layers}: the model has {self.num_layers} transformer layers")
        self.min_samples = receptive_field(self.model)
        self.layer_dim = self.model.encoder.feature_projection.projection.out_features
        self.dim = self.layer_dim * len(self.layers)
        self.batch_size = cfg.batch_size
        self.dtype = np.dtype(cfg.dtype)
        # The base models' first convolution is followed by a GroupNorm over time, which would see
        # a batch's padding: their convolutional stack runs one utterance at a time (the encoder,
        # most of the work, still runs batched, its attention masked by the lengths).
        self._conv_per_utterance = any(isinstance(layer.layer_norm, torch.nn.GroupNorm)
                                       for layer in self.model.feature_extractor.conv_layers)
        from torchaudio.models.wav2vec2.wavlm_attention import WavLMSelfAttention

        self._wavlm = isinstance(self.model.encoder.transformer.layers[0].attention, WavLMSelfAttention)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(frames, len(layers) * dim) in cfg.dtype: the layers' hidden states side by side."""
        return self.extract_batch([wave])[0]

    def _check(self, wave: np.ndarray) -> None:
        if wave.ndim != 1:
            raise ValueError(f"expected mono audio (1-D), got shape {tuple(wave.shape)}")
        if wave.shape[0] < self.min_samples:
            raise ValueError(f"audio of {wave.shape[0]} samples is shorter than one frame ({self.min_samples} samples)")

    def _conv_features(self, waves: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, frames, channels) zero-padded outputs of the convolutional stack, and their lengths."""
        extractor = self.model.feature_extractor
        if self._conv_per_utterance:
            parts = [extractor(x[None], None)[0][0] for x in waves]
            lengths = torch.tensor([p.shape[0] for p in parts], device=self.device)
            return torch.nn.utils.rnn.pad_sequence(parts, batch_first=True), lengths
        samples = torch.tensor([x.shape[0] for x in waves], device=self.device)
        return extractor(torch.nn.utils.rnn.pad_sequence(waves, batch_first=True), samples)

    def _encode(self, conv: torch.Tensor, lengths: torch.Tensor, num_layers: int) -> list[torch.Tensor]:
        """The first num_layers transformer layers' outputs of a padded batch, padding masked."""
        encoder = self.model.encoder
        if not self._wavlm:
            return encoder.extract_features(conv, lengths, num_layers=num_layers)
        # torchaudio's WavLM attention takes padding only as key_padding_mask, which its encoder
        # never passes (it asserts the attention_mask that extract_features builds is None): the
        # same steps as Encoder.extract_features, with that mask
        x = encoder.feature_projection(conv)
        padding = torch.arange(x.shape[1], device=x.device)[None] >= lengths[:, None]
        x[padding] = 0.0
        x = encoder.transformer._preprocess(x)
        # additive, of the position bias's float type (a boolean mask there is deprecated)
        key_padding = torch.zeros(padding.shape, dtype=x.dtype, device=x.device).masked_fill(padding, float("-inf"))
        outputs, position_bias = [], None
        for layer in encoder.transformer.layers[:num_layers]:
            x, position_bias = layer(x, None, position_bias=position_bias, key_padding_mask=key_padding)
            outputs.append(x)
        return outputs

    def extract_batch(self, waves: list[np.ndarray]) -> list[np.ndarray]:
        """The features of each wave, as one call per wave would give them (to float rounding):
        padded frames are masked out of the attention and cut from the outputs."""
        for wave in waves:
            self._check(wave)
        num_layers = max(self.layers)
        with torch.inference_mode():
            xs = [torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)).to(self.device) for w in waves]
            if self.cfg.normalize_waveform:  # per utterance, over its own samples only
                xs = [torch.nn.functional.layer_norm(x, x.shape) for x in xs]
            if len(xs) == 1:  # no padding, no mask: exactly the upstream's own forward pass
                hidden, _ = self.model.extract_features(xs[0][None], num_layers=num_layers)
                lengths = [hidden[0].shape[1]]
            else:
                conv, frames = self._conv_features(xs)
                hidden = self._encode(conv, frames, num_layers)
                lengths = frames.tolist()
            feats = torch.cat([hidden[k - 1] for k in self.layers], dim=2).float().cpu().numpy()
        return [self._stored(feats[b, :n]) for b, n in enumerate(lengths)]

    def _stored(self, feats: np.ndarray) -> np.ndarray:
        """In cfg.dtype, refusing values beyond its range (they would be stored as inf)."""
        if self.dtype != np.float32 and feats.size:
            peak = float(np.abs(feats).max())
            if peak > float(np.finfo(self.dtype).max):
                raise ValueError(f"hidden states reach {peak:.4g}, beyond {self.dtype}'s range: "
                                 "store them with dtype: float32")
        return feats.astype(self.dtype)  # a copy: the batch's padded array is not kept alive
