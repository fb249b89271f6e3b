#!/usr/bin/env python3
"""Data preparation for CREMA-D (Cao et al., IEEE Trans. Affective Computing 2014).

    python local/prepare_cremad.py [--labels conf/emotions.yaml] [--folds-dir DIR] <cremad-root> <data-dir>

Labels are the actors' intended emotions, from the FILE NAME: AudioWAV/1001_DFA_ANG_XX.wav =
actor 1001, sentence DFA, emotion ANG, level XX (LO, MD, HI, or XX unspecified). Speakers cremad-1001 .. cremad-1091;
utterance id cremad-1001-dfa-ang-xx. Language en. The release also holds AudioMP3/ (the same
clips as MP3) and videos: MP3 files are reported as skipped, videos ignored.

Rater votes: when the release's processedResults/tabulatedVotes.csv is under the corpus folder,
utt2votes (`<utt> <class>:<count> ...`, the label graph's `votes` method) is written from its
vote columns A D F H N S (the codes ANG DIS FEA HAP NEU SAD), over the voice-only ratings: the
first column is 100000 x query type + clip number, query type 1 voice, 2 face, 3 audio-visual
(the release's tabulateVotesV2.r). Votes for a code the label map skips are left out.

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
from emogcn.data.datadir import read_map, write_map

CORPUS = "cremad"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emo>[A-Z]{3})_(?P<level>LO|MD|HI|XX)$", re.I)
SEX = {"male": "m", "female": "f"}
VOTE_CODES = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}  # tabulatedVotes columns
VOICE = 1  # query type of the audio-only ratings


def read_votes(path: Path, labels: LabelMap) -> dict[str, str]:
    """file stem (1001_DFA_ANG_XX) -> '<class>:<count> ...' from tabulatedVotes.csv's voice rows."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if "fileName" not in fields:
            raise CorpusError(f"{path}:1: missing column fileName")
        # the unnamed first column holds the query type; without it every row is taken
        query = fields[0] if fields[0] not in ("fileName", *VOTE_CODES) else None
        out: dict[str, str] = {}
        for n, row in enumerate(reader, start=2):
            if query is not None:
                try:
                    if int(float(row[query])) // 100000 != VOICE:
                        continue
                except (TypeError, ValueError):
                    raise CorpusError(f"{path}:{n}: first column '{row[query]}' is not a number") from None
            counts: dict[str, int] = {}
            for column, code in VOTE_CODES.items():
                value = (row.get(column) or "").strip()
                try:
                    count = int(float(value)) if value else 0
                except ValueError:
                    raise CorpusError(f"{path}:{n}: column {column} holds '{value}', not a count") from None
                label = labels.get(code)
                if count > 0 and label is not None:
                    counts[label] = counts.get(label, 0) + count
            if counts:
                out[row["fileName"].strip()] = " ".join(f"{c}:{k}" for c, k in sorted(counts.items()))
        return out


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
    votes_csv = find_file(root, "tabulatedVotes.csv")
    votes = read_votes(votes_csv, data.labels) if votes_csv else {}
    stem_utt: dict[str, str] = {}
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <actor 4 digits>_<sentence>_<emotion>_<LO|MD|HI|XX>")
            continue
        spk = f"{CORPUS}-{m['actor']}"
        utt = f"{spk}-{m['sentence']}-{m['emo']}-{m['level']}".lower()
        data.add(utt=utt, spk=spk, path=wav, code=m["emo"].upper(), lang="en", gender=sex.get(m["actor"]))
        stem_utt[wav.stem] = utt
    if votes_csv:
        data.note(f"rater votes (voice-only) from {votes_csv}")
    data.write(out)
    kept = read_map(out / "utt2spk")  # after write: only the utterances it kept
    utt2votes = {stem_utt[s]: v for s, v in votes.items() if stem_utt.get(s) in kept}
    if utt2votes:
        write_map(out / "utt2votes", utt2votes)
        print(f"{PROG}: utt2votes for {len(utt2votes)} of {len(kept)} utterances", file=sys.stderr)
    else:  # an earlier run's votes would no longer match
        (out / "utt2votes").unlink(missing_ok=True)
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
