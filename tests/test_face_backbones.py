"""Face backbones of the original: DenseNet-121 (global max pooling of pre-ReLU norm5) and BReG-NeXt."""

from __future__ import annotations

import math

import pytest
import torch

from emogcn.models import build_backbone, build_model
from emogcn.models.faces import BoundedShortcut, BregBlock

TINY_BREG = {"width": 0.25, "depth": (1, 1, 1, 1, 1)}


def test_bounded_shortcut_formula():
    f = BoundedShortcut()
    with torch.no_grad():
        f.a.fill_(2.0)
        f.c.fill_(0.5)
    x = torch.tensor([-3.0, 0.0, 0.7])
    root = math.sqrt(0.5 ** 2 + 1)
    expected = torch.atan(2.0 * x / root) / (2.0 * root)
    torch.testing.assert_close(f(x), expected)
    # bounded: |f(x)| < pi / (2 a sqrt(c^2 + 1)) however large x is
    assert f(torch.tensor([1e6])).abs().item() < math.pi / (2 * 2.0 * root)


def test_stride_block_pools_and_pads_the_shortcut():
    block = BregBlock(4, 8, stride=2).eval()
    with torch.no_grad():
        for p in block.body.parameters():
            p.zero_()  # the body adds nothing: the output is the shortcut alone
        x = torch.randn(2, 4, 6, 6)
        out = block(x)
    assert out.shape == (2, 8, 3, 3)
    expected = torch.nn.functional.avg_pool2d(block.shortcut(x), 2)
    torch.testing.assert_close(out[:, :4], expected)
    assert torch.count_nonzero(out[:, 4:]) == 0  # zero-padded channels


def test_bregnext_shapes_and_published_size():
    torch.manual_seed(0)
    small = build_backbone("bregnext", 3, **TINY_BREG)
    out = small(torch.randn(2, 3, 24, 24))
    assert out.shape == (2, small.out_dim) and small.out_dim == 32
    assert small(torch.randn(1, 3, 227, 227)).shape == (1, 32)  # odd sides (AffectNet's 227 px) too
    full = build_backbone("bregnext", 3)
    assert full.out_dim == 128
    convs = [m for m in full.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 2 * (7 + 1 + 8 + 1 + 7)  # the stem, then two convs per residual layer


def test_densenet121_max_pools_pre_relu_features_and_loads_local_weights(tmp_path):
    torch.manual_seed(0)
    net = build_backbone("densenet121", 3, weights="none").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = net(x)
        assert out.shape == (1, 1024)
        torch.testing.assert_close(out, net.features(x).amax(dim=(2, 3)))
        assert (out < 0).any()  # pre-ReLU: negative values survive
    # a local file in torchvision's layout (features.* and classifier.*), as a user would have it
    state = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    state["classifier.weight"] = torch.zeros(1000, 1024)
    torch.save(state, tmp_path / "densenet121.pth")
    other = build_backbone("densenet121", 3, weights=str(tmp_path / "densenet121.pth")).eval()
    with torch.no_grad():
        torch.testing.assert_close(other(x), out)
    with pytest.raises(FileNotFoundError, match="not found"):
        build_backbone("densenet121", 3, weights=str(tmp_path / "missing.pth"))


@pytest.mark.parametrize("variant", ["single_task", "multi_task", "emotion_gcn"])
def test_every_variant_on_bregnext(variant):
    torch.manual_seed(0)
    graph = (torch.randn(9, 6), torch.full((9, 9), 1 / 9)) if variant == "emotion_gcn" else (None, None)
    m = build_model(variant, "bregnext", 3, 7, 2, node_features=graph[0], propagation=graph[1],
                    backbone_options=TINY_BREG, gcn_hidden=8)
    out = m(torch.randn(2, 3, 24, 24), None)
    assert out["logits"].shape == (2, 7)
    assert (out["dims"] is None) == (variant == "single_task")
