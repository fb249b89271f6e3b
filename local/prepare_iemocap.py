#!/usr/bin/env python3
"""Data preparation for IEMOCAP (Busso et al., Language Resources and Evaluation 2008).

    python local/prepare_iemocap.py [--labels conf/emotions.yaml] [--no-four-class] [--folds-dir DIR]
                                    [--num-dev-speakers 1] <iemocap-root> <data-dir>

Five sessions, each a dyad of one woman and one man. Audio: Session1/sentences/wav/<dialog>/
<utt>.wav. Labels: Session*/dialog/EmoEvaluation/*.txt, one line per utterance
`[start - end]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[V, A, D]` with the majority label and mean
valence, activation and dominance on 1-5 (the evaluators' own files in the subfolders of
EmoEvaluation are not read). The utterance's speaker is the LAST field's letter (F000 = the
woman of session 1), not the letter after the session, which tells whose motion was captured.
Speakers iemocap-ses01f .. iemocap-ses05m; utterance id iemocap-ses01f-ses01f_impro01_f000.
utt2va holds valence, arousal (activation), dominance, scaled (x - 3) / 2 to [-1, 1].
Language en.

Labels: by default the four-class set of common practice: neutral, anger, sadness, and
happiness with excited (exc) merged into it (conf/emotions.yaml maps exc to happiness).
--no-four-class keeps fear, surprise and disgust too. Always skipped, each counted: xxx (no
majority), oth (other), and fru (frustrated, which has no shared class). Whole-dialog
recordings (dialog/wav/Ses01F_impro01.wav) are not utterances and are reported as skipped.

Folds (--folds-dir): leave-one-session-out, 5 folds; each tests one session's two speakers;
dev is the speaker(s) after them in sorted order (the next session's woman by default), never
a test speaker.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from emogcn.data.corpus import (CorpusData, CorpusError, LabelMap, Skips, argument_parser, find_audio, run, walk_files,
                                write_group_folds)
from emogcn.data.datadir import read_map

CORPUS = "iemocap"
PROG = f"prepare_{CORPUS}"
UTT = re.compile(r"^Ses(?P<session>\d{2})[FM]_\S*_(?P<gender>[FM])\d+$")
LABEL_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(?P<utt>Ses\S+)\s+(?P<emo>\S+)\s+"
                        r"\[\s*(?P<v>[^,\]]+),\s*(?P<a>[^,\]]+),\s*(?P<d>[^,\]]+)\]\s*$")
# Not emotions: no majority among the evaluators, and 'other'.
NOT_EMOTIONS = {"xxx": "no majority label (xxx)", "oth": "label 'other' (oth)"}


def scale(x: float) -> float:
    """A 1-5 rating to [-1, 1]."""
    return (x - 3.0) / 2.0


def read_labels(root: Path) -> dict[str, tuple[str, tuple[float, float, float]]]:
    """utterance name -> (label code, (valence, arousal, dominance) on 1-5) from every
    EmoEvaluation/*.txt; a malformed label line is an error naming the file and line."""
    labels: dict[str, tuple[str, tuple[float, float, float]]] = {}
    files = [p for p in walk_files(root) if p.suffix.lower() == ".txt" and p.parent.name.lower() == "emoevaluation"
             and not p.name.startswith("._")]
    if not files:
        raise CorpusError(f"{root}: no label files (Session*/dialog/EmoEvaluation/*.txt)")
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if not line.startswith("["):
                continue  # headers, evaluator lines (C-E1: ...), blank lines
            m = LABEL_LINE.match(line.strip())
            if not m:
                raise CorpusError(f"{path}:{lineno}: not a label line `[start - end] utt label [V, A, D]`")
            try:
                vad = (float(m["v"]), float(m["a"]), float(m["d"]))
            except ValueError:
                raise CorpusError(f"{path}:{lineno}: valence/activation/dominance are not numbers") from None
            labels.setdefault(m["utt"], (m["emo"].lower(), vad))
    return labels


def prepare_iemocap(root: Path, out: Path, labels_yaml: Path, four_class: bool = True) -> CorpusData:
    skips = Skips(PROG)
    label_map = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, label_map, skips)
    labels = read_labels(root)
    seen = set()
    for wav in find_audio(root, skips):
        m = UTT.match(wav.stem)
        if not m:
            skips.add(wav, "not an utterance recording",
                      "expected Ses<NN><F|M>_<dialog>_<F|M><number>; whole dialogs are in dialog/wav")
            continue
        if wav.stem not in labels:
            skips.add(wav, "no label in EmoEvaluation")
            continue
        seen.add(wav.stem)
        code, vad = labels[wav.stem]
        if code in NOT_EMOTIONS:
            skips.add(wav, NOT_EMOTIONS[code])
            continue
        emotion = label_map.get(code)
        if emotion is None:
            skips.add(wav, "emotion code not in the label map", label_map.unknown_reason(code))
            continue
        if four_class and emotion not in label_map.four_class:
            skips.add(wav, "not in the four-class set", f"'{code}' ({emotion}); --no-four-class keeps it")
            continue
        gender = m["gender"].lower()
        spk = f"{CORPUS}-ses{m['session']}{gender}"
        data.add_label(utt=f"{spk}-{wav.stem.lower()}", spk=spk, path=wav, emotion=emotion, lang="en",
                       gender=gender, va=tuple(scale(x) for x in vad))
    unmatched = len(set(labels) - seen)
    if unmatched:
        data.note(f"{unmatched} labelled utterance(s) have no audio under {root}")
    data.write(out)
    return data


def write_session_folds(data_dir: Path, folds_dir: Path, num_dev_speakers: int) -> None:
    """One fold per session: test = that session's speakers (iemocap-ses<NN><f|m>)."""
    sessions: dict[str, list[str]] = defaultdict(list)
    for spk in sorted(set(read_map(data_dir / "utt2spk").values())):
        sessions[spk[:-1]].append(spk)
    if len(sessions) < 3:
        raise CorpusError(f"{data_dir}: leave-one-session-out needs at least 3 sessions, found {len(sessions)}")
    write_group_folds(data_dir, folds_dir, PROG, [sessions[s] for s in sorted(sessions)], num_dev_speakers)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--four-class", action=argparse.BooleanOptionalAction, default=True,
                        help="keep only neutral/anger/sadness/happiness(+excited) (default: yes)")
    parser.add_argument("--num-dev-speakers", type=int, default=1, help="dev speakers per fold (default: 1)")
    args = parser.parse_args(argv)

    def body() -> None:
        prepare_iemocap(args.root, args.out, args.labels, args.four_class)
        if args.folds_dir:
            write_session_folds(args.out, args.folds_dir, args.num_dev_speakers)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
