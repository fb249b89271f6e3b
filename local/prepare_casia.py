#!/usr/bin/env python3
"""Data preparation for CASIA, Chinese emotional speech (Institute of Automation, CAS), public subset.

    python local/prepare_casia.py [--labels conf/emotions.yaml] [--folds-dir DIR] <casia-root> <data-dir>

Four speakers, six emotions, 50 sentences each in the public subset. The file name is only the
sentence number, so speaker and label come from the FOLDERS: <speaker>/<emotion>/201.wav (the
speaker folders are named after the speakers, e.g. wangzhe; emotion folders angry, fear, happy,
neutral, sad, surprise in any case). Speakers casia-<speaker folder in lower case, letters and
digits only>; utterance id casia-wangzhe-angry-201. Sex is not encoded. Language zh.

Folds (--folds-dir): leave-one-speaker-out, 4 folds (4 speakers), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, LabelMap, Skips, argument_parser, find_audio, run, write_folds

CORPUS = "casia"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^\d+$")


def prepare_casia(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    root = root.resolve()
    for wav in find_audio(root, skips):
        folders = wav.parent.relative_to(root).parts  # never above root
        if not NAME.match(wav.stem):
            skips.add(wav, "name does not parse", "expected <sentence number>.wav")
            continue
        speaker = re.sub(r"[^a-z0-9]", "", folders[-2].lower()) if len(folders) >= 2 else ""
        if not speaker:
            skips.add(wav, "no speaker folder", "expected <speaker>/<emotion>/<number>.wav")
            continue
        emotion = folders[-1]
        spk = f"{CORPUS}-{speaker}"
        data.add(utt=f"{spk}-{emotion.lower()}-{wav.stem}", spk=spk, path=wav, code=emotion, lang="zh")
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_casia(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
