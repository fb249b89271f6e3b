"""The learned weighted sum of an upstream's layers (SUPERB), in front of any frame backbone.

Stage 1 stores L layers of D dims side by side, (T, L*D); this module splits them, normalises
each layer (layer norm without parameters, as s3prl does, so that layers of different scale
compete on their weights alone) and sums them with softmax weights, then hands (T, D) frames
to the backbone. The weights start equal; `layer_weights()` reports what training made of them.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerWeightedBackbone(nn.Module):
    def __init__(self, backbone: nn.Module, num_layers: int, layer_dim: int):
        super().__init__()
        if num_layers < 1 or layer_dim < 1:
            raise ValueError(f"layer_sum: need num_layers >= 1 and layer_dim >= 1, got {num_layers}, {layer_dim}")
        self.backbone = backbone
        self.num_layers = num_layers
        self.layer_dim = layer_dim
        self.logits = nn.Parameter(torch.zeros(num_layers))
        self.out_dim = backbone.out_dim

    def layer_weights(self) -> list[float]:
        return torch.softmax(self.logits.detach(), dim=0).tolist()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.size(2) != self.num_layers * self.layer_dim:
            raise ValueError(f"layer_sum: expected x of shape (B, T, {self.num_layers} x {self.layer_dim}), "
                             f"got {tuple(x.shape)}")
        layers = x.view(x.size(0), x.size(1), self.num_layers, self.layer_dim)
        layers = nn.functional.layer_norm(layers, (self.layer_dim,))
        mixed = (layers * torch.softmax(self.logits, dim=0)[:, None]).sum(dim=2)
        return self.backbone(mixed, lengths)
