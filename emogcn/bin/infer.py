"""Writes predictions of a trained model on data directories (the first half of stage 5).

    python -m emogcn.bin.infer [--gpu ID] [--checkpoint best|last|averaged] [--label-space corpus|union]
                               <exp-dir> <data-dir> <out-dir> [<data-dir> <out-dir> ...]

The model is loaded once for every (data-dir, out-dir) pair. Without --checkpoint, the
experiment's config decides (inference_checkpoint, default best). --label-space corpus predicts
each utterance among its corpus's classes, union among every class (default: the config's
label_space; emogcn/inference/infer.py).

out-dir/predictions.tsv: utt, reference, hypothesis, p_<class>..., then ref/hyp valence and
arousal when the model predicts dimensions, then corpus and lang when the data has them.
out-dir/.done records the model (its training marker), the checkpoint and the data it was made
from (emogcn/provenance.py): a set already predicted from the same is not predicted again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.config import ConfigError
from emogcn.data.datadir import DataDirError
from emogcn.inference.infer import infer
from emogcn.log import setup_logging
from emogcn.training.trainer import CHECKPOINTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", type=int, default=None)
    parser.add_argument("--checkpoint", default=None, choices=CHECKPOINTS)
    parser.add_argument("--label-space", default=None, choices=("corpus", "union"),
                        help="classes each prediction is made among (default: the config's label_space)")
    parser.add_argument("exp_dir", type=Path)
    parser.add_argument("sets", nargs="+", type=Path, help="<data-dir> <out-dir> pairs")
    args = parser.parse_args(argv)
    if len(args.sets) % 2:
        parser.error("expected <data-dir> <out-dir> pairs after <exp-dir>")
    setup_logging()
    with ErrorExit("infer", (ConfigError, DataDirError, ValueError, FileNotFoundError)) as run:
        infer(args.exp_dir, list(zip(args.sets[::2], args.sets[1::2])), args.gpu, args.checkpoint, args.label_space)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
