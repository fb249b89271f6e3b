#!/usr/bin/env python3
"""Data preparation for CaFE, the Canadian French Emotional speech dataset (Gournay et al., 2018).

    python local/prepare_cafe.py [--labels conf/emotions.yaml] [--folds-dir DIR] <cafe-root> <data-dir>

Twelve actors, six sentences, seven emotions. Everything is in the FILE NAME: AA-E-I-S =
actor (2 digits), emotion letter (C colere, D degout, J joie, N neutre, P peur, S surprise,
T tristesse), intensity (1 weak, 2 strong), sentence. Neutral has no intensity in some copies
(AA-N-S), so the intensity field is optional. The emotion folders (Colère, Dégoût, Joie,
Neutre, Peur, Surprise, Tristesse, with or without accents; intensity folders Faible/Fort below
them) name the emotion too: a letter that is not a CaFE code takes it from the folder, reported;
a folder that names another emotion than the letter is a conflict: skipped and reported.
Speakers cafe-01 .. cafe-12, sex not encoded; utterance id cafe-01-c-1-1. Language fr.
CaFE is distributed as AIFF: .wav, .aif and .aiff are all read (stage 1 sniffs the format).

Folds (--folds-dir): leave-one-speaker-out, 12 folds (12 speakers; LOSO up to 12, docs/CORPORA.md,
"Protocols"), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, emotion_of, find_audio,
                                run, write_folds)

CORPUS = "cafe"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<actor>\d{2})-(?P<emo>[A-Za-z])(?:-(?P<intensity>\d))?-(?P<sentence>\d)$")
SUFFIXES = (".wav", ".aif", ".aiff")
# Emotion folder -> the letter of conf/emotions.yaml corpora.cafe; copies differ in accents.
FOLDER_CODE = {"colère": "C", "colere": "C", "dégoût": "D", "degout": "D", "dégout": "D", "joie": "J",
               "neutre": "N", "peur": "P", "surprise": "S", "tristesse": "T"}


def prepare_cafe(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips)
    emotion_folders = FolderCodes("emotion", aliases={w: c for w, c in FOLDER_CODE.items() if labels.get(c)})
    for wav in find_audio(root, skips, SUFFIXES):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <actor 2 digits>-<emotion letter>[-<intensity>]-<sentence>")
            continue
        emotion = emotion_of(wav, root, emotion_folders, labels, m["emo"], skips)
        if emotion is None:
            continue
        spk = f"{CORPUS}-{m['actor']}"
        fields = [emotion.code.lower(), m["intensity"], m["sentence"]]
        data.add(utt="-".join([spk] + [f for f in fields if f]), spk=spk, path=wav, code=emotion.code, lang="fr",
                 from_folder=(emotion.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_cafe(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
