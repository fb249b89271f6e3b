"""Additive noise and reverberation for data augmentation (emogcn/features/corrupt.py), as Kaldi's
reverberate_data_dir.py adds them, from noise and room responses generated here:

    python -m emogcn.bin.corrupt_audio audio noise|reverb <value> <seed> <wav.scp value>   (WAV to stdout)

<value>: the SNR in dB (noise) or the reverberation time RT60 in seconds (reverb). It runs once per
utterance as the wav.scp pipe of a copy that `python -m emogcn.bin.perturb_data_dir copy noise10 ...`
writes (the seed is the utterance id's CRC: a copy made again is the same).
"""

from __future__ import annotations

import argparse
import sys

from emogcn.bin import ErrorExit

KINDS = ("noise", "reverb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("audio")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("value", type=float)
    p.add_argument("seed", type=int)
    p.add_argument("spec")
    args = parser.parse_args(argv)
    # once per utterance in a wav.scp pipe: numpy and soundfile only, no torch
    from emogcn.features.audio import corrupted, wav_bytes

    with ErrorExit("corrupt_audio audio", (ValueError, OSError)) as run:
        sys.stdout.buffer.write(wav_bytes(*corrupted(args.kind, args.value, args.seed, args.spec)))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
