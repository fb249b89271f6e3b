#!/usr/bin/env python3
"""Data preparation for AffectNet, the manually annotated part (Mollahosseini et al., 2017).

    python local/prepare_affectnet.py [--labels conf/emotions.yaml] [--folds-dir DIR] [--dev-every 50]
                                      [--dev-from validation] <affectnet-root> <data-dir>

Labels: Manually_Annotated_file_lists/training.csv and validation.csv (found anywhere under the
root, any case), columns subDirectory_filePath, face_x, face_y, face_width, face_height,
facial_landmarks (68 points as x;y;x;y;...), expression, valence, arousal. Images: the
subDirectory_filePath under the folder Manually_Annotated_Images (found under the root, any case;
else the root itself). Expression 0-6 only (Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger);
contempt (7) and the non-face codes (8-10) are dropped and counted, as the original does. The face
box and landmarks go to utt2face: stage 1 (conf/face227.yaml) rotates about the eye midpoint and
crops to the box. Valence and arousal are already in [-1, 1]. No speakers: each image is its own.
Utterance id affectnet-<train|val>-<path with / as _>.

Folds (--folds-dir): one fold. fold1/test = validation.csv (the paper's test set, 500 per class).
fold1/dev = every --dev-every'th training image (default), or the validation set itself with
--dev-from validation: the original selected its checkpoint on validation accuracy, which is its
test set; that reproduces the paper's setting, the default does not peek at the test set.
Skipped, each reported: rows whose image is missing, rows that do not parse.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, CorpusError, LabelMap, Skips, argument_parser, run, say, walk_files, write_fold_sets

CORPUS = "affectnet"
PROG = f"prepare_{CORPUS}"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")
COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
           "expression", "valence", "arousal")


def _find(root: Path, name: str, is_dir: bool) -> Path | None:
    if is_dir:
        for path in sorted(root.rglob("*")):
            if path.is_dir() and path.name.lower() == name.lower():
                return path
        return None
    return next((p for p in sorted(walk_files(root)) if p.name.lower() == name.lower()), None)


def prepare_affectnet(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found")
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips, media="img.scp")
    images = _find(root, "Manually_Annotated_Images", is_dir=True) or root
    dropped: dict[str, int] = {}
    for split, name in (("train", "training.csv"), ("val", "validation.csv")):
        table = _find(root, name, is_dir=False)
        if table is None:
            raise CorpusError(f"{root}: no {name} (Manually_Annotated_file_lists/{name}) found")
        with open(table, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise CorpusError(f"{table}:1: missing column(s) {', '.join(missing)}")
            col = {c: header.index(c) for c in COLUMNS}
            for lineno, row in enumerate(reader, start=2):
                where = Path(f"{table}:{lineno}")
                try:
                    rel = row[col["subDirectory_filePath"]]
                    expression = str(int(row[col["expression"]]))
                    box = [float(row[col[c]]) for c in ("face_x", "face_y", "face_width", "face_height")]
                    marks = [float(v) for v in row[col["facial_landmarks"]].split(";") if v.strip()]
                    va = (float(row[col["valence"]]), float(row[col["arousal"]]))
                except (IndexError, ValueError):
                    skips.add(where, "row does not parse", ",".join(row)[:80])
                    continue
                if data.labels.get(expression) is None:  # contempt, none, uncertain, non-face
                    dropped[expression] = dropped.get(expression, 0) + 1
                    continue
                if len(marks) != 136:
                    skips.add(where, "facial_landmarks does not hold 68 points", f"{len(marks)} values")
                    continue
                image = images / rel
                if not image.is_file():
                    skips.add(image, "image listed in the CSV is missing", str(where))
                    continue
                utt = f"{CORPUS}-{split}-{_UNSAFE.sub('_', rel.rsplit('.', 1)[0])}"
                face = " ".join(f"{v:g}" for v in box + marks)
                data.add(utt=utt, spk=utt, path=image, code=expression, lang=None, va=va, face=face)
    if dropped:
        data.note("expression codes outside 0-6 dropped: " + " ".join(f"{k}={v}" for k, v in sorted(dropped.items())))
    data.write(out)
    return data


def write_affectnet_folds(data: CorpusData, folds_dir: Path, out: Path, dev_every: int, dev_from: str) -> None:
    train = sorted(u for u in data.utts if u.split("-")[1] == "train")
    test = sorted(u for u in data.utts if u.split("-")[1] == "val")
    dev = test if dev_from == "validation" else train[dev_every - 1::dev_every]
    dev_set = set(dev) if dev_from != "validation" else set()
    write_fold_sets(out, folds_dir / "fold1", {"train": [u for u in train if u not in dev_set], "dev": dev,
                                              "test": test})
    say(PROG, f"wrote fold1 under {folds_dir}: train {len(train) - len(dev_set)}, dev {len(dev)} "
              f"({'the validation set, as the original' if dev_from == 'validation' else f'every {dev_every}th training image'}), "
              f"test {len(test)} (validation)")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--dev-every", type=int, default=50)
    parser.add_argument("--dev-from", choices=["training", "validation"], default="training")
    args = parser.parse_args(argv)

    def body() -> None:
        data = prepare_affectnet(args.root, args.out, args.labels)
        if args.folds_dir:
            write_affectnet_folds(data, args.folds_dir, args.out, args.dev_every, args.dev_from)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
