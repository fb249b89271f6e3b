"""Face backbones of the original Emotion-GCN: DenseNet-121 and BReG-NeXt (docs/DESIGN.md, "Models").

Both take images x (B, 3, H, W) and ignore `lengths`. Nothing is downloaded unless asked: the
DenseNet's ImageNet weights come from torchvision's weights API (`weights: imagenet`, needs the
internet or torchvision's cache) or from a local state-dict file (`weights: /path/to/file.pth`),
and `weights: none` trains from scratch.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from emogcn.models.backbones import register_backbone


@register_backbone("densenet121")
class DenseNet121(nn.Module):
    """torchvision's DenseNet-121 `features`; the embedding is the global MAX pooling of the
    norm5 output before its ReLU, as the original takes it (1024-d)."""

    def __init__(self, input_dim: int = 3, weights: str = "none", pooling: str = "max"):
        super().__init__()
        import torchvision

        if input_dim != 3:
            raise ValueError(f"densenet121: expects 3-channel images, got input_dim {input_dim}")
        if pooling not in ("max", "avg"):
            raise ValueError(f"densenet121: pooling '{pooling}' not in ('max', 'avg')")
        if weights == "imagenet":
            net = torchvision.models.densenet121(weights=torchvision.models.DenseNet121_Weights.IMAGENET1K_V1)
        else:
            net = torchvision.models.densenet121(weights=None)
            if weights != "none":
                path = Path(weights)
                if not path.is_file():
                    raise FileNotFoundError(f"densenet121: weights file {path} not found "
                                            "(use 'imagenet' to download, or 'none' to train from scratch)")
                state = torch.load(path, map_location="cpu", weights_only=True)
                state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
                missing, unexpected = net.features.load_state_dict(state, strict=False)
                if missing or unexpected:
                    raise ValueError(f"densenet121: {path} does not match DenseNet-121 features "
                                     f"(missing {len(missing)}, unexpected {len(unexpected)} keys)")
        self.features = net.features  # ends with norm5 (BatchNorm); no ReLU follows inside `features`
        self.pool = nn.AdaptiveMaxPool2d(1) if pooling == "max" else nn.AdaptiveAvgPool2d(1)
        self.out_dim = 1024

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f"densenet121: expected images (B, 3, H, W), got {tuple(x.shape)}")
        return self.pool(self.features(x)).flatten(1)


class BoundedShortcut(nn.Module):
    """BReG-NeXt's shortcut f(x) = atan(a x / sqrt(c^2 + 1)) / (a sqrt(c^2 + 1)), a and c learnable (init 1)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.ones(1))
        self.c = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        root = torch.sqrt(self.c ** 2 + 1)
        return torch.atan(self.a * x / root) / (self.a * root)


class BregBlock(nn.Module):
    """Pre-activation residual layer: BN, ELU, 3x3 conv, BN, ELU, 3x3 conv, plus the bounded
    shortcut; with stride 2 the shortcut is average-pooled and zero-padded in channels."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ELU(), nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ELU(), nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
        )
        self.shortcut = BoundedShortcut()
        # ceil mode: an odd side (227 px) shrinks as the strided convolution does, to ceil(n / 2)
        self.pool = nn.AvgPool2d(stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.extra_channels = out_channels - in_channels
        if self.extra_channels < 0:
            raise ValueError("bregnext: a block cannot reduce channels")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = self.pool(self.shortcut(x))
        if self.extra_channels:
            short = nn.functional.pad(short, (0, 0, 0, 0, 0, self.extra_channels))
        return self.body(x) + short


@register_backbone("bregnext")
class BregNext(nn.Module):
    """BReG-NeXt (Hasani et al., 2020): 3x3 conv 3->32, stacks [7 x 32, 1 x 64 stride 2, 8 x 64,
    1 x 128 stride 2, 7 x 128], then BN, ELU, global average pooling: 128-d. From scratch.
    `width` scales the channels (1.0 is the published network; tests use small ones)."""

    def __init__(self, input_dim: int = 3, width: float = 1.0, depth: tuple = (7, 1, 8, 1, 7)):
        super().__init__()
        if input_dim != 3:
            raise ValueError(f"bregnext: expects 3-channel images, got input_dim {input_dim}")
        c1, c2, c3 = (max(1, int(math.ceil(c * width))) for c in (32, 64, 128))
        plan = [(c1, c1, 1)] * depth[0] + [(c1, c2, 2)] * depth[1] + [(c2, c2, 1)] * depth[2] \
            + [(c2, c3, 2)] * depth[3] + [(c3, c3, 1)] * depth[4]
        layers, channels = [nn.Conv2d(3, c1, 3, 1, 1, bias=False)], c1
        for _, out_c, stride in plan:
            layers.append(BregBlock(channels, out_c, stride))
            channels = out_c
        self.body = nn.Sequential(*layers, nn.BatchNorm2d(channels), nn.ELU(), nn.AdaptiveAvgPool2d(1))
        self.out_dim = channels

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f"bregnext: expected images (B, 3, H, W), got {tuple(x.shape)}")
        return self.body(x).flatten(1)
