"""Backbones: the modality-specific part of every model, from input features to one embedding per item.

Every backbone is an nn.Module with an integer attribute `out_dim` and
`forward(x, lengths) -> (B, out_dim)`. Speech backbones take padded frames x (B, T, F) and the
valid frame counts lengths (B,); image backbones take x (B, 3, H, W) and ignore lengths (None).
New backbones join the registry with `@register_backbone("name")`; heads never look inside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

# name -> constructor(input_dim, **options) returning a backbone module
BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def register_backbone(name: str) -> Callable:
    def add(constructor: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in BACKBONES:
            raise ValueError(f"backbone '{name}' is registered twice")
        BACKBONES[name] = constructor
        return constructor

    return add


def build_backbone(name: str, input_dim: int, **options) -> nn.Module:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone '{name}'; known: {', '.join(sorted(BACKBONES))}")
    try:
        backbone = BACKBONES[name](input_dim, **options)
    except TypeError as err:  # an option the constructor does not take
        raise ValueError(f"backbone '{name}': bad options {sorted(options)}: {err}") from None
    if not isinstance(getattr(backbone, "out_dim", None), int):
        raise TypeError(f"backbone '{name}' has no integer attribute out_dim")
    return backbone


def time_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, max_len) bool, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_pool(h: torch.Tensor, lengths: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool h (B, C, T) over valid frames only: 'mean', 'max', 'meanmax' or 'meanstd' (the two
    statistics concatenated; 'meanstd' is the statistics pooling of x-vectors)."""
    valid = time_mask(lengths, h.size(2))[:, None, :]  # (B, 1, T)
    count = lengths[:, None].to(h.dtype)
    mean = h.masked_fill(~valid, 0.0).sum(dim=2) / count
    if mode == "mean":
        return mean
    if mode == "max":
        return h.masked_fill(~valid, float("-inf")).amax(dim=2)
    if mode == "meanmax":
        return torch.cat([mean, h.masked_fill(~valid, float("-inf")).amax(dim=2)], dim=1)
    if mode == "meanstd":
        centred = (h - mean[:, :, None]).masked_fill(~valid, 0.0)
        # the floor keeps the gradient of sqrt finite on constant channels and one-frame utterances
        std = (centred.pow(2).sum(dim=2) / count).clamp(min=1e-5).sqrt()
        return torch.cat([mean, std], dim=1)
    raise ValueError(f"pooling '{mode}' not in {POOLING_MODES}")


POOLING_MODES = ("mean", "max", "meanmax", "meanstd")
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU}


class ConvBlock(nn.Module):
    """conv3x3 + BatchNorm + activation, then 2x2 max pooling over (time, freq).

    Pooling uses ceil mode so that no utterance shrinks to zero frames; before it, padded frames
    are set to -inf so that a window straddling the end of an utterance sees only its valid frames.
    """

    def __init__(self, in_channels: int, out_channels: int, activation: str):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = ACTIVATIONS[activation]()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # h: (B, C, T, F), zero on padded frames, as the conv's own zero padding sees them alone
        h = self.act(self.norm(self.conv(h)))
        if bool((lengths == h.size(2)).all()):  # no padding in this batch: masking would be a no-op
            return self.pool(h), torch.div(lengths + 1, 2, rounding_mode="floor")
        valid = time_mask(lengths, h.size(2))[:, None, :, None]
        h = self.pool(h.masked_fill(~valid, float("-inf")))
        lengths = torch.div(lengths + 1, 2, rounding_mode="floor")  # ceil(L / 2)
        valid = time_mask(lengths, h.size(2))[:, None, :, None]
        return h.masked_fill(~valid, 0.0), lengths


