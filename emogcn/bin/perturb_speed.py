"""Speed perturbation (Ko et al., Interspeech 2015), as Kaldi's perturb_data_dir_speed.sh does it.

    python -m emogcn.bin.perturb_speed audio <factor> <wav.scp value>     (writes WAV to stdout)

It resamples by the factor and keeps the sample rate (tempo and pitch change together, as sox's
`speed` does). It runs once per utterance as the wav.scp pipe of a copy that
utils/perturb_data_dir_speed.sh (python -m emogcn.bin.perturb_data_dir copy) writes; combine the
copies with utils/combine_data.sh (factors 0.9 1.0 1.1).
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("audio")
    p.add_argument("factor", type=float)
    p.add_argument("spec")
    args = parser.parse_args(argv)
    # once per utterance in a wav.scp pipe: numpy and soundfile only, no torch (emogcn/features/audio.py)
    from emogcn.features.audio import speed_perturbed, wav_bytes

    with ErrorExit("perturb_speed audio", (ValueError, OSError)) as run:
        sys.stdout.buffer.write(wav_bytes(*speed_perturbed(args.factor, args.spec)))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
