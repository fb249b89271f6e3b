#!/usr/bin/env python3
"""Data preparation for Aff-Wild2 (Kollias & Zafeiriou), expressions with valence and arousal.

    python local/prepare_affwild2.py [--labels conf/emotions.yaml] [--folds-dir DIR] [--dev-every 10]
                                     <affwild2-root> <data-dir>

Frames: cropped_aligned/<video>/<frame>.jpg (112 px, already aligned; frame numbers from 00001).
Annotations, one file per video, one line per frame after a header line:
  EXPR_Set/{Train_Set,Validation_Set}/<video>.txt  an integer per line, in Aff-Wild2's own order
      0 Neutral, 1 Anger, 2 Disgust, 3 Fear, 4 Happiness, 5 Sadness, 6 Surprise (-1 = no label;
      7 Other where a release has it is not a shared class)
  VA_Set/{Train_Set,Validation_Set}/<video>.txt    `valence,arousal` per line (-5 = no label)
A frame is kept when it has an expression label, valence and arousal inside [-1, 1], and its
image; every other frame is counted, by reason. Speaker = the video (a `_left`/`_right` suffix
marks one of two subjects). Utterance id affwild2-<video>-<frame>.

Folds (--folds-dir): one fold. fold1/test = Validation_Set (the official evaluation set of the
challenge's public data); fold1/dev = every --dev-every'th training video; fold1/train = the rest.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from emogcn.data.corpus import CorpusData, CorpusError, LabelMap, Skips, argument_parser, run, say, write_fold_sets

CORPUS = "affwild2"
PROG = f"prepare_{CORPUS}"
SETS = {"train_set": "train", "validation_set": "val"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


def _find_dir(root: Path, name: str) -> Path | None:
    return next((p for p in sorted(root.rglob("*")) if p.is_dir() and p.name.lower() == name.lower()), None)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[1:]  # after the header


def prepare_affwild2(root: Path, out: Path, labels_yaml: Path) -> tuple[CorpusData, dict[str, str]]:
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found")
    frames_dir, expr_dir, va_dir = (_find_dir(root, n) for n in ("cropped_aligned", "EXPR_Set", "VA_Set"))
    for name, d in (("cropped_aligned", frames_dir), ("EXPR_Set", expr_dir), ("VA_Set", va_dir)):
        if d is None:
            raise CorpusError(f"{root}: no {name} folder found")
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips, media="img.scp")
    video_set: dict[str, str] = {}
    dropped: Counter = Counter()
    for set_dir in sorted(p for p in expr_dir.iterdir() if p.is_dir() and p.name.lower() in SETS):
        split = SETS[set_dir.name.lower()]
        va_set = next((p for p in va_dir.iterdir() if p.name.lower() == set_dir.name.lower()), None)
        for expr_file in sorted(set_dir.glob("*.txt")):
            video = expr_file.stem
            va_file = va_set / expr_file.name if va_set is not None else None
            if va_file is None or not va_file.is_file():
                skips.add(expr_file, "no valence/arousal file for this video", str(va_file))
                continue
            expressions, va_rows = _lines(expr_file), _lines(va_file)
            spk = f"{CORPUS}-{_UNSAFE.sub('_', video)}"
            video_set[spk] = split
            for i, code in enumerate(expressions, start=1):
                code = code.strip()
                if code == "-1":
                    dropped["no expression label (-1)"] += 1
                    continue
                if data.labels.get(code) is None:
                    dropped[f"expression {code} is not a shared class"] += 1
                    continue
                try:
                    va = tuple(float(v) for v in va_rows[i - 1].split(","))
                except (IndexError, ValueError):
                    dropped["no valence/arousal line"] += 1
                    continue
                if len(va) != 2 or not all(-1.0 <= v <= 1.0 for v in va):
                    dropped["valence/arousal outside [-1, 1] (-5 = no label)"] += 1
                    continue
                image = frames_dir / video / f"{i:05d}.jpg"
                if not image.is_file():
                    dropped["no cropped-aligned frame (no face found)"] += 1
                    continue
                data.add(utt=f"{spk}-{i:05d}", spk=spk, path=image, code=code, lang=None, va=va)
    for reason, n in sorted(dropped.items()):
        data.note(f"frames dropped, {reason}: {n}")
    data.write(out)
    return data, video_set


def write_affwild2_folds(data: CorpusData, video_set: dict[str, str], folds_dir: Path, out: Path,
                         dev_every: int) -> None:
    speakers = {x.spk for x in data.utts.values()}
    train_videos = sorted(s for s in speakers if video_set[s] == "train")
    dev_videos = set(train_videos[dev_every - 1::dev_every])
    sets = {"train": [], "dev": [], "test": []}
    for utt, x in sorted(data.utts.items()):
        name = "test" if video_set[x.spk] == "val" else ("dev" if x.spk in dev_videos else "train")
        sets[name].append(utt)
    write_fold_sets(out, folds_dir / "fold1", sets)
    say(PROG, f"wrote fold1 under {folds_dir}: train {len(sets['train'])} frames, dev {len(sets['dev'])} "
              f"(every {dev_every}th training video), test {len(sets['test'])} (Validation_Set)")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--dev-every", type=int, default=10)
    args = parser.parse_args(argv)

    def body() -> None:
        data, video_set = prepare_affwild2(args.root, args.out, args.labels)
        if args.folds_dir:
            write_affwild2_folds(data, video_set, args.folds_dir, args.out, args.dev_every)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
