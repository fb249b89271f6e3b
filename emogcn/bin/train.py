"""Trains one model (stage 4).

    python -m emogcn.bin.train [--gpu ID] [--resume true|false] [--seed N] [--epochs N] [--num-threads N]
                               [--variant single_task|multi_task|emotion_gcn] [--unlabelled DIR ...]
                               <config.yaml> <train-dir> <dev-dir|none> <graph-dir> <exp-dir>

--variant overrides the config's model.variant (one config per backbone serves all three variants;
the experiment's config.yaml records the variant trained).
    python -m emogcn.bin.train --dev-selection <config.yaml>    (prints speaker, none or inner)

--dev-selection prints what the config needs from a recipe's `--dev auto`: inner with a select.grid,
speaker when it scores the best dev epoch, none when it scores the last or averaged epochs.
<dev-dir> `none` trains without a dev set (the config must score the last or averaged epochs);
`inner` chooses among the config's select.grid by inner folds of the training speakers, then
trains the chosen candidate on all of them (emogcn/training/nested.py).
Under torchrun (WORLD_SIZE > 1 in the environment, as steps/train.sh --ngpu N starts it) each
process joins the process group (NCCL on CUDA, gloo on the CPU) and trains its share of every
batch (emogcn/training/trainer.py run()).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

from emogcn import provenance as pv
from emogcn.atomic import write_text
from emogcn.config import ConfigError, load_config
from emogcn.data.datadir import DataDirError
from emogcn.log import get_logger, setup_logging
from emogcn.models.build import VARIANTS
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import resolve_config, run, train_made_from, uses_unlabelled

logger = get_logger("emogcn.train")


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise argparse.ArgumentTypeError("expected true or false")
    return v == "true"


def _finished(exp_dir: Path, cfg: TrainConfig, train_dir: Path, dev_dir: Path | None, graph_dir: Path,
              selection: str | None, unlabelled: list[Path]) -> int:
    """A finished experiment is kept when its marker records this config and these data and graph,
    and refused otherwise: a changed config or remade inputs must never be answered with the old model."""
    made = train_made_from(resolve_config(cfg, train_dir), train_dir, dev_dir, graph_dir, selection, unlabelled)
    status = pv.check(exp_dir / ".done", made, what=str(exp_dir), redo_on_new_inputs=False,
                      ways="give the new one another experiment name (--train-tag), or remove it to retrain")
    print(f"train: {exp_dir} is already trained with this config and data ({status.reason}); "
          "remove it to retrain", file=sys.stderr)
    return 0


def _die_with_launcher() -> None:
    """torchrun starts its workers in sessions of their own: a SIGKILL of the recipe would leave them
    training, and writing the experiment, behind its back. Linux delivers SIGKILL to a process
    whose parent dies once it asks to (prctl PR_SET_PDEATHSIG), as the launcher cannot forward it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", type=int, default=None, help="CUDA device; -1 for the CPU; default: CUDA 0 if present")
    parser.add_argument("--resume", type=_bool, default=True, help="continue from checkpoints/last.pt if present")
    parser.add_argument("--seed", type=int, help="overrides the config's seed")
    parser.add_argument("--epochs", type=int, help="overrides the config's epochs")
    parser.add_argument("--cmvn", choices=("speaker", "corpus", "global", "none", "auto"), help="overrides the config's cmvn")
    parser.add_argument("--variant", choices=VARIANTS, help="overrides the config's model.variant")
    parser.add_argument("--num-threads", type=int, default=0, help="CPU threads for torch; 0: torch's default")
    parser.add_argument("--unlabelled", type=Path, action="append", default=[],
                        help="a data dir whose audio (not labels) domain_adversarial.unlabelled_tests reads; "
                             "repeatable; ignored by configs without it")
    parser.add_argument("--stop-after-epoch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dev-selection", action="store_true",
                        help="print the selection the config needs (speaker, none or inner) and exit")
    parser.add_argument("config")
    parser.add_argument("train_dir", type=Path, nargs="?")
    parser.add_argument("dev_dir", nargs="?", help="the dev set, none, or inner")
    parser.add_argument("graph_dir", type=Path, nargs="?")
    parser.add_argument("exp_dir", type=Path, nargs="?")
    args = parser.parse_args(argv)
    if args.dev_selection:
        try:
            print(load_config(TrainConfig, args.config).dev_selection())
        except (ConfigError, FileNotFoundError) as e:
            print(f"train: error: {e}", file=sys.stderr)
            return 1
        return 0
    if args.exp_dir is None:
        parser.error("expected <config.yaml> <train-dir> <dev-dir|none|inner> <graph-dir> <exp-dir>")
    setup_logging()
    import torch

    from emogcn.training.heap import keep_freed_memory

    keep_freed_memory()  # a CPU step otherwise pays the kernel for its weight-sized buffers again
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    selection = args.dev_dir if args.dev_dir in ("none", "inner") else None
    dev_dir = None if selection else Path(args.dev_dir)
    world_size = _world_size()
    rank = int(os.environ.get("RANK", "0"))
    if world_size > 1:
        _die_with_launcher()
        cuda = torch.cuda.is_available() and args.gpu != -1
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
        if rank > 0:  # one log: rank 0 speaks for the group
            logging.getLogger().setLevel(logging.WARNING)
    overrides = {k: v for k, v in (("seed", args.seed), ("epochs", args.epochs), ("cmvn", args.cmvn)) if v is not None}
    try:
        cfg = load_config(TrainConfig, args.config, overrides)
        if args.variant is not None:
            cfg.model.variant = args.variant
        if args.epochs is not None and cfg.average_last > args.epochs:  # a quick run: average what there is
            logger.warning("--epochs %d < average_last %d: averaging the last %d epochs",
                           args.epochs, cfg.average_last, args.epochs)
            cfg.average_last = args.epochs
        if (args.exp_dir / ".done").is_file():
            return _finished(args.exp_dir, cfg, args.train_dir, dev_dir, args.graph_dir, selection, args.unlabelled)
        if rank == 0:
            args.exp_dir.mkdir(parents=True, exist_ok=True)
            launcher = f"torchrun ({world_size} processes) " if world_size > 1 else ""
            write_text(args.exp_dir / "command.txt", launcher + "python -m emogcn.bin.train "
                       + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])) + "\n")
        if selection == "inner":
            if world_size > 1:
                raise ValueError("--dev inner trains its inner folds in one process: use --ngpu 1")
            if uses_unlabelled(cfg):
                raise ValueError("--dev inner: domain_adversarial.unlabelled_tests is not supported with inner "
                                 "selection (its inner folds have no test sets of their own)")
            from emogcn.training.nested import train_nested

            train_nested(cfg, args.train_dir, args.graph_dir, args.exp_dir, gpu=args.gpu, resume=args.resume)
        else:
            run(rank, world_size, cfg, args.train_dir, dev_dir, args.graph_dir, args.exp_dir, gpu=args.gpu,
                resume=args.resume, stop_after_epoch=args.stop_after_epoch, unlabelled=args.unlabelled)
    except (ConfigError, DataDirError, ValueError, FileNotFoundError) as e:  # ProvenanceError is a ValueError
        print(f"train: error: {e}", file=sys.stderr)
        return 1
    finally:
        if world_size > 1 and torch.distributed.is_initialized():
            # The processes leave together, once rank 0 has written the averaged weights and .done.
            try:
                torch.distributed.barrier()
            except RuntimeError:  # a peer already gone (it failed): nothing to wait for
                pass
    return 0


def _world_size() -> int:
    """Processes in the training: torchrun's WORLD_SIZE, 1 when started alone."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _leave(code: int) -> None:
    """Ends a torchrun worker without tearing its process group down. Under load, gloo's teardown
    (destroy_process_group, or the interpreter's finalisation) now and then aborts a worker with
    "terminate called without an active exception" after the training is complete, and torchrun then
    kills the other worker, rank 0 included, and fails the job. After the barrier above there is
    nothing left to send, so the worker flushes its output and exits at once."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    code = main()
    if _world_size() > 1:
        _leave(code)
    sys.exit(code)
