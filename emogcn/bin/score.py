"""Scores one set: predictions.tsv in, metrics.json + confusion.txt + confusion.png out.

    python -m emogcn.bin.score [--classes classes.txt] [--title T] <predictions.tsv> <out-dir>

Without --classes the class order comes from the p_<class> columns of the file. Prints one summary
line (UA/WA/macro-F1 in percent, CCC per dimension where the set has dimensional references) on
stdout; per-corpus/per-language lines go to stderr. When the file has `corpus` or `lang` columns, metrics.json also holds per_corpus and
per_lang breakdowns. A bad input is one line on stderr (`file:line: problem`) and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging
from emogcn.scoring.report import ScoringError, score_file, summary_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", help="classes.txt (one class per line, model output order)")
    parser.add_argument("--title", help="title of the confusion plot (default: the output directory)")
    parser.add_argument("predictions", help="predictions.tsv")
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit(parser.prog, (ScoringError, ValueError)) as run:
        metrics = score_file(args.predictions, args.out_dir, args.classes, title=args.title or args.out_dir)
    if run.status:
        return run.status
    print(f"{args.out_dir}: {summary_line(metrics)}")
    # Breakdowns go to stderr so that stdout stays one line.
    for key, label in (("per_corpus", "corpus"), ("per_lang", "lang")):
        for group, sub in (metrics.get(key) or {}).items():
            print(f"  {label} {group}: {summary_line(sub)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
