#!/usr/bin/env python3
"""Data preparation for AESDD, the Acted Emotional Speech Dynamic Database (Vryzas et al., 2018).

    python local/prepare_aesdd.py [--labels conf/emotions.yaml] [--folds-dir DIR] <aesdd-root> <data-dir>

Greek, five actors, five emotions. The FILE NAME holds the emotion letter and utterance number,
with the speaker in parentheses after a space: 'a01 (3).wav' = anger, utterance 01, speaker 3.
The emotion folders (anger, disgust, fear, happiness, sadness) name the emotion too: a letter
that is not one of a d f h s takes it from the folder, reported; a folder that names another
emotion than the letter is a conflict: skipped and reported. Speakers aesdd-01 ..; utterance id
aesdd-03-a01. Sex is not encoded. Language el. (wav.scp holds the path with its space:
a wav.scp value is the rest of the line.)

Folds (--folds-dir): leave-one-speaker-out, 5 folds (5 speakers), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, emotion_of, find_audio,
                                run, write_folds)

CORPUS = "aesdd"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<emo>[a-z])(?P<num>\d+)\s*\((?P<spk>\d+)\)$", re.I)
# Emotion folder -> the letter of conf/emotions.yaml corpora.aesdd.
FOLDER_CODE = {"anger": "a", "disgust": "d", "fear": "f", "happiness": "h", "sadness": "s"}


def prepare_aesdd(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips)
    emotion_folders = FolderCodes("emotion", aliases={w: c for w, c in FOLDER_CODE.items() if labels.get(c)})
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected '<emotion letter><utterance> (<speaker>)'")
            continue
        emotion = emotion_of(wav, root, emotion_folders, labels, m["emo"], skips)
        if emotion is None:
            continue
        spk = f"{CORPUS}-{int(m['spk']):02d}"
        data.add(utt=f"{spk}-{emotion.code.lower()}{m['num']}", spk=spk, path=wav, code=emotion.code, lang="el",
                 from_folder=(emotion.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_aesdd(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
