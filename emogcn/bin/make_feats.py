"""Computes features for one data directory: one job of steps/make_feats.sh.

    python -m emogcn.bin.make_feats [--config conf/fbank.yaml] <data-dir> <ark-base>

Reads <data-dir>/wav.scp (or, with a face config such as conf/face227.yaml, <data-dir>/img.scp
and utt2face) and writes, next to <ark-base>:
    <ark-base>.ark, <ark-base>.scp   features (kaldiio), the scp holding the ark's absolute path
    <ark-base>.utt2num_frames        frames per utterance
    <ark-base>.utt2dur               seconds per utterance (empty for images)
    <ark-base>.failed                `<utt> <reason>` for each utterance that could not be processed
An utterance that fails (unreadable, empty, too short, ...) is logged and skipped; the job goes on.
Every output is written under a temporary name and renamed only when the job completes, the scp
last, so a killed job leaves nothing that steps/make_feats.sh would take as finished. Utterances
are streamed one at a time (an SSL front-end with batch_size N: N at a time): memory does not
grow with the number of utterances.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import torch

from emogcn.bin import ErrorExit
from emogcn.config import ConfigError
from emogcn.data.datadir import DataDirError, read_map
from emogcn.features.frontends import load_frontend_config, make_extractor
from emogcn.features.make_feats import media_file, run_job
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make_feats", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="feature YAML (conf/fbank.yaml); default: FeatureConfig defaults")
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("data", help="data directory with wav.scp (usually one part of a split)")
    parser.add_argument("ark_base", help="output path without extension, e.g. fbank/raw_fbank_train.1")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    torch.set_num_threads(1)  # parallelism comes from the jobs; threads would only contend
    with ErrorExit(parser.prog, (ConfigError, DataDirError)) as run:
        cfg = load_frontend_config(args.config)
        extractor = make_extractor(cfg)  # a missing package or weight file fails here, once
        data = Path(args.data)
        inputs = read_map(data / media_file(cfg))
        faces = read_map(data / "utt2face") if (data / "utt2face").is_file() else None
    if run.status:
        return run.status
    run_job(inputs, cfg, args.ark_base, faces, extractor, where=args.data)
    return 0


if __name__ == "__main__":
    exit_code = main()
    # Tearing down an interpreter that imported torch takes about a second per job; every output
    # is closed and renamed by now, so flush the streams and leave at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
