"""Losses: class weights, CCC, masked CCC loss, and the combined EmotionLoss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emogcn.training.losses import EmotionLoss, ccc, ccc_loss, class_weights


def numpy_ccc(pred: np.ndarray, target: np.ndarray) -> float:
    mp, mt = pred.mean(), target.mean()
    cov = np.mean((pred - mp) * (target - mt))
    return 2 * cov / (pred.var() + target.var() + (mp - mt) ** 2)


def test_class_weights_are_min_count_over_count():
    torch.testing.assert_close(class_weights([10, 20, 5, 40]), torch.tensor([0.5, 0.25, 1.0, 0.125]))
    assert class_weights([3]).tolist() == [1.0]
    # an empty class gets weight 0 and does not set the minimum
    torch.testing.assert_close(class_weights([4, 0, 8]), torch.tensor([1.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match="at least one positive"):
        class_weights([0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        class_weights([3, -1])


def test_ccc_matches_numpy_per_column():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(50, 2))
    pred = 0.6 * target + rng.normal(scale=0.5, size=(50, 2)) + 0.3
    got = ccc(torch.tensor(pred), torch.tensor(target))
    assert got.shape == (2,)
    for k in range(2):
        assert got[k].item() == pytest.approx(numpy_ccc(pred[:, k], target[:, k]), rel=1e-6)
    assert ccc(torch.tensor(pred[:, 0]), torch.tensor(target[:, 0])).item() == pytest.approx(got[0].item())


def test_ccc_identical_is_one_and_negated_is_minus_one():
    x = torch.randn(100, 2, dtype=torch.float64)
    torch.testing.assert_close(ccc(x, x), torch.ones(2, dtype=torch.float64))
    centred = x - x.mean(dim=0)
    torch.testing.assert_close(ccc(-centred, centred), -torch.ones(2, dtype=torch.float64))
    # a shift lowers CCC although the Pearson correlation stays 1
    assert (ccc(x + 1.0, x) < 0.9).all()


def test_ccc_loss_ignores_masked_rows():
    rng = np.random.default_rng(1)
    target = torch.tensor(rng.normal(size=(8, 2)), dtype=torch.float32)
    pred = torch.tensor(rng.normal(size=(8, 2)), dtype=torch.float32)
    mask = torch.tensor([True, False, True, True, False, True, True, False])
    expected = 1 - np.mean([numpy_ccc(pred[mask, k].numpy(), target[mask, k].numpy()) for k in range(2)])
    assert ccc_loss(pred, target, mask).item() == pytest.approx(expected, rel=1e-5)
    garbage = pred.clone()
    garbage[~mask] = 1e6
    assert ccc_loss(garbage, target, mask).item() == pytest.approx(expected, rel=1e-5)
    assert ccc_loss(pred, target).item() == pytest.approx(
        1 - np.mean([numpy_ccc(pred[:, k].numpy(), target[:, k].numpy()) for k in range(2)]), rel=1e-5)


@pytest.mark.parametrize("valid", [0, 1])
def test_ccc_loss_with_fewer_than_two_rows_is_zero_with_clean_gradient(valid):
    pred = torch.randn(4, 2, requires_grad=True)
    mask = torch.zeros(4, dtype=torch.bool)
    mask[:valid] = True
    loss = ccc_loss(pred, torch.randn(4, 2), mask)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(4, 2))


def test_ccc_loss_gradient_is_finite_on_constant_targets():
    pred = torch.randn(5, 2, requires_grad=True)
    loss = ccc_loss(pred, torch.ones(5, 2), torch.ones(5, dtype=torch.bool))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()


def outputs_and_targets(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(6, 3, generator=gen, requires_grad=True)
    dims_pred = torch.randn(6, 2, generator=gen, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    dims = torch.randn(6, 2, generator=gen)
    mask = torch.tensor([True, True, False, True, True, False])
    return {"logits": logits, "dims": dims_pred, "embedding": None}, labels, dims, mask


def test_emotion_loss_is_weighted_ce_plus_lambda_ccc():
    outputs, labels, dims, mask = outputs_and_targets()
    weights = class_weights([10, 20, 40])
    ce = F.cross_entropy(outputs["logits"], labels, weight=weights)
    # weighted CE is the weighted mean over samples, as nn.CrossEntropyLoss(weight=...) gives
    w = weights[labels]
    manual = -(w * F.log_softmax(outputs["logits"], dim=1)[torch.arange(6), labels]).sum() / w.sum()
    torch.testing.assert_close(ce, manual)
    ccc_part = ccc_loss(outputs["dims"], dims, mask)
    for lam in (1.0, 0.25):
        total, parts = EmotionLoss(weights, lambda_dims=lam)(outputs, labels, dims, mask)
        torch.testing.assert_close(total, ce + lam * ccc_part)
        torch.testing.assert_close(parts["ce"], ce.detach())
        torch.testing.assert_close(parts["ccc"], ccc_part.detach())
        assert not parts["ce"].requires_grad and total.requires_grad
    total, _ = EmotionLoss(weights, lambda_dims=1.0)(outputs, labels, dims, mask)
    total.backward()
    assert outputs["logits"].grad.abs().sum() > 0
    # masked rows get no gradient from the CCC term
    assert torch.equal(outputs["dims"].grad[~mask], torch.zeros(2, 2))
    assert outputs["dims"].grad[mask].abs().sum() > 0


def test_emotion_loss_skips_ccc_without_dimension_predictions():
    outputs, labels, dims, mask = outputs_and_targets()
    outputs["dims"] = None
    loss_fn = EmotionLoss(None)
    total, parts = loss_fn(outputs, labels, dims, mask)
    torch.testing.assert_close(total, F.cross_entropy(outputs["logits"], labels))
    assert parts["ccc"].item() == 0.0
    # no dims given at all (a corpus without dimensional labels)
    outputs, labels, _, _ = outputs_and_targets()
    total, parts = EmotionLoss([1.0, 1.0, 1.0])(outputs, labels)
    assert parts["ccc"].item() == 0.0 and total.item() == pytest.approx(parts["ce"].item())


def test_emotion_loss_weights_travel_in_state_dict():
    loss_fn = EmotionLoss(class_weights([1, 2]))
    assert torch.equal(loss_fn.state_dict()["class_weights"], torch.tensor([1.0, 0.5]))
    assert list(loss_fn.parameters()) == []
