"""Pseudo-dimensional targets for a categorical corpus: utt2va from each utterance's class.

    python -m emogcn.bin.pseudo_dims [--force] <circumplex.yaml> <src-data-dir> <dst-data-dir>

Copies the index files of <src-data-dir> (not its stage markers: the copy is named by its own
content, utt2va included, so nothing downstream mistakes it for the source) into <dst-data-dir>
and writes utt2va (`<utt> <valence> <arousal> [<dominance>]` in [-1, 1]) with each class's
coordinates from the circumplex file (conf/circumplex.yaml). Utterances the source's utt2va
already covers keep their measured values. The source is never modified. The copy also holds
pseudo_dims.yaml (the file, its source and the coordinates used), which stage 3 records in the
graph's graph.yaml, so an experiment trained on it says where its dimensions came from.

With these targets the multi_task regressor and the GCN's valence/arousal nodes train on a
corpus that has no dimensional labels (e.g. steps/build_graph.sh and steps/train.sh on
data/<corpus>/folds/fold<k>/train_pd). The targets are a function of the class, so the dimension
scores on such a set measure nothing beyond the classes: report the categorical metrics only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

from emogcn.atomic import write_text
from emogcn.data.datadir import read_map, write_map
from emogcn.graph.sources import load_circumplex, pseudo_dimensions
from emogcn.log import setup_logging

RECORD = "pseudo_dims.yaml"


def make_pseudo_dims(circumplex: str | Path, src: str | Path, dst: str | Path, force: bool = False) -> dict:
    """Writes the copy; returns the record also written to <dst>/pseudo_dims.yaml."""
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"{dst}: the destination must differ from the source (the source is not modified)")
    if not (src / "utt2emo").is_file():
        raise ValueError(f"{src}/utt2emo: missing; pseudo-dimensions come from the class labels")
    if dst.exists() and not force:
        raise ValueError(f"{dst}: exists; remove it or give --force")
    utt2emo = read_map(src / "utt2emo")
    coords, record = load_circumplex(circumplex, sorted(set(utt2emo.values())))
    utt2va = pseudo_dimensions(utt2emo, coords)
    measured = read_map(src / "utt2va") if (src / "utt2va").is_file() else {}
    utt2va.update({u: v for u, v in measured.items() if u in utt2va})
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        # top-level index files only: markers (dot-files) name the source, sub-folders are not sets
        if f.is_file() and not f.name.startswith(".") and f.name not in ("utt2va", RECORD):
            shutil.copy2(f, tmp / f.name)
    write_map(tmp / "utt2va", utt2va)
    record = {"source_dir": str(src), "circumplex": record, "num_utts": len(utt2va),
              "num_measured": sum(1 for u in measured if u in utt2emo)}
    write_text(tmp / RECORD, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pseudo_dims", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="replace an existing destination")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("circumplex", help="coordinates file, e.g. conf/circumplex.yaml")
    parser.add_argument("src", help="data directory with utt2emo")
    parser.add_argument("dst", help="the copy to write, with utt2va")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        record = make_pseudo_dims(args.circumplex, args.src, args.dst, args.force)
    except ValueError as e:  # ConfigError and DataDirError too: one line
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    print(f"{parser.prog}: {args.dst}: utt2va for {record['num_utts']} utterances "
          f"({record['num_measured']} measured, the others from {args.circumplex})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
