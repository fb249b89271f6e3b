"""Stage 3 entry point behind steps/build_graph.sh: the label graph from the training data.

    python -m emogcn.bin.build_graph [--config conf/graph.yaml] [--word-vectors PATH | --word-vectors "en=F de=F ..."]
        [--method auto|correlation|prior|embedding|identity|circumplex|votes|confusion]
        [--confusion-from predictions.tsv] <train-data-dir> <graph-dir>
    python -m emogcn.bin.build_graph [--config conf/graph.yaml] --query KEY

Options given here override the config file. Each failure is one line on stderr, exit status 1.

A graph directory whose marker records the same config, label map, word vectors and training
labels is left as it is (exit 0, "already built"); one made otherwise is refused (exit 1, one
line naming what differs); with --check-only nothing is built and exit status 3 says it must be.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from pathlib import Path

from emogcn import provenance as pv
from emogcn.config import load_config
from emogcn.graph.build import DONE, METHODS, GraphConfig, build_graph, graph_made_from
from emogcn.graph.multilingual import parse_vectors_by_lang
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_graph", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="graph config (YAML, keys of GraphConfig)")
    parser.add_argument("--word-vectors", help="GloVe / word2vec / fastText text file for node features, or "
                        "aligned files per language: 'en=wiki.multi.en.vec de=wiki.multi.de.vec'")
    parser.add_argument("--method", choices=METHODS, help="overrides the config's method")
    parser.add_argument("--confusion-from", help="method confusion: predictions.tsv of a first model on "
                        "training-speaker data (overrides the config's confusion_from)")
    parser.add_argument("--check-only", action="store_true", help="exit 0 if built as asked, 3 if it must be built")
    parser.add_argument("--query", metavar="KEY", help="print the config's value of KEY (empty for null) and "
                        "exit; no data directories (recipes: which graph stage 3 builds)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("train_data", nargs="?", help="training data directory (utt2emo, optional utt2va)")
    parser.add_argument("graph_dir", nargs="?", help="output directory")
    args = parser.parse_args(argv)
    if (args.train_data is None or args.graph_dir is None) and args.query is None:
        parser.error("the following arguments are required: train_data, graph_dir")
    setup_logging(args.verbose)

    overrides = {}
    if args.word_vectors and "=" in args.word_vectors.split()[0]:
        overrides["word_vectors_by_lang"] = parse_vectors_by_lang(args.word_vectors)
    elif args.word_vectors:
        overrides["word_vectors"] = args.word_vectors
    if args.method:
        overrides["method"] = args.method
    if args.confusion_from:
        overrides["confusion_from"] = args.confusion_from
    given = sys.argv[1:] if argv is None else argv
    command = "python -m emogcn.bin.build_graph " + " ".join(shlex.quote(a) for a in given)
    try:
        cfg = load_config(GraphConfig, args.config, overrides)
        if args.query is not None:
            if not hasattr(cfg, args.query):
                raise ValueError(f"{args.config or 'the built-in defaults'}: no key '{args.query}' in a graph config")
            value = getattr(cfg, args.query)
            print("" if value is None else value)
            return 0
        graph_dir = Path(args.graph_dir)
        status = pv.check(graph_dir / DONE, graph_made_from(args.train_data, cfg), what=f"graph {graph_dir}",
                          ways=f"use another graph tag (--graph-tag), or remove {graph_dir} to build it again")
        if status.done:
            print(f"{parser.prog}: graph {graph_dir} already built ({status.reason})", file=sys.stderr)
            return 0
        if args.check_only:
            return 3
        build_graph(args.train_data, args.graph_dir, cfg, config_path=args.config, command=command)
    # ConfigError, DataDirError, GraphError and WordVectorError are all ValueErrors with a
    # one-line `file:line: problem` message.
    except ValueError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
