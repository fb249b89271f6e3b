#!/usr/bin/env python3
"""Reading the perturbed copies' audio (noise, reverberation, speed) in the reader's process
against through a shell pipe, per utterance, on EmoDB.

    . ./path.sh && python benchmarks/bench_copy_reading.py [--emodb /work/shared/corpora/emodb/wav] [--utts 40]

For the first --utts wav files it builds the wav.scp values that `perturb_data_dir copy` writes
(noise10, reverb0.5, speed 0.9) and decodes each twice: with emogcn.features.audio.decode_audio
(the copy's pipe computed in this process) and with the same command run through bash (what a
reader without that shortcut, Kaldi's tools included, does). It prints the mean milliseconds per
utterance of each and checks that both give the same samples.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from emogcn.features.audio import decode_audio, run_pipe  # noqa: E402

PIPES = {"noise10": "python -m emogcn.bin.corrupt_audio audio noise 10 {seed} {spec} |",
         "reverb0.5": "python -m emogcn.bin.corrupt_audio audio reverb 0.5 {seed} {spec} |",
         "sp0.9": "python -m emogcn.bin.perturb_speed audio 0.9 {spec} |"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emodb", default=str(REPO.parent / "shared/corpora/emodb/wav"))
    parser.add_argument("--utts", type=int, default=40)
    args = parser.parse_args()
    wavs = sorted(Path(args.emodb).glob("*.wav"))[: args.utts]
    os.chdir(REPO)  # the pipes run `python -m emogcn...` from the repository
    print(f"bench_copy_reading: {len(wavs)} EmoDB utterances, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} before")
    for name, pipe in PIPES.items():
        specs = [pipe.format(seed=i, spec=shlex.quote(str(w))) for i, w in enumerate(wavs)]
        t0 = time.perf_counter()
        inproc = [decode_audio(s)[0] for s in specs]
        t1 = time.perf_counter()
        shell = [sf.read(io.BytesIO(run_pipe(s[:-1])), dtype="float32", always_2d=True)[0] for s in specs]
        t2 = time.perf_counter()
        same = all(np.array_equal(a, b) for a, b in zip(inproc, shell))
        print(f"  {name:9s} in the reader {1000 * (t1 - t0) / len(specs):7.1f} ms/utt   through a shell "
              f"{1000 * (t2 - t1) / len(specs):7.1f} ms/utt   ({(t2 - t1) / max(t1 - t0, 1e-9):.0f}x)   same samples: {same}")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
