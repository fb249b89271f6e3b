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
import io
import shlex
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from emogcn.data.datadir import SPK_FILES, UTT_FILES, DataDirError, read_map, spk2utt_from_utt2spk, write_map

CARRIED = ("utt2emo", "utt2va", "utt2lang", "utt2corpus", "text")


def perturb_dir(factor: float, src: Path, dest: Path) -> int:
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"speed factor {factor} outside [0.5, 2.0]")
    if not (src / "wav.scp").is_file():
        raise DataDirError(f"{src}/wav.scp: required file is missing (speed perturbation is for audio)")
    prefix = f"sp{factor:g}-"
    utt2spk = read_map(src / "utt2spk")
    dest.mkdir(parents=True, exist_ok=True)
    write_map(dest / "utt2spk", {prefix + u: prefix + s for u, s in utt2spk.items()})
    wav = read_map(src / "wav.scp")
    write_map(dest / "wav.scp", {prefix + u: f"python -m emogcn.bin.perturb_speed audio {factor:g} {shlex.quote(v)} |"
                                 for u, v in wav.items()})
    for name in CARRIED:
        if (src / name).is_file():
            write_map(dest / name, {prefix + u: v for u, v in read_map(src / name).items()})
    if (src / "utt2dur").is_file():
        write_map(dest / "utt2dur", {prefix + u: f"{float(v) / factor:.4f}" for u, v in read_map(src / "utt2dur").items()})
    if (src / "spk2gender").is_file():
        write_map(dest / "spk2gender", {prefix + s: g for s, g in read_map(src / "spk2gender").items()})
    write_map(dest / "spk2utt", spk2utt_from_utt2spk(read_map(dest / "utt2spk")))
    left = sorted(n for n in UTT_FILES + SPK_FILES if (src / n).is_file() and not (dest / n).is_file())
    if left:  # features and CMVN describe the unperturbed audio: stage 1 recomputes them
        print(f"perturb_speed: not carried to {dest}: {', '.join(left)}", file=sys.stderr)
    return len(utt2spk)


def fft_resample(x, num_out: int):
    """Band-limited resampling of x (samples, channels) to num_out samples through the spectrum
    (what scipy.signal.resample does): the shorter spectrum is copied, the rest left zero."""
    import numpy as np

    n = x.shape[0]
    spectrum = np.fft.rfft(x, axis=0)
    kept = min(spectrum.shape[0], num_out // 2 + 1)
    out_spectrum = np.zeros((num_out // 2 + 1, x.shape[1]), dtype=spectrum.dtype)
    out_spectrum[:kept] = spectrum[:kept]
    return (np.fft.irfft(out_spectrum, n=num_out, axis=0) * (num_out / n)).astype(np.float32)


def perturb_audio(factor: float, spec: str) -> bytes:
    import numpy as np
    import soundfile as sf

    # Read and resampled here with numpy alone, rather than through emogcn.features (torch) or
    # scipy.signal: this runs once per utterance as a wav.scp pipe, where importing either costs
    # seconds, far more than the work.
    spec = spec.strip()
    if spec.endswith("|"):
        proc = subprocess.run(["bash", "-c", "set -o pipefail; " + spec[:-1]], capture_output=True)
        if proc.returncode != 0:
            raise OSError(f"command '{spec[:-1].strip()}' exited with status {proc.returncode}")
        samples, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    else:
        samples, rate = sf.read(spec, dtype="float32", always_2d=True)
    # 0.9 -> 10/9 as many samples at the same rate: slower and lower, as sox's `speed` does
    ratio = Fraction(1 / factor).limit_denominator(100)
    num_out = max(1, round(samples.shape[0] * ratio.numerator / ratio.denominator))
    out = fft_resample(samples, num_out)
    buf = io.BytesIO()
    sf.write(buf, np.clip(out, -1.0, 1.0), rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


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
    try:
        if args.cmd == "dir":
            n = perturb_dir(args.factor, args.src, args.dest)
            print(f"perturb_speed: {args.dest}: {n} utterances at speed {args.factor:g}", file=sys.stderr)
        else:
            sys.stdout.buffer.write(perturb_audio(args.factor, args.spec))
    except (DataDirError, ValueError, OSError) as e:
        print(f"perturb_speed {args.cmd}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
