"""Stage 3: the Emotion-GCN label graph (adjacency, priors, word vectors, build, shell step)."""

from __future__ import annotations

import gzip
import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import make_label_dir
import yaml
from scipy.stats import spearmanr

from emogcn.config import ConfigError, load_config
from emogcn.data.datadir import DataDirError, spk2utt_from_utt2spk, write_map
from emogcn.graph.adjacency import (
    cosine_similarity,
    emotion_gcn_adjacency,
    propagation_matrix,
    spearman_correlation,
)
from emogcn.graph.build import GraphConfig, GraphError, build_graph, format_matrix, load_graph, order_classes
from emogcn.graph.priors import NRC_VAD_V1, class_priors, scaled_prior
from emogcn.graph.word_vectors import WordVectorError, load_word_vectors, node_features

REPO = Path(__file__).resolve().parents[1]
AFFECTNET_NODES = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "valence", "arousal"]


def published_correlation() -> np.ndarray:
    """The AffectNet correlation rows of Valence and Arousal quoted in the issue (node order
    Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Valence, Arousal); the class-class
    block is arbitrary because the method zeroes it."""
    valence = [-0.3351, 0.8611, -0.4530, -0.0276, -0.1218, -0.1764, -0.3837, 1.0, 0.0373]
    arousal = [-0.2841, 0.0145, -0.4337, 0.3382, 0.2356, 0.1437, 0.4138, 0.0373, 1.0]
    rng = np.random.default_rng(0)
    corr = rng.uniform(-1, 1, size=(9, 9))
    corr = (corr + corr.T) / 2
    np.fill_diagonal(corr, 1.0)
    corr[7, :] = corr[:, 7] = valence
    corr[8, :] = corr[:, 8] = arousal
    return corr


# ---------------------------------------------------------------------------------------------
# adjacency.py


def test_published_affectnet_propagation_rows():
    prop = propagation_matrix(emotion_gcn_adjacency(published_correlation(), num_classes=7, tau=0.1, p=0.5))
    np.testing.assert_allclose(prop[7], [0.25, 0.5, 0.25, 0, 0.25, 0.25, 0.25, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(prop[8], [0.25, 0, 0.25, 0.5, 0.25, 0.25, 0.25, 0, 0.5], atol=1e-12)
    for i in range(7):
        assert prop[i, i] == pytest.approx(0.5)
        others = [j for j in range(7) if j != i]
        np.testing.assert_array_equal(prop[i, others], 0.0)  # no emotion-emotion edges
    twelfth = 1 / 12
    np.testing.assert_allclose(prop[:7, 7], [twelfth, twelfth, twelfth, 0, twelfth, twelfth, twelfth])
    np.testing.assert_allclose(prop[:7, 8], [twelfth, 0, twelfth, twelfth, twelfth, twelfth, twelfth])
    # The forward-pass matrix is A^T: A itself has the figures in its columns, and rows summing to 1.
    adj = emotion_gcn_adjacency(published_correlation(), 7)
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    np.testing.assert_allclose(prop, adj.T)


def test_threshold_at_and_just_below_tau():
    corr = np.eye(3)
    corr[0, 2] = corr[2, 0] = 0.1  # at tau: an edge
    corr[1, 2] = corr[2, 1] = 0.0999  # just below: none
    adj = emotion_gcn_adjacency(corr, num_classes=2, tau=0.1, p=0.5)
    assert adj[0, 2] == pytest.approx(0.5) and adj[2, 0] == pytest.approx(0.5)
    assert adj[1, 2] == 0 and adj[2, 1] == 0
    assert adj[1, 1] == 1.0  # a node without neighbours keeps all of its signal
    corr[1, 2] = corr[2, 1] = -0.1  # a negative correlation at |tau| is an edge too
    adj = emotion_gcn_adjacency(corr, num_classes=2, tau=0.1, p=0.5)
    assert adj[2, 0] == pytest.approx(0.25) and adj[2, 1] == pytest.approx(0.25) and adj[2, 2] == 0.5


def test_class_block_is_zeroed_unless_asked():
    corr = np.full((4, 4), 0.9)
    np.fill_diagonal(corr, 1.0)
    adj = emotion_gcn_adjacency(corr, num_classes=2)
    assert adj[0, 1] == 0 and adj[1, 0] == 0
    kept = emotion_gcn_adjacency(corr, num_classes=2, zero_class_block=False)
    assert kept[0, 1] == pytest.approx(0.5 / 3)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_reweighted_rows_sum_to_one(p):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 8))
    corr = spearman_correlation(x)
    adj = emotion_gcn_adjacency(corr, num_classes=5, tau=0.15, p=p)
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    offdiag = adj - np.diag(np.diag(adj))
    for i in range(8):
        nz = offdiag[i][offdiag[i] > 0]
        if nz.size:
            np.testing.assert_allclose(nz, p / nz.size)
            assert adj[i, i] == pytest.approx(1 - p)
        else:
            assert adj[i, i] == 1.0


