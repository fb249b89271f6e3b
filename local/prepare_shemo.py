#!/usr/bin/env python3
"""Data preparation for ShEMO, the Sharif Emotional Speech Database (Mohamad Nezami et al., 2019).

    python local/prepare_shemo.py [--labels conf/emotions.yaml] [--folds-dir DIR] <shemo-root> <data-dir>

Persian radio-play speech, 87 speakers. Everything is in the FILE NAME: F21N23.wav = gender F,
speaker number 21, emotion N, utterance 23. Speaker numbers are counted per gender (F21 and
M21 are different people), so the speaker id holds both: shemo-f21; utterance id
shemo-f21-n23. Emotion letters A H N S W (surprise) F (fear). Language fa.

Folds (--folds-dir): 87 speakers, so speaker groups of about four: 22 folds
(`--protocol groups --num-groups 22`), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, LabelMap, Skips, argument_parser, find_audio, run, write_folds

CORPUS = "shemo"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<gender>[FM])(?P<spk>\d{2})(?P<emo>[A-Z])(?P<num>\d{2})$", re.I)


def prepare_shemo(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <F|M><speaker 2 digits><emotion letter><utterance>")
            continue
        gender = m["gender"].lower()
        spk = f"{CORPUS}-{gender}{m['spk']}"
        data.add(utt=f"{spk}-{m['emo'].lower()}{m['num']}", spk=spk, path=wav, code=m["emo"], lang="fa",
                 gender=gender)
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_shemo(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
