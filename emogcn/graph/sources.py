"""Class-class edge sources of the label graph for corpora without dimensional labels (issue 16).

The original graph links classes only through the valence and arousal nodes. The methods here
give the class-class block of the matrix that `emotion_gcn_adjacency` binarises at tau and
re-weights with p, each from another kind of evidence:

  circumplex  a Gaussian kernel on the Euclidean distance between the classes' published
              coordinates (conf/circumplex.yaml, NRC VAD Lexicon), exp(-d^2 / (2 sigma^2));
  votes       ML-GCN's conditional co-occurrence P(j | i) (Chen et al., CVPR 2019): of the
              utterances where some rater chose class i, the share where some rater chose j
              (data-dir file utt2votes: `<utt> <label>:<count> <label>:<count> ...`);
  confusion   a first model's confusions on training-speaker data (predictions.tsv): the
              row-normalised confusion (or mean-posterior) matrix, symmetrised.

Every function returns a (C, C) matrix with values in [0, 1] and 1 on the diagonal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emogcn.config import ConfigError, read_yaml
from emogcn.data.datadir import read_map
from emogcn.log import get_logger

logger = get_logger(__name__)

CIRCUMPLEX_AXES = ("valence", "arousal", "dominance")


# ---------------------------------------------------------------------------------------------
# circumplex


def load_circumplex(path: str | Path, classes: list[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Coordinates of each class from a circumplex file, scaled from the published [lo, hi] to
    [-1, 1] (the range of utt2va). Returns ({class: (valence, arousal[, dominance])}, record)
    where the record (source, words, raw values) goes into graph.yaml.

    Dominance is used only when every class of the file has it: a partial third axis would put
    the classes that lack it at the origin of that axis, which the lexicon does not say."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict):
        raise ConfigError(f"{path}: expected a mapping with 'classes: {{<class>: {{word, valence, arousal}}}}'")
    lo, hi = doc.get("scale", [0.0, 1.0])
    entries = doc["classes"]
    missing = [c for c in classes if c not in entries]
    if missing:
        raise ConfigError(f"{path}: class '{missing[0]}' has no coordinates; add it under 'classes:' "
                          f"with its lexicon word, valence and arousal")
    with_dominance = all(isinstance(e, dict) and e.get("dominance") is not None for e in entries.values())
    axes = CIRCUMPLEX_AXES if with_dominance else CIRCUMPLEX_AXES[:2]
    coords: dict[str, np.ndarray] = {}
    for c in classes:
        entry = entries[c]
        try:
            raw = [float(entry[a]) for a in axes]
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{path}: classes.{c} must give numbers for {', '.join(axes)}, got {entry!r}") from None
        if not all(lo <= v <= hi for v in raw):
            raise ConfigError(f"{path}: classes.{c} = {raw} is outside the scale [{lo}, {hi}]")
        coords[c] = np.array([2.0 * (v - lo) / (hi - lo) - 1.0 for v in raw], dtype=np.float64)
    record = {"file": str(path), "source": doc.get("source"), "axes": list(axes),
              "words": {c: entries[c].get("word", c) for c in classes},
              "coordinates": {c: [round(float(v), 6) for v in coords[c]] for c in classes}}
    return coords, record


def circumplex_similarity(coords: dict[str, np.ndarray], classes: list[str], sigma: float) -> np.ndarray:
    """exp(-||x_i - x_j||^2 / (2 sigma^2)) between the classes' coordinates."""
    if not sigma > 0:
        raise ConfigError(f"circumplex_sigma must be > 0, got {sigma}")
    x = np.stack([coords[c] for c in classes])
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)
    return np.exp(-d2 / (2.0 * sigma**2))


def circumplex_node_features(coords: dict[str, np.ndarray], classes: list[str], num_dims: int) -> np.ndarray:
    """(C + num_dims, axes) rows to append to the node features: each class its coordinates; the
    dimension nodes (valence, arousal) the unit vector of their own axis, so they sit at the
    positive end of the space their targets measure."""
    width = len(next(iter(coords.values())))
    out = np.zeros((len(classes) + num_dims, width), dtype=np.float64)
    for i, c in enumerate(classes):
        out[i] = coords[c]
    for k in range(min(num_dims, width)):
        out[len(classes) + k, k] = 1.0
    return out


def pseudo_dimensions(utt2emo: dict[str, str], coords: dict[str, np.ndarray]) -> dict[str, str]:
    """utt2va lines (`<valence> <arousal> [<dominance>]` in [-1, 1]) from each utterance's class."""
    missing = sorted({e for e in utt2emo.values() if e not in coords})
    if missing:
        raise ConfigError(f"class '{missing[0]}' has no circumplex coordinates")
    return {u: " ".join(f"{v:.6f}" for v in coords[e]) for u, e in utt2emo.items()}


