#!/usr/bin/env python3
"""Data preparation for RAVDESS, speech subset (Livingstone & Russo, PLoS ONE 2018).

    python local/prepare_ravdess.py [--labels conf/emotions.yaml] [--folds-dir DIR] <ravdess-root> <data-dir>

Every field is in the FILE NAME, e.g. Actor_01/03-01-05-01-02-01-01.wav = modality 03 (audio
only), vocal channel 01 (speech), emotion 05 (angry), intensity 01 (normal), statement 02,
repetition 01, actor 01. Speakers ravdess-01 .. ravdess-24; odd actors are male, even female.
Utterance id ravdess-<actor>-<emotion>-<intensity>-<statement>-<repetition>. Language en.
Emotion 02 (calm) is kept as the shared class `calm`.

The actor folders (Actor_01/ ..) name the speaker too. The name comes first; where its actor is
not one of 01-24, an actor folder supplies it (reported); an actor folder that names another
actor than the name is a conflict, and the file is skipped and reported.

Skipped, each reported: song files (vocal channel 02: the song subset, another corpus in all
but name, often unpacked into the same folder) and files of a modality other than 03.

Folds (--folds-dir): 24 speakers, more than 12, so speaker groups of about four: 6 folds
(`--protocol groups --num-groups 6`), one dev speaker per fold. make_folds deals the sorted
actors round-robin, and with an even number of groups each test group is then all male or all
female (training always has both); `--num-groups 5` mixes them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, find_audio, name_or_folder,
                                run, write_folds)

CORPUS = "ravdess"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<modality>\d{2})-(?P<channel>\d{2})-(?P<emo>\d{2})-(?P<intensity>\d{2})-"
                  r"(?P<statement>\d{2})-(?P<rep>\d{2})-(?P<actor>\d{2})$")
ACTORS = tuple(f"{n:02d}" for n in range(1, 25))
# Only 'Actor_01' names actor 01: the bare numbers of Audio_Speech_Actors_01-24 name nobody.
ACTOR_FOLDERS = {f"actor_{a}": a for a in ACTORS}


def prepare_ravdess(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS), skips)
    actor_folders = FolderCodes("speaker", aliases=ACTOR_FOLDERS)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse",
                      "expected <modality>-<channel>-<emotion>-<intensity>-<statement>-<repetition>-<actor>")
            continue
        if m["channel"] == "02":
            skips.add(wav, "song (vocal channel 02), not the speech subset")
            continue
        if m["channel"] != "01":
            skips.add(wav, "vocal channel is neither 01 (speech) nor 02 (song)", f"channel {m['channel']}")
            continue
        if m["modality"] != "03":
            skips.add(wav, "modality is not 03 (audio-only)", f"modality {m['modality']}")
            continue
        actor = name_or_folder(wav, root, actor_folders, name_code=m["actor"] if m["actor"] in ACTORS else None,
                               name_text=m["actor"], skips=skips,
                               unknown=("unknown actor", f"actor {m['actor']}, not 01-24, and no Actor_<nn> folder"))
        if actor is None:
            continue
        spk = f"{CORPUS}-{actor.code}"
        data.add(utt=f"{spk}-{m['emo']}-{m['intensity']}-{m['statement']}-{m['rep']}", spk=spk, path=wav,
                 code=m["emo"], lang="en", gender="m" if int(actor.code) % 2 else "f", from_folder=(actor.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_ravdess(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
