"""Stage 3: the label graph and node features of Emotion-GCN, from the TRAINING data only.

`build_graph` reads utt2emo (and utt2va when present) of a training data directory, fixes the
class order that training and scoring will use, builds the adjacency by the configured method
and writes everything to a graph directory; `load_graph` reads it back for training.

Methods (config `method`):
  correlation  the original: Spearman correlation of [class indicators, valence, arousal]
               over the training set; needs utt2va;
  prior        the same, with each utterance's valence/arousal replaced by its class's
               published coordinates (emogcn.graph.priors), for corpora without dimensions;
  auto         correlation when the training set has utt2va, else prior;
  embedding    cosine similarity of the node feature vectors, thresholded, re-weighted;
  identity     A = I, no edges (the ablation).
  circumplex   class-class edges from the distance of the classes' published valence/arousal
               (conf/circumplex.yaml, emogcn.graph.sources); node features get the coordinates;
  votes        class-class edges from raters' co-occurring labels (utt2votes), P(j | i) as ML-GCN;
  confusion    class-class edges from a first model's confusions (confusion_from: predictions.tsv).
The last three keep the class-dimension edges of `auto` (utt2va where given, class priors
elsewhere; circumplex takes its own coordinates as the priors) and, unlike the original, keep
class-class edges: the class block of the correlation matrix is replaced by the source's.

Graph directory: classes.txt, nodes.txt, correlation.{npy,txt}, adjacency.{npy,txt},
propagation.{npy,txt}, node_features.npy, graph.yaml, and `.done`, written last.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emogcn import provenance as pv
from emogcn.atomic import atomic_open, write_text
from emogcn.config import ConfigError, read_yaml, to_dict
from emogcn.data.datadir import ValidateOptions, read_map, validate_data_dir
from emogcn.data.labels import load_label_config
from emogcn.graph.adjacency import (
    cosine_similarity,
    emotion_gcn_adjacency,
    propagation_matrix,
    spearman_correlation,
)
from emogcn.graph.priors import CITATION, class_priors
from emogcn.graph import sources
from emogcn.graph.multilingual import load_label_words, multilingual_node_features
from emogcn.graph.word_vectors import node_features
from emogcn.log import get_logger

logger = get_logger(__name__)

SOURCE_METHODS = ("circumplex", "votes", "confusion")  # class-class edges from emogcn.graph.sources
METHODS = ("auto", "correlation", "prior", "embedding", "identity", *SOURCE_METHODS)
DIMENSION_NODES = ("valence", "arousal")
DONE = ".done"
# Shipped in the package (emogcn/resources/, package data; conf/ in a checkout links to them): the
# shared label map, each node's word per language, the circumplex coordinates.
PACKAGED = ("emotions.yaml", "label_words.yaml", "circumplex.yaml")


class GraphError(ValueError):
    """A graph cannot be built or loaded; the message names the file and the problem."""


@dataclass
class GraphConfig:
    """conf/graph.yaml: every constant of the stage (strict keys)."""

    method: str = "auto"
    tau: float = 0.1  # binarization threshold on |correlation|
    p: float = 0.5  # share of a node's signal spread over its neighbours
    classes: list[str] | None = None  # explicit class order; default: labels present, in `labels` order
    labels: str = "conf/emotions.yaml"  # label map whose `classes` order the classes follow
    word_vectors: str | None = None  # GloVe / word2vec / fastText text file; None: one-hot features
    # aligned per-language files {lang: .vec} (MUSE): node features averaged over the training
    # languages (emogcn/graph/multilingual.py); takes the place of word_vectors
    word_vectors_by_lang: dict[str, str] | None = None
    label_words: str = "conf/label_words.yaml"  # each node's word in each language
    priors: dict[str, list[float]] | None = None  # class: [valence, arousal] in [-1, 1], extends the table
    embedding_tau: float | None = None  # threshold on cosine similarity (method embedding); None: tau
    embedding_class_edges: bool = True  # keep class-class edges in the embedding graph
    # method circumplex: coordinates file, kernel width in the [-1, 1] space, and whether node
    # features get each node's coordinates appended
    circumplex: str = "conf/circumplex.yaml"
    circumplex_sigma: float = 0.5
    circumplex_features: bool = True
    confusion_from: str | None = None  # method confusion: predictions.tsv on training-speaker data
    confusion_posteriors: bool = False  # mean p_<class> per reference instead of hypothesis counts


# Keys added with the source methods: left out of the provenance record while at their defaults,
# so graphs built before them still match their markers.
_SOURCE_KEYS = ("circumplex", "circumplex_sigma", "circumplex_features", "confusion_from", "confusion_posteriors")


@dataclass
class Graph:
    """What training needs: the class order, node names, A^T and the node features."""

    classes: list[str]
    nodes: list[str]
    propagation: np.ndarray  # (N, N) float32, multiplies node features in the forward pass
    node_features: np.ndarray  # (N, dim) float32
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# ---------------------------------------------------------------------------------------------
# Classes and label columns


def _labels_path(path: str, what: str = "label map", key: str = "labels") -> Path:
    p = Path(path)
    if p.is_file():
        return p
    # A relative conf/<name> of PACKAGED that the working directory lacks (no recipe conf/ here):
    # the copy shipped in the package, checkout or installed (the checkout's conf/ links to it).
    if not p.is_absolute() and p.parent == Path("conf") and p.name in PACKAGED:
        return Path(str(resources.files("emogcn").joinpath("resources", p.name)))
    raise GraphError(f"{path}: {what} not found (set '{key}:' in the graph config)")


def order_classes(present: set[str], canonical: list[str]) -> list[str]:
    """Labels in `present` in the canonical order, then any others sorted."""
    known = [c for c in canonical if c in present]
    return known + sorted(present - set(canonical))


def resolve_classes(utt2emo: dict[str, str], cfg: GraphConfig, where: str) -> list[str]:
    present = set(utt2emo.values())
    if cfg.classes is not None:
        classes = list(cfg.classes)
        dups = sorted(c for c, n in Counter(classes).items() if n > 1)
        if dups:
            raise ConfigError(f"{where}: 'classes' lists '{dups[0]}' twice")
        unknown = sorted(present - set(classes))
        if unknown:
            raise GraphError(f"utt2emo holds label '{unknown[0]}' that is not in the configured classes "
                             f"({', '.join(classes)})")
        return classes
    labels_path = _labels_path(cfg.labels)
    canonical = list(load_label_config(labels_path)["classes"])
    unknown = sorted(present - set(canonical))
    if unknown:  # one label space: a stray label is a data error, not a new class
        utt = next(u for u, label in utt2emo.items() if label == unknown[0])
        raise GraphError(f"utt2emo: utterance '{utt}' has label '{unknown[0]}', which is not in the classes of "
                         f"{labels_path} ({len(unknown)} unknown label(s): {', '.join(unknown)}); map it there "
                         f"or list the classes in the graph config")
    return order_classes(present, canonical)


def class_indicators(utts: list[str], utt2emo: dict[str, str], classes: list[str]) -> np.ndarray:
    """(n_utts, C) one-hot class indicators."""
    index = {c: i for i, c in enumerate(classes)}
    onehot = np.zeros((len(utts), len(classes)), dtype=np.float64)
    for row, u in enumerate(utts):
        onehot[row, index[utt2emo[u]]] = 1.0
    return onehot


def read_valence_arousal(path: Path, utts: list[str], fill=None) -> np.ndarray:
    """(n_utts, 2) valence and arousal: the first two values of each utt2va line; `fill(utt)`
    gives the pair of an utterance utt2va lacks (else that is an error)."""
    utt2va = read_map(path)
    out = np.zeros((len(utts), 2), dtype=np.float64)
    for row, u in enumerate(utts):
        if u not in utt2va and fill is not None:
            out[row] = fill(u)
            continue
        if u not in utt2va:
            raise GraphError(f"{path}: utterance '{u}' of utt2emo is missing")
        fields = utt2va[u].split()
        try:
            out[row] = [float(fields[0]), float(fields[1])]
        except (IndexError, ValueError):
            raise GraphError(
                f"{path}: utterance '{u}': expected '<valence> <arousal> [...]', got '{utt2va[u]}'"
            ) from None
    return out


# ---------------------------------------------------------------------------------------------
# Building

# The files of a training directory that a graph reads: its inputs, named by their content.
LABEL_FILES = ("utt2emo", "utt2va", "utt2lang")


def _file_stamp(path: str | None) -> str | None:
    """A large input file (word vectors) named by path, size and modification time, as make does."""
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        return f"{path} (missing)"
    st = p.stat()
    return f"{p.resolve()} {st.st_size} {st.st_mtime_ns}"


def _content_stamp(path: str) -> str:
    """A small input (predictions.tsv) named by its content."""
    p = Path(path)
    if not p.is_file():
        return f"{path} (missing)"
    return "sha1:" + hashlib.sha1(p.read_bytes()).hexdigest()[:12]


def graph_made_from(train_dir: str | Path, cfg: GraphConfig) -> dict:
    """What a graph is made from: its config, the label map and label words it reads, the word-vector
    files, and the content of the training directory's label files."""
    train_dir = Path(train_dir)
    graph_cfg = to_dict(cfg)
    defaults = GraphConfig()
    for key in _SOURCE_KEYS:
        if graph_cfg[key] == getattr(defaults, key):
            del graph_cfg[key]
    configs: dict[str, Any] = {"graph": graph_cfg, "labels": read_yaml(_labels_path(cfg.labels))}
    if cfg.word_vectors_by_lang:
        configs["label_words"] = read_yaml(_labels_path(cfg.label_words))
    options = {"word_vectors": _file_stamp(cfg.word_vectors)}
    for lang, path in sorted((cfg.word_vectors_by_lang or {}).items()):
        options[f"word_vectors_{lang}"] = _file_stamp(path)
    # The source files by content, and only for their method: other graphs keep their records.
    if cfg.method == "circumplex":
        configs["circumplex"] = read_yaml(_labels_path(cfg.circumplex, "circumplex file", "circumplex"))
    if cfg.method == "confusion" and cfg.confusion_from:
        options["confusion_from"] = _content_stamp(cfg.confusion_from)
    label_files = LABEL_FILES + (("utt2votes",) if cfg.method == "votes" else ())
    digest = hashlib.sha1()
    for name in label_files:
        if (train_dir / name).is_file():
            digest.update(name.encode() + b"\0" + (train_dir / name).read_bytes())
    return pv.made_from(configs, options, {"train_labels": "sha1:" + digest.hexdigest()[:12]})