def test_spearman_matches_scipy_with_ties_and_constant_column():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(40, 4)).astype(float)  # many ties
    expected, _ = spearmanr(x)
    np.testing.assert_allclose(spearman_correlation(x), expected, atol=1e-12)
    x[:, 1] = 3.0
    corr = spearman_correlation(x)
    assert not np.isnan(corr).any()
    np.testing.assert_array_equal(corr[1, [0, 2, 3]], 0.0)
    np.testing.assert_array_equal(np.diag(corr), 1.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        spearman_correlation(x[:1])


def test_adjacency_rejects_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        emotion_gcn_adjacency(np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="p must be"):
        emotion_gcn_adjacency(np.eye(3), 1, p=1.5)
    with pytest.raises(ValueError, match="NaN"):
        emotion_gcn_adjacency(np.full((2, 2), np.nan), 1)


def test_cosine_similarity_of_one_hot_is_identity():
    np.testing.assert_array_equal(cosine_similarity(np.eye(4)), np.eye(4))
    sim = cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    assert sim[0, 1] == pytest.approx(1 / np.sqrt(2)) and sim[2, 0] == 0


def test_format_matrix_names_rows_and_columns():
    table = format_matrix(np.eye(2), ["valence", "arousal"])
    lines = table.splitlines()
    assert lines[0].split() == ["valence", "arousal"]
    assert lines[1].split() == ["valence", "1.000", "0.000"]


# ---------------------------------------------------------------------------------------------
# priors.py


def test_priors_are_published_values_scaled():
    assert set(NRC_VAD_V1) == {"neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger",
                               "boredom", "calm", "contempt"}
    v, a = scaled_prior("happiness")
    assert v == pytest.approx(2 * 0.960 - 1) and a == pytest.approx(2 * 0.732 - 1)
    # The circumplex shape the graph relies on: happiness positive, sadness negative and calm.
    assert scaled_prior("happiness")[0] > 0 > scaled_prior("sadness")[0]
    assert scaled_prior("anger")[1] > 0 > scaled_prior("calm")[1]
    assert all(-1 <= x <= 1 for va in NRC_VAD_V1.values() for x in va)


def test_class_priors_overrides_and_missing():
    priors = class_priors(["anger", "ps"], {"ps": [0.5, 0.6]})
    assert priors == {"anger": scaled_prior("anger"), "ps": (0.5, 0.6)}
    with pytest.raises(ConfigError, match="class 'ps' has no valence/arousal prior"):
        class_priors(["anger", "ps"])
    with pytest.raises(ConfigError, match="outside"):
        class_priors(["ps"], {"ps": [2, 0]})


# ---------------------------------------------------------------------------------------------
# word_vectors.py


def write_vectors(path: Path, rows: dict[str, list[float]], header: bool, gz: bool = False) -> Path:
    dim = len(next(iter(rows.values())))
    text = (f"{len(rows)} {dim}\n" if header else "") + "".join(
        f"{w} {' '.join(f'{x:.4f}' for x in v)}\n" for w, v in rows.items())
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


VECTORS = {
    "the": [0.1, 0.2, 0.3],
    "Anger": [9.0, 9.0, 9.0],  # another casing, before the exact spelling
    "anger": [1.0, 0.0, 0.0],
    "happiness": [0.0, 1.0, 0.0],
    "pleasant": [0.0, 0.0, 2.0],
    "surprise": [2.0, 0.0, 0.0],
    "valence": [0.5, 0.5, 0.0],
    "arousal": [0.0, 0.5, 0.5],
}


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "fasttext", "glove_gz"])
def test_load_word_vectors_in_each_format(tmp_path, fmt):
    name = {"glove": "glove.txt", "word2vec": "w2v.txt", "fasttext": "cc.vec", "glove_gz": "glove.txt.gz"}[fmt]
    path = write_vectors(tmp_path / name, VECTORS, header=fmt in ("word2vec", "fasttext"), gz=fmt == "glove_gz")
    got = load_word_vectors(path, ["anger", "HAPPINESS", "missing"])
    assert set(got) == {"anger", "HAPPINESS"}
    np.testing.assert_allclose(got["anger"], [1, 0, 0])  # the exact spelling wins over "Anger"
    np.testing.assert_allclose(got["HAPPINESS"], [0, 1, 0])  # case-insensitive
    assert got["anger"].dtype == np.float32


