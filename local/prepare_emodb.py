#!/usr/bin/env python3
"""Data preparation for EmoDB (Burkhardt et al., Interspeech 2005): writes a data directory.

    python local/prepare_emodb.py [--labels conf/emotions.yaml] [--folds-dir DIR] <emodb-root> <data-dir>

The corpus is found by walking <emodb-root> for *.wav in any folder and any case. Speaker,
text and emotion come from the FILE NAME, e.g. 03a01Fa.wav = speaker 03, text a01, emotion F
(Freude), version a; the utterance id is emodb-03-a01Fa. Language de. Files whose names do not
parse are skipped, each reported with the reason. Audio is not read here: stage 1 reads it and
counts what cannot be read.

Folds (--folds-dir): leave-one-speaker-out, 10 folds (10 speakers; docs/CORPORA.md, "Protocols"),
one dev speaker per fold carved from the training speakers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import CorpusData, LabelMap, Skips, argument_parser, find_audio, run, write_folds

CORPUS = "emodb"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<spk>\d{2})(?P<text>[ab]\d{2})(?P<emo>[A-Z])(?P<version>[a-z])$")
# Sex of the ten actors, from the corpus documentation (erklaerung.txt / the EmoDB paper).
GENDER = {"03": "m", "08": "f", "09": "f", "10": "m", "11": "m", "12": "m", "13": "f", "14": "f", "15": "m", "16": "f"}


def prepare_emodb(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <speaker 2 digits><text a01..b10><emotion letter><version>")
            continue
        spk = f"{CORPUS}-{m['spk']}"
        data.add(utt=f"{spk}-{m['text']}{m['emo']}{m['version']}", spk=spk, path=wav, code=m["emo"], lang="de",
                 gender=GENDER.get(m["spk"]))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_emodb(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
