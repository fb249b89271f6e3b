"""Additive noise and reverberation for data augmentation (emogcn/features/corrupt.py), as Kaldi's
reverberate_data_dir.py adds them, from noise and room responses generated here.

    python -m emogcn.bin.corrupt_audio dir noise|reverb <value> <src-data-dir> <dest-data-dir>
    python -m emogcn.bin.corrupt_audio audio noise|reverb <value> <seed> <wav.scp value>   (WAV to stdout)

`dir` writes a copy of a data directory whose ids are prefixed noise<snr>- or reverb<rt60>- and
whose wav.scp entries are pipes through `audio`, seeded by each utterance id, so that stage 1 reads
the corrupted audio and a copy made again is the same. <value>: the SNR in dB (noise) or the
reverberation time RT60 in seconds (reverb). Labels, languages and dimensions are carried.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from emogcn.bin import ErrorExit

KINDS = ("noise", "reverb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("dir")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("value", type=float)
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    p = sub.add_parser("audio")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("value", type=float)
    p.add_argument("seed", type=int)
    p.add_argument("spec")
    args = parser.parse_args(argv)
    if args.cmd == "dir":
        from emogcn.data.datadir import DataDirError, perturb_data_dir

        with ErrorExit("corrupt_audio dir", (DataDirError, ValueError, OSError)) as run:
            n, left = perturb_data_dir(args.value, args.src, args.dest, kind=args.kind)
            if left:
                print(f"corrupt_audio: not carried to {args.dest}: {', '.join(left)}", file=sys.stderr)
            print(f"corrupt_audio: {args.dest}: {n} utterances with {args.kind} {args.value:g}", file=sys.stderr)
        return run.status
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
