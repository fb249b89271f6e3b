"""Training-batch augmentation: SpecAugment-style masking (Park et al., Interspeech 2019) and
mixup (Zhang et al., ICLR 2018).

Frequency masks zero a band of feature bins, time masks a run of frames; after CMVN zero is the
mean, so a mask removes information without adding an outlier. Widths are drawn uniformly from
[0, max width] per utterance and mask, time masks fall inside each utterance's valid frames, and
all draws come from torch's global generator, which the trainer seeds per epoch (so a resumed run
draws the same masks as an uninterrupted one).

Mixup replaces a batch by lam * batch + (1 - lam) * batch[perm], with one lam ~ Beta(alpha, alpha)
per batch and perm a shuffle of the batch; the loss is lam * loss(targets) + (1 - lam) *
loss(targets[perm]) (training/loop.py), which for cross-entropy is the loss of the mixed one-hot
targets. Padded frames mix too: a pair is as long as the longer of its two utterances.
"""

from __future__ import annotations

import torch

from emogcn.training.config import AugmentConfig


def _band_mask(num_masks: int, max_width: int, extent: torch.Tensor, size: int) -> torch.Tensor:
    """(B, size) bool, True inside one of num_masks random bands, each at most max_width wide and
    lying inside [0, extent) of its row (extent (B,), long)."""
    batch = extent.numel()
    width = torch.randint(0, max_width + 1, (batch, num_masks))
    width = torch.minimum(width, extent[:, None])
    start = (torch.rand(batch, num_masks) * (extent[:, None] - width + 1)).long()
    pos = torch.arange(size)[None, None, :]
    inside = (pos >= start[:, :, None]) & (pos < (start + width)[:, :, None])
    return inside.any(dim=1)


def spec_augment(feats: torch.Tensor, lengths: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """Masks a padded batch feats (B, T, F) with valid frame counts lengths (B,); returns a new tensor."""
    if not cfg.enabled:
        return feats
    batch, frames, dims = feats.shape
    masked = torch.zeros(batch, frames, dims, dtype=torch.bool)
    if cfg.freq_masks and cfg.freq_width:
        bands = _band_mask(cfg.freq_masks, cfg.freq_width, torch.full((batch,), dims), dims)
        masked |= bands[:, None, :]
    if cfg.time_masks and cfg.time_width:
        runs = _band_mask(cfg.time_masks, cfg.time_width, lengths.cpu().long(), frames)
        masked |= runs[:, :, None]
    return feats.masked_fill(masked.to(feats.device), 0.0)


def mixup_pairs(feats: torch.Tensor, lengths: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """(mixed feats, their lengths, perm, lam): feats (B, ...) mixed with feats[perm]. alpha <= 0 or
    a batch of one: the batch unchanged, perm the identity and lam 1."""
    batch = feats.shape[0]
    if alpha <= 0 or batch < 2:
        return feats, lengths, torch.arange(batch), 1.0
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(batch)
    mixed = lam * feats + (1.0 - lam) * feats[perm.to(feats.device)]
    return mixed, torch.maximum(lengths, lengths[perm.to(lengths.device)]), perm, lam
