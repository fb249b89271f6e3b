"""Results over folds and seeds, RESULTS.md rows, and summary tables.

Pool folds (each <fold-dir> holds the predictions.tsv of one fold's test set):
    python -m emogcn.bin.pool_scores --name NAME [--classes classes.txt] [--results RESULTS.md]
        [--info key=value ...] <out-dir> <fold-dir1> <fold-dir2> ...
  writes <out-dir>/{predictions.tsv,metrics.json,confusion.txt,confusion.png}: the pooled
  predictions scored, plus `folds: {mean, std, n, per_fold}` (UA, WA, macro_f1, ccc_<dim>).

Mean and std over seeds (each argument a metrics.json, or a directory with one, e.g. the pooled
result of one seed):
    python -m emogcn.bin.pool_scores --seeds --name NAME [--results RESULTS.md] [--info ...]
        <out-dir> <seed-result1> <seed-result2> ...
  writes <out-dir>/metrics.json: the means at the top level and `seeds: {mean, std, n, per_run}`.

Late fusion (an ensemble of seeds, or of front-ends): the mean posteriors of pooled results over
the same utterances, scored (each argument a pooled result directory):
    python -m emogcn.bin.pool_scores --fuse --name NAME [--results RESULTS.md] <out-dir> <pooled-dir> ...

Table of results on stdout (a path may be a metrics.json or a directory holding one):
    python -m emogcn.bin.pool_scores --table name1=path1 name2=path2 ...

Markdown table over front-ends, backbones and variants, from the pooled results of single seeds
(e.g. exp/*_seed?/pooled), grouped by their features, backbone, model and cmvn:
    python -m emogcn.bin.pool_scores --grid <seed-result> ...

With --results the result's row is written into that markdown file (date, name, UA pooled, UA
folds mean ± std, WA, macro-F1, folds, then its labels as columns: model, backbone, features,
graph, cmvn, seeds first, others alphabetically); a result scored again replaces its own row.
The labels come from the markers that inference wrote beside each fold's scores (what the model
was made from), not from the command line; --info adds keys the record does not hold. Standard
deviations are sample (ddof 1) standard deviations. Scores print in percent.
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging
from emogcn.scoring.pool import (append_results_row, format_table, fuse_results, grid_table, pool_folds, results_row,
                                 seeds_summary_line, summarize_seeds)
from emogcn.scoring.report import ScoringError, read_metrics, summary_line


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ScoringError(f"{what}: expected key=value, got '{item}'")
        pairs.append((key, value))
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ScoringError(f"{what}: a key is given twice in {items}")
    return pairs


def _expand_info(argv: list[str]) -> list[str]:
    """`--info a=1 b=2 out fold...` -> `--info a=1 --info b=2 out fold...`: argparse's nargs='+'
    would also swallow the positional arguments, so the key=value run is cut here."""
    out, i = [], 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] == "--info":
            j = i + 1
            while j < len(argv) and "=" in argv[j] and not argv[j].startswith("-"):
                if j > i + 1:
                    out.append("--info")
                out.append(argv[j])
                j += 1
            i = j
        else:
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-pool-scores", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--seeds", action="store_true", help="average seed results instead of pooling folds")
    mode.add_argument("--table", action="store_true", help="print a table of name=metrics.json arguments")
    mode.add_argument("--grid", action="store_true", help="markdown table of seed results by front-end x backbone x variant")
    mode.add_argument("--fuse", action="store_true", help="the mean posteriors of pooled results (ensembles, fusion)")
    parser.add_argument("--name", help="name of the result (RESULTS.md row, plot title)")
    parser.add_argument("--classes", help="classes.txt that every fold's p_ columns must match")
    parser.add_argument("--results", help="markdown file to append a row to")
    parser.add_argument("--info", action="append", default=[], metavar="KEY=VALUE",
                        help="extra RESULTS.md columns, e.g. --info model=emotion_gcn features=fbank80")
    parser.add_argument("args", nargs="+", help="<out-dir> <fold-dir|seed-result>..., or name=path with --table")
    args = parser.parse_args(_expand_info(sys.argv[1:] if argv is None else list(argv)))
    setup_logging()
    with ErrorExit(parser.prog, (ScoringError, ValueError)) as run:
        if args.table:
            entries = [(name, read_metrics(path)) for name, path in _pairs(args.args, "--table")]
            sys.stdout.write(format_table(entries))
            return 0
        if args.grid:
            sys.stdout.write(grid_table([(path, read_metrics(path)) for path in args.args]))
            return 0
        if not args.name:
            parser.error("--name is required unless --table or --grid")
        if len(args.args) < 2:
            parser.error("expected <out-dir> and at least one fold directory (or seed result)")
        out_dir, inputs = args.args[0], args.args[1:]
        info = dict(_pairs(args.info, "--info"))
        if args.fuse:
            metrics = fuse_results(inputs, out_dir, args.name, info)
            print(f"{out_dir}: {args.name}: fusion of {len(inputs)}: {summary_line(metrics)}")
        elif args.seeds:
            if args.classes:
                parser.error("--classes applies to pooling folds, not to --seeds")
            metrics = summarize_seeds(inputs, out_dir, args.name, info)
            print(f"{out_dir}: {args.name}: {seeds_summary_line(metrics['seeds'])}")
        else:
            metrics = pool_folds(inputs, out_dir, args.name, args.classes, info)
            folds = metrics["folds"]
            ua_std = folds["std"].get("UA")
            print(f"{out_dir}: {args.name}: pooled over {folds['n']} folds: {summary_line(metrics)}; "
                  f"UA over folds {100 * folds['mean']['UA']:.2f}"
                  + (f" ± {100 * ua_std:.2f}" if ua_std is not None else ""))
        if args.results:
            append_results_row(args.results, results_row(metrics, args.name), metrics.get("info"))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
