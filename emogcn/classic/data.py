"""A data directory's utterance-level functionals as one matrix, normalised and labelled.

Stage 1 stores openSMILE functionals (conf/egemaps.yaml, conf/compare.yaml) as a one-row matrix per
utterance in feats.scp. They are normalised here exactly as training normalises them (the Cmvn of
emogcn/data/cmvn.py: per speaker with the set's own cmvn.scp, globally with the TRAINING set's
cmvn_global.scp, or not at all) and labelled from utt2emo in a given class order. Utterances whose
label is not one of the classes are dropped, counted and logged, as the networks' datasets do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import kaldiio
import numpy as np

from emogcn.data.cmvn import Cmvn
from emogcn.data.datadir import DataDir, DataDirError, ValidateOptions
from emogcn.graph.build import GraphConfig, resolve_classes
from emogcn.log import get_logger

logger = get_logger(__name__)

# Per-utterance files carried into predictions.tsv as columns (the order emogcn/inference/infer.py uses).
EXTRA_COLUMNS = {"utt2corpus": "corpus", "utt2lang": "lang"}


@dataclass
class FunctionalSet:
    """Functionals of one or more data directories: row i is utterance utts[i]."""

    utts: list[str]
    features: np.ndarray  # (N, D) float64, normalised
    labels: np.ndarray  # (N,) int64 index into classes
    speakers: list[str]  # speaker of each row
    classes: list[str]
    extra: dict[str, list[str]] = field(default_factory=dict)  # column name -> value per row
    sources: list[str] = field(default_factory=list)  # the data directories
    dropped: dict[str, int] = field(default_factory=dict)  # label not in classes -> utterances dropped

    def __len__(self) -> int:
        return len(self.utts)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(self.classes)).tolist()


def load_data_dir(data_dir: str | Path) -> DataDir:
    """The data directory, validated (feats.scp and utt2emo required); DataDirError names the file."""
    return DataDir.load(data_dir, ValidateOptions(need_feats=True))


def training_classes(dirs: Sequence[DataDir], labels_yaml: str) -> list[str]:
    """The labels of the training directories in `labels_yaml`'s `classes` order: the order the
    label graph (and so every network of the fold) uses; a label not in that file is an error."""
    utt2emo: dict[str, str] = {}
    for d in dirs:
        utt2emo.update(d.get("utt2emo") or {})
    return resolve_classes(utt2emo, GraphConfig(labels=labels_yaml), where=labels_yaml)


def _one_row(data: DataDir, utt: str, location: str) -> np.ndarray:
    scp = data.path / "feats.scp"
    try:
        mat = np.asarray(kaldiio.load_mat(location), dtype=np.float64)
    except (OSError, ValueError, KeyError) as e:
        raise DataDirError(f"{scp}: cannot read the features of '{utt}' ({location}): {e}") from None
    if mat.ndim == 2 and mat.shape[0] == 1:
        mat = mat[0]
    if mat.ndim != 1 or mat.size == 0:
        rows = mat.shape[0] if mat.ndim == 2 else "no"
        raise DataDirError(f"{scp}: '{utt}' has {rows} rows of features (shape {mat.shape}); the SVM needs one "
                           f"row per utterance: utterance-level functionals (conf/egemaps.yaml, conf/compare.yaml)")
    if not np.isfinite(mat).all():
        raise DataDirError(f"{scp}: features of '{utt}' ({location}) hold NaN or infinite values")
    return mat


def load_functionals(data: DataDir, classes: Sequence[str], cmvn: Cmvn) -> FunctionalSet:
    """Every utterance of `data` with a label in `classes`: its functionals through `cmvn`."""
    index = {c: i for i, c in enumerate(classes)}
    utt2emo = data.get("utt2emo") or {}
    feats_scp = data.get("feats.scp")
    extra_maps = {col: data.get(name) for name, col in EXTRA_COLUMNS.items() if data.get(name)}
    utts, rows, labels, dropped = [], [], [], {}
    dim = None
    for utt in data.utts:
        label = utt2emo[utt]
        if label not in index:
            dropped[label] = dropped.get(label, 0) + 1
            continue
        vec = _one_row(data, utt, feats_scp[utt])
        if dim is None:
            dim = vec.size
        elif vec.size != dim:
            raise DataDirError(f"{data.path}/feats.scp: '{utt}' has {vec.size} features, the utterances before "
                               f"it {dim}")
        # Cmvn works on (frames, dim) float32 matrices, as training feeds it; then float64 for libsvm.
        normalised = cmvn(utt, vec.astype(np.float32)[None, :])[0]
        rows.append(normalised.astype(np.float64))
        utts.append(utt)
        labels.append(index[label])
    for label, n in sorted(dropped.items()):
        logger.warning("%s: dropped %d utterance(s) labelled '%s', a class not in %s",
                       data.path, n, label, ", ".join(classes))
    if not utts:
        raise DataDirError(f"{data.path}/utt2emo: no utterance has a label in {', '.join(classes)}")
    return FunctionalSet(utts=utts, features=np.vstack(rows), labels=np.asarray(labels, dtype=np.int64),
                         speakers=[data.utt2spk[u] for u in utts], classes=list(classes),
                         extra={col: [m[u] for u in utts] for col, m in extra_maps.items()},
                         sources=[str(data.path)], dropped=dropped)


def combine(sets: Sequence[FunctionalSet]) -> FunctionalSet:
    """Several sets as one (e.g. a fold's train and dev); an utterance in two of them is an error.
    A breakdown column is kept only where every set has it."""
    if len(sets) == 1:
        return sets[0]
    seen: dict[str, str] = {}
    for s in sets:
        if s.classes != sets[0].classes:
            raise ValueError(f"{s.sources[0]}: loaded with other classes than {sets[0].sources[0]}")
        if s.dim != sets[0].dim:
            raise DataDirError(f"{s.sources[0]}/feats.scp: {s.dim} features per utterance, but "
                               f"{sets[0].sources[0]}/feats.scp has {sets[0].dim}")
        for u in s.utts:
            if u in seen:
                raise DataDirError(f"{s.sources[0]}/utt2spk: utterance '{u}' is also in {seen[u]}")
            seen[u] = s.sources[0]
    columns = [c for c in sets[0].extra if all(c in s.extra for s in sets)]
    dropped: dict[str, int] = {}
    for s in sets:
        for label, n in s.dropped.items():
            dropped[label] = dropped.get(label, 0) + n
    return FunctionalSet(utts=[u for s in sets for u in s.utts], features=np.vstack([s.features for s in sets]),
                         labels=np.concatenate([s.labels for s in sets]),
                         speakers=[x for s in sets for x in s.speakers], classes=list(sets[0].classes),
                         extra={c: [v for s in sets for v in s.extra[c]] for c in columns},
                         sources=[src for s in sets for src in s.sources], dropped=dropped)
