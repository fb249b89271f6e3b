"""Model family: backbones, label GCN, heads and build_model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from emogcn.models import BACKBONES, GraphConvolution, LabelGCN, build_backbone, build_model, register_backbone
from conftest import REPO
from emogcn.models.backbones import masked_pool
from emogcn.models.build import VARIANTS

FEAT_DIM = 20
SMALL = {"channels": [4, 8], "embed_dim": 16, "dropout": 0.0}
C, K = 4, 2


def graph(num_nodes: int = C + K, feat: int = 12, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(num_nodes, feat, generator=gen)
    adj = torch.rand(num_nodes, num_nodes, generator=gen)
    return feats, adj / adj.sum(dim=1, keepdim=True)


def model(variant: str, **kwargs):
    torch.manual_seed(0)
    feats, prop = graph() if variant == "emotion_gcn" else (None, None)
    return build_model(variant, "speech_cnn", FEAT_DIM, C, K, node_features=feats, propagation=prop,
                       backbone_options=SMALL, gcn_hidden=32, **kwargs)


def batch(lengths=(37, 20, 9, 1)):
    torch.manual_seed(1)
    lengths = torch.tensor(lengths)
    x = torch.randn(len(lengths), int(lengths.max()), FEAT_DIM)
    return x, lengths


@pytest.mark.parametrize("variant,has_dims", [("single_task", False), ("multi_task", True), ("emotion_gcn", True)])
def test_output_shapes(variant, has_dims):
    m = model(variant)
    x, lengths = batch()
    out = m(x, lengths)
    assert out["logits"].shape == (4, C)
    assert out["embedding"].shape == (4, 16)
    assert (out["dims"] is not None) == has_dims
    if has_dims:
        assert out["dims"].shape == (4, K)
    assert m.num_classes == C and m.num_dims == (K if has_dims else 0)


def test_default_speech_cnn_embedding_size():
    backbone = build_backbone("speech_cnn", 80)
    assert backbone.out_dim == 256
    assert build_backbone("speech_cnn", 80, embed_dim=None, channels=[8, 16], pooling="max").out_dim == 16
    assert build_backbone("speech_cnn", 80, embed_dim=0, channels=[8, 16]).out_dim == 32  # mean + max


@pytest.mark.parametrize("pooling", ["mean", "max", "meanmax", "meanstd"])
def test_padding_does_not_change_embedding(pooling):
    torch.manual_seed(0)
    backbone = build_backbone("speech_cnn", FEAT_DIM, channels=[4, 8, 8], pooling=pooling, activation="elu")
    # train briefly so that BatchNorm running statistics are not the trivial identity
    backbone.train()
    x, lengths = batch((37, 20, 9, 1, 5))
    backbone(x, lengths)
    backbone.eval()
    padded = x.clone()
    for i, n in enumerate(lengths.tolist()):
        padded[i, n:] = 1e3  # garbage in padding must be ignored
    with torch.no_grad():
        together = backbone(padded, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = backbone(x[i:i + 1, :n], torch.tensor([n]))
            torch.testing.assert_close(together[i:i + 1], alone, rtol=1e-5, atol=1e-5)


def test_lengths_default_to_full_and_bad_lengths_fail():
    backbone = build_backbone("speech_cnn", FEAT_DIM, **SMALL).eval()
    x, _ = batch()
    with torch.no_grad():
        torch.testing.assert_close(backbone(x), backbone(x, torch.full((4,), x.size(1))))
    with pytest.raises(ValueError, match="lengths must lie"):
        backbone(x, torch.tensor([38, 1, 1, 1]))
    with pytest.raises(ValueError, match="lengths must lie"):
        backbone(x, torch.tensor([0, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, T, 20\)"):
        backbone(torch.zeros(2, 5, 21), torch.tensor([5, 5]))


def test_masked_pooling_uses_only_valid_frames():
    h = torch.tensor([[[1.0, 3.0, 100.0]], [[-2.0, -4.0, -6.0]]])  # (B=2, C=1, T=3)
    lengths = torch.tensor([2, 3])
    torch.testing.assert_close(masked_pool(h, lengths, "mean"), torch.tensor([[2.0], [-4.0]]))
    torch.testing.assert_close(masked_pool(h, lengths, "max"), torch.tensor([[3.0], [-2.0]]))
    assert masked_pool(h, lengths, "meanmax").shape == (2, 2)
    # population std over the valid frames: [1, 3] -> 1; [-2, -4, -6] -> sqrt(8/3)
    torch.testing.assert_close(masked_pool(h, lengths, "meanstd"),
                               torch.tensor([[2.0, 1.0], [-4.0, (8.0 / 3.0) ** 0.5]]))


def test_backbone_registry_errors_and_extension():
    with pytest.raises(ValueError, match="unknown backbone 'nope'"):
        build_backbone("nope", 10)
    with pytest.raises(ValueError, match="bad options"):
        build_backbone("speech_cnn", 10, no_such_option=1)
    with pytest.raises(ValueError, match="pooling"):
        build_backbone("speech_cnn", 10, pooling="median")

    @register_backbone("test_linear")
    class TinyBackbone(nn.Module):
        def __init__(self, input_dim, width=3):
            super().__init__()
            self.out_dim = width
            self.linear = nn.Linear(input_dim, width)

        def forward(self, x, lengths=None):
            return self.linear(x.flatten(1))

    try:
        m = build_model("multi_task", "test_linear", 6, 3, 2, backbone_options={"width": 5})
        out = m(torch.randn(2, 6))
        assert out["logits"].shape == (2, 3) and out["dims"].shape == (2, 2) and out["embedding"].shape == (2, 5)
        with pytest.raises(ValueError, match="registered twice"):
            register_backbone("test_linear")(TinyBackbone)
    finally:
        del BACKBONES["test_linear"]


def test_graph_convolution_matches_definition_and_init():
    torch.manual_seed(0)
    layer = GraphConvolution(300, 512)
    assert layer.bias is None
    stdv = 1 / math.sqrt(512)
    assert layer.weight.shape == (300, 512)
    assert layer.weight.abs().max() <= stdv and layer.weight.abs().max() > 0.9 * stdv
    x, prop = torch.randn(5, 300), torch.rand(5, 5)
    torch.testing.assert_close(layer(x, prop), prop @ (x @ layer.weight))
    biased = GraphConvolution(3, 2, bias=True)
    torch.testing.assert_close(biased(torch.ones(2, 3), torch.eye(2)), torch.ones(2, 3) @ biased.weight + biased.bias)


def test_label_gcn_buffers_are_saved_fixed_and_not_parameters():
    feats, prop = graph()
    gcn = LabelGCN(feats, prop, hidden=32, out_dim=8)
    param_ids = {id(p) for p in gcn.parameters()}
    assert id(gcn.node_features) not in param_ids and id(gcn.propagation) not in param_ids
    assert {name for name, _ in gcn.named_parameters()} == {"layer1.weight", "layer2.weight"}
    state = gcn.state_dict()
    torch.testing.assert_close(state["node_features"], feats)
    torch.testing.assert_close(state["propagation"], prop)
    # the forward pass is the two-layer definition, LeakyReLU(0.2) between, nothing after
    h = nn.functional.leaky_relu(prop @ (feats @ gcn.layer1.weight), 0.2)
    torch.testing.assert_close(gcn(), prop @ (h @ gcn.layer2.weight))
    # a training step moves the weights but not the graph
    opt = torch.optim.SGD(gcn.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    gcn().pow(2).sum().backward()
    opt.step()
    torch.testing.assert_close(gcn.node_features, feats)
    torch.testing.assert_close(gcn.propagation, prop)
    assert not gcn.node_features.requires_grad and not gcn.propagation.requires_grad
    # a fresh module loads the saved graph
    other = LabelGCN(torch.zeros_like(feats), torch.zeros_like(prop), hidden=32, out_dim=8)
    other.load_state_dict(gcn.state_dict())
    torch.testing.assert_close(other(), gcn())


def test_label_gcn_accepts_numpy_and_rejects_bad_shapes():
    feats, prop = graph()
    gcn = LabelGCN(feats.numpy().astype(np.float64), prop.numpy(), hidden=4, out_dim=3)
    assert gcn.node_features.dtype == torch.float32 and gcn().shape == (C + K, 3)
    with pytest.raises(ValueError, match=r"propagation has shape \(5, 5\), expected \(6, 6\)"):
        LabelGCN(feats, torch.eye(5))
    with pytest.raises(ValueError, match="node_features must be a 2-D matrix"):
        LabelGCN(torch.zeros(6), torch.eye(6))


def test_label_gcn_starts_at_a_linear_heads_scale_and_fits_faster():
    """With one-hot node features the original init makes W ~5 times smaller than nn.Linear's;
    init="linear" scales layer2 so W starts with nn.Linear's spread (1/sqrt(3 D)), the same
    direction, and fits a separable problem faster under Adam (the CK+48 underfit, models/gcn.py)."""
    nodes, dim = 9, 64
    prop = 0.5 * torch.eye(nodes) + 0.5 / nodes * torch.ones(nodes, nodes)
    torch.manual_seed(1)
    scaled = LabelGCN(torch.eye(nodes), prop, hidden=512, out_dim=dim)
    torch.manual_seed(1)
    original = LabelGCN(torch.eye(nodes), prop, hidden=512, out_dim=dim, init="original")
    linear_std = 1 / math.sqrt(3 * dim)
    assert scaled().std().item() == pytest.approx(linear_std, rel=1e-4)
    assert nn.Linear(dim, nodes).weight.std().item() == pytest.approx(linear_std, rel=0.25)
    assert original().std().item() < linear_std / 4
    torch.testing.assert_close(scaled(), original() * (scaled().std() / original().std()))

    torch.manual_seed(0)
    labels = torch.randint(0, 7, (300,))
    embeddings = torch.randn(300, dim) + torch.randn(7, dim)[labels]
    losses = {}
    for name, gcn in (("linear", scaled), ("original", original)):
        opt = torch.optim.Adam(gcn.parameters(), lr=1e-3)
        for _ in range(60):
            loss = nn.functional.cross_entropy(embeddings @ gcn()[:7].T, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses[name] = loss.item()
    assert losses["linear"] < losses["original"] / 2, losses
    with pytest.raises(ValueError, match="unknown init 'glove'"):
        LabelGCN(torch.eye(nodes), prop, init="glove")


def test_gcn_init_reaches_the_model_from_build_model():
    feats, prop = graph()
    built = {}
    for init in ("linear", "original"):
        torch.manual_seed(3)
        built[init] = build_model("emotion_gcn", "speech_cnn", FEAT_DIM, C, K, node_features=feats,
                                  propagation=prop, backbone_options=SMALL, gcn_init=init).head.gcn
    assert not torch.allclose(built["linear"](), built["original"]())
    assert built["linear"]().std().item() == pytest.approx(1 / math.sqrt(3 * built["linear"].out_dim), rel=1e-4)


def test_emotion_gcn_scores_are_embedding_times_gcn_weights():
    m = model("emotion_gcn").eval()
    x, lengths = batch()
    with torch.no_grad():
        out = m(x, lengths)
        weights = m.head.gcn()
    assert weights.shape == (C + K, m.backbone.out_dim)
    torch.testing.assert_close(out["logits"], out["embedding"] @ weights[:C].T)
    torch.testing.assert_close(out["dims"], out["embedding"] @ weights[C:].T)


def test_emotion_gcn_without_dimension_nodes():
    feats, prop = graph(num_nodes=C)
    m = build_model("emotion_gcn", "speech_cnn", FEAT_DIM, C, 0, node_features=feats, propagation=prop,
                    backbone_options=SMALL)
    out = m(*batch())
    assert out["logits"].shape == (4, C) and out["dims"] is None


@pytest.mark.parametrize("variant", ["single_task", "multi_task", "emotion_gcn"])
def test_gradients_reach_backbone_and_head(variant):
    m = model(variant)
    out = m(*batch())
    loss = out["logits"].sum() + (out["dims"].sum() if out["dims"] is not None else 0)
    loss.backward()
    first_conv = m.backbone.blocks[0].conv.weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0
    head_params = list(m.head.parameters())
    assert head_params and all(p.grad is not None and p.grad.abs().sum() > 0 for p in head_params)
    if variant == "emotion_gcn":
        assert m.head.gcn.layer1.weight.grad.abs().sum() > 0
        assert m.head.gcn.layer2.weight.grad.abs().sum() > 0


def test_build_model_errors():
    feats, prop = graph()
    with pytest.raises(ValueError, match="unknown model variant 'gcn'"):
        build_model("gcn", "speech_cnn", FEAT_DIM, C)
    with pytest.raises(ValueError, match="node_features and propagation are required"):
        build_model("emotion_gcn", "speech_cnn", FEAT_DIM, C, K)
    with pytest.raises(ValueError, match=r"the graph has 6 nodes, expected num_classes \+ num_dims = 5 \+ 2 = 7"):
        build_model("emotion_gcn", "speech_cnn", FEAT_DIM, 5, K, node_features=feats, propagation=prop,
                    backbone_options=SMALL)
    with pytest.raises(ValueError, match="multi_task: num_dims must be at least 1"):
        build_model("multi_task", "speech_cnn", FEAT_DIM, C, 0)


def test_state_dict_round_trip_with_weights_only(tmp_path):
    m = model("emotion_gcn").eval()
    path = tmp_path / "model.pt"
    torch.save(m.state_dict(), path)
    fresh = build_model("emotion_gcn", "speech_cnn", FEAT_DIM, C, K, node_features=torch.zeros(C + K, 12),
                        propagation=torch.zeros(C + K, C + K), backbone_options=SMALL, gcn_hidden=32).eval()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    x, lengths = batch()
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, lengths)["logits"], m(x, lengths)["logits"])


def test_mlp_backbone_on_utterance_vectors_and_frames():
    torch.manual_seed(0)
    mlp = build_backbone("mlp", FEAT_DIM, hidden=[16, 8], dropout=0.0).eval()
    vectors = torch.randn(3, 1, FEAT_DIM)  # functionals: one "frame" per utterance
    assert mlp(vectors, torch.ones(3, dtype=torch.long)).shape == (3, 8) and mlp.out_dim == 8
    x, lengths = batch()
    padded = x.clone()
    padded[1, lengths[1]:] = 1e3
    with torch.no_grad():  # frame input: the mean of the valid frames, padding ignored
        torch.testing.assert_close(mlp(padded, lengths)[1], mlp(x[1:2, :lengths[1]], lengths[1:2])[0])
    m = build_model("emotion_gcn", "mlp", FEAT_DIM, C, K, node_features=graph()[0], propagation=graph()[1],
                    backbone_options={"hidden": [16]}, gcn_hidden=8)
    assert m(vectors, None)["logits"].shape == (3, C)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        build_backbone("mlp", FEAT_DIM, hidden=[])


def test_no_two_shipped_training_configs_differ_only_in_their_variant():
    """One config per backbone: the variant is the recipe's choice (--variants), not another file."""
    import yaml

    seen = {}
    for path in sorted((REPO / "conf").glob("train_*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        cfg["model"] = {k: v for k, v in cfg.get("model", {}).items() if k != "variant"}
        key = yaml.safe_dump(cfg, sort_keys=True)
        assert key not in seen, f"{path.name} and {seen.get(key)} differ only in model.variant"
        seen[key] = path.name


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("config", sorted(p.name for p in (REPO / "conf").glob("train_*.yaml")))
def test_every_shipped_training_config_builds_its_model(config, variant):
    """Each conf/train_*.yaml loads strictly and builds a model for its front-end's input, in every
    variant: the recipes set model.variant of one config per backbone (steps/train.sh --variant)."""
    from emogcn.config import load_config
    from emogcn.training.config import TrainConfig

    cfg = load_config(TrainConfig, REPO / "conf" / config)
    assert cfg.model.variant in VARIANTS
    cfg.model.variant = variant
    input_dim = {"mlp": 88, "densenet121": 3, "bregnext": 3}.get(cfg.model.backbone, 80)
    if cfg.model.layer_sum:
        input_dim = cfg.model.layer_sum * 32
    node_features, propagation = torch.eye(9), torch.eye(9)
    model = build_model(cfg.model.variant, cfg.model.backbone, input_dim=input_dim, num_classes=7, num_dims=2,
                        node_features=node_features, propagation=propagation,
                        backbone_options={**cfg.model.backbone_options,
                                          **({"weights": "none"} if "weights" in cfg.model.backbone_options else {})},
                        gcn_hidden=cfg.model.gcn_hidden, layer_sum=cfg.model.layer_sum,
                        learn_adjacency=cfg.model.learn_adjacency and variant == "emotion_gcn")
    assert model.backbone.out_dim > 0
