"""Re-cuts each fold's sets from the full data directory once features exist (end of stage 2).

    python -m emogcn.bin.refresh_folds <all-dir> <folds-dir>

Stage 0 writes data/all and the folds (folds-dir/fold<k>/{train,dev,test}) before any feature
exists. After stages 1-2, each set is cut again from data/all with the same utterances, so it
carries feats.scp, utt2num_frames and cmvn.scp. Utterances that lost their features (an unreadable
file) are dropped, counted and logged per set. Works for any protocol, official splits included.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.data.datadir import DataDirError, read_map, subset_data_dir
from emogcn.log import get_logger, setup_logging

logger = get_logger("emogcn.refresh_folds")


def refresh_folds(all_dir: Path, folds_dir: Path) -> int:
    available = set(read_map(all_dir / "utt2spk"))
    sets = sorted(p.parent for p in folds_dir.glob("fold*/*/utt2spk"))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("all_dir", type=Path)
    parser.add_argument("folds_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        refresh_folds(args.all_dir, args.folds_dir)
    except DataDirError as e:
        print(f"refresh_folds: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