def build_graph(train_dir: str | Path, graph_dir: str | Path, cfg: GraphConfig,
                config_path: str | Path | None = None, command: str | None = None) -> Graph:
    """Builds and writes the graph of the training data directory `train_dir` into `graph_dir`."""
    train_dir, graph_dir = Path(train_dir), Path(graph_dir)
    # A rerun invalidates the previous graph first: if it fails, no stale `.done` remains.
    (graph_dir / DONE).unlink(missing_ok=True)
    where = str(config_path) if config_path is not None else "graph config"
    if cfg.method not in METHODS:
        raise ConfigError(f"{where}: method '{cfg.method}' is not one of {', '.join(METHODS)}")
    if not cfg.tau >= 0:
        raise ConfigError(f"{where}: tau must be >= 0, got {cfg.tau}")
    if not 0.0 <= cfg.p <= 1.0:
        raise ConfigError(f"{where}: p must be in [0, 1], got {cfg.p}")

    num_utts = validate_data_dir(train_dir, ValidateOptions(need_media=False))
    made = graph_made_from(train_dir, cfg)
    utt2emo = read_map(train_dir / "utt2emo")
    utts = list(utt2emo)
    classes = resolve_classes(utt2emo, cfg, where)
    nodes = classes + list(DIMENSION_NODES)
    clash = [d for d in DIMENSION_NODES if d in classes]
    if clash:
        raise GraphError(f"class '{clash[0]}' has the name of a dimensional node")
    counts = Counter(utt2emo.values())
    for c in classes:
        if counts[c] == 0:
            logger.warning("class '%s' has no training utterance: its node gets no correlation edge", c)
    logger.info("training data %s: %d utterances, %d classes: %s", train_dir, num_utts, len(classes),
                ", ".join(f"{c} ({counts[c]})" for c in classes))

    has_va = (train_dir / "utt2va").is_file()
    num_with_va = len(read_map(train_dir / "utt2va")) if has_va else 0
    partial_va = has_va and num_with_va < len(utts)
    method = cfg.method
    if method == "auto":
        method = "correlation" if has_va else "prior"
        logger.info("method auto: %s (%s)", method,
                    (f"utt2va covers {num_with_va} of {len(utts)} training utterances; the others take their "
                     f"class's prior valence/arousal" if partial_va else "utt2va covers the training set")
                    if has_va else f"no {train_dir}/utt2va")
    elif method == "correlation" and partial_va:
        raise GraphError(f"{train_dir}/utt2va: covers {num_with_va} of {len(utts)} training utterances; method "
                         f"'correlation' needs all of them (method 'auto' fills the others from class priors)")
    if method == "correlation" and not has_va:
        raise GraphError(f"{train_dir}/utt2va: missing; method 'correlation' needs valence and arousal "
                         f"for every training utterance (use method 'prior' or 'auto')")
    # The source methods make the class-dimension edges as `auto` does.
    dims_method = ("correlation" if has_va else "prior") if method in SOURCE_METHODS else method
    prior_source = CITATION
    class_block, source_record = None, None
    if method == "circumplex":
        coords, source_record = sources.load_circumplex(
            _labels_path(cfg.circumplex, "circumplex file", "circumplex"), classes)
        # its own coordinates are the priors, so the file alone says where each class sits
        priors = {c: (float(coords[c][0]), float(coords[c][1])) for c in classes}
        prior_source = f"{source_record['source']} ({source_record['file']})"
        class_block = sources.circumplex_similarity(coords, classes, cfg.circumplex_sigma)
        source_record["sigma"] = float(cfg.circumplex_sigma)
    else:
        priors = class_priors(classes, cfg.priors, where) if dims_method == "prior" or partial_va else None
    if method == "votes":
        if not (train_dir / "utt2votes").is_file():
            raise GraphError(f"{train_dir}/utt2votes: missing; method 'votes' needs per-rater labels "
                             f"('<utt> <label>:<count> ...')")
        votes, source_record = sources.read_votes(train_dir / "utt2votes", classes, set(utts))
        class_block = sources.conditional_cooccurrence(votes)
    if method == "confusion":
        if not cfg.confusion_from:
            raise ConfigError(f"{where}: method 'confusion' needs confusion_from: <predictions.tsv> "
                              f"(or --confusion-from)")
        confusions, source_record = sources.read_confusion(cfg.confusion_from, classes, set(utts),
                                                           cfg.confusion_posteriors)
        source_record["sha1"] = _content_stamp(cfg.confusion_from)
        class_block = sources.confusion_similarity(confusions)

    # After every check on the data: a word-vector file can take minutes to scan.
    word_vectors = cfg.word_vectors
    if cfg.word_vectors_by_lang:
        if word_vectors:
            raise ConfigError(f"{where}: give word_vectors or word_vectors_by_lang, not both")
        languages = sorted(set(read_map(train_dir / "utt2lang").values())) if (train_dir / "utt2lang").is_file() else []
        features, feature_source = multilingual_node_features(
            nodes, cfg.word_vectors_by_lang, languages, load_label_words(_labels_path(cfg.label_words, "label words", "label_words")))
        word_vectors = "by language"
    else:
        features, feature_source = node_features(nodes, word_vectors)
    if method == "circumplex" and cfg.circumplex_features:
        # appended, not replacing: word vectors (or one-hot) keep the nodes apart where two
        # classes have near coordinates
        features = np.concatenate(
            [features, sources.circumplex_node_features(coords, classes, len(DIMENSION_NODES))], axis=1)
        feature_source = f"{feature_source} + circumplex coordinates ({', '.join(source_record['axes'])})"

    meta_extra: dict[str, Any] = {}
    if (train_dir / "pseudo_dims.yaml").is_file():  # utt2va made from class coordinates (emogcn.bin.pseudo_dims)
        meta_extra["pseudo_dims"] = read_yaml(train_dir / "pseudo_dims.yaml")
    num_classes = len(classes)
    if dims_method in ("correlation", "prior"):
        onehot = class_indicators(utts, utt2emo, classes)
        if dims_method == "correlation" and partial_va:  # pooled corpora: measured where given, priors elsewhere
            dims = read_valence_arousal(train_dir / "utt2va", utts, fill=lambda u: priors[utt2emo[u]])
            meta_extra["dimensions"] = (f"{train_dir}/utt2va for {num_with_va} of {len(utts)} utterances, "
                                        f"class priors for the others: {prior_source}")
        elif priors is None:
            dims = read_valence_arousal(train_dir / "utt2va", utts)
            meta_extra["dimensions"] = f"{train_dir}/utt2va"
        else:
            dims = np.asarray([priors[utt2emo[u]] for u in utts], dtype=np.float64)
            meta_extra["dimensions"] = f"class priors: {prior_source}"
            meta_extra["priors"] = {c: [round(float(v), 6), round(float(a), 6)] for c, (v, a) in priors.items()}
            logger.info("prior valence/arousal per class (%s): %s", prior_source,
                        ", ".join(f"{c} ({v:+.3f}, {a:+.3f})" for c, (v, a) in priors.items()))
        for j, name in enumerate(DIMENSION_NODES):
            if np.ptp(dims[:, j]) == 0:
                logger.warning("%s is constant over the training set: its node gets no edge", name)
        correlation = spearman_correlation(np.concatenate([onehot, dims], axis=1))
        if class_block is not None:  # the source's class-class matrix in place of the zeroed block
            correlation[:num_classes, :num_classes] = class_block
            meta_extra[method] = source_record
            meta_extra["class_similarity"] = [[round(float(v), 6) for v in row] for row in class_block]
        adjacency = emotion_gcn_adjacency(correlation, num_classes, cfg.tau, cfg.p,
                                          zero_class_block=class_block is None)
    elif method == "embedding":
        similarity = cosine_similarity(features)
        tau = cfg.tau if cfg.embedding_tau is None else cfg.embedding_tau
        # A negative cosine says "unrelated", not "related with the opposite sign": no edge.
        correlation = np.clip(similarity, 0.0, None)
        adjacency = emotion_gcn_adjacency(correlation, num_classes, tau, cfg.p,
                                          zero_class_block=not cfg.embedding_class_edges)
        meta_extra["embedding_tau"] = float(tau)
        if word_vectors is None:
            logger.warning("method embedding with one-hot node features: every similarity is 0, "
                           "so the graph has no edges (give --word-vectors)")
    else:  # identity
        correlation = np.eye(len(nodes))
        adjacency = np.eye(len(nodes))

    propagation = propagation_matrix(adjacency)
    num_edges = int(np.count_nonzero(adjacency - np.diag(np.diag(adjacency))))
    if method != "identity" and num_edges == 0:
        logger.warning("the %s graph has no edges at tau=%g: the GCN reduces to per-node transforms",
                       method, cfg.tau)
    logger.info("propagation matrix (A^T; rows gather from columns), method %s:\n%s",
                method, format_matrix(propagation, nodes))

    meta: dict[str, Any] = {
        "method": method,
        "requested_method": cfg.method,
        "tau": float(cfg.tau),
        "p": float(cfg.p),
        "num_classes": num_classes,
        "classes": classes,
        "nodes": nodes,
        "num_edges": num_edges,
        "node_features": feature_source,
        "node_feature_dim": int(features.shape[1]),
        "train_data": str(train_dir),
        "num_train_utts": num_utts,
        "class_counts": {c: int(counts[c]) for c in classes},
        **meta_extra,
        "config_file": str(config_path) if config_path is not None else None,
        "config": to_dict(cfg),
        "command": command,
    }
    graph = Graph(classes, nodes, propagation.astype(np.float32), features.astype(np.float32), meta)
    write_graph(graph_dir, graph, correlation, adjacency, propagation, made)
    return graph


