"""Node features for the label graph: word vectors of the node names, or one-hot.

The original feeds the GCN 300-d GloVe vectors of the node names. Word-vector files are
GB-sized, so they are streamed once and only the requested words are kept. Three text formats
are read (optionally gzip-compressed, by a `.gz` suffix):

- GloVe: `word v1 v2 ... vD` on every line, no header;
- word2vec text and fastText `.vec`: a first line `<count> <dim>`, then lines as GloVe's.

The last D fields of a line are the vector and whatever precedes them is the word, because a
few GloVe releases (840B) hold "words" with spaces in them.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import IO, Iterable

import numpy as np

from emogcn.log import get_logger

logger = get_logger(__name__)

# Separators of compound node names ("pleasant_surprise", "pleasant-surprise").
_PARTS = re.compile(r"[_\-\s]+")


class WordVectorError(ValueError):
    """A problem with a word-vector file or a missing word; the message names file and line."""


def _open_text(path: Path) -> IO[str]:
    # surrogateescape: a stray byte in a word we do not want must not stop the scan.
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape")
    return open(path, encoding="utf-8", errors="surrogateescape")


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def load_word_vectors(path: str | Path, words: Iterable[str]) -> dict[str, np.ndarray]:
    """Streams `path` and returns {requested word: vector} for those found (float32).

    Matching is case-insensitive; an entry spelled exactly as requested wins over another
    casing (fastText keeps "Anger" and "anger" apart), otherwise the first match is kept.
    Raises WordVectorError (`file:line: problem`) on a malformed line. The scan stops as soon as
    every word has been found as spelled, so lines after that point are not checked.
    """
    path = Path(path)
    wanted = {w: w.lower() for w in words}
    by_lower: dict[str, list[str]] = {}
    for w, low in wanted.items():
        by_lower.setdefault(low, []).append(w)
    exact: dict[str, np.ndarray] = {}
    folded: dict[str, np.ndarray] = {}
    dim: int | None = None
    has_header = False
    try:
        f = _open_text(path)
    except FileNotFoundError:
        raise WordVectorError(f"{path}: word-vector file not found") from None
    with f:
        try:
            for lineno, line in enumerate(f, start=1):
                line = line.rstrip()
                if not line:
                    continue
                if lineno == 1:
                    head = line.split()
                    if _is_header(head):
                        dim = int(head[1])
                        if dim <= 0:
                            raise WordVectorError(f"{path}:1: header '{line}' gives dimension {dim}")
                        has_header = True
                        continue
                if dim is None:
                    # GloVe: the first line fixes the dimension.
                    dim = len(line.split()) - 1
                    if dim <= 0:
                        raise WordVectorError(f"{path}:{lineno}: expected '<word> <v1> ... <vD>', got '{line[:60]}'")
                if line.count(" ") == dim:
                    word = line[: line.index(" ")]  # the common case, without splitting 300 fields
                else:
                    fields = line.split()
                    # Only GloVe (no header) has words with spaces in them.
                    if len(fields) < dim + 1 or (has_header and len(fields) != dim + 1):
                        raise WordVectorError(
                            f"{path}:{lineno}: expected a word and {dim} values, got {len(fields) - 1} values"
                        )
                    word = " ".join(fields[:-dim])
                low = word.lower()
                if low not in by_lower:
                    continue
                needs_exact = [w for w in by_lower[low] if w == word and w not in exact]
                needs_folded = [w for w in by_lower[low] if w not in exact and w not in folded]
                if not needs_exact and not needs_folded:
                    continue
                values = line.split()[-dim:]
                try:
                    vec = np.asarray([float(v) for v in values], dtype=np.float32)
                except ValueError:
                    bad = next(v for v in values if not _is_float(v))
                    raise WordVectorError(f"{path}:{lineno}: value '{bad}' of '{word}' is not a number") from None
                if not np.all(np.isfinite(vec)):
                    raise WordVectorError(f"{path}:{lineno}: vector of '{word}' holds NaN or infinity")
                for w in needs_exact:
                    exact[w] = vec
                for w in needs_folded:
                    folded[w] = vec
                if len(exact) == len(wanted):
                    break  # every word found as spelled: no better match can follow
        except (OSError, EOFError) as e:
            raise WordVectorError(f"{path}: cannot read ({e})") from None
    found = {w: exact.get(w, folded.get(w)) for w in wanted}
    return {w: v for w, v in found.items() if v is not None}


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def name_parts(node_name: str) -> list[str]:
    """The words of a node name: 'pleasant_surprise' -> ['pleasant', 'surprise']."""
    return [p for p in _PARTS.split(node_name.strip()) if p]


def node_features(node_names: list[str], path: str | Path | None) -> tuple[np.ndarray, str]:
    """(N, dim) float32 node features and a description of where they came from.

    With a word-vector file, each node gets its name's vector; a compound name missing as a
    whole gets the average of its words' vectors; a node none of whose forms is in the file is
    an error naming it. Without a file, one-hot features (the N x N identity) and a log line.
    """
    if path is None:
        logger.info("node features: no word-vector file given; using one-hot node features (%d x %d)",
                    len(node_names), len(node_names))
        return np.eye(len(node_names), dtype=np.float32), f"one-hot ({len(node_names)}-d identity)"
    path = Path(path)
    requested: set[str] = set()
    for name in node_names:
        requested.add(name)
        requested.update(name_parts(name))
    vectors = load_word_vectors(path, sorted(requested))
    rows = []
    for name in node_names:
        if name in vectors:
            rows.append(vectors[name])
            continue
        parts = name_parts(name)
        missing = [p for p in parts if p not in vectors]
        if not parts or missing:
            what = f"word '{name}'" if parts == [name] else f"word(s) {', '.join(repr(m) for m in missing)} of '{name}'"
            raise WordVectorError(f"{path}: node '{name}' has no vector: {what} not in the file")
        rows.append(np.mean([vectors[p] for p in parts], axis=0))
    dims = {r.shape[0] for r in rows}
    if len(dims) != 1:
        raise WordVectorError(f"{path}: vectors of different lengths {sorted(dims)}")
    features = np.stack(rows).astype(np.float32)
    logger.info("node features: %d-d word vectors from %s", features.shape[1], path)
    return features, f"word vectors from {path} ({features.shape[1]}-d)"
