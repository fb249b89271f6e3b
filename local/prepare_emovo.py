#!/usr/bin/env python3
"""Data preparation for EMOVO, Italian emotional speech (Costantini et al., LREC 2014).

    python local/prepare_emovo.py [--labels conf/emotions.yaml] [--folds-dir DIR] <emovo-root> <data-dir>

Six actors, f1 f2 f3 m1 m2 m3, each reading 14 sentences in seven emotions. Everything is in the
FILE NAME: f1/dis-f1-b1.wav = emotion dis (disgusto), speaker f1, sentence b1. Emotion codes are
Italian (neu, dis, gio, pau, rab, sor, tri). Speakers emovo-f1 ..; sex from the speaker's
letter; utterance id emovo-f1-dis-b1. Language it.

The speaker folders (f1/ ..) name the speaker too. The name comes first; where its speaker is
not one of the six, a speaker folder supplies it (reported); a speaker folder that names
another speaker than the name is a conflict, and the file is skipped and reported.

Folds (--folds-dir): leave-one-speaker-out, 6 folds (6 speakers), one dev speaker per fold.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, FolderCodes, LabelMap, Skips, argument_parser, find_audio, name_or_folder,
                                run, write_folds)

CORPUS = "emovo"
PROG = f"prepare_{CORPUS}"
# Any speaker field parses, so that a typo in it can be mended from the speaker folder.
NAME = re.compile(r"^(?P<emo>[a-z]{3})-(?P<spk>[a-z0-9]+)-(?P<sentence>[a-z]+\d+)$", re.I)
SPEAKERS = ("f1", "f2", "f3", "m1", "m2", "m3")


def prepare_emovo(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    data = CorpusData(CORPUS, LabelMap(labels_yaml, CORPUS, ignore_case=True), skips)
    speaker_folders = FolderCodes("speaker", SPEAKERS)
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <emotion>-<speaker f1..m3>-<sentence>")
            continue
        name_spk = m["spk"].lower()
        speaker = name_or_folder(wav, root, speaker_folders, name_code=name_spk if name_spk in SPEAKERS else None,
                                 name_text=m["spk"], skips=skips,
                                 unknown=("unknown speaker", f"'{m['spk']}', and no folder names one of "
                                                             f"{' '.join(SPEAKERS)}"))
        if speaker is None:
            continue
        spk = f"{CORPUS}-{speaker.code}"
        data.add(utt=f"{spk}-{m['emo'].lower()}-{m['sentence'].lower()}", spk=spk, path=wav, code=m["emo"],
                 lang="it", gender=speaker.code[0], from_folder=(speaker.note,))
    data.write(out)
    return data


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)

    def body() -> None:
        prepare_emovo(args.root, args.out, args.labels)
        if args.folds_dir:
            write_folds(args.out, args.folds_dir, PROG, args.protocol, args.num_groups, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
