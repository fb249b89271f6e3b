"""Writes speaker-independent folds of a data directory: <out>/fold<k>/{train,dev,test}.

    python -m emogcn.bin.make_folds [--protocol loso|groups] [--num-groups K] [--num-dev-speakers 1]
                                    [--max-folds N] <all-data-dir> <out-dir>
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit
from emogcn.data.datadir import DataDirError
from emogcn.data.folds import make_folds
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="loso", choices=["loso", "groups"])
    parser.add_argument("--num-groups", type=int)
    parser.add_argument("--num-dev-speakers", type=int, default=1)
    parser.add_argument("--max-folds", type=int, help="only the first N folds (quick runs)")
    parser.add_argument("all_dir")
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit("make_folds", (DataDirError, ValueError)) as run:
        folds = make_folds(args.all_dir, args.out_dir, args.protocol, args.num_groups, args.num_dev_speakers,
                           args.max_folds)
        print(f"make_folds: wrote {len(folds)} folds under {args.out_dir}", file=sys.stderr)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
