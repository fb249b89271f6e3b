"""Packages a trained model into a self-contained directory for emogcn-predict and the Python API.

    python -m emogcn.bin.package [--fold K] [--checkpoint best|last|averaged] [--results RESULTS.md]
        [--results-name NAME] [--feat-config conf/feats.yaml] [--train-dir DIR] [--norm-default POLICY]
        [--corpus NAME] [--name NAME] <exp-dir> <out-dir>

<exp-dir> is one trained model (exp/<variant>_<tag>_seed<s>/fold<k>, or a model trained on every
speaker), or an experiment with folds and --fold K. Without --checkpoint the experiment config's
inference_checkpoint is used. The front-end config is the one stage 1 kept beside the training
data (data[/<tag>]/all/conf/feats.yaml; the training data directory comes from the experiment's
command.txt, relative to the current directory, the recipe's), unless --feat-config names one.
--results: the recipe's RESULTS.md, whose row of this experiment (pooled over its folds) goes into
the model card; --results-name picks another row (a final model trained on every speaker has no
test set of its own: name the cross-validated experiment of the same config). --norm-default: the normalisation policy prediction uses unless told otherwise
(default: what training used when that needs nothing but the input, else the package's measured
choice; see emogcn/inference/normalise.py). Run from the recipe directory. See
emogcn/inference/package.py for the layout.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-package", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold", type=int, help="package <exp-dir>/fold<K>")
    parser.add_argument("--checkpoint", choices=("best", "last", "averaged"), help="default: the config's")
    parser.add_argument("--results", type=Path, help="RESULTS.md holding this experiment's row")
    parser.add_argument("--results-name", help="the RESULTS.md row to report (default: the experiment's name)")
    parser.add_argument("--feat-config", type=Path, help="front-end YAML (default: conf/feats.yaml beside the data)")
    parser.add_argument("--train-dir", type=Path, help="training data directory (default: from command.txt)")
    parser.add_argument("--norm-default", choices=("global", "utterance", "batch", "speaker", "none"))
    parser.add_argument("--corpus", help="corpus name for the model card (default: the data's utt2corpus)")
    parser.add_argument("--name", help="model name (default: the experiment's)")
    parser.add_argument("exp_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()

    from emogcn.config import ConfigError
    from emogcn.data.cmvn import CmvnError
    from emogcn.data.datadir import DataDirError
    from emogcn.graph.build import GraphError
    from emogcn.inference.package import PackageError, resolve_experiment, write_package

    command = "python -m emogcn.bin.package " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    errors = (PackageError, ConfigError, DataDirError, GraphError, CmvnError, ValueError, FileNotFoundError,
              RuntimeError)
    with ErrorExit("package", errors, one_line=True) as run:
        exp = resolve_experiment(args.exp_dir, args.fold)
        write_package(exp, args.out_dir, checkpoint=args.checkpoint, feat_config=args.feat_config,
                      train_dir=args.train_dir, norm_default=args.norm_default, results=args.results,
                      corpus=args.corpus, name=args.name, command=command, results_name=args.results_name)
        print(f"package: {exp} -> {args.out_dir}", file=sys.stderr)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
