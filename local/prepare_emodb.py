#!/usr/bin/env python3
"""Data preparation for EmoDB (Burkhardt et al., Interspeech 2005): writes a data directory.

    python local/prepare_emodb.py [--labels conf/emotions.yaml] <emodb-root> <data-dir>

The corpus is found by walking <emodb-root> for *.wav in any folder and any case. Speaker,
text and emotion come from the FILE NAME, e.g. 03a01Fa.wav = speaker 03, text a01, emotion F
(Freude), version a. Files whose names do not parse are skipped, each reported with the reason.
Audio is not read here: stage 1 reads it and counts what cannot be read.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from emogcn.data.datadir import spk2utt_from_utt2spk, write_map
from emogcn.data.labels import corpus_label_map

NAME = re.compile(r"^(?P<spk>\d{2})(?P<text>[ab]\d{2})(?P<emo>[A-Z])(?P<version>[a-z])$")
# Sex of the ten actors, from the corpus documentation (erklaerung.txt / the EmoDB paper).
GENDER = {"03": "m", "08": "f", "09": "f", "10": "m", "11": "m", "12": "m", "13": "f", "14": "f", "15": "m", "16": "f"}


def prepare_emodb(root: Path, out: Path, labels_yaml: Path) -> dict[str, int]:
    label_map = corpus_label_map(labels_yaml, "emodb")
    wavs = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")
    if not wavs:
        raise SystemExit(f"prepare_emodb: no .wav files under {root}")
    files: dict[str, dict[str, str]] = {n: {} for n in ("wav.scp", "utt2spk", "utt2emo", "utt2lang", "utt2corpus")}
    skipped: list[tuple[Path, str]] = []
    for wav in wavs:
        m = NAME.match(wav.stem)
        if not m:
            skipped.append((wav, "name is not <speaker 2 digits><text a01..b10><emotion letter><version>"))
            continue
        if m["emo"] not in label_map:
            skipped.append((wav, f"emotion letter '{m['emo']}' is not in conf/emotions.yaml corpora.emodb"))
            continue
        spk = f"emodb-{m['spk']}"
        utt = f"{spk}-{m['text']}{m['emo']}{m['version']}"
        if utt in files["utt2spk"]:
            skipped.append((wav, f"duplicate of {files['wav.scp'][utt]}"))
            continue
        files["wav.scp"][utt] = str(wav.resolve())
        files["utt2spk"][utt] = spk
        files["utt2emo"][utt] = label_map[m["emo"]]
        files["utt2lang"][utt] = "de"
        files["utt2corpus"][utt] = "emodb"
    for wav, reason in skipped:
        print(f"prepare_emodb: skipped {wav}: {reason}", file=sys.stderr)
    if not files["utt2spk"]:
        raise SystemExit(f"prepare_emodb: no usable files under {root} ({len(skipped)} skipped)")
    out.mkdir(parents=True, exist_ok=True)
    for name, mapping in files.items():
        write_map(out / name, mapping)
    speakers = sorted(set(files["utt2spk"].values()))
    write_map(out / "spk2gender", {s: GENDER.get(s.split("-")[1], "u") for s in speakers})
    write_map(out / "spk2utt", spk2utt_from_utt2spk(files["utt2spk"]))  # last: marks the dir complete
    per_class = Counter(files["utt2emo"].values())
    per_spk = Counter(files["utt2spk"].values())
    print(f"prepare_emodb: {len(files['utt2spk'])} utterances, {len(speakers)} speakers, {len(skipped)} skipped",
          file=sys.stderr)
    print("prepare_emodb: per class: " + " ".join(f"{k}={v}" for k, v in sorted(per_class.items())), file=sys.stderr)
    print("prepare_emodb: per speaker: " + " ".join(f"{k}={v}" for k, v in sorted(per_spk.items())), file=sys.stderr)
    return dict(per_class)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=Path("conf/emotions.yaml"))
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    prepare_emodb(args.root, args.out, args.labels)


if __name__ == "__main__":
    main()
