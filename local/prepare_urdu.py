#!/usr/bin/env python3
"""Data preparation for URDU, Urdu emotional speech from talk shows (Latif et al., 2018).

    python local/prepare_urdu.py [--labels conf/emotions.yaml] [--folds-dir DIR] <urdu-root> <data-dir>

38 speakers, four emotions, one folder per emotion: Angry/SM1_F10_A010.wav = S + gender M +
speaker 1, F + file number 10 of that speaker, emotion letter A + number 010. Speaker numbers
are counted per gender, so the speaker id holds both: urdu-m01; utterance id urdu-m01-f10-a010.
The emotion is in the name's letter and in the emotion FOLDER (Angry, Happy, Neutral, Sad, any
case), as the corpus is distributed. They must agree: a file whose folder and letter disagree
is skipped and reported. A copy with the files outside their emotion folders is labelled by the
letter; a letter that is not one of A H N S takes the emotion from the folder, reported.
Language ur.

Folds (--folds-dir): 38 speakers, so speaker groups of about four: 10 folds
(`--protocol groups --num-groups 10`), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, find_audio, name_or_folder,
                                run, write_folds)

CORPUS = "urdu"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^S(?P<gender>[MF])(?P<spk>\d+)_F(?P<file>\d+)_(?P<emo>[A-Z])(?P<num>\d+)$", re.I)
# Emotion folder -> the letter of conf/emotions.yaml corpora.urdu (the letters themselves are no
# folder words: a folder 'A' names nothing).
FOLDER_CODE = {"angry": "A", "happy": "H", "neutral": "N", "sad": "S"}


def prepare_urdu(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips)
    emotion_folders = FolderCodes("emotion", aliases={w: c for w, c in FOLDER_CODE.items() if labels.get(c)})
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected S<M|F><speaker>_F<file>_<emotion letter><number>")
            continue
        letter = m["emo"].upper()
        emotion = name_or_folder(wav, root, emotion_folders, name_code=letter if labels.get(letter) else None,
                                 name_text=m["emo"], skips=skips,
                                 unknown=("emotion code not in the label map", labels.unknown_reason(m["emo"])))
        if emotion is None:
            continue
        gender = m["gender"].lower()
        spk = f"{CORPUS}-{gender}{int(m['spk']):02d}"
        data.add(utt=f"{spk}-f{m['file']}-{emotion.code.lower()}{m['num']}", spk=spk, path=wav, code=emotion.code,
                 lang="ur", gender=gender, from_folder=(emotion.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_urdu(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
