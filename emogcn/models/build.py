"""build_model: one call from a recipe's choices (variant, backbone, label space, graph) to a model."""

from __future__ import annotations

from emogcn.models.backbones import build_backbone
from emogcn.models.layer_sum import LayerWeightedBackbone
from emogcn.models.heads import EmotionModel, GCNHead, MultiTaskHead, SingleTaskHead

VARIANTS = ("single_task", "multi_task", "emotion_gcn")


def build_model(
    variant: str,
    backbone_name: str,
    input_dim: int,
    num_classes: int,
    num_dims: int = 2,
    node_features=None,
    propagation=None,
    backbone_options: dict | None = None,
    gcn_hidden: int = 512,
    layer_sum: int = 0,
    learn_adjacency: bool = False,
    gcn_init: str = "linear",
) -> EmotionModel:
    """single_task ignores num_dims; emotion_gcn needs a graph of num_classes + num_dims nodes
    (node_features (N, F) and propagation (N, N), tensors or numpy arrays). layer_sum > 0: the
    input holds that many upstream layers side by side, mixed by learned weights first.
    learn_adjacency: emotion_gcn learns its graph's edge weights; gcn_init: "linear" or "original"
    (models/gcn.py LabelGCN)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant '{variant}'; known: {', '.join(VARIANTS)}")
    if num_classes < 2:
        raise ValueError(f"{variant}: num_classes must be at least 2, got {num_classes}")
    if num_dims < 0:
        raise ValueError(f"{variant}: num_dims must not be negative, got {num_dims}")
    if variant == "multi_task" and num_dims < 1:
        raise ValueError("multi_task: num_dims must be at least 1 (use single_task for classes only)")
    if variant == "emotion_gcn" and (node_features is None or propagation is None):
        raise ValueError("emotion_gcn: node_features and propagation are required (from the graph stage)")
    if learn_adjacency and variant != "emotion_gcn":
        raise ValueError(f"{variant}: learn_adjacency needs the emotion_gcn variant (the only one with a graph)")
    if layer_sum < 0 or (layer_sum and input_dim % layer_sum):
        raise ValueError(f"layer_sum {layer_sum} does not divide the input dimension {input_dim} into layers")
    layer_dim = input_dim // layer_sum if layer_sum else input_dim
    backbone = build_backbone(backbone_name, layer_dim, **(backbone_options or {}))
    if layer_sum:
        backbone = LayerWeightedBackbone(backbone, layer_sum, layer_dim)
    if variant == "single_task":
        head = SingleTaskHead(backbone.out_dim, num_classes)
    elif variant == "multi_task":
        head = MultiTaskHead(backbone.out_dim, num_classes, num_dims)
    else:
        head = GCNHead(backbone.out_dim, num_classes, num_dims, node_features, propagation, hidden=gcn_hidden,
                       learn_adjacency=learn_adjacency, init=gcn_init)
    return EmotionModel(backbone, head)
