"""SpecAugment masking of training batches."""

from __future__ import annotations

import torch

from emogcn.training.augment import spec_augment
from emogcn.training.config import AugmentConfig


def test_off_by_default_returns_the_batch_unchanged():
    feats = torch.randn(2, 10, 8)
    assert spec_augment(feats, torch.tensor([10, 4]), AugmentConfig()) is feats


def test_frequency_masks_zero_whole_bands_within_the_width():
    torch.manual_seed(0)
    feats = torch.randn(64, 30, 40) + 10.0  # no natural zeros
    out = spec_augment(feats, torch.full((64,), 30), AugmentConfig(freq_masks=1, freq_width=6))
    zero = out == 0
    per_bin = zero.all(dim=1)  # (B, F): a masked bin is zero on every frame
    assert torch.equal(zero, per_bin[:, None, :].expand_as(zero))
    widths = per_bin.sum(dim=1)
    assert widths.max() <= 6 and widths.max() > 0  # one band of 0..6 bins per utterance
    for row in per_bin:  # contiguous
        idx = row.nonzero().flatten()
        if len(idx):
            assert idx[-1] - idx[0] + 1 == len(idx)
    assert torch.equal(out[~zero], feats[~zero])


def test_time_masks_stay_inside_each_utterance():
    torch.manual_seed(0)
    lengths = torch.tensor([30, 5, 1, 12] * 16)
    feats = torch.randn(64, 30, 4) + 10.0
    out = spec_augment(feats, lengths, AugmentConfig(time_masks=2, time_width=8))
    masked_frames = (out == 0).all(dim=2)  # (B, T)
    for row, n in zip(masked_frames, lengths.tolist()):
        assert not row[n:].any()  # padding is never "masked", so it is never counted as data
        assert row.sum() <= min(16, n)
    assert masked_frames.any()


def test_masks_depend_only_on_the_seed():
    feats, lengths = torch.randn(4, 20, 10), torch.tensor([20, 15, 9, 3])
    cfg = AugmentConfig(freq_masks=2, freq_width=4, time_masks=2, time_width=5)
    torch.manual_seed(7)
    first = spec_augment(feats, lengths, cfg)
    torch.manual_seed(7)
    assert torch.equal(first, spec_augment(feats, lengths, cfg))
