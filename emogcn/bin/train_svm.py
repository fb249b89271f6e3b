"""The classic baseline: an SVM over utterance-level functionals (the job of steps/train_svm.sh).

    python -m emogcn.bin.train_svm [--config conf/svm.yaml] [--cmvn speaker|corpus|global|none] [--classes FILE]
        [--global-stats SCP|DIR] <exp-dir> <train-dir>[,<train-dir2>...] [<name>=<test-dir> ...]

Kernel and C are chosen by speaker-grouped cross-validation on the training speakers only (several
training directories, e.g. a fold's train and dev, are combined), the SVM is refitted on all of
them and writes <exp-dir>/scores/<name>/predictions.tsv for every test set, plus classes.txt and
svm.yaml (emogcn/classic/experiment.py). Classes default to the training labels in the order of
the config's label file (conf/emotions.yaml). --global-stats: the statistics of --cmvn global
(default: the first training directory's cmvn_global.scp).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.classic.config import load_svm_config
from emogcn.classic.experiment import train_svm
from emogcn.config import ConfigError
from emogcn.data.cmvn import MODES
from emogcn.data.datadir import DataDirError
from emogcn.log import setup_logging

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "svm.yaml"


def _test_set(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path or "/" in name:
        raise argparse.ArgumentTypeError(f"expected <name>=<test-dir> (a name without '/'), got '{text}'")
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: conf/svm.yaml of this checkout")
    parser.add_argument("--cmvn", choices=(*MODES, "auto"), help="overrides the config's normalisation")
    parser.add_argument("--classes", type=Path, help="class list, one per line (default: the training labels)")
    parser.add_argument("--global-stats", type=Path,
                        help="cmvn_global.scp (or a data directory holding one) for --cmvn global")
    parser.add_argument("exp_dir", type=Path)
    parser.add_argument("train_dirs", help="training data directories, comma-separated")
    parser.add_argument("tests", nargs="*", type=_test_set, metavar="name=test-dir")
    args = parser.parse_args(argv)
    setup_logging()
    train_dirs = [Path(d) for d in args.train_dirs.split(",") if d]
    with ErrorExit("train_svm", (ConfigError, DataDirError, ValueError, OSError)) as run:
        if not train_dirs:
            raise ValueError("no training directory given")
        cfg = load_svm_config(args.config, {"cmvn": args.cmvn} if args.cmvn else None)
        train_svm(args.exp_dir, train_dirs, args.tests, cfg, classes_file=args.classes,
                  global_stats=args.global_stats)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