def write_graph(graph_dir: Path, graph: Graph, correlation: np.ndarray, adjacency: np.ndarray,
                propagation: np.ndarray, made: dict | None = None) -> None:
    """Writes every output atomically; `.done`, the record of what the graph was made from
    (emogcn/provenance.py), goes last, so a killed run leaves no marker."""
    graph_dir.mkdir(parents=True, exist_ok=True)
    (graph_dir / DONE).unlink(missing_ok=True)
    write_text(graph_dir / "classes.txt", "".join(f"{c}\n" for c in graph.classes))
    write_text(graph_dir / "nodes.txt", "".join(f"{n}\n" for n in graph.nodes))
    for name, matrix in (("correlation", correlation), ("adjacency", adjacency), ("propagation", propagation)):
        _save_npy(graph_dir / f"{name}.npy", np.asarray(matrix, dtype=np.float64))
        _save_txt(graph_dir / f"{name}.txt", matrix, graph.nodes)
    _save_npy(graph_dir / "node_features.npy", graph.node_features)
    write_text(graph_dir / "graph.yaml", yaml.safe_dump(graph.meta, sort_keys=False, allow_unicode=True))
    pv.write_marker(graph_dir / DONE, "graph", made or pv.made_from(), labels={"graph": graph.meta["method"]},
                    method=graph.meta["method"], num_edges=graph.meta["num_edges"])
    logger.info("wrote graph (%d nodes, %d edges) to %s", len(graph.nodes), graph.meta["num_edges"], graph_dir)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def _save_txt(path: Path, matrix: np.ndarray, names: list[str]) -> None:
    with atomic_open(path) as f:
        f.write("# rows and columns: " + " ".join(names) + "\n")
        np.savetxt(f, np.asarray(matrix, dtype=np.float64), fmt="%.6f")


