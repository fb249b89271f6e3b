#!/usr/bin/env python3
"""Data preparation for MESD, the Mexican Emotional Speech Database (Duville et al., 2021).

    python local/prepare_mesd.py [--labels conf/emotions.yaml] [--folds-dir DIR] <mesd-root> <data-dir>

Single Spanish words in six emotions by adult female, adult male and child voices. The FILE
NAME holds it all: Anger_F_A_abajo.wav = emotion Anger, voice F (M male, C child), word set A,
word 'abajo'. The corpus names voices, not people, so the voice is the speaker: mesd-f, mesd-m,
mesd-c (sex f, m, and u for the children). Words carry accents, so names are compared in NFC
form (a copy unpacked on macOS stores them decomposed); the word goes into the utterance id in
lower case with any whitespace as '_': mesd-f-anger-a-abajo. Language es.

Folds (--folds-dir): leave-one-voice-out, 3 folds, each testing one voice, with another as dev
and the third as train. Only three "speakers", and each a group of people: read these folds as
voice-independent, not speaker-independent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, LabelMap, Skips, argument_parser, find_audio, normalize_name, run,
                                write_folds)

CORPUS = "mesd"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<emo>[A-Za-z]+)_(?P<voice>[FMC])_(?P<set>[A-Za-z0-9]+)_(?P<word>.+)$", re.I)
VOICE_GENDER = {"f": "f", "m": "m"}  # children ('c') are of either sex


def prepare_mesd(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    for wav in find_audio(root, skips):
        m = NAME.match(normalize_name(wav.stem))
        if not m:
            skips.add(wav, "name does not parse", "expected <Emotion>_<F|M|C>_<set>_<word>")
            continue
        voice = m["voice"].lower()
        spk = f"{CORPUS}-{voice}"
        word = re.sub(r"\s+", "_", m["word"].strip()).lower()
        data.add(utt=f"{spk}-{m['emo'].lower()}-{m['set'].lower()}-{word}", spk=spk, path=wav, code=m["emo"],
                 lang="es", gender=VOICE_GENDER.get(voice))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_mesd(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