# ---------------------------------------------------------------------------------------------
# rater votes


def read_votes(path: str | Path, classes: list[str], utts: set[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """(n_utts, C) vote counts of utt2votes over the training utterances `utts` only (a file
    copied whole into a subset must not bring other speakers' votes in). Labels outside
    `classes` (a class absent from this training set, or a code the label map skips) are
    dropped and counted in the record."""
    path = Path(path)
    index = {c: i for i, c in enumerate(classes)}
    rows, dropped = [], 0
    for utt, value in read_map(path).items():
        if utt not in utts:
            continue
        row = np.zeros(len(classes), dtype=np.float64)
        for item in value.split():
            label, sep, count = item.rpartition(":")
            try:
                n = float(count)
            except ValueError:
                n = -1.0
            if not sep or not label or n < 0:
                raise ConfigError(f"{path}: utterance '{utt}': expected '<label>:<count> ...', got '{item}'")
            if label in index:
                row[index[label]] += n
            else:
                dropped += int(n)
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path}: no training utterance has votes")
    if dropped:
        logger.warning("%s: %d vote(s) for labels outside the training classes were dropped", path, dropped)
    return np.stack(rows), {"file": str(path), "num_utts": len(rows), "dropped_votes": dropped}


def conditional_cooccurrence(votes: np.ndarray) -> np.ndarray:
    """P(j | i) = #utts where i and j both got a vote / #utts where i got one (ML-GCN), row i."""
    occurs = (np.asarray(votes) > 0).astype(np.float64)
    joint = occurs.T @ occurs  # (C, C) utterance counts; the diagonal is N_i
    n_i = np.diag(joint).copy()
    out = np.zeros_like(joint)
    has = n_i > 0
    out[has] = joint[has] / n_i[has, None]
    np.fill_diagonal(out, 1.0)
    return out


# ---------------------------------------------------------------------------------------------
# confusions


def read_confusion(path: str | Path, classes: list[str], train_utts: set[str],
                   posteriors: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """(C, C) matrix of a predictions.tsv (utt, reference, hypothesis, p_<class>...): counts of
    (reference, hypothesis), or with `posteriors` the summed p_<class> of each reference class.
    Every utterance must be in the training set: confusions measured on test speakers would
    carry their labels into the graph."""
    path = Path(path)
    try:
        lines = [ln.rstrip("\r") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        raise ConfigError(f"{path}: predictions file not found (confusion_from)") from None
    if not lines:
        raise ConfigError(f"{path}: empty predictions file")
    split = (lambda s: s.split("\t")) if "\t" in lines[0] else (lambda s: s.split())
    header = split(lines[0])
    if header[:3] != ["utt", "reference", "hypothesis"]:
        raise ConfigError(f"{path}:1: expected columns utt, reference, hypothesis, p_<class>..., got {header[:3]}")
    p_cols = {h[2:]: k for k, h in enumerate(header) if h.startswith("p_")}
    if posteriors:
        lacking = [c for c in classes if c not in p_cols]
        if lacking:
            raise ConfigError(f"{path}:1: no p_{lacking[0]} column (confusion_posteriors needs one per class)")
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.float64)
    skipped = 0
    for n, line in enumerate(lines[1:], start=2):
        fields = split(line)
        if len(fields) < len(header):
            raise ConfigError(f"{path}:{n}: {len(fields)} columns, the header has {len(header)}")
        utt, ref, hyp = fields[0], fields[1], fields[2]
        if utt not in train_utts:
            raise ConfigError(f"{path}:{n}: utterance '{utt}' is not in the training set; confusions must come "
                              f"from training-speaker data (e.g. inner folds)")
        if ref not in index:
            skipped += 1
            continue
        if posteriors:
            matrix[index[ref]] += [float(fields[p_cols[c]]) for c in classes]
        elif hyp in index:
            matrix[index[ref], index[hyp]] += 1.0
        else:
            skipped += 1
    if skipped:
        logger.warning("%s: %d row(s) with a label outside the training classes were skipped", path, skipped)
    return matrix, {"file": str(path), "num_rows": len(lines) - 1, "skipped_rows": skipped,
                    "posteriors": bool(posteriors)}


def confusion_similarity(matrix: np.ndarray) -> np.ndarray:
    """Row-normalised (P(hypothesis | reference)), symmetrised (M + M^T) / 2, diagonal 1."""
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    rows = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    out = (rows + rows.T) / 2.0
    np.fill_diagonal(out, 1.0)
    return out
