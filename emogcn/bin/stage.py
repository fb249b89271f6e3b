"""Stage markers from the shell: is a stage's output what this run asks for, and record it when made.

    python -m emogcn.bin.stage check --what TEXT [--ways TEXT] [--refuse-new-inputs] [made-from ...] <marker>
    python -m emogcn.bin.stage write --stage NAME [--label K=V ...] [--labels-from MARKER] [--also PATH ...]
                                     [made-from ...] <marker>
    python -m emogcn.bin.stage id <marker-or-data-dir>
    python -m emogcn.bin.stage get <marker> <dotted.key>     e.g. labels.features, made_from.options.db_root

made-from (emogcn/provenance.py): --config NAME=PATH (the config's parsed content), --option K=V,
--input NAME=MARKER (that marker's id), --data NAME=DIR (a data directory's id), --file NAME=PATH
(a file's digest; '' for none).

check exits 0 when the marker records the same (prints `<what> already done (made ...)`), 3 when
the stage must run (absent, or its inputs were remade: says which), 1 when the marker records
other settings (one line naming what differs and --ways). write records a new marker (and the
same record at every --also path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn import provenance as pv
from emogcn.atomic import write_text

EXIT_MUST_RUN = 3


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{option}: expected NAME=VALUE, got '{item}'")
        out.append((key, value))
    return out


def wanted(args: argparse.Namespace) -> dict:
    configs = {k: pv.config_content(v) for k, v in _pairs(args.config, "--config")}
    options = dict(_pairs(args.option, "--option"))
    inputs: dict[str, str] = {}
    for name, marker in _pairs(args.input, "--input"):
        found = pv.marker_id(marker)
        if found is None:
            raise ValueError(f"{marker}: not found (the stage that makes it has not run)")
        inputs[name] = found
    for name, data_dir in _pairs(args.data, "--data"):
        if not Path(data_dir).is_dir():
            raise ValueError(f"{data_dir}: data directory not found")
        inputs[name] = pv.data_id(data_dir)
    for name, path in _pairs(args.file, "--file"):
        options[name] = f"{path} {pv.file_digest(path)}" if path else ""
    return pv.made_from(configs, options, inputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("check", "write"):
        p = sub.add_parser(name)
        p.add_argument("--config", action="append", default=[], metavar="NAME=PATH")
        p.add_argument("--option", action="append", default=[], metavar="K=V")
        p.add_argument("--input", action="append", default=[], metavar="NAME=MARKER")
        p.add_argument("--data", action="append", default=[], metavar="NAME=DIR")
        p.add_argument("--file", action="append", default=[], metavar="NAME=PATH")
        p.add_argument("marker", type=Path)
    check, write = sub.choices["check"], sub.choices["write"]
    check.add_argument("--what", required=True, help="the output, as the messages name it")
    check.add_argument("--ways", default="", help="how on when the output was made otherwise")
    check.add_argument("--refuse-new-inputs", action="store_true",
                       help="inputs remade since: refuse (trained models) instead of running again")
    write.add_argument("--stage", required=True)
    write.add_argument("--label", action="append", default=[], metavar="K=V")
    write.add_argument("--labels-from", type=Path, help="start from the labels of this marker")
    write.add_argument("--also", action="append", default=[], type=Path, help="write the same record here too")
    ident = sub.add_parser("id")
    ident.add_argument("path", type=Path)
    get = sub.add_parser("get")
    get.add_argument("marker", type=Path)
    get.add_argument("key")
    args = parser.parse_args(argv)
    with ErrorExit(parser.prog, (pv.ProvenanceError, ValueError, OSError)) as run:
        if args.cmd == "id":
            print(pv.data_id(args.path) if args.path.is_dir() else pv.marker_id(args.path))
            return 0
        if args.cmd == "get":
            value = pv.read_marker(args.marker)
            if value is None:
                raise ValueError(f"{args.marker}: not found")
            for part in args.key.split("."):
                if not isinstance(value, dict) or part not in value:
                    raise ValueError(f"{args.marker}: no '{args.key}' recorded")
                value = value[part]
            print(value)
            return 0
        made = wanted(args)
        if args.cmd == "check":
            ways = args.ways or f"remove {args.marker} to make it again"
            status = pv.check(args.marker, made, what=args.what, ways=ways,
                              redo_on_new_inputs=not args.refuse_new_inputs)
            if status.done:
                print(f"{args.what} already done ({status.reason})", file=sys.stderr)
                return 0
            if status.marker is not None:
                print(f"{args.what}: made again: {status.reason}", file=sys.stderr)
            return EXIT_MUST_RUN
        labels: dict = {}
        if args.labels_from is not None:
            labels = dict((pv.read_marker(args.labels_from) or {}).get("labels") or {})
        labels.update(_pairs(args.label, "--label"))
        pv.write_marker(args.marker, args.stage, made, labels)
        text = args.marker.read_text(encoding="utf-8")
        for path in args.also:
            write_text(path, text)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
