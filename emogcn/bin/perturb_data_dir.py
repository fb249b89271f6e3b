"""Perturbed copies of a data directory for training: speed (Ko et al., Interspeech 2015), additive
noise and reverberation (as Kaldi's perturb_data_dir_speed.sh and reverberate_data_dir.py make them).

    python -m emogcn.bin.perturb_data_dir copy [--speed-only] <token> <src-data-dir> <dest-data-dir>
    python -m emogcn.bin.perturb_data_dir names [--speed-perturb 'TOKENS'] [--augment 'TOKENS']
    python -m emogcn.bin.perturb_data_dir unperturbed <src-data-dir> <dest-data-dir>

<token>: a speed factor (0.9), noise<SNR dB> (noise10) or reverb<RT60 s> (reverb0.5), as the
recipes' --speed-perturb and --augment take them. `copy` writes a copy whose utterance and speaker
ids are prefixed with the copy's name (sp0.9-, noise10-, reverb0.5-) and whose wav.scp entries are
pipes through `perturb_speed audio` or `corrupt_audio audio` (seeded by each utterance id, so a
copy made again is the same), so that stage 1 reads the perturbed audio; labels, languages and
dimensions are carried, durations divided by a speed factor. `names` checks a recipe's options and
prints "<token> <copy name>" a line each: the recipes name their copies data/all_<copy name>.
`unperturbed` copies a set without its perturbed copies (a training set with them, for the
classic baseline, which trains on the audio as recorded).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit


def copy_names(speed_perturb: list[str], augment: list[str]) -> list[tuple[str, str]]:
    """(token, copy name) of every token of the two options; a token of the wrong option is an error."""
    from emogcn.data.datadir import perturbation_name, perturbation_of

    pairs = []
    for option, tokens, kinds in (("--speed-perturb", speed_perturb, ("speed",)),
                                  ("--augment", augment, ("noise", "reverb"))):
        for token in tokens:
            try:
                kind, value = perturbation_of(token, kinds)
            except ValueError as e:
                raise ValueError(f"{option} {e}") from None
            pairs.append((token, perturbation_name(kind, value)))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("copy")
    p.add_argument("--speed-only", action="store_true", help="refuse noise and reverberation tokens")
    p.add_argument("token")
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    p = sub.add_parser("unperturbed")
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    p = sub.add_parser("names")
    p.add_argument("--speed-perturb", default="")
    p.add_argument("--augment", default="")
    args = parser.parse_args(argv)
    from emogcn.data.datadir import (PERTURBATIONS, DataDirError, is_perturbed, perturb_data_dir, perturbation_of,
                                     read_map, subset_data_dir)

    with ErrorExit(f"perturb_data_dir {args.cmd}", (DataDirError, ValueError, OSError)) as run:
        if args.cmd == "names":
            for token, name in copy_names(args.speed_perturb.split(), args.augment.split()):
                print(token, name)
            return 0
        if args.cmd == "unperturbed":
            utts = [u for u in read_map(args.src / "utt2spk") if not is_perturbed(u)]
            n = subset_data_dir(args.src, args.dest, utts=utts)
            print(f"perturb_data_dir: {args.dest}: {n} unperturbed utterances of {args.src}", file=sys.stderr)
            return 0
        kind, value = perturbation_of(args.token, ("speed",) if args.speed_only else tuple(PERTURBATIONS))
        n, left = perturb_data_dir(value, args.src, args.dest, kind=kind)
        if left:
            print(f"perturb_data_dir: not carried to {args.dest}: {', '.join(left)}", file=sys.stderr)
        print(f"perturb_data_dir: {args.dest}: {n} utterances, {kind} {value:g}", file=sys.stderr)
    return run.status


if __name__ == "__main__":
    sys.exit(main())
