#!/usr/bin/env python3
"""Data preparation for MSP-Podcast (Lotfian & Busso, IEEE Trans. Affective Computing 2019).

    python local/prepare_msppodcast.py [--labels conf/emotions.yaml] [--consensus-csv FILE]
                                       [--folds-dir DIR] <msppodcast-root> <data-dir>

English podcast segments. Labels from Labels/labels_consensus.csv (found anywhere under the
root, any case, or given with --consensus-csv), one row per file: FileName, EmoClass,
EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set. Audio: Audios/<FileName> (older releases:
Audio/), found by file name anywhere under the root.

EmoClass A S H U F D C N maps through conf/emotions.yaml; O (other) and X (no agreement) are
skipped, each counted. utt2va holds valence, arousal (EmoAct), dominance, scaled (x - 4) / 3
from 1-7 to [-1, 1]. spk2gender from Gender (Male/Female; otherwise 'u').

Speakers: a known SpkrID gives msppodcast-<id, 4 digits>; utterance id msppodcast-0127-
msp-podcast_0001_0008. Many rows have SpkrID 'Unknown'. Pooling them as one speaker would
make a giant false speaker (per-speaker CMVN would mix thousands of voices), so each such
utterance is its own speaker, as Kaldi does when the speaker is unknown: speaker = utterance =
msppodcast-unknown-msp-podcast_0001_0008. Per-speaker CMVN is then per-utterance for them.

Folds (--folds-dir): the official split, not speaker folds: fold1/train = Train,
fold1/dev = Development, fold1/test = Test1. Other Split_Set values (Test2, ...) stay in the
data directory but in no fold set; their counts are printed.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

from emogcn.data.corpus import (CorpusData, CorpusError, LabelMap, Skips, argument_parser, clear_folds, find_audio,
                                find_file, run, say, write_fold_sets)

CORPUS = "msppodcast"
PROG = f"prepare_{CORPUS}"
COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Split_Set")
NOT_EMOTIONS = {"O": "EmoClass O (other)", "X": "EmoClass X (no agreement)"}
GENDER = {"male": "m", "female": "f"}
# Official split -> fold set.
FOLD_SETS = {"Train": "train", "Development": "dev", "Test1": "test"}


def scale(x: float) -> float:
    """A 1-7 rating to [-1, 1]."""
    return (x - 4.0) / 3.0


def read_consensus(path: Path) -> dict[str, dict[str, str]]:
    """FileName without extension -> row; a missing column or a repeated FileName is an error
    naming the line."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}:1: missing column(s) {', '.join(missing)}")
        rows: dict[str, dict[str, str]] = {}
        for row in reader:
            name = Path((row["FileName"] or "").strip()).stem
            if name in rows:
                raise CorpusError(f"{path}:{reader.line_num}: FileName '{name}' is repeated")
            rows[name] = {k: (v or "").strip() for k, v in row.items() if k is not None}
    return rows


def utterance_ids(spkr: str, stem: str) -> tuple[str, str]:
    """(utterance id, speaker id) of file `stem` (lower case) by SpkrID `spkr`."""
    known = re.sub(r"[^a-z0-9]", "", spkr.lower())
    if not known or known == "unknown":
        unknown = f"{CORPUS}-unknown-{stem}"  # its own speaker: see the module docstring
        return unknown, unknown
    spk = f"{CORPUS}-{int(known):04d}" if known.isdigit() else f"{CORPUS}-{known}"
    return f"{spk}-{stem}", spk


def prepare_msppodcast(root: Path, out: Path, labels_yaml: Path, consensus: Path | None = None) -> dict[str, str]:
    """Writes the data directory; returns each utterance's Split_Set."""
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips)
    consensus = consensus or find_file(root, "labels_consensus.csv")
    if consensus is None:
        raise CorpusError(f"{root}: no Labels/labels_consensus.csv; give it with --consensus-csv")
    rows = read_consensus(consensus)
    splits: dict[str, str] = {}
    seen = set()
    for wav in find_audio(root, skips):
        row = rows.get(wav.stem)
        if row is None:
            skips.add(wav, f"not in {consensus.name}")
            continue
        if wav.stem in seen:
            skips.add(wav, "duplicate file name", "a file of this name was already read")
            continue
        seen.add(wav.stem)
        code = row["EmoClass"].upper()
        if code in NOT_EMOTIONS:
            skips.add(wav, NOT_EMOTIONS[code])
            continue
        try:
            va = (scale(float(row["EmoVal"])), scale(float(row["EmoAct"])), scale(float(row["EmoDom"])))
        except ValueError:
            skips.add(wav, "EmoVal/EmoAct/EmoDom not numbers", f"{row['EmoVal']!r} {row['EmoAct']!r} {row['EmoDom']!r}")
            continue
        utt, spk = utterance_ids(row["SpkrID"], wav.stem.lower())
        if data.add(utt=utt, spk=spk, path=wav, code=code, lang="en",
                    gender=GENDER.get(row.get("Gender", "").lower()), va=va):
            splits[utt] = row["Split_Set"]
    missing = len(set(rows) - seen)
    if missing:
        data.note(f"{missing} row(s) of {consensus} have no audio under {root}")
    data.note("per split: " + " ".join(f"{k or '(none)'}={v}" for k, v in sorted(Counter(splits.values()).items())))
    data.write(out)
    return splits


def write_official_fold(splits: dict[str, str], out: Path, folds_dir: Path) -> None:
    clear_folds(folds_dir, PROG)
    sets = {name: [u for u, s in splits.items() if s == split] for split, name in FOLD_SETS.items()}
    write_fold_sets(out, folds_dir / "fold1", sets)
    say(PROG, f"wrote the official split under {folds_dir}/fold1: "
              + " ".join(f"{name}={len(utts)}" for name, utts in sets.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--consensus-csv", type=Path, help="labels_consensus.csv (default: found under the root)")
    args = parser.parse_args(argv)

    def body() -> None:
        splits = prepare_msppodcast(args.root, args.out, args.labels, args.consensus_csv)
        if args.folds_dir:
            write_official_fold(splits, args.out, args.folds_dir)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
