"""Heads shared by speech and faces: embedding (B, D) in, class logits and dimensions out.

Every head has num_classes, num_dims (0 when it predicts none) and
`forward(embedding) -> (logits (B, C), dims (B, K) or None)`.
"""

from __future__ import annotations

import torch
from torch import nn

from emogcn.models.gcn import LabelGCN


class SingleTaskHead(nn.Module):
    """single_task: one linear classifier."""

    def __init__(self, embed_dim: int, num_classes: int):
        super().__init__()
        self.classifier = nn.Linear(embed_dim, num_classes)
        self.num_classes = num_classes
        self.num_dims = 0

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.classifier(embedding), None


class MultiTaskHead(nn.Module):
    """multi_task: a linear categorical head and a linear dimensional head on the same embedding."""

    def __init__(self, embed_dim: int, num_classes: int, num_dims: int):
        super().__init__()
        self.classifier = nn.Linear(embed_dim, num_classes)
        self.regressor = nn.Linear(embed_dim, num_dims)
        self.num_classes = num_classes
        self.num_dims = num_dims

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.classifier(embedding), self.regressor(embedding)


class GCNHead(nn.Module):
    """emotion_gcn: the label GCN outputs W (C + K, D), the weights of both heads at once.

    scores = embedding @ W^T; the first C columns are class logits, the last K the dimensions
    (the nodes are ordered classes first, then dimensions, as the graph was built).
    """

    def __init__(self, embed_dim: int, num_classes: int, num_dims: int, node_features, propagation,
                 hidden: int = 512, learn_adjacency: bool = False, init: str = "linear"):
        super().__init__()
        self.gcn = LabelGCN(node_features, propagation, hidden=hidden, out_dim=embed_dim,
                            learn_adjacency=learn_adjacency, init=init)
        if self.gcn.num_nodes != num_classes + num_dims:
            raise ValueError(
                f"emotion_gcn: the graph has {self.gcn.num_nodes} nodes, expected num_classes + num_dims"
                f" = {num_classes} + {num_dims} = {num_classes + num_dims}"
            )
        self.num_classes = num_classes
        self.num_dims = num_dims

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        scores = embedding @ self.gcn().t()
        dims = scores[:, self.num_classes:] if self.num_dims else None
        return scores[:, : self.num_classes], dims


class EmotionModel(nn.Module):
    """A backbone and a head: forward(x, lengths) -> {'logits', 'dims', 'embedding'}."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    @property
    def num_dims(self) -> int:
        return self.head.num_dims

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> dict:
        embedding = self.backbone(x, lengths)
        logits, dims = self.head(embedding)
        return {"logits": logits, "dims": dims, "embedding": embedding}
