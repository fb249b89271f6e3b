"""Building an experiment's network for inference, without downloading anything.

A checkpoint holds every parameter and buffer, so pretrained backbone weights named in the
training config (DenseNet-121's `weights: imagenet`, or a local file that may not exist where the
model is used) would only be fetched or read to be overwritten: the backbone is built with
`weights: none` and the checkpoint fills it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from emogcn.training.config import TrainConfig
from emogcn.training.trainer import build_experiment_model


def offline_config(cfg: TrainConfig) -> TrainConfig:
    """A copy of `cfg` whose backbone loads no pretrained weights (the checkpoint has them all)."""
    cfg = copy.deepcopy(cfg)
    if "weights" in cfg.model.backbone_options:
        cfg.model.backbone_options["weights"] = "none"
    return cfg


def build_inference_model(cfg: TrainConfig, graph_dir: Path, input_dim: int,
                          state: dict | None = None) -> tuple[torch.nn.Module, list[str]]:
    """The experiment's model (eval mode) and classes; `state` (a state dict) is loaded strictly."""
    model, classes = build_experiment_model(offline_config(cfg), graph_dir, input_dim=input_dim)
    if state is not None:
        model.load_state_dict(state)
    return model.eval(), classes
