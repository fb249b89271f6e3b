"""Label-shift correction of a model's test posteriors on each unlabelled test corpus.

    python -m emogcn.bin.adapt_priors --method em|balance [--by corpus|none] <in-exp> <out-exp> <split>...

For every split, every <in-exp>/<split>/scores/<test set>/predictions.tsv is corrected (each test
corpus on its own, by its `corpus` column; --by none: each file as a whole) and written, with new
hypotheses, to <out-exp>/<split>/scores/<test set>/predictions.tsv, beside a copy of the split's
classes.txt; the cross-corpus tables read <out-exp> as any other experiment
(python -m emogcn.bin.cross_corpus table ... <out-exp> <split>...). Methods (emogcn/scoring/label_shift.py):
em (Saerens et al. 2002: EM re-estimation of the test priors) and balance (the corrected
posteriors average to uniform over the corpus). Only posteriors are read, never references.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging
from emogcn.scoring.label_shift import METHODS, adapt_predictions
from emogcn.scoring.report import ScoringError, read_classes, read_predictions, write_predictions


def adapt_split(in_exp: Path, out_exp: Path, split: str, method: str, by: str | None) -> int:
    """Corrects every scored test set of one split; returns how many it wrote."""
    scores = in_exp / split / "scores"
    files = sorted(scores.glob("*/predictions.tsv")) if scores.is_dir() else []
    if not files:
        raise ScoringError(f"{scores}: no scored test sets (no */predictions.tsv); score the split first")
    classes_txt = in_exp / split / "classes.txt"
    classes = read_classes(classes_txt) if classes_txt.is_file() else None
    (out_exp / split).mkdir(parents=True, exist_ok=True)
    if classes_txt.is_file():
        shutil.copyfile(classes_txt, out_exp / split / "classes.txt")
    for path in files:
        preds = read_predictions(path, classes, str(classes_txt))
        out = out_exp / split / "scores" / path.parent.name / "predictions.tsv"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_predictions(out, adapt_predictions(preds, method, by))
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adapt_priors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--by", default="corpus", help="the column that groups utterances (default corpus; none: per file)")
    parser.add_argument("in_exp", type=Path)
    parser.add_argument("out_exp", type=Path)
    parser.add_argument("splits", nargs="+")
    args = parser.parse_args(argv)
    setup_logging()
    if args.in_exp.resolve() == args.out_exp.resolve():
        parser.error("<out-exp> must differ from <in-exp> (the model's own predictions are kept)")
    with ErrorExit(parser.prog, (ScoringError, ValueError), one_line=True) as run:
        by = None if args.by == "none" else args.by
        n = sum(adapt_split(args.in_exp, args.out_exp, split, args.method, by) for split in args.splits)
        print(f"adapt_priors: {args.method}: {n} test sets of {len(args.splits)} splits -> {args.out_exp}")
    return run.status


if __name__ == "__main__":
    sys.exit(main())
