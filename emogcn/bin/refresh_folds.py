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
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.data.datadir import DataDirError
from emogcn.data.folds import refresh_fold_sets
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perturbed", type=Path, action="append", default=[],
                        help="a speed-perturbed copy of all_dir (repeatable): adds fold<k>/train_sp")
    parser.add_argument("all_dir", type=Path)
    parser.add_argument("folds_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit("refresh_folds", DataDirError) as run:
        refresh_fold_sets(args.all_dir, args.folds_dir, args.perturbed)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
