"""Per-corpus label spaces over one union of classes (training config `label_space: corpus`).

Corpora with different label sets train one model: its classes are the union (the graph's
classes, every class of every training corpus), and the GCN generates a classifier for each; an
utterance's cross-entropy runs over its own corpus's classes only (the other logits are masked to
-inf, emogcn/training/losses.py), and scoring restricts each utterance's prediction the same way.

Which classes a corpus has (the choice, and why):
- in training, the classes its utterances carry in the TRAINING data (utt2corpus + utt2emo); the
  experiment records them in corpus_classes.txt (`<corpus> <class>...`, class order). A class the
  training data lacks for a corpus is never pushed down as a negative for that corpus's audio, which
  is what lets a class held out of one corpus (emogcn/scoring/zero_shot.py) be recognised there
  from the classifier the GCN makes of it (trained on the corpora that have it);
- in a dev or scored set, those recorded classes plus the classes the set's own utterances of that
  corpus carry: a corpus's label set is corpus metadata (what it was annotated with), not a
  per-utterance hint, and an utterance's own class is then never masked out. A corpus that was not
  in training (cross-corpus tests) has the classes its utterances carry, within the model's.
Data without utt2corpus is one corpus of unknown name: nothing is masked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emogcn.atomic import write_text
from emogcn.data.datadir import DataDirError, read_map, subset_data_dir

CORPUS_CLASSES = "corpus_classes.txt"


def utt2corpus_of(dataset) -> dict[str, str] | None:
    """The dataset's utt2corpus (any of the emogcn datasets: they hold `.data` and `.items`)."""
    return dataset.data.get("utt2corpus") or None


def corpus_index(dataset, data_dir: Path | str, why: str) -> tuple[list[int], list[str]]:
    """Each training utterance's corpus (utt2corpus) as an integer, and the corpus names in that
    order (sorted). `why` names the setting that needs it in the errors."""
    utt2corpus = utt2corpus_of(dataset)
    if utt2corpus is None:
        raise ValueError(f"{why}: {data_dir} has no utt2corpus (which corpus each utterance is from)")
    names = [utt2corpus.get(it.utt) for it in dataset.items]
    missing = [it.utt for it, name in zip(dataset.items, names) if name is None]
    if missing:
        raise ValueError(f"{why}: {data_dir}/utt2corpus has no entry for {len(missing)} training "
                         f"utterance(s), e.g. {missing[0]}")
    corpora = sorted(set(names))
    index = {c: k for k, c in enumerate(corpora)}
    return [index[name] for name in names], corpora


def classes_by_corpus(dataset, classes: list[str]) -> dict[str, list[str]]:
    """{corpus: the classes its utterances carry in this dataset, in `classes` order}; {} without utt2corpus."""
    utt2corpus = utt2corpus_of(dataset)
    if utt2corpus is None:
        return {}
    seen: dict[str, set[int]] = {}
    for it in dataset.items:
        seen.setdefault(utt2corpus[it.utt], set()).add(it.label)
    return {corpus: [classes[i] for i in sorted(labels)] for corpus, labels in sorted(seen.items())}


def corpus_class_counts(dataset, num_classes: int) -> tuple[list[str], np.ndarray]:
    """(corpora, counts (K, C)): utterances per corpus and class; one unnamed corpus without utt2corpus."""
    utt2corpus = utt2corpus_of(dataset) or {}
    corpora = sorted({utt2corpus.get(it.utt, "") for it in dataset.items})
    row = {c: k for k, c in enumerate(corpora)}
    counts = np.zeros((len(corpora), num_classes), dtype=np.int64)
    for it in dataset.items:
        counts[row[utt2corpus.get(it.utt, "")], it.label] += 1
    return corpora, counts


def write_corpus_classes(path: str | Path, corpus_classes: dict[str, list[str]]) -> None:
    write_text(path, "".join(f"{c} {' '.join(cls)}\n" for c, cls in sorted(corpus_classes.items())))


def read_corpus_classes(path: str | Path, classes: list[str]) -> dict[str, list[str]]:
    """corpus_classes.txt, checked against the model's classes."""
    out: dict[str, list[str]] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        unknown = [c for c in fields[1:] if c not in classes]
        if len(fields) < 2 or unknown or fields[0] in out:
            raise DataDirError(f"{path}:{lineno}: expected '<corpus> <class>...' once per corpus with classes "
                               f"among {', '.join(classes)}, got '{line}'")
        out[fields[0]] = fields[1:]
    return out


def allowed_classes(dataset, classes: list[str], recorded: dict[str, list[str]]) -> torch.Tensor | None:
    """(N, C) bool: the classes each utterance of `dataset` may take, from the classes recorded per
    corpus in training plus those the dataset's own utterances of that corpus carry (module doc);
    None when the dataset has no utt2corpus (nothing to restrict)."""
    utt2corpus = utt2corpus_of(dataset)
    if utt2corpus is None:
        return None
    index = {c: i for i, c in enumerate(classes)}
    rows: dict[str, torch.Tensor] = {}
    for corpus, own in classes_by_corpus(dataset, classes).items():
        row = torch.zeros(len(classes), dtype=torch.bool)
        row[[index[c] for c in own + [c for c in recorded.get(corpus, []) if c in index]]] = True
        rows[corpus] = row
    return torch.stack([rows[utt2corpus[it.utt]] for it in dataset.items])


class LabelSpaceDataset(torch.utils.data.Dataset):
    """A dataset whose items also carry `allowed` (C,) and, where given, a loss `weight`; everything
    else (items, lengths, class_counts, data, ...) is the wrapped dataset's, and indices are its own."""

    def __init__(self, base, allowed: torch.Tensor, weights: torch.Tensor | None = None):
        if allowed.shape[0] != len(base) or (weights is not None and weights.shape != (len(base),)):
            raise ValueError("LabelSpaceDataset: one mask row (and weight) per utterance expected")
        self.base, self.allowed, self.weights = base, allowed, weights

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        item = self.base[i]
        item["allowed"] = self.allowed[i]
        if self.weights is not None:
            item["weight"] = float(self.weights[i])
        return item

    def __getattr__(self, name: str):
        if name in ("base", "allowed", "weights"):  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)


def hold_out_class(src: str | Path, dest: str | Path, corpus: str, held_out: str) -> int:
    """Copies data directory `src` to `dest` without the utterances of `corpus` labelled `held_out`
    (a zero-shot experiment: the class stays in the other corpora); returns how many were dropped.
    cmvn_global.scp is copied as it is: statistics of unlabelled audio, which the dropped
    utterances may have contributed to without their labels."""
    src, dest = Path(src), Path(dest)
    utt2corpus = read_map(src / "utt2corpus") if (src / "utt2corpus").is_file() else {}
    if corpus not in set(utt2corpus.values()):
        raise DataDirError(f"{src}: no utterance of corpus '{corpus}' (utt2corpus)")
    utt2emo = read_map(src / "utt2emo")
    drop = {u for u, c in utt2corpus.items() if c == corpus and utt2emo.get(u) == held_out}
    subset_data_dir(src, dest, utts=[u for u in utt2emo if u not in drop])
    for name in ("cmvn_global.scp",):
        if (src / name).is_file():
            write_text(dest / name, (src / name).read_text(encoding="utf-8"))
    return len(drop)