def test_node_features_from_word_vectors_average_compounds(tmp_path):
    path = write_vectors(tmp_path / "glove.txt", VECTORS, header=False)
    feats, source = node_features(["anger", "pleasant_surprise", "valence", "arousal"], path)
    assert feats.shape == (4, 3) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[1], [1.0, 0.0, 1.0])  # mean of pleasant and surprise
    assert "word vectors" in source and "3-d" in source


def test_node_features_missing_word_names_the_node(tmp_path):
    path = write_vectors(tmp_path / "glove.txt", VECTORS, header=False)
    with pytest.raises(WordVectorError, match="node 'boredom' has no vector"):
        node_features(["anger", "boredom"], path)
    with pytest.raises(WordVectorError, match=r"'calm'.*of 'pleasant_calm'"):
        node_features(["pleasant_calm"], path)


def test_node_features_one_hot_fallback_logs(caplog):
    with caplog.at_level(logging.INFO):
        feats, source = node_features(["anger", "valence", "arousal"], None)
    np.testing.assert_array_equal(feats, np.eye(3))
    assert source.startswith("one-hot")
    assert "one-hot" in caplog.text and "no word-vector file" in caplog.text


def test_malformed_word_vector_lines_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("anger 1 0 0\nhappiness 0 1\n", encoding="utf-8")
    with pytest.raises(WordVectorError, match=r"bad\.txt:2: expected a word and 3 values"):
        load_word_vectors(bad, ["anger", "fear"])  # fear is absent, so the whole file is scanned
    bad.write_text("anger 1 0 0\nhappiness 0 x 1\n", encoding="utf-8")
    with pytest.raises(WordVectorError, match=r"bad\.txt:2: value 'x' of 'happiness' is not a number"):
        load_word_vectors(bad, ["happiness"])
    bad.write_text("2 3\nanger 1 0 0 7\n", encoding="utf-8")  # header files have no words with spaces
    with pytest.raises(WordVectorError, match=r"bad\.txt:2: expected a word and 3 values, got 4"):
        load_word_vectors(bad, ["anger"])
    with pytest.raises(WordVectorError, match="not found"):
        load_word_vectors(tmp_path / "nope.txt", ["anger"])


def test_glove_words_with_spaces_are_tolerated(tmp_path):
    path = tmp_path / "glove.840B.txt"
    path.write_text("anger 1 0 0\n. . . 0 0 1\nfear 0 1 0\n", encoding="utf-8")
    got = load_word_vectors(path, ["fear", ". . ."])
    np.testing.assert_allclose(got["fear"], [0, 1, 0])
    np.testing.assert_allclose(got[". . ."], [0, 0, 1])


# ---------------------------------------------------------------------------------------------
# build.py


def make_data_dir(path: Path, labels: list[str], va: list[tuple[float, float]] | None = None) -> Path:
    return make_label_dir(path, labels, va)[0]



LABELS = ["anger", "happiness", "neutral", "sadness"] * 6


def test_order_classes():
    assert order_classes({"anger", "zz", "neutral", "aa"}, ["neutral", "anger"]) == ["neutral", "anger", "aa", "zz"]


def test_prior_graph_without_utt2va(tmp_path, caplog):
    data = make_data_dir(tmp_path / "train", LABELS)
    with caplog.at_level(logging.INFO):
        graph = build_graph(data, tmp_path / "graph", GraphConfig())
    assert graph.meta["method"] == "prior" and graph.meta["requested_method"] == "auto"
    assert "method auto: prior" in caplog.text
    assert "valence" in caplog.text and "0.250" in caplog.text  # the propagation table is logged
    # conf/emotions.yaml order, not alphabetical
    assert graph.classes == ["neutral", "happiness", "sadness", "anger"]
    assert graph.nodes == graph.classes + ["valence", "arousal"]
    corr = np.load(tmp_path / "graph" / "correlation.npy", allow_pickle=False)
    v = graph.nodes.index("valence")
    assert corr[1, v] > 0.5 and corr[2, v] < 0  # happiness has the highest prior valence
    prop = graph.propagation
    np.testing.assert_allclose(prop.sum(axis=0), 1.0, atol=1e-6)  # A^T: columns sum to 1
    assert graph.meta["priors"]["happiness"] == pytest.approx(list(scaled_prior("happiness")))
    assert graph.meta["class_counts"] == {"neutral": 6, "happiness": 6, "sadness": 6, "anger": 6}
    assert graph.meta["num_train_utts"] == 24
    np.testing.assert_array_equal(graph.node_features, np.eye(6))


