"""The multilingual recipe's two Python steps.

    python -m emogcn.bin.cross_corpus sets --mode pooled|loco|matrix [--folds "1 2"] <out-dir> <name>=<corpus-data-dir> ...
    python -m emogcn.bin.cross_corpus table --mode MODE --name NAME [--results RESULTS.md] [--data-root DIR]
        <exp-dir> <split> ...

`sets` writes the splits of a mode (emogcn/data/multicorpus.py) and prints their names. `table`
pools the predictions of every scored test set of each split and computes the UA of every
(split, test corpus) and (split, test language) cell from them (emogcn/scoring/cross_corpus.py),
marks the within cells (corpus or language among the split's training ones: --data-root, the
`sets` output directory, tells them; without it the names of matrix and pooled splits do), prints
the UA tables with the cross and within means apart and the most-predicted class of each cell,
appends them to RESULTS.md and draws <exp-dir>/ua_by_corpus.png and ua_by_lang.png.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.atomic import write_text
from emogcn.data.datadir import DataDirError
from emogcn.data.multicorpus import MODES, make_sets
from emogcn.log import setup_logging
from emogcn.scoring.cross_corpus import collect_all, markdown_matrix, markdown_top_class, plot_matrix


def _corpora(pairs: list[str]) -> dict[str, Path]:
    corpora = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"expected <name>=<corpus-data-dir>, got '{pair}'")
        if name in corpora:
            raise ValueError(f"corpus '{name}' is given twice")
        corpora[name] = Path(path)
    return corpora


def _replace_block(old: str, block: str, header: str, experiment: str) -> str:
    """RESULTS.md with `block` in place of an earlier block of the same experiment (its header and
    experiment line), or appended: scoring again must not leave two copies of one result."""
    parts = old.rstrip("\n").split("\n### ")
    kept = [parts[0]] + ["### " + p for p in parts[1:]]
    for i in range(1, len(kept)):
        if kept[i].startswith(header) and experiment.strip() in kept[i]:
            kept[i] = block.rstrip("\n")
            return "\n".join(kept) + "\n"
    return "\n".join(kept) + "\n\n" + block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sets")
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--folds", default="1", help="pooled mode: the folds, e.g. '1 2'")
    p.add_argument("--train-set", default="train",
                   help="each fold's set that trains (train_sp: with its perturbed copies, stage 2's --augment)")
    p.add_argument("out", type=Path)
    p.add_argument("corpora", nargs="+")
    p = sub.add_parser("table")
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--name", required=True, help="the experiment's name, e.g. emotion_gcn_ecapa_seed0")
    p.add_argument("--results", type=Path)
    p.add_argument("--data-root", type=Path,
                   help="the splits' data (the `sets` output dir): <split>/train tells the training corpora and "
                        "languages, <split>/tests the test sets; default: from the split names")
    p.add_argument("exp_dir", type=Path)
    p.add_argument("splits", nargs="+")
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit(f"cross_corpus {args.cmd}", (DataDirError, ValueError, FileNotFoundError)) as run:
        if args.cmd == "sets":
            folds = [int(k) for k in args.folds.split()]
            for split in make_sets(args.mode, _corpora(args.corpora), args.out, folds, train_set=args.train_set):
                print(split.name)
            return 0
        text = [f"### {args.mode}: {args.name} ({datetime.date.today().isoformat()})\n",
                f"Experiment: `{args.exp_dir}`\n"]
        tables = collect_all(args.exp_dir, args.splits, args.data_root)
        for by, label in (("corpus", "test corpus"), ("lang", "test language")):
            cells = tables[by]
            text.append(markdown_matrix(cells, f"UA % by {label}:", corner="train \\ test"))
            text.append(markdown_top_class(cells, f"Most-predicted class by {label} (share of the utterances):",
                                           corner="train \\ test"))
            plot_matrix(cells, args.exp_dir / f"ua_by_{by}.png", f"{args.mode}: {args.name}\nUA % by {label}")
        block = "\n".join(text)
        print(block)
        if args.results:
            old = args.results.read_text(encoding="utf-8") if args.results.exists() else "# Multilingual results\n"
            write_text(args.results, _replace_block(old, block, f"### {args.mode}: {args.name} (", text[1]))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
