"""Paired comparison of two systems over the same test utterances, several seeds.

    python -m emogcn.bin.compare_systems --name "EmoDB: emotion_gcn vs single_task" [--boot 2000]
        [--seed 0] [--results FILE.md] [--json OUT.json] --a DIR [DIR ...] --b DIR [DIR ...]

Each DIR is the pooled result of one seed (predictions.tsv and metrics.json, as pool_scores
writes them); the i-th directory of --a pairs with the i-th of --b, and all must hold the same
utterances and references. Prints a markdown table: UA of A and B (mean ± sample std over seeds),
the effect (mean over seeds of UA_B - UA_A, percentage points) with a 95 % interval and a p-value
from a paired bootstrap over utterances, the wins/losses/ties of B over the fold x seed pairs of
per-fold UA with a Wilcoxon signed-rank p, and a reading: "B better" when the interval lies above
0, "A better" below, else "no difference shown". With --results the row goes into that markdown
file (a comparison made again replaces its row); with --json the whole result is written there.
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging
from emogcn.scoring.paired import append_comparison_row, format_comparison, paired_comparison
from emogcn.scoring.report import ScoringError, write_metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compare_systems", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="name of the comparison (its row in --results)")
    parser.add_argument("--a", nargs="+", required=True, metavar="DIR", help="system A: one pooled result per seed")
    parser.add_argument("--b", nargs="+", required=True, metavar="DIR", help="system B: the same seeds, same order")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's draws (default 0)")
    parser.add_argument("--results", help="markdown file to write the comparison's row into")
    parser.add_argument("--json", help="file to write the whole result to (JSON)")
    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit(parser.prog, (ScoringError, ValueError), one_line=True) as run:
        result = paired_comparison(args.a, args.b, n_boot=args.boot, seed=args.seed)
        sys.stdout.write(format_comparison(result, args.name))
        if args.results:
            append_comparison_row(args.results, result, args.name)
        if args.json:
            write_metrics(args.json, {"name": args.name, **result})
    return run.status


if __name__ == "__main__":
    sys.exit(main())