def test_prior_graph_needs_a_prior_for_every_class(tmp_path):
    data = make_data_dir(tmp_path / "train", LABELS[:-2] + ["ps", "ps"])
    # a label outside conf/emotions.yaml is a data error, unless the config lists the classes
    with pytest.raises(GraphError, match="label 'ps', which is not in the classes of"):
        build_graph(data, tmp_path / "graph", GraphConfig(method="prior"))
    classes = list(dict.fromkeys(LABELS[:-2])) + ["ps"]
    with pytest.raises(ConfigError, match="class 'ps' has no valence/arousal prior"):
        build_graph(data, tmp_path / "graph", GraphConfig(method="prior", classes=classes))
    graph = build_graph(data, tmp_path / "graph", GraphConfig(method="prior", classes=classes, priors={"ps": [0.6, 0.7]}))
    assert graph.classes == classes


def test_correlation_graph_with_utt2va(tmp_path):
    rng = np.random.default_rng(3)
    base = {"anger": (-0.6, 0.7), "happiness": (0.8, 0.5), "neutral": (0.0, -0.4), "sadness": (-0.7, -0.5)}
    va = [tuple(np.clip(np.array(base[lab]) + rng.normal(0, 0.2, 2), -1, 1)) for lab in LABELS]
    data = make_data_dir(tmp_path / "train", LABELS, va)
    graph = build_graph(data, tmp_path / "graph", GraphConfig())
    assert graph.meta["method"] == "correlation"
    # Same numbers as scipy on the same columns, read back from the written files.
    from emogcn.data.datadir import read_map
    emo = read_map(data / "utt2emo")
    vals = read_map(data / "utt2va")
    cols = np.array([[float(emo[u] == c) for c in graph.classes] + [float(x) for x in vals[u].split()]
                     for u in emo])
    expected, _ = spearmanr(cols)
    np.testing.assert_allclose(np.load(tmp_path / "graph" / "correlation.npy", allow_pickle=False), expected, atol=1e-12)
    adj = np.load(tmp_path / "graph" / "adjacency.npy", allow_pickle=False)
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.load(tmp_path / "graph" / "propagation.npy", allow_pickle=False), adj.T)
    assert (tmp_path / "graph" / "adjacency.txt").read_text().startswith("# rows and columns: neutral")

    # correlation without utt2va is an error, not a silent fallback
    bare = make_data_dir(tmp_path / "bare", LABELS)
    with pytest.raises(GraphError, match="utt2va: missing"):
        build_graph(bare, tmp_path / "graph", GraphConfig(method="correlation"))
    assert not (tmp_path / "graph" / ".done").exists()  # the failed rerun invalidated the old graph


def test_identity_graph(tmp_path):
    data = make_data_dir(tmp_path / "train", LABELS)
    graph = build_graph(data, tmp_path / "graph", GraphConfig(method="identity"))
    np.testing.assert_array_equal(graph.propagation, np.eye(6))
    assert graph.meta["num_edges"] == 0


def test_embedding_graph(tmp_path, caplog):
    data = make_data_dir(tmp_path / "train", ["anger", "happiness"] * 4)
    vectors = {"anger": [1.0, 0.2, 0.0], "happiness": [0.9, 0.0, 0.4], "valence": [0.0, 0.0, 1.0],
               "arousal": [-1.0, 0.0, 0.0]}
    path = write_vectors(tmp_path / "glove.txt", vectors, header=False)
    graph = build_graph(data, tmp_path / "graph", GraphConfig(method="embedding", word_vectors=str(path), tau=0.3))
    adj = np.load(tmp_path / "graph" / "adjacency.npy", allow_pickle=False)
    nodes = graph.nodes
    assert adj[nodes.index("happiness"), nodes.index("anger")] > 0  # class-class edge kept
    assert adj[nodes.index("arousal"), nodes.index("anger")] == 0  # negative cosine: no edge
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    with caplog.at_level(logging.WARNING):
        graph = build_graph(data, tmp_path / "g2", GraphConfig(method="embedding"))
    assert "one-hot" in caplog.text and graph.meta["num_edges"] == 0


