"""Command-line data-directory tools behind utils/*.sh (Kaldi's names and argument order).

    python -m emogcn.bin.datadir validate [--no-feats|--need-feats] [--no-media] [--labels conf/emotions.yaml] <data>
    python -m emogcn.bin.datadir fix <data>
    python -m emogcn.bin.datadir split [--per-utt] <data> <num-jobs>
    python -m emogcn.bin.datadir combine <dest> <src1> [<src2> ...]
    python -m emogcn.bin.datadir subset (--utt-list F | --spk-list F | --first N | --last N) <src> <dest>
    python -m emogcn.bin.datadir filter-scp [--exclude] <id-list> <in.scp>
    python -m emogcn.bin.datadir spk2utt [<utt2spk>]
    python -m emogcn.bin.datadir select-classes --classes all|four|a,b,.. [--labels conf/emotions.yaml] <data> [<folds-dir>]
    python -m emogcn.bin.datadir confound <data>     how far speakers and emotions are confounded (also <data>/confound.txt)

Each failure is one line on stderr (`file:line: problem`) and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.data import datadir as dd
from emogcn.log import setup_logging


def _labels(path: str | None) -> set[str] | None:
    if path is None:
        return None
    from emogcn.data.labels import load_label_set

    return load_label_set(path)


def _select_classes(spec: str, labels: str, data: Path, folds_dir: Path | None) -> None:
    from emogcn.data.labels import resolve_classes

    classes = resolve_classes(spec, labels)
    if classes is None:
        return
    dirs = [data] + (sorted(p.parent for p in folds_dir.glob("fold*/*/utt2spk")) if folds_dir else [])
    for d in dirs:
        dropped = dd.select_classes(d, classes)
        kept = len(dd.read_map(d / "utt2spk"))
        what = ", ".join(f"{n} {label}" for label, n in sorted(dropped.items())) or "none"
        print(f"select-classes: {d}: kept {kept} utterance(s) of {', '.join(classes)}; dropped {what}",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-datadir", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("validate", help="check a data directory")
    p.add_argument("--need-feats", action="store_true", help="feats.scp must be present")
    p.add_argument("--no-feats", action="store_true", help="accepted for Kaldi compatibility (the default)")
    p.add_argument("--no-media", action="store_true", help="no wav.scp/img.scp/feats.scp needed")
    p.add_argument("--no-emo", action="store_true", help="utt2emo not needed (unlabelled data)")
    p.add_argument("--labels", help="YAML label map (conf/emotions.yaml): utt2emo labels must be in it")
    p.add_argument("data")

    p = sub.add_parser("fix", help="sort, de-duplicate and keep utterances present in every file")
    p.add_argument("data")

    p = sub.add_parser("split", help="split into N parts by speaker (or by utterance)")
    p.add_argument("--per-utt", action="store_true")
    p.add_argument("data")
    p.add_argument("num_jobs", type=int)

    p = sub.add_parser("combine", help="concatenate data directories")
    p.add_argument("dest")
    p.add_argument("srcs", nargs="+")

    p = sub.add_parser("subset", help="copy a subset of utterances with all their files")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--utt-list")
    g.add_argument("--spk-list")
    g.add_argument("--first", type=int)
    g.add_argument("--last", type=int)
    p.add_argument("src")
    p.add_argument("dest")

    p = sub.add_parser("filter-scp", help="keep lines whose key is (or with --exclude, is not) in a list")
    p.add_argument("--exclude", action="store_true")
    p.add_argument("id_list")
    p.add_argument("scp")

    p = sub.add_parser("spk2utt", help="invert utt2spk (from a file or stdin) to spk2utt on stdout")
    p.add_argument("utt2spk", nargs="?")

    p = sub.add_parser("select-classes", help="keep the utterances of some classes, in a data dir and its folds")
    p.add_argument("--classes", required=True, help="all, four (conf four_class) or a comma-separated list")
    p.add_argument("--labels", default="conf/emotions.yaml")
    p.add_argument("data")
    p.add_argument("folds_dir", nargs="?", help="also every fold<k>/<set> under this directory")

    p = sub.add_parser("confound", help="mutual information of speaker and emotion, and class coverage per speaker")
    p.add_argument("data")

    args = parser.parse_args(argv)
    setup_logging()
    with ErrorExit(f"{parser.prog} {args.cmd}", (dd.DataDirError, FileNotFoundError, ValueError)) as run:
        if args.cmd == "validate":
            opts = dd.ValidateOptions(need_media=not args.no_media, need_feats=args.need_feats,
                                      need_emo=not args.no_emo, labels=_labels(args.labels))
            n = dd.validate_data_dir(args.data, opts)
            print(f"validate_data_dir: {args.data} is OK ({n} utterances)", file=sys.stderr)
        elif args.cmd == "fix":
            dd.fix_data_dir(args.data)
        elif args.cmd == "split":
            for part in dd.split_data(args.data, args.num_jobs, per_utt=args.per_utt):
                print(part)
        elif args.cmd == "combine":
            n = dd.combine_data(args.dest, args.srcs)
            print(f"combine_data: wrote {n} utterances to {args.dest}", file=sys.stderr)
        elif args.cmd == "subset":
            utts = spks = None
            if args.utt_list:
                utts = dd.read_list(args.utt_list)
            elif args.spk_list:
                spks = dd.read_list(args.spk_list)
            else:
                all_utts = list(dd.read_map(Path(args.src) / "utt2spk"))
                utts = all_utts[: args.first] if args.first is not None else all_utts[-args.last:]
            n = dd.subset_data_dir(args.src, args.dest, utts=utts, spks=spks)
            print(f"subset_data_dir: wrote {n} utterances to {args.dest}", file=sys.stderr)
        elif args.cmd == "select-classes":
            _select_classes(args.classes, args.labels, Path(args.data), args.folds_dir and Path(args.folds_dir))
        elif args.cmd == "confound":
            from emogcn.atomic import write_text
            from emogcn.data.confound import CONFOUND_LIMIT, speaker_emotion_confound

            data = Path(args.data)
            c = speaker_emotion_confound(dd.read_map(data / "utt2spk"), dd.read_map(data / "utt2emo"))
            verdict = (f"confounded (above {CONFOUND_LIMIT:.0%}): per-speaker normalisation is refused in training"
                       if c.share > CONFOUND_LIMIT else "per-speaker normalisation keeps the emotion")
            write_text(data / "confound.txt", f"{c.summary()}\n{verdict}\n")
            print(f"{data}: {c.summary()}; {verdict}", file=sys.stderr)
        elif args.cmd == "filter-scp":
            keys = dd.read_list(args.id_list)
            with open(args.scp, encoding="utf-8") as f:
                sys.stdout.writelines(dd.filter_scp(keys, f, exclude=args.exclude))
        elif args.cmd == "spk2utt":
            src = open(args.utt2spk, encoding="utf-8") if args.utt2spk else sys.stdin
            utt2spk = {}
            for lineno, line in enumerate(src, 1):
                parts = line.split()
                if len(parts) != 2:
                    raise dd.DataDirError(f"{args.utt2spk or '<stdin>'}:{lineno}: expected '<utt> <spk>'")
                utt2spk[parts[0]] = parts[1]
            for spk, utts in dd.spk2utt_from_utt2spk(utt2spk).items():
                print(f"{spk} {utts}")
    return run.status


if __name__ == "__main__":
    sys.exit(main())
