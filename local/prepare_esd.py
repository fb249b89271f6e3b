#!/usr/bin/env python3
"""Data preparation for ESD, the Emotional Speech Dataset (Zhou et al., ICASSP 2021 / Speech Comm. 2022).

    python local/prepare_esd.py [--labels conf/emotions.yaml] [--folds-dir DIR] <esd-root> <data-dir>

20 speakers, 350 parallel sentences in five emotions each: 0001/Angry/0001_000351.wav. The
label is the emotion FOLDER (Angry, Happy, Neutral, Sad, Surprise, any case): the nearest folder
above the file with an emotion name, so the train/evaluation/test subfolders of some releases
(0001/Angry/train/...) are read too. The speaker is the name's prefix. The labels also listed in
<spk>/<spk>.txt are not read. Speakers 0001-0010 speak Mandarin (zh), 0011-0020 English (en).
The speaker folder (0001/ ..) names the speaker too: a name whose speaker number is outside
1-20 takes the speaker from its speaker folder, reported, and is skipped without one (no known
language); a speaker folder that names another speaker than the name is a conflict: skipped
and reported. Speakers esd-0001 ..; utterance id esd-0001-000351. Sex is not encoded.

Folds (--folds-dir): 20 speakers, so speaker groups of about four: 5 folds
(`--protocol groups --num-groups 5`; round-robin over the sorted ids puts two Mandarin and two
English speakers in each test group), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, find_audio, name_or_folder,
                                run, write_folds)

CORPUS = "esd"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^(?P<spk>\d{4})_(?P<num>\d+)$")
SPEAKERS = tuple(f"{n:04d}" for n in range(1, 21))


def language(speaker: int) -> str | None:
    if 1 <= speaker <= 10:
        return "zh"
    if 11 <= speaker <= 20:
        return "en"
    return None


def prepare_esd(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips)
    speaker_folders = FolderCodes("speaker", SPEAKERS)
    root = root.resolve()
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <speaker 4 digits>_<utterance number>")
            continue
        speaker = name_or_folder(wav, root, speaker_folders, name_code=m["spk"] if m["spk"] in SPEAKERS else None,
                                 name_text=m["spk"], skips=skips,
                                 unknown=("speaker number outside 0001-0020, language unknown",
                                          f"'{m['spk']}', and no folder names one of 0001-0020"))
        if speaker is None:
            continue
        lang = language(int(speaker.code))
        folders = wav.parent.relative_to(root).parts[::-1]  # nearest first, never above root
        emotion_folder = next((f for f in folders if labels.get(f)), None)
        if emotion_folder is None:
            skips.add(wav, "no emotion folder above the file", "expected <speaker>/<Emotion>/<file>")
            continue
        spk = f"{CORPUS}-{speaker.code}"
        data.add(utt=f"{spk}-{m['num']}", spk=spk, path=wav, code=emotion_folder, lang=lang,
                 from_folder=(speaker.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_esd(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
