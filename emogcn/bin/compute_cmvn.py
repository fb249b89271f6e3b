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
import os
import sys
from pathlib import Path

from emogcn.atomic import write_text
from emogcn.data.cmvn import GLOBAL_KEY, speaker_stats, write_stats
from emogcn.data.datadir import DataDirError
from emogcn.log import get_logger, setup_logging

logger = get_logger("compute_cmvn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compute_cmvn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="name in the ark file names (default: the data path with / as _)")
    parser.add_argument("data")
    parser.add_argument("cmvn_dir")
    args = parser.parse_args(argv)
    setup_logging()
    data = Path(args.data)
    cmvn_dir = Path(os.path.abspath(args.cmvn_dir))
    name = args.name or str(data).strip("/").replace("/", "_")
    try:
        per_speaker = speaker_stats(data)
    except (DataDirError, OSError, ValueError) as e:
        print(f"compute_cmvn: error: {e}", file=sys.stderr)
        return 1
    total = sum(per_speaker.values())
    cmvn_dir.mkdir(parents=True, exist_ok=True)
    global_scp = write_stats({GLOBAL_KEY: total}, cmvn_dir / f"cmvn_global_{name}.ark")
    speaker_scp = write_stats(per_speaker, cmvn_dir / f"cmvn_{name}.ark")
    write_text(data / "cmvn_global.scp", global_scp)
    write_text(data / "cmvn.scp", speaker_scp)
    frames = int(total[0, -1])
    logger.info("%s: statistics of %d speakers, %d frames of dimension %d -> %s/cmvn.scp, cmvn_global.scp",
                data, len(per_speaker), frames, total.shape[1] - 1, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
