"""Losses of Emotion-GCN: class-weighted cross-entropy plus the CCC loss on the dimensions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def class_weights(counts: Sequence[int]) -> torch.Tensor:
    """min_count / count per class (the original's weighting: the rarest class weighs 1).

    A class with no training examples gets weight 0 (it never occurs as a target, so the weight
    changes nothing) and does not set the minimum.
    """
    counts_t = torch.as_tensor(list(counts), dtype=torch.float64)
    if counts_t.dim() != 1 or counts_t.numel() == 0:
        raise ValueError(f"class_weights: expected a list of per-class counts, got {list(counts)}")
    if bool((counts_t < 0).any()) or not bool((counts_t > 0).any()):
        raise ValueError(f"class_weights: counts must be non-negative with at least one positive, got {list(counts)}")
    smallest = counts_t[counts_t > 0].min()
    weights = torch.where(counts_t > 0, smallest / counts_t.clamp(min=1), torch.zeros_like(counts_t))
    return weights.to(torch.float32)


def corpus_class_weights(counts) -> torch.Tensor:
    """Class weights per (corpus, class) for training where each corpus has its own classes
    (label_space corpus): counts (K corpora, C classes) -> weights (K, C).

    Weight (mean_k / n_kc), scaled so that the largest weighs 1. Each corpus's own softmax then
    sees its classes balanced (global counts would let a corpus's rare class be drowned, or a class
    only one small corpus has be boosted against that corpus's shared classes), and each corpus
    weighs in proportion to its size, as without weighting. With one corpus this is class_weights
    (min_count / count). Empty cells get 0 (no utterance has them).
    """
    counts_t = torch.as_tensor(counts, dtype=torch.float64)
    if counts_t.dim() != 2 or not bool((counts_t > 0).any()) or bool((counts_t < 0).any()):
        raise ValueError(f"corpus_class_weights: expected non-negative (corpora, classes) counts, got {counts_t.tolist()}")
    present = counts_t > 0
    mean = counts_t.sum(dim=1, keepdim=True) / present.sum(dim=1, keepdim=True).clamp(min=1)
    raw = torch.where(present, mean / counts_t.clamp(min=1), torch.zeros_like(counts_t))
    return (raw / raw.max()).to(torch.float32)


def mask_logits(logits: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Logits of classes an utterance's corpus does not have set to -inf: softmax gives them no
    probability, and masked_fill passes them no gradient. allowed: (B, C) bool, or None (no mask)."""
    if allowed is None:
        return logits
    if allowed.shape != logits.shape:
        raise ValueError(f"mask_logits: allowed {tuple(allowed.shape)} does not match logits {tuple(logits.shape)}")
    return logits.masked_fill(~allowed.to(device=logits.device, dtype=torch.bool), float("-inf"))


def ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Concordance correlation coefficient over dim 0, per column: (K,) for (B, K), () for (B,).

    2 cov / (var_p + var_t + (mean_p - mean_t)^2) with population statistics; eps keeps the
    ratio finite when both inputs are constant. (The original divided by unbiased variances.)
    """
    if pred.shape != target.shape:
        raise ValueError(f"ccc: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    mean_p, mean_t = pred.mean(dim=0), target.mean(dim=0)
    var_p = pred.var(dim=0, unbiased=False)
    var_t = target.var(dim=0, unbiased=False)
    cov = ((pred - mean_p) * (target - mean_t)).mean(dim=0)
    return 2 * cov / (var_p + var_t + (mean_p - mean_t) ** 2 + eps)


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """1 - mean over dimensions of CCC, on the rows where mask is True (all rows when None).

    With fewer than 2 such rows the CCC is undefined: the loss is 0, still attached to pred's graph
    so that backward() works and gives zero gradient.
    """
    if pred.dim() != 2 or pred.shape != target.shape:
        raise ValueError(
            f"ccc_loss: expected pred and target of one shape (B, K), got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    if mask is not None:
        if mask.shape != (pred.size(0),):
            raise ValueError(f"ccc_loss: mask has shape {tuple(mask.shape)}, expected ({pred.size(0)},)")
        mask = mask.to(device=pred.device, dtype=torch.bool)
        pred, target = pred[mask], target[mask]
    if pred.size(0) < 2:
        return pred.sum() * 0.0
    return 1.0 - ccc(pred, target.to(pred.dtype)).mean()


class EmotionLoss(nn.Module):
    """Weighted cross-entropy on the classes + lambda_dims * CCC loss on the dimensions.

    The original parsed a lambda but never used it (effectively 1); here it is honoured. The CCC
    term is skipped (0) when the model predicts no dimensions (outputs['dims'] is None) or no
    dims are given.

    `allowed` (B, C) restricts each utterance's cross-entropy to its corpus's classes (mask_logits);
    `weight` (B,) weighs utterances one by one (corpus_class_weights of their corpus and class)
    instead of by the class_weights buffer: the weighted mean sum(w l) / sum(w), as
    F.cross_entropy's `weight` does.
    """

    def __init__(self, class_weights: torch.Tensor | Sequence[float] | None = None, lambda_dims: float = 1.0):
        super().__init__()
        weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weight)
        self.lambda_dims = float(lambda_dims)

    def forward(
        self,
        outputs: dict,
        labels: torch.Tensor,
        dims: torch.Tensor | None = None,
        dims_mask: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
        weight: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = mask_logits(outputs["logits"], allowed)
        if allowed is not None and not bool(allowed.gather(1, labels.view(-1, 1).to(allowed.device)).all()):
            # a target outside its own classes would make the loss infinite: a bug upstream
            raise ValueError("EmotionLoss: an utterance's class is masked out of its own corpus's classes")
        if weight is None:
            ce = F.cross_entropy(logits, labels, weight=self.class_weights)
        else:
            weight = weight.to(device=logits.device, dtype=logits.dtype)
            ce = (weight * F.cross_entropy(logits, labels, reduction="none")).sum() / weight.sum()
        pred_dims = outputs.get("dims")
        if pred_dims is None or dims is None or self.lambda_dims == 0.0:
            ccc_part = torch.zeros((), dtype=ce.dtype, device=ce.device)
            total = ce
        else:
            if dims.shape != pred_dims.shape:
                raise ValueError(
                    f"EmotionLoss: dims {tuple(dims.shape)} do not match predictions {tuple(pred_dims.shape)}"
                )
            ccc_part = ccc_loss(pred_dims, dims, dims_mask)
            total = ce + self.lambda_dims * ccc_part
        return total, {"ce": ce.detach(), "ccc": ccc_part.detach()}
