"""Trains one model (stage 4).

    python -m emogcn.bin.train [--gpu ID] [--resume true|false] [--seed N] [--epochs N] [--num-threads N]
                               <config.yaml> <train-dir> <dev-dir> <graph-dir> <exp-dir>
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from emogcn import provenance as pv
from emogcn.atomic import write_text
from emogcn.config import ConfigError, load_config
from emogcn.data.datadir import DataDirError
from emogcn.log import get_logger, setup_logging
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import train, train_made_from

logger = get_logger("emogcn.train")


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise argparse.ArgumentTypeError("expected true or false")
    return v == "true"


def _finished(exp_dir: Path, cfg: TrainConfig, train_dir: Path, dev_dir: Path, graph_dir: Path) -> int:
    """A finished experiment is kept when its marker records this config and these data and graph,
    and refused otherwise: a changed config or remade inputs must never be answered with the old model."""
    made = train_made_from(cfg, train_dir, dev_dir, graph_dir)
    status = pv.check(exp_dir / ".done", made, what=str(exp_dir), redo_on_new_inputs=False,
                      ways="give the new one another experiment name (--train-tag), or remove it to retrain")
    print(f"train: {exp_dir} is already trained with this config and data ({status.reason}); "
          "remove it to retrain", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", type=int, default=None, help="CUDA device; -1 for the CPU; default: CUDA 0 if present")
    parser.add_argument("--resume", type=_bool, default=True, help="continue from checkpoints/last.pt if present")
    parser.add_argument("--seed", type=int, help="overrides the config's seed")
    parser.add_argument("--epochs", type=int, help="overrides the config's epochs")
    parser.add_argument("--cmvn", choices=("speaker", "global", "none"), help="overrides the config's cmvn")
    parser.add_argument("--num-threads", type=int, default=0, help="CPU threads for torch; 0: torch's default")
    parser.add_argument("--stop-after-epoch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("config")
    parser.add_argument("train_dir", type=Path)
    parser.add_argument("dev_dir", type=Path)
    parser.add_argument("graph_dir", type=Path)
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    if args.num_threads > 0:
        import torch

        torch.set_num_threads(args.num_threads)
    overrides = {k: v for k, v in (("seed", args.seed), ("epochs", args.epochs), ("cmvn", args.cmvn)) if v is not None}
    try:
        cfg = load_config(TrainConfig, args.config, overrides)
        if args.epochs is not None and cfg.average_last > args.epochs:  # a quick run: average what there is
            logger.warning("--epochs %d < average_last %d: averaging the last %d epochs",
                           args.epochs, cfg.average_last, args.epochs)
            cfg.average_last = args.epochs
        if (args.exp_dir / ".done").is_file():
            return _finished(args.exp_dir, cfg, args.train_dir, args.dev_dir, args.graph_dir)
        args.exp_dir.mkdir(parents=True, exist_ok=True)
        write_text(args.exp_dir / "command.txt",
                   "python -m emogcn.bin.train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])) + "\n")
        train(cfg, args.train_dir, args.dev_dir, args.graph_dir, args.exp_dir, gpu=args.gpu, resume=args.resume,
              stop_after_epoch=args.stop_after_epoch)
    except (ConfigError, DataDirError, ValueError, FileNotFoundError) as e:  # ProvenanceError is a ValueError
        print(f"train: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