def test_explicit_classes_and_unknown_labels(tmp_path):
    data = make_data_dir(tmp_path / "train", LABELS)
    order = ["sadness", "anger", "neutral", "happiness", "fear"]
    graph = build_graph(data, tmp_path / "graph", GraphConfig(classes=order))
    assert graph.classes == order  # fear has no utterance: kept, with a warning
    assert (tmp_path / "graph" / "classes.txt").read_text().split() == order
    with pytest.raises(GraphError, match="label 'anger' that is not in the configured classes"):
        build_graph(data, tmp_path / "g2", GraphConfig(classes=["sadness", "neutral", "happiness"]))


def test_build_validates_the_data_dir(tmp_path):
    data = make_data_dir(tmp_path / "train", LABELS)
    (data / "utt2emo").write_text("spk0-utt000 anger\n")  # utterances missing
    with pytest.raises(DataDirError, match="utt2emo"):
        build_graph(data, tmp_path / "graph", GraphConfig())
    assert not (tmp_path / "graph" / ".done").exists()


def test_load_graph_round_trip_and_unfinished_dir(tmp_path):
    data = make_data_dir(tmp_path / "train", LABELS)
    built = build_graph(data, tmp_path / "graph", GraphConfig())
    loaded = load_graph(tmp_path / "graph")
    assert loaded.classes == built.classes and loaded.nodes == built.nodes and loaded.num_classes == 4
    assert loaded.propagation.dtype == np.float32 and loaded.node_features.dtype == np.float32
    np.testing.assert_allclose(loaded.propagation, built.propagation)
    assert loaded.meta["method"] == "prior" and loaded.meta["config"]["tau"] == 0.1
    (tmp_path / "graph" / ".done").unlink()
    with pytest.raises(GraphError, match=r"\.done missing"):
        load_graph(tmp_path / "graph")


def test_shipped_config_loads_strictly(tmp_path):
    cfg = load_config(GraphConfig, REPO / "conf" / "graph.yaml")
    assert cfg.method == "auto" and cfg.tau == 0.1 and cfg.p == 0.5
    bad = tmp_path / "g.yaml"
    bad.write_text("method: auto\ntua: 0.2\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(GraphConfig, bad)


# ---------------------------------------------------------------------------------------------
# steps/build_graph.sh


@pytest.fixture
def recipe(tmp_path):
    """A recipe directory reaching steps, utils, conf and path.sh through symlinks, as egs/* do."""
    d = tmp_path / "recipe"
    d.mkdir()
    for name in ("steps", "utils", "conf", "path.sh"):
        (d / name).symlink_to(REPO / name)
    return d


def run_step(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["steps/build_graph.sh", *args], cwd=recipe, capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_build_graph_sh(recipe):
    make_data_dir(recipe / "data" / "train", LABELS)
    words = {w: [float(i), 1.0, float(i % 3)] for i, w in enumerate(
        ["neutral", "happiness", "sadness", "anger", "valence", "arousal"])}
    glove = write_vectors(recipe / "glove.txt", words, header=False)
    res = run_step(recipe, "--config", "conf/graph.yaml", "--word-vectors", str(glove), "data/train", "exp/graph")
    assert res.returncode == 0, res.stderr + res.stdout
    graph = load_graph(recipe / "exp" / "graph")
    assert graph.classes == ["neutral", "happiness", "sadness", "anger"]
    assert graph.node_features.shape == (6, 3)
    meta = yaml.safe_load((recipe / "exp" / "graph" / "graph.yaml").read_text())
    assert meta["method"] == "prior" and "--word-vectors" in meta["command"]
    assert meta["config_file"] == "conf/graph.yaml"
    log = (recipe / "exp" / "graph" / "log" / "build_graph.log").read_text()
    assert "propagation matrix" in log and "arousal" in log

    res = run_step(recipe, "--config", "", "--method", "identity", "data/train", "exp/graph_id")
    assert res.returncode == 0, res.stderr + res.stdout
    identity = load_graph(recipe / "exp" / "graph_id")
    np.testing.assert_array_equal(identity.propagation, np.eye(6))
    assert identity.meta["config_file"] is None  # --graph-config '': built-in defaults


def test_build_graph_sh_errors(recipe):
    res = run_step(recipe, "data/nope", "exp/graph")
    assert res.returncode != 0
    assert "data/nope: not a directory" in res.stderr
    assert not (recipe / "exp" / "graph" / ".done").exists()
    res = run_step(recipe, "only-one-arg")
    assert res.returncode != 0 and "Usage" in res.stderr
    make_data_dir(recipe / "data" / "train", LABELS)
    res = run_step(recipe, "--method", "correlation", "data/train", "exp/graph")
    assert res.returncode != 0 and "utt2va: missing" in res.stderr
