"""A frozen SSL upstream inside the model (training config `input: waveform`), for corpora whose
stage-1 arks of every layer would be too large to store.

`UpstreamLayerBackbone` takes a padded batch of waveforms (B, samples) and their lengths, runs the
upstream without gradients, stacks the chosen layers' hidden states side by side, (B, T, L*D), as
stage 1 writes them (emogcn/features/ssl.py), and hands them with the upstream's frame lengths
to the learned layer sum and the frame backbone. It IS a LayerWeightedBackbone, so its trainable
weights have the same names as an ark-path model's with `model.layer_sum: L`.

The upstream is never trained: its parameters need no gradient (the optimiser gets none of them),
`train()` leaves it in eval mode (no dropout, no layer drop), and it is left out of the state dict,
since a copy per checkpoint (best, last, each averaged epoch) would multiply an upstream that the
config's weights file or bundle already holds. A SHA-256 of its weights is saved instead
(`upstream_sha256`), and loading a state dict into a model whose upstream differs is refused.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from emogcn.features.ssl import SslConfig, receptive_field
from emogcn.models.layer_sum import LayerWeightedBackbone

# torchaudio's feature encoder of every wav2vec2 / HuBERT / WavLM builder (channels, kernel, stride)
DEFAULT_CONV_LAYERS = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
DIGEST_KEY = "upstream_sha256"


def conv_geometry(cfg: SslConfig) -> tuple[int, int]:
    """(receptive field, hop) in samples of the upstream's feature encoder, from the config alone
    (datasets need them before any model is built): (400, 320) for the standard stack."""
    layers = cfg.model_options.get("extractor_conv_layer_config") or DEFAULT_CONV_LAYERS
    field_size, hop = 1, 1
    for _, kernel, stride in layers:
        field_size += (kernel - 1) * hop
        hop *= stride
    return field_size, hop


def weights_digest(module: nn.Module) -> bytes:
    """SHA-256 over the names, dtypes, shapes and bytes of a module's state dict."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name} {t.dtype} {tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.digest()


