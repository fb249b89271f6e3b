"""Graph sources for corpora without dimensional labels (issue 16): circumplex coordinates, rater
votes, a first model's confusions, pseudo-dimensional targets, and the learned adjacency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import make_label_dir
from emogcn import provenance as pv
from emogcn.bin import build_graph as build_graph_cli
from emogcn.bin import pseudo_dims as pseudo_dims_cli
from emogcn.bin.pseudo_dims import make_pseudo_dims
from emogcn.config import ConfigError, load_config, read_yaml
from emogcn.data.datadir import DataDirError, read_map, spk2utt_from_utt2spk, write_map
from emogcn.graph.build import GraphConfig, GraphError, build_graph, graph_made_from, load_graph
from emogcn.graph.priors import NRC_VAD_V1
from emogcn.graph.sources import conditional_cooccurrence, confusion_similarity
from emogcn.models.build import build_model
from emogcn.models.gcn import LabelGCN
from emogcn.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
CIRCUMPLEX = REPO / "conf" / "circumplex.yaml"


make_data_dir = make_label_dir


LABELS = ["anger", "fear", "happiness", "neutral", "sadness"] * 4


def scaled(cls: str) -> np.ndarray:
    entry = read_yaml(CIRCUMPLEX)["classes"][cls]
    return np.array([2 * entry["valence"] - 1, 2 * entry["arousal"] - 1])


# ---------------------------------------------------------------------------------------------
# circumplex


def test_circumplex_file_holds_the_repository_nrc_values_and_words():
    doc = read_yaml(CIRCUMPLEX)
    assert "Mohammad" in doc["source"] and doc["scale"] == [0, 1]
    assert set(doc["classes"]) == set(NRC_VAD_V1)
    for cls, entry in doc["classes"].items():
        assert entry["word"] == cls  # the lexicon word whose entry priors.py copied
        assert (entry["valence"], entry["arousal"]) == NRC_VAD_V1[cls]


def test_circumplex_graph_reflects_distances(tmp_path):
    data, _ = make_data_dir(tmp_path / "train", LABELS)
    cfg = GraphConfig(method="circumplex")
    graph = build_graph(data, tmp_path / "graph", cfg)
    classes = graph.classes
    assert classes == ["neutral", "happiness", "sadness", "fear", "anger"]
    corr = np.load(tmp_path / "graph" / "correlation.npy", allow_pickle=False)
    adj = np.load(tmp_path / "graph" / "adjacency.npy", allow_pickle=False)
    i = {c: k for k, c in enumerate(classes)}
    # the class block is the Gaussian kernel of the stored coordinates
    for a in classes:
        for b in classes:
            d2 = float(((scaled(a) - scaled(b)) ** 2).sum())
            assert corr[i[a], i[b]] == pytest.approx(np.exp(-d2 / (2 * 0.5**2)), abs=1e-9)
            if a != b:  # an edge exactly where the kernel reaches tau
                assert (adj[i[a], i[b]] > 0) == (np.exp(-d2 / 0.5) >= cfg.tau)
    # what the stored coordinates say: anger lies nearer fear than sadness
    assert np.linalg.norm(scaled("anger") - scaled("fear")) < np.linalg.norm(scaled("anger") - scaled("sadness"))
    assert corr[i["anger"], i["fear"]] > corr[i["anger"], i["sadness"]]
    assert adj[i["anger"], i["fear"]] > 0
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    # node features: one-hot, then the coordinates (classes) or their own axis (valence, arousal)
    np.testing.assert_allclose(graph.node_features[:, :7], np.eye(7))
    np.testing.assert_allclose(graph.node_features[i["fear"], 7:], scaled("fear"), atol=1e-6)
    np.testing.assert_allclose(graph.node_features[5:, 7:], np.eye(2))
    # class-dimension edges from the file's coordinates as pseudo-dimensions
    assert graph.meta["dimensions"].startswith("class priors: NRC VAD Lexicon v1")
    # recorded: graph.yaml and the marker
    meta = yaml.safe_load((tmp_path / "graph" / "graph.yaml").read_text())
    assert meta["method"] == "circumplex" and meta["config"]["circumplex_sigma"] == 0.5
    assert meta["circumplex"]["words"]["happiness"] == "happiness"
    assert meta["circumplex"]["coordinates"]["anger"] == pytest.approx(list(scaled("anger")))
    marker = pv.read_marker(tmp_path / "graph" / ".done")
    assert marker["labels"]["graph"] == "circumplex"
    assert marker["made_from"]["configs"]["circumplex"]["classes"]["anger"]["valence"] == 0.167
    assert pv.check(tmp_path / "graph" / ".done", graph_made_from(data, cfg), what="g", ways="w").done


def test_circumplex_features_off_and_missing_class(tmp_path):
    data, _ = make_data_dir(tmp_path / "train", LABELS)
    graph = build_graph(data, tmp_path / "graph", GraphConfig(method="circumplex", circumplex_features=False))
    np.testing.assert_array_equal(graph.node_features, np.eye(7))
    short = tmp_path / "c.yaml"
    doc = read_yaml(CIRCUMPLEX)
    del doc["classes"]["fear"]
    short.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="class 'fear' has no coordinates"):
        build_graph(data, tmp_path / "g2", GraphConfig(method="circumplex", circumplex=str(short)))


def test_default_graph_record_has_no_source_keys(tmp_path):
    # graphs built before the source methods keep matching their markers
    data, _ = make_data_dir(tmp_path / "train", LABELS)
    made = graph_made_from(data, load_config(GraphConfig, REPO / "conf" / "graph.yaml"))
    assert "circumplex" not in made["configs"]["graph"] and "confusion_from" not in made["configs"]["graph"]
    assert "circumplex" not in made["configs"]


# ---------------------------------------------------------------------------------------------
# rater votes

VOTES = {  # utterance index: votes; counted by hand below
    0: "anger:3 fear:1",
    1: "anger:4",
    2: "anger:2 fear:1 sadness:1",
    3: "fear:3 anger:2",
    4: "sadness:4 neutral:1",
    5: "happiness:5 surprise:2",  # surprise: no class of this training set, dropped
}


def test_conditional_cooccurrence_by_hand():
    votes = np.array([[2, 1, 0], [3, 0, 0], [0, 1, 1], [1, 0, 0]])
    # occurrences a: u0 u1 u3 (3), b: u0 u2 (2), c: u2 (1); a&b: u0; b&c: u2
    np.testing.assert_allclose(conditional_cooccurrence(votes),
                               [[1, 1 / 3, 0], [1 / 2, 1, 1 / 2], [0, 1, 1]])


def test_votes_graph_is_p_j_given_i(tmp_path):
    data, utts = make_data_dir(tmp_path / "train", LABELS)
    cfg = GraphConfig(method="votes", tau=0.3)
    # votes of an utterance outside the data directory: refused like any dangling entry (the folds
    # carry only their own utterances' votes)
    write_map(data / "utt2votes", {**{utts[k]: v for k, v in VOTES.items()}, "spk9-utt000": "anger:1 happiness:1"})
    with pytest.raises(DataDirError, match="utt2votes"):
        build_graph(data, tmp_path / "graph", cfg)
    write_map(data / "utt2votes", {utts[k]: v for k, v in VOTES.items()})
    graph = build_graph(data, tmp_path / "graph", cfg)
    i = {c: k for k, c in enumerate(graph.classes)}
    corr = np.load(tmp_path / "graph" / "correlation.npy", allow_pickle=False)
    # anger voted on u0 u1 u2 u3 (4); fear u0 u2 u3 (3); sadness u2 u4 (2); neutral u4; happiness u5
    assert corr[i["anger"], i["fear"]] == pytest.approx(3 / 4)
    assert corr[i["fear"], i["anger"]] == pytest.approx(3 / 3)
    assert corr[i["anger"], i["sadness"]] == pytest.approx(1 / 4)
    assert corr[i["sadness"], i["anger"]] == pytest.approx(1 / 2)
    assert corr[i["sadness"], i["neutral"]] == pytest.approx(1 / 2)
    assert corr[i["neutral"], i["sadness"]] == pytest.approx(1.0)
    assert corr[i["happiness"], i["anger"]] == 0
    adj = np.load(tmp_path / "graph" / "adjacency.npy", allow_pickle=False)
    assert adj[i["anger"], i["fear"]] > 0 and adj[i["sadness"], i["anger"]] > 0
    assert adj[i["anger"], i["sadness"]] == 0  # 1/4 < tau: directed, as in ML-GCN
    meta = yaml.safe_load((tmp_path / "graph" / "graph.yaml").read_text())
    assert meta["method"] == "votes"
    assert meta["votes"]["num_utts"] == 6 and meta["votes"]["dropped_votes"] == 2  # labels outside the classes
    # the votes are an input of the graph: other votes, another graph
    made = graph_made_from(data, cfg)
    write_map(data / "utt2votes", {utts[0]: "anger:1"})
    assert graph_made_from(data, cfg)["inputs"] != made["inputs"]


def test_votes_graph_needs_utt2votes(tmp_path):
    data, _ = make_data_dir(tmp_path / "train", LABELS)
    with pytest.raises(GraphError, match="utt2votes: missing"):
        build_graph(data, tmp_path / "graph", GraphConfig(method="votes"))


# ---------------------------------------------------------------------------------------------
# confusions


def write_predictions(path: Path, rows: list[tuple[str, str, str]], classes: list[str]) -> Path:
    lines = ["\t".join(["utt", "reference", "hypothesis"] + [f"p_{c}" for c in classes])]
    for utt, ref, hyp in rows:
        lines.append("\t".join([utt, ref, hyp] + ["0.9" if c == hyp else f"{0.1 / (len(classes) - 1):.6f}"
                                                  for c in classes]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_confusion_similarity_is_row_normalised_and_symmetric():
    m = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 5]], dtype=float)
    np.testing.assert_allclose(confusion_similarity(m), [[1, (0.2 + 0.25) / 2, 0], [(0.2 + 0.25) / 2, 1, 0],
                                                         [0, 0, 1]])


def test_confusion_graph_most_confused_pair_strongest(tmp_path):
    data, utts = make_data_dir(tmp_path / "train", LABELS)
    emo = read_map(data / "utt2emo")
    classes = ["neutral", "happiness", "sadness", "fear", "anger"]
    # anger and fear swap half the time; sadness once taken for neutral; the rest right
    rows = []
    for u in utts:
        ref = emo[u]
        hyp = {"anger": "fear", "fear": "anger"}.get(ref, ref) if len(rows) % 10 < 5 else ref
        rows.append((u, ref, hyp))
    rows[4] = (rows[4][0], "sadness", "neutral")
    tsv = write_predictions(tmp_path / "predictions.tsv", rows, classes)
    graph_dir = tmp_path / "graph"
    rc = build_graph_cli.main(["--method", "confusion", "--confusion-from", str(tsv), str(data), str(graph_dir)])
    assert rc == 0
    graph = load_graph(graph_dir)
    i = {c: k for k, c in enumerate(graph.classes)}
    corr = np.load(graph_dir / "correlation.npy", allow_pickle=False)
    block = corr[:5, :5] - np.eye(5)
    strongest = np.unravel_index(np.argmax(block), block.shape)
    assert {graph.classes[strongest[0]], graph.classes[strongest[1]]} == {"anger", "fear"}
    np.testing.assert_allclose(block, block.T)
    adj = np.load(graph_dir / "adjacency.npy", allow_pickle=False)
    assert adj[i["anger"], i["fear"]] > 0 and adj[i["fear"], i["anger"]] > 0
    assert adj[i["happiness"], i["anger"]] == 0  # never confused
    assert graph.meta["method"] == "confusion" and graph.meta["config"]["confusion_from"] == str(tsv)
    marker = pv.read_marker(graph_dir / ".done")
    assert marker["made_from"]["options"]["confusion_from"].startswith("sha1:")
    # the same predictions: already built; other predictions: refused (another graph)
    assert build_graph_cli.main(["--method", "confusion", "--confusion-from", str(tsv), str(data), str(graph_dir)]) == 0
    rows[0] = (rows[0][0], rows[0][1], "happiness")
    write_predictions(tsv, rows, classes)
    assert build_graph_cli.main(["--method", "confusion", "--confusion-from", str(tsv), str(data), str(graph_dir)]) == 1


def test_confusion_posteriors_and_test_utterances_refused(tmp_path):
    data, utts = make_data_dir(tmp_path / "train", LABELS)
    emo = read_map(data / "utt2emo")
    classes = ["neutral", "happiness", "sadness", "fear", "anger"]
    tsv = write_predictions(tmp_path / "p.tsv", [(u, emo[u], emo[u]) for u in utts], classes)
    graph = build_graph(data, tmp_path / "g", GraphConfig(method="confusion", confusion_from=str(tsv),
                                                         confusion_posteriors=True))
    corr = np.load(tmp_path / "g" / "correlation.npy", allow_pickle=False)
    # every row: 0.9 on itself, 0.025 on each other class; symmetrised, still 0.025
    np.testing.assert_allclose(corr[:5, :5][~np.eye(5, dtype=bool)], 0.025, atol=1e-6)
    assert graph.meta["confusion"]["posteriors"] is True
    leaked = write_predictions(tmp_path / "t.tsv", [("spk9-utt999", "anger", "anger")], classes)
    with pytest.raises(ConfigError, match="not in the training set"):
        build_graph(data, tmp_path / "g2", GraphConfig(method="confusion", confusion_from=str(leaked)))
    with pytest.raises(ConfigError, match="needs confusion_from"):
        build_graph(data, tmp_path / "g3", GraphConfig(method="confusion"))


# ---------------------------------------------------------------------------------------------
# pseudo-dimensional targets


def test_pseudo_dims_on_a_copy_then_recorded_by_the_graph(tmp_path):
    src, utts = make_data_dir(tmp_path / "train", LABELS)
    (src / ".done").write_text("stage: data\n")
    write_map(src / "utt2va", {utts[0]: "0.5 0.5"})  # one measured utterance keeps its values
    before = {f.name: f.read_bytes() for f in src.iterdir()}
    dst = tmp_path / "train_pd"
    record = make_pseudo_dims(CIRCUMPLEX, src, dst)
    assert {f.name: f.read_bytes() for f in src.iterdir()} == before  # the source is untouched
    assert not (dst / ".done").exists()  # no marker naming the source
    va = read_map(dst / "utt2va")
    assert set(va) == set(utts) and va[utts[0]] == "0.5 0.5"
    emo = read_map(dst / "utt2emo")
    for u in utts[1:]:
        np.testing.assert_allclose([float(x) for x in va[u].split()], scaled(emo[u]), atol=1e-6)
    assert record["num_measured"] == 1
    with pytest.raises(ValueError, match="exists"):
        make_pseudo_dims(CIRCUMPLEX, src, dst)
    assert pseudo_dims_cli.main([str(CIRCUMPLEX), str(src), str(dst)]) == 1  # one line, exit 1
    assert pseudo_dims_cli.main(["--force", str(CIRCUMPLEX), str(src), str(dst)]) == 0
    graph = build_graph(dst, tmp_path / "graph", GraphConfig())
    assert graph.meta["method"] == "correlation"  # auto: utt2va now covers the training set
    assert graph.meta["pseudo_dims"]["circumplex"]["file"] == str(CIRCUMPLEX)


# ---------------------------------------------------------------------------------------------
# learned adjacency


def small_graph(tmp_path):
    data, _ = make_data_dir(tmp_path / "train", LABELS)
    return build_graph(data, tmp_path / "graph", GraphConfig(method="circumplex"))


def test_learned_adjacency_starts_at_the_graph_and_changes_with_training(tmp_path):
    graph = small_graph(tmp_path)
    torch.manual_seed(0)
    gcn = LabelGCN(graph.node_features, graph.propagation, hidden=16, out_dim=8, learn_adjacency=True)
    start = gcn.current_propagation().detach().clone()
    np.testing.assert_allclose(start.numpy(), graph.propagation, atol=1e-5)
    opt = torch.optim.SGD(gcn.parameters(), lr=1.0)
    target = torch.randn(7, 8)
    loss = ((gcn() - target) ** 2).sum()
    loss.backward()
    opt.step()
    after = gcn.current_propagation().detach()
    assert not torch.allclose(after, start)
    np.testing.assert_allclose(after.sum(dim=0).numpy(), 1.0, atol=1e-5)  # A^T: columns still sum to 1
    assert (after[graph.propagation == 0] == 0).all()  # no edge appears where the graph has none
    np.testing.assert_array_equal(gcn.propagation.numpy(), graph.propagation)  # the record stays
    assert "head.gcn.adjacency_logits" in build_model(
        "emotion_gcn", "mlp", 10, 5, 2, graph.node_features, graph.propagation, learn_adjacency=True,
        backbone_options={"hidden": [8]}).state_dict()


def test_fixed_adjacency_is_unchanged(tmp_path):
    graph = small_graph(tmp_path)
    gcn = LabelGCN(graph.node_features, graph.propagation, hidden=16, out_dim=8)
    assert not hasattr(gcn, "adjacency_logits") and "edge_mask" not in gcn.state_dict()
    assert set(gcn.state_dict()) == {"node_features", "propagation", "layer1.weight", "layer2.weight"}
    opt = torch.optim.SGD(gcn.parameters(), lr=1.0)
    ((gcn() - torch.randn(7, 8)) ** 2).sum().backward()
    opt.step()
    assert gcn.current_propagation() is gcn.propagation
    np.testing.assert_array_equal(gcn.propagation.numpy(), graph.propagation)


def test_learn_adjacency_config_and_variant(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("model: {variant: emotion_gcn, learn_adjacency: true}\n")
    assert load_config(TrainConfig, path).model.learn_adjacency is True
    assert TrainConfig().model.learn_adjacency is False
    with pytest.raises(ValueError, match="learn_adjacency needs the emotion_gcn"):
        build_model("single_task", "mlp", 10, 5, learn_adjacency=True)


# ---------------------------------------------------------------------------------------------
# CREMA-D: utt2votes from the release's tabulatedVotes.csv


def test_prepare_cremad_writes_utt2votes_then_a_votes_graph(tmp_path):
    import importlib.util

    import soundfile as sf

    spec = importlib.util.spec_from_file_location("prepare_cremad_votes", REPO / "local" / "prepare_cremad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = tmp_path / "CREMA-D"
    (root / "AudioWAV").mkdir(parents=True)
    stems = ["1001_DFA_ANG_XX", "1001_IEO_FEA_HI", "1002_DFA_SAD_XX", "1002_TIE_NEU_XX"]
    for stem in stems:
        sf.write(root / "AudioWAV" / f"{stem}.wav", np.zeros(1600, dtype=np.float32), 16000, subtype="PCM_16")
    (root / "processedResults").mkdir()
    # first column: 100000 x query type (1 voice, 2 face, 3 both) + clip number
    (root / "processedResults" / "tabulatedVotes.csv").write_text(
        ",A,D,F,H,N,S,fileName,agreement\n"
        "100001,7,0,2,0,1,0,1001_DFA_ANG_XX,0.7\n"
        "200001,9,0,0,0,0,1,1001_DFA_ANG_XX,0.9\n"  # face ratings: not the voice's
        "100002,3,0,6,0,0,0,1001_IEO_FEA_HI,0.6\n"
        "100003,0,0,0,0,2,8,1002_DFA_SAD_XX,0.8\n"
        "100004,0,0,0,0,10,0,1002_TIE_NEU_XX,1.0\n"
        "100005,0,0,0,0,10,0,1009_XXX_NEU_XX,1.0\n")  # no audio: left out
    out = tmp_path / "all"
    assert module.main(["--labels", str(REPO / "conf" / "emotions.yaml"), str(root), str(out)]) == 0
    votes = read_map(out / "utt2votes")
    assert votes == {"cremad-1001-dfa-ang-xx": "anger:7 fear:2 neutral:1",
                     "cremad-1001-ieo-fea-hi": "anger:3 fear:6",
                     "cremad-1002-dfa-sad-xx": "neutral:2 sadness:8",
                     "cremad-1002-tie-neu-xx": "neutral:10"}
    graph = build_graph(out, tmp_path / "graph", GraphConfig(method="votes"))
    i = {c: k for k, c in enumerate(graph.classes)}
    corr = np.load(tmp_path / "graph" / "correlation.npy", allow_pickle=False)
    assert corr[i["fear"], i["anger"]] == 1.0 and corr[i["anger"], i["fear"]] == 1.0  # both utterances
    assert corr[i["neutral"], i["anger"]] == pytest.approx(1 / 3)  # neutral voted on 3, with anger on 1
    assert corr[i["sadness"], i["neutral"]] == 1.0


def test_training_config_reaches_the_model(tmp_path):
    from emogcn.training.trainer import build_experiment_model

    small_graph(tmp_path)
    cfg = TrainConfig()
    cfg.model.gcn_hidden = 8
    cfg.model.backbone, cfg.model.backbone_options = "mlp", {"hidden": [8]}
    fixed, _ = build_experiment_model(cfg, tmp_path / "graph", 10)
    assert not any("adjacency_logits" in k for k in fixed.state_dict())
    cfg.model.learn_adjacency = True
    learned, classes = build_experiment_model(cfg, tmp_path / "graph", 10)
    assert "head.gcn.adjacency_logits" in dict(learned.named_parameters())
    # a training step on the class logits moves the edges
    before = learned.head.gcn.current_propagation().detach().clone()
    opt = torch.optim.Adam(learned.parameters(), lr=0.05)
    out = learned(torch.randn(6, 1, 10), torch.ones(6, dtype=torch.long))
    torch.nn.functional.cross_entropy(out["logits"], torch.arange(6) % len(classes)).backward()
    opt.step()
    assert not torch.allclose(learned.head.gcn.current_propagation(), before)


def test_training_record_leaves_out_a_default_learn_adjacency(tmp_path):
    from emogcn.training.trainer import train_made_from

    small_graph(tmp_path)
    cfg = TrainConfig()
    made = train_made_from(cfg, tmp_path / "train", None, tmp_path / "graph")
    assert "learn_adjacency" not in made["configs"]["train"]["model"]  # records made before the key still match
    cfg.model.learn_adjacency = True
    assert train_made_from(cfg, tmp_path / "train", None, tmp_path / "graph")["configs"]["train"]["model"][
        "learn_adjacency"] is True


def test_training_record_of_gcn_init_and_sampling_keeps_old_models_matching_where_nothing_changed(tmp_path):
    """A single_task model, or natural sampling, is what it was before the keys existed: left out.
    An emotion_gcn model made before gcn_init had the original init: absent means original, so the
    linear default is recorded and such a model is refused as made with other settings."""
    import dataclasses

    from emogcn.training.trainer import train_made_from

    small_graph(tmp_path)

    def record(**changes):
        model = dataclasses.replace(TrainConfig().model, **{k: v for k, v in changes.items() if k != "sampling"})
        cfg = dataclasses.replace(TrainConfig(), model=model, sampling=changes.get("sampling", "natural"))
        return train_made_from(cfg, tmp_path / "train", None, tmp_path / "graph")["configs"]["train"]

    single = record(variant="single_task")
    assert "gcn_init" not in single["model"] and "sampling" not in single
    assert record(variant="emotion_gcn")["model"]["gcn_init"] == "linear"
    assert "gcn_init" not in record(variant="emotion_gcn", gcn_init="original")["model"]
    assert record(variant="single_task", sampling="corpus")["sampling"] == "corpus"


# ---------------------------------------------------------------------------------------------
# the shipped selections (the recipes' --graph-config / --train-config)


def test_shipped_circumplex_graph_config_selects_the_source_with_graph_yaml_defaults():
    cfg = load_config(GraphConfig, REPO / "conf" / "graph_circumplex.yaml")
    default = load_config(GraphConfig, REPO / "conf" / "graph.yaml")
    assert cfg.method == "circumplex"
    cfg.priors, default.priors = cfg.priors or {}, default.priors or {}  # none given: None or {} alike
    assert {k: v for k, v in vars(cfg).items() if k != "method"} == \
        {k: v for k, v in vars(default).items() if k != "method"}


@pytest.mark.parametrize("learned, base", [("train_mlp_learned.yaml", "train_mlp.yaml"),
                                           ("train_bregnext_small_learned.yaml", "train_bregnext_small.yaml")])
def test_shipped_learned_configs_are_their_base_with_a_learned_adjacency(learned, base):
    cfg = load_config(TrainConfig, REPO / "conf" / learned)
    assert cfg.model.learn_adjacency and cfg.model.variant == "emotion_gcn"
    plain = load_config(TrainConfig, REPO / "conf" / base)
    cfg.model.learn_adjacency = False
    assert cfg == plain
