#!/usr/bin/env python3
"""Data preparation for FER2013, the common image-folder release (Goodfellow et al., ICONIP 2013).

    python local/prepare_fer2013.py [--labels conf/emotions.yaml] [--folds-dir DIR] [--dev-every 10]
                                    <fer2013-root> <data-dir>

Layout: <split>/<class>/<name>.jpg with split `train` or `test` (any case; PublicTest/PrivateTest
folders of other releases count as test) and class angry, disgust, fear, happy, neutral, sad,
surprise (any case): 48x48 grayscale faces, already cropped. Utterance id
fer2013-<split>-<class>-<name>; there are no speakers, so each image is its own "speaker" (Kaldi's
convention for unknown speakers). No dimensions: the graph is the `prior` one.

Folds (--folds-dir): one fold, the release's split: fold1/test = test; fold1/dev = every
--dev-every'th training image of each class (sorted by name), fold1/train = the rest.
Skipped, each reported: images outside a train/test split folder or a class folder.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from emogcn.data.corpus import (CorpusData, LabelMap, Skips, argument_parser, find_images, run, say,
                                write_fold_sets)

CORPUS = "fer2013"
PROG = f"prepare_{CORPUS}"
SPLITS = {"train": "train", "training": "train", "test": "test", "publictest": "test", "privatetest": "test"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


def prepare_fer2013(root: Path, out: Path, labels_yaml: Path) -> CorpusData:
    skips = Skips(PROG)
    labels = LabelMap(labels_yaml, CORPUS, ignore_case=True)
    data = CorpusData(CORPUS, labels, skips, media="img.scp")
    for img in find_images(root, skips):
        parts = [p.lower() for p in img.relative_to(root).parts[:-1]]
        split = next((SPLITS[p] for p in parts if p in SPLITS), None)
        cls = parts[-1] if parts else ""
        if split is None:
            skips.add(img, "not under a train or test folder")
            continue
        if labels.get(cls) is None:
            skips.add(img, "not in a class folder", f"folder '{cls}' is not in {labels_yaml} corpora.{CORPUS}")
            continue
        utt = f"{CORPUS}-{split}-{cls}-{_UNSAFE.sub('_', img.stem)}"
        data.add(utt=utt, spk=utt, path=img, code=cls, lang=None)
    data.write(out)
    return data


def write_fer_folds(data: CorpusData, folds_dir: Path, out: Path, dev_every: int) -> None:
    train = sorted(u for u in data.utts if u.split("-")[1] == "train")
    test = sorted(u for u in data.utts if u.split("-")[1] == "test")
    dev = []
    for cls in sorted({data.utts[u].emotion for u in train}):
        of_class = [u for u in train if data.utts[u].emotion == cls]
        dev += of_class[dev_every - 1::dev_every]
    dev_set = set(dev)
    write_fold_sets(out, folds_dir / "fold1", {"train": [u for u in train if u not in dev_set], "dev": dev,
                                              "test": test})
    say(PROG, f"wrote fold1 under {folds_dir}: train {len(train) - len(dev)}, dev {len(dev)} (every "
              f"{dev_every}th training image of each class), test {len(test)}")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, protocol_options=False)
    parser.add_argument("--dev-every", type=int, default=10, help="every n-th training image is dev (default 10)")
    args = parser.parse_args(argv)

    def body() -> None:
        data = prepare_fer2013(args.root, args.out, args.labels)
        if args.folds_dir:
            write_fer_folds(data, args.folds_dir, args.out, args.dev_every)

    return run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