def format_matrix(matrix: np.ndarray, names: list[str], digits: int = 3) -> str:
    """A readable table of `matrix` with node names on rows and columns."""
    width = max(digits + 3, *(len(n) for n in names))
    label = max(len(n) for n in names)
    lines = [" " * label + " " + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, np.asarray(matrix)):
        lines.append(name.ljust(label) + " " + " ".join(f"{v:{width}.{digits}f}" for v in row))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Loading


def _read_lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GraphError(f"{path}: file not found") from None
    if not lines or any(not ln.strip() for ln in lines):
        raise GraphError(f"{path}: expected one name per line, no blank lines")
    return [ln.strip() for ln in lines]


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise GraphError(f"{path}: file not found") from None
    except ValueError as e:
        raise GraphError(f"{path}: not a plain numpy array ({e})") from None


def load_graph(graph_dir: str | Path) -> Graph:
    """Reads a finished graph directory (one with `.done`) for training and scoring."""
    graph_dir = Path(graph_dir)
    if not (graph_dir / DONE).is_file():
        raise GraphError(f"{graph_dir}: no finished graph here ({DONE} missing); run steps/build_graph.sh")
    classes = _read_lines(graph_dir / "classes.txt")
    nodes = _read_lines(graph_dir / "nodes.txt")
    if nodes[: len(classes)] != classes:
        raise GraphError(f"{graph_dir}/nodes.txt: the first {len(classes)} nodes differ from classes.txt")
    propagation = _load_npy(graph_dir / "propagation.npy").astype(np.float32)
    features = _load_npy(graph_dir / "node_features.npy").astype(np.float32)
    n = len(nodes)
    if propagation.shape != (n, n):
        raise GraphError(f"{graph_dir}/propagation.npy: shape {propagation.shape}, expected ({n}, {n})")
    if features.ndim != 2 or features.shape[0] != n:
        raise GraphError(f"{graph_dir}/node_features.npy: shape {features.shape}, expected ({n}, dim)")
    try:
        with open(graph_dir / "graph.yaml", encoding="utf-8") as f:
            meta = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise GraphError(f"{graph_dir}/graph.yaml: file not found") from None
    except yaml.YAMLError as e:
        raise GraphError(f"{graph_dir}/graph.yaml: invalid YAML ({e})") from None
    return Graph(classes, nodes, propagation, features, meta)
