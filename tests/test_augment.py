"""Training-batch augmentation: SpecAugment masking and mixup."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from emogcn.training.augment import mixup_pairs, spec_augment
from emogcn.training.config import AugmentConfig, TrainConfig
from emogcn.training.losses import EmotionLoss
from emogcn.training.loop import Amp, compute_loss
from emogcn.training.trainer import check_config


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


def test_mixup_off_or_a_single_utterance_leaves_the_batch():
    feats, lengths = torch.randn(3, 5, 4), torch.tensor([5, 2, 4])
    for alpha, batch in ((0.0, feats), (0.4, feats[:1])):
        out, out_lengths, perm, lam = mixup_pairs(batch, lengths[: len(batch)], alpha)
        assert out is batch and lam == 1.0 and perm.tolist() == list(range(len(batch)))


def test_mixup_mixes_each_utterance_with_its_partner():
    torch.manual_seed(3)
    feats, lengths = torch.randn(16, 7, 4), torch.randint(1, 8, (16,))
    out, out_lengths, perm, lam = mixup_pairs(feats, lengths, 0.4)
    assert 0.0 < lam < 1.0 and sorted(perm.tolist()) == list(range(16)) and perm.tolist() != list(range(16))
    assert torch.allclose(out, lam * feats + (1 - lam) * feats[perm])
    assert torch.equal(out_lengths, torch.maximum(lengths, lengths[perm]))  # a pair spans the longer one
    lams = []
    for _ in range(200):
        lams.append(mixup_pairs(feats, lengths, 0.4)[3])
    lams = torch.tensor(lams)  # Beta(0.4, 0.4): U-shaped, mean 0.5, most draws near 0 or 1
    assert abs(float(lams.mean()) - 0.5) < 0.08 and float(((lams < 0.1) | (lams > 0.9)).float().mean()) > 0.4


class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, feats, lengths):
        return {"logits": self.fc(feats.mean(dim=1)), "dims": None}


def test_mixup_loss_is_the_mix_of_both_targets_losses():
    """The training loss of a mixed batch is lam * CE(own labels) + (1 - lam) * CE(partners' labels),
    both on the mixed input's logits, with the class weights; validation batches are never mixed."""
    torch.manual_seed(0)
    model = _Linear()
    weights = torch.tensor([1.0, 0.5, 0.25])
    batch = {"feats": torch.randn(8, 1, 4), "lengths": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), "dims": None, "dims_mask": None}
    cfg = TrainConfig(input="frames")
    cfg.augment.mixup = 0.4
    amp, loss_fn = Amp("none", torch.device("cpu")), EmotionLoss(weights)
    torch.manual_seed(11)
    loss, parts, _ = compute_loss(model, batch, loss_fn, cfg, amp, train=True)
    torch.manual_seed(11)  # the same draws again: lam and perm
    mixed, _, perm, lam = mixup_pairs(batch["feats"], batch["lengths"], 0.4)
    logits = model(mixed, None)["logits"]
    expected = (lam * F.cross_entropy(logits, batch["labels"], weight=weights)
                + (1 - lam) * F.cross_entropy(logits, batch["labels"][perm], weight=weights))
    assert 0.0 < lam < 1.0
    assert torch.allclose(loss, expected) and torch.allclose(parts["ce"], expected.detach())
    plain, _, _ = compute_loss(model, batch, loss_fn, cfg, amp, train=False)
    assert torch.allclose(plain, F.cross_entropy(model(batch["feats"], None)["logits"], batch["labels"], weight=weights))


def test_mixup_config_is_checked():
    cfg = TrainConfig()
    cfg.augment.mixup = -0.1
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        check_config(cfg)
    cfg.augment.mixup = 0.2
    cfg.domain_adversarial.weight = 0.1
    with pytest.raises(ValueError, match="no one corpus"):
        check_config(cfg)
