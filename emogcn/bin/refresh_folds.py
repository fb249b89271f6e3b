"""Re-cuts each fold's sets from the full data directory once features exist (end of stage 2).

    python -m emogcn.bin.refresh_folds [--perturbed <all-sp-dir> ...] <all-dir> <folds-dir>

Stage 0 writes data/all and the folds (folds-dir/fold<k>/{train,dev,test}) before any feature
exists. After stages 1-2, each set is cut again from data/all with the same utterances, so it
carries feats.scp, utt2num_frames and cmvn.scp. Utterances that lost their features (an unreadable
file) are dropped, counted and logged per set. Works for any protocol, official splits included.

Each fold also gets train_dev, its train and dev sets together: what a model trains on when no
dev speaker is held out for selection (`--dev none`) and what the SVM baseline selects on by inner
cross-validation.

With --perturbed (speed-perturbed copies of all-dir, ids prefixed `sp<factor>-`, features and
CMVN done), each fold's train set also gets a sibling train_sp: the set itself plus the perturbed
copies of its utterances, as Kaldi's recipes train on data/train_sp (and train_dev_sp from
train_dev). Dev and test stay unperturbed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from emogcn.data.datadir import DataDirError, combine_data, read_map, subset_data_dir
from emogcn.log import get_logger, setup_logging

logger = get_logger("emogcn.refresh_folds")
DERIVED = ("train_sp", "train_dev", "train_dev_sp")


def add_train_dev_sets(folds_dir: Path) -> int:
    """fold<k>/train_dev = fold<k>/train + fold<k>/dev, for every fold with both."""
    folds = sorted(p.parent.parent for p in folds_dir.glob("fold*/dev/utt2spk") if (p.parent.parent / "train").is_dir())
    for fold in folds:
        shutil.rmtree(fold / "train_dev", ignore_errors=True)
        combine_data(fold / "train_dev", [fold / "train", fold / "dev"])
    return len(folds)


def refresh_folds(all_dir: Path, folds_dir: Path) -> int:
    available = set(read_map(all_dir / "utt2spk"))
    # train_sp of an earlier run is rebuilt from train by add_perturbed_train_sets
    # sets derived from others are rebuilt from them below
    sets = sorted(p.parent for p in folds_dir.glob("fold*/*/utt2spk") if p.parent.name not in DERIVED)
    if not sets:
        raise DataDirError(f"{folds_dir}: no fold<k>/<set> data directories")
    dropped_total = 0
    for set_dir in sets:
        utts = list(read_map(set_dir / "utt2spk"))
        kept = [u for u in utts if u in available]
        dropped = len(utts) - len(kept)
        if dropped:
            logger.warning("%s: %d of %d utterances have no features and are dropped", set_dir, dropped, len(utts))
        if not kept:
            raise DataDirError(f"{set_dir}: no utterances left with features")
        subset_data_dir(all_dir, set_dir, utts=kept)
        dropped_total += dropped
    logger.info("refreshed %d sets under %s from %s (%d utterances dropped)", len(sets), folds_dir, all_dir, dropped_total)
    return len(sets)


def add_perturbed_train_sets(folds_dir: Path, perturbed_dirs: list[Path]) -> int:
    """Writes fold<k>/train_sp = train + the copies of its utterances in each perturbed directory
    (and train_dev_sp from train_dev)."""
    train_sets = sorted(p.parent for p in [*folds_dir.glob("fold*/train/utt2spk"), *folds_dir.glob("fold*/train_dev/utt2spk")])
    if not train_sets:
        raise DataDirError(f"{folds_dir}: no fold<k>/train data directories")
    copies = {d: set(read_map(d / "utt2spk")) for d in perturbed_dirs}
    for train in train_sets:
        utts = list(read_map(train / "utt2spk"))
        parts = [train]
        for d in perturbed_dirs:
            # the copy's prefix: sp0.9- of sp0.9-<utt>, the same for every utterance of the directory
            prefix = next(iter(copies[d])).split("-", 1)[0] + "-" if copies[d] else ""
            kept = [prefix + u for u in utts if prefix + u in copies[d]]
            if len(kept) < len(utts):
                logger.warning("%s: %d of %d utterances have no copy in %s (no features)", train, len(utts) - len(kept),
                               len(utts), d)
            part = train.parent / f".{train.name}_{d.name}.tmp"
            subset_data_dir(d, part, utts=kept)
            parts.append(part)
        target = train.parent / f"{train.name}_sp"
        shutil.rmtree(target, ignore_errors=True)
        combine_data(target, parts)
        for part in parts[1:]:
            shutil.rmtree(part)
        logger.info("%s: %d utterances with their perturbed copies", target, len(read_map(target / "utt2spk")))
    return len(train_sets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perturbed", type=Path, action="append", default=[],
                        help="a speed-perturbed copy of all_dir (repeatable): adds fold<k>/train_sp")
    parser.add_argument("all_dir", type=Path)
    parser.add_argument("folds_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        refresh_folds(args.all_dir, args.folds_dir)
        add_train_dev_sets(args.folds_dir)
        if args.perturbed:
            add_perturbed_train_sets(args.folds_dir, args.perturbed)
    except DataDirError as e:
        print(f"refresh_folds: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
