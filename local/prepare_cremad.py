#!/usr/bin/env python3
"""Data preparation for CREMA-D (Cao et al., IEEE Trans. Affective Computing 2014).

    python local/prepare_cremad.py [--labels conf/emotions.yaml] [--folds-dir DIR] <cremad-root> <data-dir>

Labels are the actors' intended emotions, from the FILE NAME: AudioWAV/1001_DFA_ANG_XX.wav =
actor 1001, sentence DFA, emotion ANG, level XX (LO, MD, HI, or XX unspecified). The per-rater
votes (processedResults/tabulatedVotes.csv) are not used. Speakers cremad-1001 .. cremad-1091;
utterance id cremad-1001-dfa-ang-xx. Language en. The release also holds AudioMP3/ (the same
clips as MP3) and videos: MP3 files are reported as skipped, videos ignored.

Speaker sex is not in the name; when the release's VideoDemographics.csv (columns ActorID and
Sex) is under the corpus folder, spk2gender is written from it.

Folds (--folds-dir): 91 speakers, so speaker groups of about four: 23 folds
(`--protocol groups --num-groups 23`), one dev speaker per fold. Pass --num-groups 5 for the
five speaker-independent folds that some benchmarks use.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, CorpusError, LabelMap, Skips, argument_parser, find_audio, find_file,
                                run, write_folds)

CORPUS = "cremad"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emo>[A-Z]{3})_(?P<level>LO|MD|HI|XX)$", re.I)
SEX = {"male": "m", "female": "f"}


def read_demographics(path: Path) -> dict[str, str]:
    """ActorID -> m/f from VideoDemographics.csv."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("ActorID", "Sex") if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}:1: missing column(s) {', '.join(missing)}")
        return {row["ActorID"].strip(): SEX[row["Sex"].strip().lower()] for row in reader
                if row["Sex"] and row["Sex"].strip().lower() in SEX}


def prepare_cremad(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips)
    demographics = find_file(root, "VideoDemographics.csv")
    sex = read_demographics(demographics) if demographics else {}
    if demographics:
        data.note(f"speaker sex from {demographics}")
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <actor 4 digits>_<sentence>_<emotion>_<LO|MD|HI|XX>")
            continue
        spk = f"{CORPUS}-{m['actor']}"
        utt = f"{spk}-{m['sentence']}-{m['emo']}-{m['level']}".lower()
        data.add(utt=utt, spk=spk, path=wav, code=m["emo"].upper(), lang="en", gender=sex.get(m["actor"]))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_cremad(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
