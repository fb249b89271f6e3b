"""SpecAugment-style masking of feature batches during training (Park et al., Interspeech 2019).

Frequency masks zero a band of feature bins, time masks a run of frames; after CMVN zero is the
mean, so a mask removes information without adding an outlier. Widths are drawn uniformly from
[0, max width] per utterance and mask, time masks fall inside each utterance's valid frames, and
all draws come from torch's global generator, which the trainer seeds per epoch (so a resumed run
draws the same masks as an uninterrupted one).
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
