#!/usr/bin/env python3
"""Data preparation for SUBESCO, SUST Bangla Emotional Speech Corpus (Sultana et al., PLoS ONE 2021).

    python local/prepare_subesco.py [--labels conf/emotions.yaml] [--folds-dir DIR] <subesco-root> <data-dir>

20 speakers (10 female, 10 male), 10 sentences, 7 emotions, 5 takes. Everything is in the FILE
NAME: F_02_NAME_S_1_ANGRY_1.wav = gender F, speaker 02, the speaker's first name, sentence 1,
emotion ANGRY, take 1. Speaker numbers are counted per gender, so the speaker id holds both:
subesco-f02; utterance id subesco-f02-s01-angry-1. Language bn.

Folds (--folds-dir): 20 speakers, so speaker groups of about four: 5 folds
(`--protocol groups --num-groups 5`; round-robin over the sorted ids puts two women and two
men in each test group), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, LabelMap, Skips, argument_parser, find_audio, run, write_folds

CORPUS = "subesco"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<gender>[FM])_(?P<spk>\d+)_(?P<name>[^_]+)_S_(?P<sentence>\d+)_(?P<emo>[A-Z]+)_(?P<take>\d+)$",
                  re.I)


def prepare_subesco(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <F|M>_<speaker>_<name>_S_<sentence>_<EMOTION>_<take>")
            continue
        gender = m["gender"].lower()
        spk = f"{CORPUS}-{gender}{int(m['spk']):02d}"
        utt = f"{spk}-s{int(m['sentence']):02d}-{m['emo'].lower()}-{m['take']}"
        data.add(utt=utt, spk=spk, path=wav, code=m["emo"], lang="bn", gender=gender)
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_subesco(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
