"""Zero-shot recognition of a class held out of one corpus's training data (emogcn/scoring/zero_shot.py).

    python -m emogcn.bin.zero_shot hold-out --corpus A --class X <src-data-dir> <dest-data-dir>
    python -m emogcn.bin.zero_shot score --corpus A --class X [--out zero_shot.json] <predictions.tsv>
    python -m emogcn.bin.zero_shot run --corpus A --class X [--graph-config conf/graph.yaml] [--epochs N]
        [--gpu ID] <train-config.yaml> <train-dir> <dev-dir|none> <test-dir> <work-dir>

hold-out writes a copy of a data directory without corpus A's utterances of class X. score prints
the recall of X over A's test utterances and chance (1 / the classes A is predicted among). run
does it all: holds X of A out of the training and dev sets (<work-dir>/data/{train,dev}), builds
the label graph on that training set (<work-dir>/graph; X is a node, from the corpora that have
it), trains (<work-dir>/exp; the config's label_space should be corpus, the default, so that A's
audio is never trained against X), predicts <test-dir> among each corpus's classes and scores:
<work-dir>/exp/scores/test/{predictions.tsv,zero_shot.json}. One summary line on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.config import ConfigError


def _run(args) -> dict:
    from emogcn.config import load_config
    from emogcn.data.datadir import read_map
    from emogcn.data.label_space import hold_out_class
    from emogcn.graph.build import GraphConfig, build_graph
    from emogcn.inference.infer import infer
    from emogcn.scoring.zero_shot import score_zero_shot
    from emogcn.training.config import TrainConfig
    from emogcn.training.heap import keep_freed_memory
    from emogcn.training.trainer import train

    keep_freed_memory()  # trains in this process, as emogcn.bin.train does
    work = Path(args.work_dir)
    cfg = load_config(TrainConfig, args.train_config, {"epochs": args.epochs} if args.epochs else None)
    cfg.average_last = min(cfg.average_last, cfg.epochs)  # a quick run averages what there is, as bin/train does
    if cfg.label_space != "corpus":
        raise ValueError(f"{args.train_config}: label_space {cfg.label_space}: a zero-shot run needs corpus "
                         "(with union, corpus A's audio is trained against the held-out class)")
    train_dir, dev_dir = work / "data" / "train", None
    dropped = hold_out_class(args.train_dir, train_dir, args.corpus, args.held_out)
    if args.held_out not in set(read_map(train_dir / "utt2emo").values()):
        raise ValueError(f"{args.train_dir}: no other corpus has class '{args.held_out}': nothing to learn it from")
    if args.dev_dir != "none":
        dev_dir = work / "data" / "dev"
        dropped += hold_out_class(args.dev_dir, dev_dir, args.corpus, args.held_out)
    print(f"zero_shot: held {dropped} utterance(s) of {args.held_out} in corpus {args.corpus} out", file=sys.stderr)
    graph_cfg = load_config(GraphConfig, args.graph_config) if args.graph_config else GraphConfig()
    build_graph(train_dir, work / "graph", graph_cfg, config_path=args.graph_config)
    exp = work / "exp"
    train(cfg, train_dir, dev_dir, work / "graph", exp, gpu=args.gpu)
    out = exp / "scores" / "test"
    infer(exp, [(Path(args.test_dir), out)], gpu=args.gpu)
    return score_zero_shot(out / "predictions.tsv", args.corpus, args.held_out, out / "zero_shot.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zero_shot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("hold-out", "score", "run"):
        p = sub.add_parser(name)
        p.add_argument("--corpus", required=True, help="the corpus X is held out of (utt2corpus)")
        p.add_argument("--class", dest="held_out", required=True, help="the held-out class X")
        if name == "hold-out":
            p.add_argument("src")
            p.add_argument("dest")
        elif name == "score":
            p.add_argument("--out", help="write the result as JSON here")
            p.add_argument("predictions")
        else:
            p.add_argument("--graph-config", help="graph config (default: GraphConfig's defaults)")
            p.add_argument("--epochs", type=int, help="overrides the config's epochs")
            p.add_argument("--gpu", type=int, default=None)
            for arg in ("train_config", "train_dir", "dev_dir", "test_dir", "work_dir"):
                p.add_argument(arg)
    args = parser.parse_args(argv)
    from emogcn.data.datadir import DataDirError
    from emogcn.log import setup_logging

    setup_logging()
    with ErrorExit("zero_shot", (ConfigError, DataDirError, ValueError, FileNotFoundError)) as run:
        if args.command == "hold-out":
            from emogcn.data.label_space import hold_out_class

            n = hold_out_class(args.src, args.dest, args.corpus, args.held_out)
            print(f"{args.dest}: {n} utterance(s) of {args.held_out} in corpus {args.corpus} held out")
        else:
            from emogcn.scoring.zero_shot import score_zero_shot, summary

            result = (score_zero_shot(args.predictions, args.corpus, args.held_out, args.out)
                      if args.command == "score" else _run(args))
            print(summary(result))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
