"""Additive noise and reverberation for data augmentation (emogcn/features/corrupt.py), as Kaldi's
reverberate_data_dir.py adds them, from noise and room responses generated here:

    python -m emogcn.bin.corrupt_audio audio noise|reverb <value> <seed> <wav.scp value>   (WAV to stdout)

<value>: the SNR in dB (noise) or the reverberation time RT60 in seconds (reverb). It runs once per
utterance as the wav.scp pipe of a copy that `python -m emogcn.bin.perturb_data_dir copy noise10 ...`
writes (the seed is the utterance id's CRC: a copy made again is the same).
"""

from __future__ import annotations

import argparse
import io
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
    import numpy as np
    import soundfile as sf

    from emogcn.features.audio import decode_audio
    from emogcn.features.corrupt import add_noise, reverberate

    with ErrorExit("corrupt_audio audio", (ValueError, OSError)) as run:
        samples, rate, _ = decode_audio(args.spec)
        rng = np.random.default_rng(args.seed)
        out = (add_noise(samples, args.value, rng) if args.kind == "noise"
               else reverberate(samples, rate, args.value, rng))
        buf = io.BytesIO()
        sf.write(buf, np.clip(out, -1.0, 1.0), rate, format="WAV", subtype="FLOAT")
        sys.stdout.buffer.write(buf.getvalue())
    return run.status


if __name__ == "__main__":
    sys.exit(main())
