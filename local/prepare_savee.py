#!/usr/bin/env python3
"""Data preparation for SAVEE, Surrey Audio-Visual Expressed Emotion (Haq & Jackson, 2009).

    python local/prepare_savee.py [--labels conf/emotions.yaml] [--folds-dir DIR] <savee-root> <data-dir>

Four male speakers, DC, JE, JK and KL. Releases differ in layout: the original has the speaker
as a folder, AudioData/DC/a01.wav; repackaged copies put it in the name, DC_a01.wav. Both are
read: the speaker comes from the name when it holds one, else from the speaker folder. A name
whose speaker is not one of the four takes it from the speaker folder, reported; a speaker
folder that names another speaker than the name is a conflict: skipped and reported. The
emotion is the name's letter prefix; 'sa' (sadness) and 'su' (surprise) are matched before the
single letters a, d, f, h, n. Speakers savee-dc ..; utterance id savee-dc-sa01. Language en.
Both layouts in one folder give each utterance twice: the second copy is reported as a duplicate.

Folds (--folds-dir): leave-one-speaker-out, 4 folds (4 speakers), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, find_audio, name_or_folder,
                                run, write_folds)

CORPUS = "savee"
PROG = f"prepare_{CORPUS}"
# Two-letter codes first: 'sa01' must not parse as 'a' after a stray 's'.
NAME = re.compile(r"^(?:(?P<spk>[A-Za-z]{2})_)?(?P<emo>sa|su|a|d|f|h|n)(?P<num>\d{2})$", re.I)
SPEAKERS = ("dc", "je", "jk", "kl")


def prepare_savee(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    speaker_folders = FolderCodes("speaker", SPEAKERS)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected [<speaker>_]<a|d|f|h|n|sa|su><2 digits>")
            continue
        name_spk = (m["spk"] or "").lower()
        where = f"'{m['spk']}' in the name" if m["spk"] else "no speaker in the name"
        speaker = name_or_folder(wav, root, speaker_folders, name_code=name_spk if name_spk in SPEAKERS else None,
                                 name_text=m["spk"], skips=skips,
                                 unknown=("unknown speaker", f"{where}, and no folder names one of "
                                                             f"{' '.join(s.upper() for s in SPEAKERS)}"))
        if speaker is None:
            continue
        spk = f"{CORPUS}-{speaker.code}"
        data.add(utt=f"{spk}-{m['emo'].lower()}{m['num']}", spk=spk, path=wav, code=m["emo"], lang="en", gender="m",
                 from_folder=(speaker.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_savee(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
