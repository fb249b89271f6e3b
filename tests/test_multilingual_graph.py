"""Node features of the label graph from aligned per-language word vectors (conf/label_words.yaml)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from conftest import REPO, make_data_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.graph.build import GraphConfig, build_graph, load_graph
from emogcn.graph.multilingual import load_label_words, multilingual_node_features, parse_vectors_by_lang
from emogcn.graph.word_vectors import WordVectorError

NODES = ["anger", "neutral", "valence", "arousal"]
WORDS = load_label_words(REPO / "conf/label_words.yaml")


def _vec_file(path, vectors: dict[str, list[float]]):
    dim = len(next(iter(vectors.values())))
    lines = [f"{len(vectors)} {dim}"] + [w + " " + " ".join(str(v) for v in vec) for w, vec in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    en = _vec_file(tmp_path / "en.vec", {"anger": [1, 0, 0], "neutral": [0, 1, 0], "valence": [0, 0, 1],
                                         "arousal": [1, 1, 0]})
    # German: no vector for "erregung" (arousal): the English one stands in
    de = _vec_file(tmp_path / "de.vec", {"wut": [3, 0, 0], "neutral": [0, 3, 0], "valenz": [0, 0, 3]})
    return {"en": en, "de": de}


def test_every_class_has_label_words():
    import yaml

    classes = yaml.safe_load(open(REPO / "conf/emotions.yaml"))["classes"]
    for node in classes + ["valence", "arousal"]:
        assert WORDS[node]["en"], node
    for node in classes:  # the languages of the speech corpora
        assert {"de", "it", "fr", "es", "el", "fa", "ur", "bn", "zh"} <= set(WORDS[node]), node


def test_mean_over_training_languages_with_english_fallback(files, caplog):
    with caplog.at_level(logging.INFO):
        features, source = multilingual_node_features(NODES, files, ["de", "en"], WORDS)
    np.testing.assert_allclose(features, [[2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 0]])
    assert "averaged over de, en" in source
    assert "no de vector for 'erregung', using the English one" in caplog.text


def test_languages_without_a_file_are_logged_and_english_only_is_the_last_resort(files, caplog):
    features, _ = multilingual_node_features(NODES, {"en": files["en"]}, ["fa"], WORDS)
    np.testing.assert_allclose(features[0], [1, 0, 0])
    assert "no word-vector file for training language(s) fa" in caplog.text
    with pytest.raises(WordVectorError, match="no word-vector file for any training language"):
        multilingual_node_features(NODES, {"de": files["de"]}, ["fa"], WORDS)
    with pytest.raises(WordVectorError, match="node 'arousal' has no vector in language 'de'"):
        multilingual_node_features(NODES, {"de": files["de"]}, ["de"], WORDS)


def test_parse_vectors_by_lang():
    assert parse_vectors_by_lang("en=a.vec de=b.vec") == {"en": "a.vec", "de": "b.vec"}
    with pytest.raises(ValueError, match="expected <lang>=<file>"):
        parse_vectors_by_lang("en=a.vec b.vec")


def test_graph_stage_reads_the_training_languages(tmp_path, files):
    train = make_data_dir(tmp_path / "train", {"x-s1": 4, "y-s1": 4}, labels=("anger", "neutral"))
    dd.write_map(train / "utt2lang", {u: ("de" if u.startswith("x") else "en") for u in dd.read_map(train / "utt2spk")})
    cfg = GraphConfig(word_vectors_by_lang=files, label_words=str(REPO / "conf/label_words.yaml"),
                      labels=str(REPO / "conf/emotions.yaml"))
    build_graph(train, tmp_path / "graph", cfg)
    graph = load_graph(tmp_path / "graph")
    np.testing.assert_allclose(graph.node_features[graph.nodes.index("anger")], [2, 0, 0])
    # and from the command line, as steps/build_graph.sh passes --word-vectors
    p = run_sh(f"python -m emogcn.bin.build_graph --word-vectors 'en={files['en']} de={files['de']}' "
               f"--config {REPO}/conf/graph.yaml {train} {tmp_path}/graph2", REPO)
    assert "averaged over de, en" in p.stderr


def test_pooled_set_with_some_dimensions_fills_the_rest_from_priors(tmp_path):
    from emogcn.graph.build import GraphError
    from emogcn.graph.priors import class_priors

    train = make_data_dir(tmp_path / "train", {"x-s1": 6, "y-s1": 6}, labels=("anger", "sadness", "happiness"))
    va = dd.read_map(train / "utt2va")
    dd.write_map(train / "utt2va", {u: v for u, v in va.items() if u.startswith("x")})  # corpus y has none
    cfg = GraphConfig(labels=str(REPO / "conf/emotions.yaml"))
    graph = build_graph(train, tmp_path / "graph", cfg)
    assert graph.meta["method"] == "correlation"
    assert "utt2va for 6 of 12 utterances, class priors for the others" in graph.meta["dimensions"]
    # the same correlation as with the priors written out for corpus y
    priors = class_priors(["anger", "sadness", "happiness"], None, "test")
    utt2emo = dd.read_map(train / "utt2emo")
    full = dict(va)
    full.update({u: f"{priors[utt2emo[u]][0]} {priors[utt2emo[u]][1]}" for u in va if u.startswith("y")})
    full_dir = make_data_dir(tmp_path / "full", {"x-s1": 6, "y-s1": 6}, labels=("anger", "sadness", "happiness"))
    dd.write_map(full_dir / "utt2va", full)
    expected = build_graph(full_dir, tmp_path / "graph_full", cfg)
    np.testing.assert_allclose(graph.propagation, expected.propagation)
    with pytest.raises(GraphError, match="covers 6 of 12 training utterances"):
        build_graph(train, tmp_path / "g2", GraphConfig(method="correlation", labels=cfg.labels))
