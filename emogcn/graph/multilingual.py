"""Node features of a multilingual label graph, from aligned per-language word vectors.

The original gives each node the GloVe vector of its English name. A graph trained on German,
Italian and Persian speech can instead read each node's word in each training language
(conf/label_words.yaml) from word vectors that live in ONE space across languages (MUSE's
wiki.multi.<lang>.vec, Conneau et al. 2018). A node's feature is the mean over the training
languages that have a vector file; a word a file lacks falls back to the English word in the
English file when one is given, and otherwise is an error naming the node and language.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emogcn.config import ConfigError, read_yaml
from emogcn.graph.word_vectors import WordVectorError, load_word_vectors
from emogcn.log import get_logger

logger = get_logger(__name__)


def load_label_words(path: str | Path) -> dict[str, dict[str, str]]:
    table = read_yaml(path)
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"{path}: expected a mapping node -> {{language: word}}")
    return {str(node): {str(lang): str(word) for lang, word in words.items()} for node, words in table.items()}


def parse_vectors_by_lang(spec: str) -> dict[str, str]:
    """'en=wiki.multi.en.vec de=wiki.multi.de.vec' -> {'en': ..., 'de': ...}."""
    out = {}
    for pair in spec.split():
        lang, sep, path = pair.partition("=")
        if not sep or not lang or not path:
            raise ConfigError(f"word vectors by language: expected <lang>=<file>, got '{pair}'")
        out[lang] = path
    return out


def multilingual_node_features(nodes: list[str], vectors_by_lang: dict[str, str], languages: list[str],
                               label_words: dict[str, dict[str, str]]) -> tuple[np.ndarray, str]:
    """(N, dim) node features: each node's word vector averaged over `languages` (the training
    data's) that have a file in vectors_by_lang."""
    used = [lang for lang in languages if lang in vectors_by_lang]
    unused = [lang for lang in languages if lang not in vectors_by_lang]
    if unused:
        logger.warning("no word-vector file for training language(s) %s: they do not shape the node features",
                       ", ".join(unused))
    if not used:
        if "en" not in vectors_by_lang:
            raise WordVectorError(f"no word-vector file for any training language ({', '.join(languages)}) "
                                  f"nor for English; given: {', '.join(sorted(vectors_by_lang)) or 'none'}")
        logger.warning("node features from the English vectors only")
        used = ["en"]
    missing_words = [n for n in nodes if n not in label_words]
    if missing_words:
        raise ConfigError(f"label words: no entry for node(s) {', '.join(missing_words)}")
    english: dict[str, np.ndarray] = {}
    if "en" in vectors_by_lang:
        words = {label_words[n].get("en", n) for n in nodes}
        english = load_word_vectors(vectors_by_lang["en"], sorted(words))
    per_lang = []
    for lang in used:
        words = {n: label_words[n].get(lang) for n in nodes}
        found = load_word_vectors(vectors_by_lang[lang], sorted({w for w in words.values() if w}))
        rows = []
        for n in nodes:
            vec = found.get(words[n]) if words[n] else None
            if vec is None:
                vec = english.get(label_words[n].get("en", n))
                if vec is None:
                    raise WordVectorError(f"{vectors_by_lang[lang]}: node '{n}' has no vector in language '{lang}' "
                                          f"(word {words[n]!r}) and no English fallback")
                logger.info("node '%s': no %s vector for %r, using the English one", n, lang, words[n])
            rows.append(vec)
        per_lang.append(np.stack(rows))
    dims = {m.shape[1] for m in per_lang} | ({v.shape[0] for v in english.values()} if english else set())
    if len(dims) != 1:
        raise WordVectorError(f"word-vector files of different dimensions {sorted(dims)}: they must share one space")
    features = np.mean(per_lang, axis=0).astype(np.float32)
    logger.info("node features: %d-d aligned word vectors averaged over %s", features.shape[1], ", ".join(used))
    return features, f"aligned word vectors averaged over {', '.join(used)} ({features.shape[1]}-d)"
