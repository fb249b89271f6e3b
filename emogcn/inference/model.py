"""Building an experiment's network for inference, without downloading anything.

A checkpoint holds every parameter and buffer, so pretrained backbone weights named in the
training config (DenseNet-121's `weights: imagenet`, or a local file that may not exist where the
model is used) would only be fetched or read to be overwritten: the backbone is built with
`weights: none` and the checkpoint fills it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
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


@torch.inference_mode()
def forward_batches(model: torch.nn.Module, items: list, device: torch.device, batch_size: int = 16,
                    image: bool = False) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(probabilities, dims or None) of each item: (rows, dim) feature arrays, or (3, H, W) image
    tensors; items batched by length, so little of a batch is padding."""
    out: list = [None] * len(items)
    order = sorted(range(len(items)), key=lambda i: items[i].shape[0])
    for first in range(0, len(order), batch_size):
        idx = order[first:first + batch_size]
        if image:
            x, lengths = torch.stack([items[i] for i in idx]).to(device), None
        else:
            # a read-only array (kaldiio's) is copied: torch warns on sharing it
            tensors = [torch.as_tensor(a) if not isinstance(a, np.ndarray) or a.flags.writeable else torch.tensor(a)
                       for a in (items[i] for i in idx)]
            x = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True).to(device)
            lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.long, device=device)
        result = model(x, lengths)
        probs = torch.softmax(result["logits"].float(), dim=-1).cpu().numpy()
        dims = result["dims"].float().cpu().numpy() if result.get("dims") is not None else None
        for row, i in enumerate(idx):
            out[i] = (probs[row], dims[row] if dims is not None else None)
    return out
