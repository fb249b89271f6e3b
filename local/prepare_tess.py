#!/usr/bin/env python3
"""Data preparation for TESS, the Toronto Emotional Speech Set (Pichora-Fuller & Dupuis, 2020).

    python local/prepare_tess.py [--labels conf/emotions.yaml] [--folds-dir DIR] <tess-root> <data-dir>

Two actresses, OAF (older) and YAF (younger), each say 200 target words ("Say the word _") in
seven emotions. Everything is in the FILE NAME: OAF_back_angry.wav = speaker OAF, word back,
emotion angry; ps is pleasant surprise (shared class `surprise`). Speakers tess-oaf and
tess-yaf, both female; utterance id tess-oaf-back-angry. Language en.

The folders name speaker and emotion too, in a case that varies between releases (OAF_angry,
OAF_Fear, OAF_Pleasant_surprise, YAF_pleasant_surprised, ...). The name comes first; the
folders serve where its speaker or emotion is not a known one: the release holds
OAF_neutral/OA_bite_neutral.wav, taken as OAF's 'bite' in neutral (and reported so), which
makes the 2800 files. A folder that names another speaker or emotion than the name is a
conflict: the file is skipped and reported. Some copies nest the whole set twice: a second copy
of a file is reported as a duplicate.

Folds (--folds-dir): with two speakers, make_folds' speaker-independent folds (train, dev and
test speakers all different) are impossible. TESS gets two folds instead, each testing on one
speaker and training on the other; the dev set is carved from the TRAINING speaker by word:
every tenth of her words in sorted order, all seven emotions of each, so dev never shares a
speaker with test and never shares a word with train.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, CorpusError, FolderCodes, LabelMap, Skips, clear_folds, argument_parser,
                                emotion_of, find_audio, name_or_folder, run, say, write_fold_sets)
from emogcn.data.datadir import read_map

CORPUS = "tess"
PROG = f"prepare_{CORPUS}"
# Any speaker field parses, so that a typo in it (OA_bite_neutral) can be mended from the folder.
NAME = re.compile(r"^(?P<spk>[A-Za-z]+)_(?P<word>[A-Za-z]+)_(?P<emo>[A-Za-z]+)$")
SPEAKERS = ("OAF", "YAF")
# Emotion folders that do not spell the name's code.
EMOTION_FOLDER_ALIASES = {"pleasant_surprise": "ps", "pleasant_surprised": "ps"}
DEV_WORD_EVERY = 10


def prepare_tess(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips)
    speaker_folders = FolderCodes("speaker", SPEAKERS)
    emotion_folders = FolderCodes("emotion", labels.codes,
                                  {w: c for w, c in EMOTION_FOLDER_ALIASES.items() if labels.get(c)})
    for wav in find_audio(root, skips):
        m = NAME.match(wav.stem)
        if not m:
            skips.add(wav, "name does not parse", "expected <OAF|YAF>_<word>_<emotion>")
            continue
        name_spk = m["spk"].upper()
        speaker = name_or_folder(wav, root, speaker_folders, name_code=name_spk if name_spk in SPEAKERS else None,
                                 name_text=m["spk"], skips=skips,
                                 unknown=("unknown speaker", f"'{m['spk']}', and no folder names OAF or YAF"))
        if speaker is None:
            continue
        emotion = emotion_of(wav, root, emotion_folders, labels, m["emo"], skips)
        if emotion is None:
            continue
        spk = f"{CORPUS}-{speaker.code.lower()}"
        data.add(utt=f"{spk}-{m['word'].lower()}-{emotion.code.lower()}", spk=spk, path=wav, code=emotion.code,
                 lang="en", gender="f", from_folder=(speaker.note, emotion.note))
    data.write(out)
    return data


def write_tess_folds(data_dir: Path, folds_dir: Path) -> None:
    """Fold k tests on speaker k and trains on the other, whose every tenth word is dev."""
    utt2spk = read_map(data_dir / "utt2spk")
    speakers = sorted(set(utt2spk.values()))
    if len(speakers) != 2:
        raise CorpusError(f"{data_dir}: TESS folds need its two speakers, found {len(speakers)}")
    clear_folds(folds_dir, PROG)
    for k, test_spk in enumerate(speakers, start=1):
        train_spk = next(s for s in speakers if s != test_spk)
        # utt = tess-<spk>-<word>-<emotion>; the word is the third field.
        words = sorted({u.split("-")[2] for u, s in utt2spk.items() if s == train_spk})
        dev_words = set(words[::DEV_WORD_EVERY])
        train_side = [u for u, s in utt2spk.items() if s == train_spk]
        write_fold_sets(data_dir, folds_dir / f"fold{k}", {
            "train": [u for u in train_side if u.split("-")[2] not in dev_words],
            "dev": [u for u in train_side if u.split("-")[2] in dev_words],
            "test": [u for u, s in utt2spk.items() if s == test_spk],
        })
    say(PROG, f"wrote 2 folds under {folds_dir}: test one speaker, train the other, dev every "
              f"{DEV_WORD_EVERY}th word of the training speaker")


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__, protocol_options=False).parse_args(argv)

    def body() -> None:
        prepare_tess(args.root, args.out, args.labels)
        if args.folds_dir:
            write_tess_folds(args.out, args.folds_dir)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
