"""ECAPA-TDNN-style speech backbone (Desplanques et al., Interspeech 2020), sized for small corpora.

Frames (B, T, F) -> 1-D convolution over time -> SE-Res2 blocks with growing dilation -> the
block outputs concatenated and mixed (multi-layer feature aggregation) -> attentive statistics
pooling (Okabe et al. 2018, with the global context of ECAPA) -> BatchNorm -> linear embedding.

Every time operation honours `lengths`: padded frames are zeroed before each convolution (as the
convolution's own padding would be), and means, standard deviations and attention weights use
valid frames only, so an utterance's embedding in eval mode does not depend on its batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from emogcn.models.backbones import register_backbone, time_mask


def _masked_stats(h: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and std over time of h (B, C, T); weights (B, C or 1, T) sum to 1 over T."""
    mean = (h * weights).sum(dim=2)
    var = (h.pow(2) * weights).sum(dim=2) - mean.pow(2)
    return mean, var.clamp(min=1e-5).sqrt()  # the floor keeps sqrt's gradient finite


class _ConvBN(nn.Module):
    """Conv1d + ReLU + BatchNorm, zeroing padded frames of its input first."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, dilation: int = 1, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, dilation=dilation, stride=stride,
                              padding=dilation * (kernel - 1) // 2)
        self.norm = nn.BatchNorm1d(out_channels)

    def forward(self, h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.conv(h.masked_fill(~valid, 0.0))))


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int, bottleneck: int):
        super().__init__()
        self.down = nn.Linear(channels, bottleneck)
        self.up = nn.Linear(bottleneck, channels)

    def forward(self, h: torch.Tensor, valid: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        mean = h.masked_fill(~valid, 0.0).sum(dim=2) / count
        gate = torch.sigmoid(self.up(torch.relu(self.down(mean))))
        return h * gate[:, :, None]


class _SERes2Block(nn.Module):
    """1x1 conv, Res2Net dilated convs over `scale` channel groups, 1x1 conv, SE, residual."""

    def __init__(self, channels: int, kernel: int, dilation: int, scale: int, se_channels: int):
        super().__init__()
        if channels % scale:
            raise ValueError(f"ecapa_tdnn: channels {channels} is not divisible by scale {scale}")
        width = channels // scale
        self.scale = scale
        self.conv_in = _ConvBN(channels, channels)
        self.convs = nn.ModuleList(_ConvBN(width, width, kernel, dilation) for _ in range(scale - 1))
        self.conv_out = _ConvBN(channels, channels)
        self.se = _SqueezeExcite(channels, se_channels)

    def forward(self, h: torch.Tensor, valid: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(h, valid)
        groups = torch.chunk(x, self.scale, dim=1)
        outs, previous = [groups[0]], None
        for group, conv in zip(groups[1:], self.convs):
            previous = conv(group if previous is None else group + previous, valid)
            outs.append(previous)
        x = self.conv_out(torch.cat(outs, dim=1), valid)
        return self.se(x, valid, count) + h


class AttentiveStatsPooling(nn.Module):
    """Channel- and context-dependent attention over valid frames; returns [mean, std] (B, 2C)."""

    def __init__(self, channels: int, attention_channels: int):
        super().__init__()
        # input: the frames plus the utterance's global mean and std, as ECAPA does
        self.attention = nn.Sequential(
            nn.Conv1d(3 * channels, attention_channels, 1), nn.ReLU(), nn.BatchNorm1d(attention_channels),
            nn.Tanh(), nn.Conv1d(attention_channels, channels, 1),
        )

    def forward(self, h: torch.Tensor, valid: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        uniform = valid.to(h.dtype) / count[:, :, None]
        mean, std = _masked_stats(h, uniform)
        frames = h.size(2)
        context = torch.cat([h, mean[:, :, None].expand(-1, -1, frames), std[:, :, None].expand(-1, -1, frames)], 1)
        scores = self.attention(context.masked_fill(~valid, 0.0)).masked_fill(~valid, float("-inf"))
        mean, std = _masked_stats(h, torch.softmax(scores, dim=2))
        return torch.cat([mean, std], dim=1)


@register_backbone("ecapa_tdnn")
class EcapaTDNN(nn.Module):
    def __init__(
        self,
        input_dim: int,
        channels: int = 256,
        dilations: Sequence[int] = (2, 3, 4),
        kernel: int = 3,
        scale: int = 4,
        se_channels: int = 64,
        attention_channels: int = 64,
        aggregate_channels: int | None = None,
        embed_dim: int = 128,
        dropout: float = 0.0,
        frame_stride: int = 1,
    ):
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"ecapa_tdnn: input_dim must be positive, got {input_dim}")
        if not dilations:
            raise ValueError("ecapa_tdnn: dilations must list at least one block")
        if frame_stride < 1:
            raise ValueError(f"ecapa_tdnn: frame_stride must be at least 1, got {frame_stride}")
        self.input_dim = input_dim
        # frame_stride 2 halves the frame rate after the stem (20 ms frames): about half the cost
        self.frame_stride = int(frame_stride)
        self.stem = _ConvBN(input_dim, channels, kernel=5, stride=self.frame_stride)
        self.blocks = nn.ModuleList(_SERes2Block(channels, kernel, int(d), scale, se_channels) for d in dilations)
        aggregate = aggregate_channels or channels * len(dilations)
        self.aggregate = _ConvBN(channels * len(dilations), aggregate)
        self.pooling = AttentiveStatsPooling(aggregate, attention_channels)
        self.pooled_norm = nn.BatchNorm1d(2 * aggregate)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(2 * aggregate, embed_dim)
        self.out_dim = int(embed_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.size(2) != self.input_dim:
            raise ValueError(f"ecapa_tdnn: expected x of shape (B, T, {self.input_dim}), got {tuple(x.shape)}")
        if lengths is None:
            lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        if lengths.shape != (x.size(0),) or bool((lengths < 1).any()) or bool((lengths > x.size(1)).any()):
            raise ValueError(f"ecapa_tdnn: lengths must lie in [1, {x.size(1)}], one per item; got {lengths.tolist()}")
        lengths = lengths.to(device=x.device, dtype=torch.long)
        valid = time_mask(lengths, x.size(1))[:, None, :]  # (B, 1, T)
        h = self.stem(x.transpose(1, 2), valid)
        lengths = torch.div(lengths + self.frame_stride - 1, self.frame_stride, rounding_mode="floor")
        valid = time_mask(lengths, h.size(2))[:, None, :]  # ceil(L / stride) frames after the stem
        count = lengths[:, None].to(x.dtype)
        outputs = []
        for block in self.blocks:
            h = block(h, valid, count)
            outputs.append(h)
        h = self.aggregate(torch.cat(outputs, dim=1), valid)
        pooled = self.pooled_norm(self.pooling(h, valid, count))
        return self.projection(self.dropout(pooled))