class UpstreamLayerBackbone(LayerWeightedBackbone):
    def __init__(self, backbone: nn.Module, upstream: nn.Module, layers: list[int], normalize_waveform: bool = False):
        num_layers = len(upstream.encoder.transformer.layers)
        if not layers or min(layers) < 1 or max(layers) > num_layers:
            raise ValueError(f"upstream layers {layers}: the upstream has {num_layers} transformer layers")
        super().__init__(backbone, len(layers), upstream.encoder.feature_projection.projection.out_features)
        upstream.eval().requires_grad_(False)
        self.upstream = upstream
        self.layers = list(layers)
        self.normalize_waveform = normalize_waveform
        self.min_samples = receptive_field(upstream)
        # GroupNorm over time (wav2vec2/HuBERT base) would see a padded utterance's zeros: such
        # convolutional stacks run one utterance at a time, so that lengths are honoured exactly
        self.per_utterance_conv = any(isinstance(layer.layer_norm, nn.GroupNorm)
                                      for layer in upstream.feature_extractor.conv_layers)
        # torchaudio's WavLM attention refuses a padding mask: its transformer runs unpadded too
        self.per_utterance_transformer = any(type(layer.attention).__name__ == "WavLMSelfAttention"
                                             for layer in upstream.encoder.transformer.layers)
        self._digest = weights_digest(upstream)
        self.register_buffer(DIGEST_KEY, torch.tensor(list(self._digest), dtype=torch.uint8))
        self.register_state_dict_post_hook(_drop_upstream)
        self.register_load_state_dict_pre_hook(_keep_upstream)

    def train(self, mode: bool = True):
        super().train(mode)
        self.upstream.eval()
        return self

    @torch.no_grad()
    def upstream_features(self, wave: torch.Tensor, lengths: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, L*D) hidden states of the chosen layers, and each utterance's frame count."""
        if wave.dim() != 2:
            raise ValueError(f"upstream: expected waveforms of shape (B, samples), got {tuple(wave.shape)}")
        if lengths is None:
            lengths = torch.full((wave.size(0),), wave.size(1), dtype=torch.long, device=wave.device)
        short = int(lengths.min())
        if short < self.min_samples:
            raise ValueError(f"upstream: an utterance of {short} samples is shorter than one frame "
                             f"({self.min_samples} samples)")
        valid = torch.arange(wave.size(1), device=wave.device)[None] < lengths[:, None]
        wave = wave * valid  # padding must be silence, whatever the collate wrote there
        if self.normalize_waveform:  # per utterance, over its own samples only
            n = lengths[:, None].to(wave.dtype)
            mean = wave.sum(1, keepdim=True) / n
            var = ((wave - mean) * valid).pow(2).sum(1, keepdim=True) / n
            wave = (wave - mean) / torch.sqrt(var + 1e-5) * valid
        extractor, encoder, deepest = self.upstream.feature_extractor, self.upstream.encoder, max(self.layers)
        if self.per_utterance_transformer:
            parts = [encoder.extract_features(extractor(wave[i:i + 1, :n], None)[0], None, num_layers=deepest)
                     for i, n in enumerate(lengths.tolist())]
            feats = [torch.cat([hidden[k - 1][0] for k in self.layers], dim=1) for hidden in parts]
            frame_lengths = torch.tensor([f.size(0) for f in feats], dtype=torch.long, device=wave.device)
            return nn.utils.rnn.pad_sequence(feats, batch_first=True), frame_lengths
        if self.per_utterance_conv:
            frames = [extractor(wave[i:i + 1, :n], None)[0][0] for i, n in enumerate(lengths.tolist())]
            frame_lengths = torch.tensor([f.size(0) for f in frames], dtype=torch.long, device=wave.device)
            x = nn.utils.rnn.pad_sequence(frames, batch_first=True)
        else:  # per-frame normalisation: valid frames see valid samples only, so a batch is exact
            x, frame_lengths = extractor(wave, lengths)
        # the transformer runs batched, padded frames masked out of its attention
        hidden = encoder.extract_features(x, frame_lengths, num_layers=deepest)
        return torch.cat([hidden[k - 1] for k in self.layers], dim=2), frame_lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        feats, frame_lengths = self.upstream_features(x, lengths)
        return super().forward(feats, frame_lengths)


def _drop_upstream(module: UpstreamLayerBackbone, state_dict: dict, prefix: str, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + "upstream.")]:
        del state_dict[key]


def _keep_upstream(module: UpstreamLayerBackbone, state_dict: dict, prefix: str, local_metadata, strict: bool,
                   missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
    """A saved state dict holds the upstream's digest, not its weights: the digest must match the
    upstream loaded here, whose own weights then stand in for the absent ones."""
    saved = state_dict.get(prefix + DIGEST_KEY)
    if saved is not None and bytes(saved.to(torch.uint8).tolist()) != module._digest:
        raise ValueError(f"these weights were trained on another upstream (its weights' sha256 "
                         f"{bytes(saved.tolist()).hex()[:16]}..., this one's {module._digest.hex()[:16]}...): "
                         "point the config's upstream.weights at the file the model was trained with")
    for name, value in module.upstream.state_dict().items():
        state_dict.setdefault(prefix + "upstream." + name, value)


def load_frozen_upstream(cfg: SslConfig) -> tuple[nn.Module, list[int], int]:
    """The upstream of `cfg` (load_upstream: a local file, or a bundle from torch.hub's cache), the
    layers kept (1-based) and their width. Torch's random state is left as it was, so the trainable
    part of the model starts from the same weights as an ark-path model of the same seed."""
    from emogcn.features.ssl import load_upstream

    with torch.random.fork_rng(devices=[]):  # the builder initialises weights randomly before loading
        upstream = load_upstream(cfg)
    num_layers = len(upstream.encoder.transformer.layers)
    layers = list(cfg.layers) or list(range(1, num_layers + 1))
    return upstream, layers, upstream.encoder.feature_projection.projection.out_features
