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

import kaldiio
import numpy as np

from emogcn.atomic import atomic_path, write_text
from emogcn.data.cmvn import GLOBAL_KEY, accumulate_stats
from emogcn.data.datadir import DataDirError, read_map
from emogcn.log import get_logger, setup_logging

logger = get_logger("compute_cmvn")


def speaker_stats(data: Path) -> dict[str, np.ndarray]:
    """Per-speaker statistics from <data>/feats.scp and <data>/utt2spk."""
    utt2spk = read_map(data / "utt2spk")
    stats: dict[str, np.ndarray] = {}
    for utt, feats in kaldiio.load_scp_sequential(str(data / "feats.scp")):
        spk = utt2spk.get(utt)
        if spk is None:
            raise DataDirError(f"{data}/feats.scp: utterance '{utt}' is not in utt2spk")
        stats[spk] = accumulate_stats([feats], stats.get(spk))
    missing = sorted(set(utt2spk.values()) - set(stats))
    if missing:
        raise DataDirError(f"{data}/feats.scp: no features for speaker '{missing[0]}' ({len(missing)} in all)")
    return dict(sorted(stats.items()))


def write_stats(matrices: dict[str, np.ndarray], ark: Path) -> str:
    """Writes <ark> and <ark>.scp (ark -> scp) atomically; returns the scp text (absolute paths)."""
    scp = ark.with_suffix(".scp")
    with atomic_path(ark) as tmp_ark, atomic_path(scp) as tmp_scp:
        with kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as writer:
            for key, mat in matrices.items():
                writer(key, mat)
        # kaldiio wrote the temporary ark's name; point the lines at the final one.
        lines = []
        for line in Path(tmp_scp).read_text(encoding="utf-8").splitlines():
            key, location = line.split(" ", 1)
            lines.append(f"{key} {ark}:{location.rsplit(':', 1)[1]}\n")
        text = "".join(lines)
        Path(tmp_scp).write_text(text, encoding="utf-8")
    return text


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
