"""CMVN statistics of a data directory, per speaker and global: the job of steps/compute_cmvn.sh.

    python -m emogcn.bin.compute_cmvn [--name NAME] <data-dir> <cmvn-dir>

Streams <data-dir>/feats.scp one utterance at a time and writes Kaldi-format statistics
(emogcn/data/cmvn.py):
    <cmvn-dir>/cmvn_<name>.ark, .scp                 one matrix per speaker
    <cmvn-dir>/cmvn_global_<name>.ark, .scp          one matrix, key `global`
    <data-dir>/cmvn.scp, <data-dir>/cmvn_global.scp  the same scp lines, absolute paths
Everything is written under temporary names and renamed when complete, <data-dir>/cmvn.scp last.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.data.cmvn import speaker_stats, write_cmvn
from emogcn.data.datadir import DataDirError
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compute_cmvn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="name in the ark file names (default: the data path with / as _)")
    parser.add_argument("data")
    parser.add_argument("cmvn_dir")
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit(parser.prog, (DataDirError, OSError, ValueError)) as run:
        per_speaker = speaker_stats(Path(args.data))
    if run.status:
        return run.status
    write_cmvn(args.data, args.cmvn_dir, per_speaker, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