@register_backbone("speech_cnn")
class SpeechCNN(nn.Module):
    """2-D CNN over (time, frequency) of fbank frames, masked pooling over time, linear projection.

    Each block halves time and frequency; after the last block the frequency axis is averaged away
    and the valid frames are pooled (mean and/or max), so an utterance's embedding does not depend
    on how much padding its batch adds (in eval mode; in training, BatchNorm statistics see padding).
    """

    def __init__(
        self,
        input_dim: int,
        channels: Sequence[int] = (32, 64, 128, 256),
        activation: str = "relu",
        pooling: str = "meanmax",
        dropout: float = 0.3,
        embed_dim: int | None = 256,
    ):
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"speech_cnn: input_dim must be positive, got {input_dim}")
        if not channels:
            raise ValueError("speech_cnn: channels must list at least one block")
        if activation not in ACTIVATIONS:
            raise ValueError(f"speech_cnn: activation '{activation}' not in {sorted(ACTIVATIONS)}")
        if pooling not in POOLING_MODES:
            raise ValueError(f"speech_cnn: pooling '{pooling}' not in {POOLING_MODES}")
        self.input_dim = input_dim
        self.pooling = pooling
        blocks, in_channels = [], 1
        for out_channels in channels:
            blocks.append(ConvBlock(in_channels, int(out_channels), activation))
            in_channels = int(out_channels)
        self.blocks = nn.ModuleList(blocks)
        pooled_dim = in_channels * (2 if pooling in ("meanmax", "meanstd") else 1)
        self.dropout = nn.Dropout(dropout)
        # embed_dim None or 0: the pooled statistics are the embedding
        self.projection = nn.Linear(pooled_dim, embed_dim) if embed_dim else nn.Identity()
        self.out_dim = int(embed_dim) if embed_dim else pooled_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.size(2) != self.input_dim:
            raise ValueError(f"speech_cnn: expected x of shape (B, T, {self.input_dim}), got {tuple(x.shape)}")
        if lengths is None:
            lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        if lengths.shape != (x.size(0),):
            raise ValueError(f"speech_cnn: lengths has shape {tuple(lengths.shape)}, expected ({x.size(0)},)")
        if bool((lengths < 1).any()) or bool((lengths > x.size(1)).any()):
            raise ValueError(f"speech_cnn: lengths must lie in [1, {x.size(1)}], got {lengths.tolist()}")
        lengths = lengths.to(device=x.device, dtype=torch.long)
        h = x[:, None]  # (B, 1, T, F)
        if not bool((lengths == x.size(1)).all()):
            valid = time_mask(lengths, x.size(1))[:, None, :, None]
            h = h.masked_fill(~valid, 0.0)  # padding zeroed, whatever it held
        for block in self.blocks:
            h, lengths = block(h, lengths)
        h = h.mean(dim=3)  # (B, C, T'): frequency averaged away
        pooled = masked_pool(h, lengths, self.pooling)
        return self.projection(self.dropout(pooled))



@register_backbone("mlp")
class UtteranceMLP(nn.Module):
    """An MLP over utterance-level vectors (functionals such as eGeMAPS/ComParE stored as one-frame
    matrices); frame-level input is mean-pooled over its valid frames first."""

    def __init__(self, input_dim: int, hidden: Sequence[int] = (256, 128), dropout: float = 0.3,
                 input_dropout: float = 0.0):
        super().__init__()
        if input_dim < 1 or not hidden:
            raise ValueError(f"mlp: need input_dim >= 1 and at least one hidden layer, got {input_dim}, {hidden}")
        # dropout on the input: thousands of correlated functionals, a few hundred utterances
        layers, width = [nn.LayerNorm(input_dim), nn.Dropout(input_dropout)], input_dim
        for size in hidden:
            layers += [nn.Linear(width, int(size)), nn.ReLU(), nn.Dropout(dropout)]
            width = int(size)
        self.net = nn.Sequential(*layers)
        self.input_dim = input_dim
        self.out_dim = width

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.size(2) != self.input_dim:
            raise ValueError(f"mlp: expected x of shape (B, T, {self.input_dim}), got {tuple(x.shape)}")
        if lengths is None:
            lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        pooled = masked_pool(x.transpose(1, 2), lengths.to(x.device), "mean")
        return self.net(pooled)
