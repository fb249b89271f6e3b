"""Training and test sets across corpora, for the multilingual recipe (egs/multilingual).

Each corpus is a prepared recipe data directory <data>/<corpus>/{all,folds/fold<k>/{train,dev,test}}
with features and CMVN (stages 0-2). A mode writes one directory per experiment ("split"):

    <out>/<split>/train, <out>/<split>/dev, <out>/<split>/test_<corpus> ..., <out>/<split>/tests

where `tests` lists the split's test sets, one name per line. Speaker ids are corpus-prefixed,
so sets of different corpora combine without clashes, and per-speaker CMVN travels with them.

- pooled: one split per fold k: every corpus's fold k (a corpus with fewer folds wraps around)
  trains and validates together; one test set, test_all, of every corpus's own test speakers
  (scoring breaks it down per corpus and per language).
- loco (leave one corpus out): one split per corpus c: train and dev on all the others (their
  fold-1 train+test and dev), test on the whole of c.
- matrix (cross-corpus): one split per corpus i: train and dev on i's fold 1; test on i's own
  fold-1 test speakers (the diagonal) and on the whole of every other corpus.

train_set train_sp trains on each fold's train_sp instead of train: the set with its perturbed
copies (stage 2 of a corpus with --speed-perturb or --augment). The fold-1 test speakers that loco
also trains on come unperturbed: the corpus recipes perturb training sets only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from emogcn.atomic import write_text
from emogcn.data.datadir import DataDirError, combine_data, read_map
from emogcn.log import get_logger

logger = get_logger(__name__)

MODES = ("pooled", "loco", "matrix")


def corpus_folds(corpus_dir: Path) -> list[Path]:
    folds = sorted((p for p in (corpus_dir / "folds").glob("fold*") if p.name[4:].isdigit()),
                   key=lambda p: int(p.name[4:]))
    if not folds:
        raise DataDirError(f"{corpus_dir}/folds: no fold<k> directories; run the corpus's stage 0 first")
    if not (corpus_dir / "all" / "feats.scp").is_file():
        raise DataDirError(f"{corpus_dir}/all: no feats.scp; run stages 1-2 for this corpus first")
    return folds


def _fold(corpus_dir: Path, k: int) -> Path:
    folds = corpus_folds(corpus_dir)
    return folds[(k - 1) % len(folds)]


def _write_set(dest: Path, sources: list[Path]) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    if len(sources) == 1:
        shutil.copytree(sources[0], dest)
    else:
        combine_data(dest, sources)


def _write_split(split: Path, train: list[Path], dev: list[Path], tests: dict[str, list[Path]]) -> None:
    tmp = split.with_name(split.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    _write_set(tmp / "train", train)
    _write_set(tmp / "dev", dev)
    for name, src in tests.items():  # src: the data directories that make one test set
        _write_set(tmp / f"test_{name}", src)
    write_text(tmp / "tests", "".join(f"test_{name}\n" for name in tests))
    if split.exists():
        shutil.rmtree(split)
    tmp.rename(split)
    logger.info("%s: train %d, dev %d utterances; tests %s", split, len(read_map(split / "train/utt2spk")),
                len(read_map(split / "dev/utt2spk")),
                ", ".join(f"{n} {len(read_map(split / f'test_{n}/utt2spk'))}" for n in tests))


def make_sets(mode: str, corpora: dict[str, Path], out: Path, folds: list[int] | None = None,
              train_set: str = "train") -> list[Path]:
    """Writes the splits of `mode` under `out`; returns their directories."""
    if mode not in MODES:
        raise ValueError(f"mode '{mode}' is not one of {', '.join(MODES)}")
    if len(corpora) < (1 if mode == "pooled" else 2):
        raise ValueError(f"mode {mode} needs at least {1 if mode == 'pooled' else 2} corpora, got {len(corpora)}")
    for corpus_dir in corpora.values():
        for fold in corpus_folds(corpus_dir):
            if not (fold / train_set / "utt2spk").is_file():
                raise DataDirError(f"{fold}/{train_set}: no such set (train_sp comes from stage 2 with "
                                   "--speed-perturb or --augment)")
    splits = []
    if mode == "pooled":
        for k in folds or [1]:
            chosen = {name: _fold(d, k) for name, d in corpora.items()}
            split = out / f"fold{k}"
            _write_split(split, [f / train_set for f in chosen.values()], [f / "dev" for f in chosen.values()],
                         {"all": [f / "test" for f in chosen.values()]})
            splits.append(split)
    elif mode == "loco":
        for held_out in corpora:
            others = [_fold(d, 1) for name, d in corpora.items() if name != held_out]
            split = out / f"without_{held_out}"
            _write_split(split, [f / s for f in others for s in (train_set, "test")], [f / "dev" for f in others],
                         {held_out: [corpora[held_out] / "all"]})
            splits.append(split)
    else:
        for source, d in corpora.items():
            fold = _fold(d, 1)
            tests = {name: [fold / "test" if name == source else other / "all"] for name, other in corpora.items()}
            split = out / f"from_{source}"
            _write_split(split, [fold / train_set], [fold / "dev"], tests)
            splits.append(split)
    return splits
