"""ECAPA-TDNN backbone: shapes, length masking, gradients, and its use under every head."""

from __future__ import annotations

import pytest
import torch

from emogcn.models import build_backbone, build_model
from emogcn.models.ecapa import AttentiveStatsPooling

FEAT_DIM = 20
TINY = {"channels": 16, "scale": 4, "se_channels": 8, "attention_channels": 8, "embed_dim": 12}


def batch(lengths=(41, 23, 7, 1)):
    torch.manual_seed(1)
    lengths = torch.tensor(lengths)
    return torch.randn(len(lengths), int(lengths.max()), FEAT_DIM), lengths


def test_embedding_shape_and_gradients_reach_the_stem():
    torch.manual_seed(0)
    backbone = build_backbone("ecapa_tdnn", FEAT_DIM, **TINY)
    x, lengths = batch()
    out = backbone(x, lengths)
    assert out.shape == (4, 12) and backbone.out_dim == 12
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert backbone.stem.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_padding_does_not_change_embedding(stride):
    torch.manual_seed(0)
    backbone = build_backbone("ecapa_tdnn", FEAT_DIM, frame_stride=stride, **TINY)
    x, lengths = batch()
    backbone.train()
    backbone(x, lengths)  # non-trivial BatchNorm running statistics
    backbone.eval()
    padded = x.clone()
    for i, n in enumerate(lengths.tolist()):
        padded[i, n:] = 1e3  # garbage after the end must be ignored
    with torch.no_grad():
        together = backbone(padded, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = backbone(x[i:i + 1, :n], torch.tensor([n]))
            torch.testing.assert_close(together[i:i + 1], alone, rtol=1e-4, atol=1e-4)


def test_attentive_pooling_with_uniform_attention_is_mean_and_std():
    pool = AttentiveStatsPooling(channels=2, attention_channels=3)
    with torch.no_grad():  # zero last layer: equal scores, so the weights are uniform over valid frames
        pool.attention[-1].weight.zero_()
        pool.attention[-1].bias.zero_()
    pool.eval()
    h = torch.tensor([[[1.0, 3.0, 50.0], [2.0, 2.0, -9.0]]])  # (1, 2, 3), last frame is padding
    valid = torch.tensor([[[True, True, False]]])
    out = pool(h, valid, torch.tensor([[2.0]]))
    expected = torch.tensor([[2.0, 2.0, 1.0, 1e-5 ** 0.5]])  # means, then stds (the second is floored)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("variant", ["single_task", "multi_task", "emotion_gcn"])
def test_every_head_accepts_it(variant):
    torch.manual_seed(0)
    graph = (torch.randn(6, 5), torch.full((6, 6), 1 / 6)) if variant == "emotion_gcn" else (None, None)
    m = build_model(variant, "ecapa_tdnn", FEAT_DIM, 4, 2, node_features=graph[0], propagation=graph[1],
                    backbone_options=TINY, gcn_hidden=8)
    x, lengths = batch()
    assert m(x, lengths)["logits"].shape == (4, 4)


def test_bad_options_and_inputs_fail_clearly():
    with pytest.raises(ValueError, match="not divisible by scale"):
        build_backbone("ecapa_tdnn", FEAT_DIM, channels=10, scale=4)
    backbone = build_backbone("ecapa_tdnn", FEAT_DIM, **TINY)
    with pytest.raises(ValueError, match=r"expected x of shape \(B, T, 20\)"):
        backbone(torch.zeros(2, 5, 21), torch.tensor([5, 5]))
    with pytest.raises(ValueError, match="lengths must lie"):
        backbone(torch.zeros(2, 5, FEAT_DIM), torch.tensor([6, 5]))
