#!/usr/bin/env python3
"""Data preparation for CK+48, the face-cropped form of the Extended Cohn-Kanade set (Lucey et
al., CVPR Workshops 2010): the last three frames of each of the 327 labelled posed sequences,
48x48 grayscale.

    python local/prepare_ckplus48.py [--labels conf/emotions.yaml] [--folds-dir DIR] [--num-groups 10]
                                     <ckplus48-root> <data-dir>

Layout: <class>/S<subject>_<sequence>_<frame>.png, e.g. anger/S010_004_00000017.png. The class is
the image's folder (anger, contempt, disgust, fear, happy, sadness, surprise, any case); subject,
sequence and frame come from the file name. The subject is the person, so it is the "speaker":
speaker ckplus48-s010, utterance id ckplus48-s010-004-00000017 (numbers re-padded to 3, 3 and 8
digits, so that ids sort alike whatever the padding of a copy). No dimensions: the `prior` graph.

Skipped, each reported: images outside a class folder, names that do not parse, a second copy of
a frame (duplicate id), and every image of a sequence found under more than one class folder (a
CK+ sequence has one label; which folder is right cannot be told from the files).

Folds (--folds-dir): subject-independent, --num-groups groups of subjects (10 by default, the
usual CK+ protocol), dealt round-robin over the sorted subjects (emogcn.data.folds.speaker_groups).
Fold k tests on group k, takes group k+1 (cyclically) as dev and trains on the rest, so every
subject is dev exactly once. (make_folds' dev, the subjects after the test group's last one,
would be nearly the same dozen subjects in every fold of round-robin groups, some folds' dev
without happy or surprise at all.) A sequence belongs to one subject, so the near-duplicate
frames of a sequence never straddle train, dev and test. --num-groups equal to the number of
subjects is leave-one-subject-out, the next subject as dev.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from emogcn.data.corpus import (CorpusData, CorpusError, LabelMap, Skips, argument_parser, clear_folds, find_images,
                                run, say)
from emogcn.data.datadir import read_map, subset_data_dir
from emogcn.data.folds import speaker_groups

CORPUS = "ckplus48"
PROG = f"prepare_{CORPUS}"
NAME = re.compile(r"^S(?P<subject>\d+)_(?P<sequence>\d+)_(?P<frame>\d+)$", re.I)
NUM_GROUPS = 10


def prepare_ckplus48(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips, media="img.scp")
    frames = []  # (image, folder class, subject, sequence, frame) of every image that parses
    for img in find_images(root, skips):
        folder = img.parent.name if img.parent != root else ""
        if labels.get(folder) is None:
            skips.add(img, "not in a class folder", f"folder '{folder}' is not in {labels_yaml} corpora.{CORPUS}")
            continue
        m = NAME.match(img.stem)
        if not m:
            skips.add(img, "name does not parse", "expected S<subject>_<sequence>_<frame>, e.g. S010_004_00000017")
            continue
        frames.append((img, folder, int(m["subject"]), int(m["sequence"]), int(m["frame"])))
    classes_of = defaultdict(set)
    for _, folder, subject, sequence, _ in frames:
        classes_of[subject, sequence].add(labels.get(folder))
    for img, folder, subject, sequence, frame in frames:
        if len(classes_of[subject, sequence]) > 1:
            skips.add(img, "sequence under more than one class folder",
                      f"S{subject:03d}_{sequence:03d} is in {', '.join(sorted(classes_of[subject, sequence]))}")
            continue
        spk = f"{CORPUS}-s{subject:03d}"
        data.add(utt=f"{spk}-{sequence:03d}-{frame:08d}", spk=spk, path=img, code=folder, lang=None)
    data.write(out)
    return data


def write_ckplus48_folds(data_dir: Path, folds_dir: Path, num_groups: int) -> None:
    """Fold k: test = subject group k, dev = group k+1 (cyclically), train = the other groups."""
    subjects = sorted(set(read_map(data_dir / "utt2spk").values()))
    if num_groups < 3:
        raise CorpusError(f"--num-groups {num_groups}: train, dev and test need 3 subject groups at least")
    groups = speaker_groups(subjects, "groups", num_groups)
    clear_folds(folds_dir, PROG)
    for k, test in enumerate(groups):
        dev = groups[(k + 1) % len(groups)]
        train = [s for g in groups if g is not test and g is not dev for s in g]
        for name, spks in (("train", train), ("dev", dev), ("test", test)):
            subset_data_dir(data_dir, folds_dir / f"fold{k + 1}" / name, spks=spks)
    say(PROG, f"wrote {len(groups)} fold(s) under {folds_dir}: {len(subjects)} subjects in {len(groups)} groups "
              f"(round-robin), test group k, dev group k+1, train the rest")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--num-groups", type=int, default=NUM_GROUPS,
                        help="subject groups, one fold each (default: %(default)s)")
    args = parser.parse_args(argv)

    def body() -> None:
        prepare_ckplus48(args.root, args.out, args.labels)
        if args.folds_dir:
            write_ckplus48_folds(args.out, args.folds_dir, args.num_groups)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
