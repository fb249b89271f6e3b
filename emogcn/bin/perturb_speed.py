"""Speed perturbation (Ko et al., Interspeech 2015), as Kaldi's perturb_data_dir_speed.sh does it.

    python -m emogcn.bin.perturb_speed dir <factor> <src-data-dir> <dest-data-dir>
    python -m emogcn.bin.perturb_speed audio <factor> <wav.scp value>     (writes WAV to stdout)

`dir` writes a copy of a data directory whose utterance and speaker ids are prefixed with
sp<factor>- and whose wav.scp entries are pipes through `audio`, so that stage 1 reads the
perturbed audio; labels, languages and dimensions are carried, durations divided by the factor.
`audio` resamples by the factor and keeps the sample rate (tempo and pitch change together, as
sox's `speed` does). Combine the copies with utils/combine_data.sh (factors 0.9 1.0 1.1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("dir")
    p.add_argument("factor", type=float)
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    p = sub.add_parser("audio")
    p.add_argument("factor", type=float)
    p.add_argument("spec")
    args = parser.parse_args(argv)
    # Each subcommand imports only what it needs: `audio` runs once per utterance as a wav.scp pipe
    # and imports numpy and soundfile, no torch (emogcn/features/audio.py).
    if args.cmd == "dir":
        from emogcn.data.datadir import DataDirError, perturb_data_dir

        with ErrorExit("perturb_speed dir", (DataDirError, ValueError, OSError)) as run:
            n, left = perturb_data_dir(args.factor, args.src, args.dest)
            if left:
                print(f"perturb_speed: not carried to {args.dest}: {', '.join(left)}", file=sys.stderr)
            print(f"perturb_speed: {args.dest}: {n} utterances at speed {args.factor:g}", file=sys.stderr)
        return run.status
    from emogcn.features.audio import perturb_audio

    with ErrorExit("perturb_speed audio", (ValueError, OSError)) as run:
        sys.stdout.buffer.write(perturb_audio(args.factor, args.spec))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
