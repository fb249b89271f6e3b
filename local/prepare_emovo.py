#!/usr/bin/env python3
"""Data preparation for EMOVO, Italian emotional speech (Costantini et al., LREC 2014).

    python local/prepare_emovo.py [--labels conf/emotions.yaml] [--folds-dir DIR] <emovo-root> <data-dir>

Six actors, f1 f2 f3 m1 m2 m3, each reading 14 sentences in seven emotions. Everything is in the
FILE NAME: f1/dis-f1-b1.wav = emotion dis (disgusto), speaker f1, sentence b1. Emotion codes are
Italian (neu, dis, gio, pau, rab, sor, tri). Speakers emovo-f1 ..; sex from the speaker's
letter; utterance id emovo-f1-dis-b1. Language it.

Folds (--folds-dir): leave-one-speaker-out, 6 folds (6 speakers), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, LabelMap, Skips, argument_parser, find_audio, run, write_folds

CORPUS = "emovo"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<emo>[a-z]{3})-(?P<spk>[fm]\d)-(?P<sentence>[a-z]+\d+)$", re.I)


def prepare_emovo(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <emotion>-<speaker f1..m3>-<sentence>")
            continue
        speaker = m["spk"].lower()
        spk = f"{CORPUS}-{speaker}"
        data.add(utt=f"{spk}-{m['emo'].lower()}-{m['sentence'].lower()}", spk=spk, path=wav, code=m["emo"],
                 lang="it", gender=speaker[0])
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_emovo(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
