"""The label-graph GCN of Emotion-GCN: node features in, one classifier weight row per node out."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class GraphConvolution(nn.Module):
    """One graph convolution (Kipf & Welling): support = X W, out = P support (+ bias).

    P is the propagation matrix (N, N), passed in by the caller, which owns it as a fixed buffer.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # the original's init: uniform(-1/sqrt(out), 1/sqrt(out)), stdv from weight.size(1)
        stdv = 1.0 / math.sqrt(self.weight.size(1))
        with torch.no_grad():
            self.weight.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.uniform_(-stdv, stdv)

    def forward(self, x: torch.Tensor, propagation: torch.Tensor) -> torch.Tensor:
        out = propagation @ (x @ self.weight)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, bias={self.bias is not None}"


def as_float_matrix(value, what: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    if tensor.dim() != 2:
        raise ValueError(f"LabelGCN: {what} must be a 2-D matrix, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor.float()).all():
        raise ValueError(f"LabelGCN: {what} holds non-finite values")
    return tensor.detach().to(torch.float32).clone()


GCN_INITS = ("linear", "original")


class LabelGCN(nn.Module):
    """Two graph convolutions F_in -> hidden -> out_dim without bias, LeakyReLU(0.2) between them.

    node_features (N, F_in) and propagation (N, N) are buffers: saved in the state dict, moved with
    .to(), never trained. `propagation` is the matrix applied on the left as given; for the original
    graph that is A transposed (see emogcn.graph). forward() returns W (N, out_dim).

    learn_adjacency: the adjacency A = propagation^T becomes a parameter, as logits over the edges
    of the given graph (and the self-loops): each forward pass takes a softmax over every row's
    edges, so rows of A sum to 1 as the original's re-weighted A does, and uses A^T. The logits
    start at log A (row-normalised), so before training the model equals the fixed-graph one;
    non-edges stay absent, so the learned graph refines the built one rather than inventing edges.

    init: "original" keeps the original's per-layer uniform init. "linear" (the default) then scales
    the second layer so that W starts with the spread of nn.Linear(out_dim, N)'s init (std
    1/sqrt(3 out_dim)). Why: the original fed 300-d GloVe vectors; with one-hot node features the
    original init gives a classifier about 5 times smaller than a linear head's, whose logits
    Adam grows too slowly (CK+48: training loss 1.58 against 0.98 after 8 epochs; 0.74 scaled).
    """

    def __init__(self, node_features, propagation, hidden: int = 512, out_dim: int = 256,
                 learn_adjacency: bool = False, init: str = "linear"):
        super().__init__()
        node_features = as_float_matrix(node_features, "node_features")
        propagation = as_float_matrix(propagation, "propagation")
        num_nodes = node_features.size(0)
        if propagation.shape != (num_nodes, num_nodes):
            raise ValueError(
                f"LabelGCN: propagation has shape {tuple(propagation.shape)}, "
                f"expected ({num_nodes}, {num_nodes}) for {num_nodes} nodes"
            )
        self.register_buffer("node_features", node_features)
        self.register_buffer("propagation", propagation)
        self.learn_adjacency = learn_adjacency
        if learn_adjacency:
            if (propagation < 0).any():
                raise ValueError("LabelGCN: learn_adjacency needs a non-negative propagation matrix")
            adjacency = propagation.t()
            mask = (adjacency > 0) | torch.eye(num_nodes, dtype=torch.bool)
            rows = adjacency / adjacency.sum(dim=1, keepdim=True).clamp_min(1e-12)
            # masked entries hold 0, never -inf: the parameter stays finite for optimisers and averaging
            logits = torch.where(mask, torch.log(rows.clamp_min(1e-6)), torch.zeros_like(rows))
            self.register_buffer("edge_mask", mask)
            self.adjacency_logits = nn.Parameter(logits)
        self.layer1 = GraphConvolution(node_features.size(1), hidden, bias=False)
        self.act = nn.LeakyReLU(0.2)
        self.layer2 = GraphConvolution(hidden, out_dim, bias=False)
        self.num_nodes = num_nodes
        self.out_dim = out_dim
        if init not in GCN_INITS:
            raise ValueError(f"LabelGCN: unknown init '{init}'; known: {', '.join(GCN_INITS)}")
        if init == "linear":
            self.match_linear_scale()

    def match_linear_scale(self) -> None:
        """Scale layer2 so that W = forward() has the std of nn.Linear(out_dim, N)'s uniform init.

        W is linear in layer2's weight, so one multiplication sets its std exactly."""
        with torch.no_grad():
            spread = float(self.forward().std())
            if spread > 0:
                self.layer2.weight.mul_(1.0 / math.sqrt(3.0 * self.out_dim) / spread)

    def current_propagation(self) -> torch.Tensor:
        """The matrix the forward pass multiplies by: the fixed buffer, or A^T of the learned A."""
        if not self.learn_adjacency:
            return self.propagation
        logits = self.adjacency_logits.masked_fill(~self.edge_mask, float("-inf"))
        return torch.softmax(logits, dim=1).t()

    def forward(self) -> torch.Tensor:
        propagation = self.current_propagation()
        h = self.act(self.layer1(self.node_features, propagation))
        return self.layer2(h, propagation)
