#!/usr/bin/env python3
"""Stage 1 and the training input pipeline on large synthetic corpora (10k-100k utterances).

    . ./path.sh && python benchmarks/bench_scale.py [--sizes 10000 30000 100000] [--workdir /tmp/x] \
        [--nj 1 2] [--cache-mb 0 512] [--epochs 1] [--keep]

For each size N (ascending) it
  1. generates the utterances the corpus still lacks (the corpus of size N is the first N
     utterances, 100 per speaker): 0.5-1.5 s of speech-like audio at 16 kHz (syllables cut from a
     bank of formant-filtered glottal pulse trains, pitch and loudness by speaker and emotion,
     background noise), written as 16-bit wav files by several processes, and a Kaldi data
     directory (wav.scp, utt2spk, spk2utt, utt2emo, utt2lang, utt2corpus) in a throw-away recipe
     directory (links to steps/ utils/ conf/ path.sh, as egs/<corpus>/ has);
  2. runs stage 1 as the recipes call it (steps/make_feats.sh --cmd utils/run.pl --config
     conf/fbank.yaml) once with each --nj: real-time factor of the whole stage and of the slowest
     job's processing (from the jobs' `done:` log lines), and the peak RSS of the process tree
     (getrusage(RUSAGE_CHILDREN).ru_maxrss of a fresh child that runs the stage: the largest RSS
     of any ONE process of the tree, not their sum; each job's own peak is printed beside it);
  3. computes per-speaker CMVN (steps/compute_cmvn.sh) and runs the trainer's input pipeline in a
     fresh process per caching mode (--cache-mb): emogcn.training.trainer.make_dataset (FeatureDataset
     with the training config's CMVN and cache_mb) + make_loader (BucketBatchSampler, collate, DataLoader) as
     trainer.train builds them, one epoch (--epochs) iterated without a model: utterances per
     second delivered, and the process's RSS after building the index and at its peak;
  4. removes that size's features.
The work directory (default: a new /tmp/bench_scale.*) is removed at the end unless --keep.
No pickle, nothing downloaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

RATE = 16000
UTTS_PER_SPEAKER = 100
EMOTIONS = ["anger", "happiness", "neutral", "sadness", "fear"]
# pitch factor, loudness factor, syllable-rate factor per emotion
EMO_STYLE = {"anger": (1.25, 1.6, 1.15), "happiness": (1.3, 1.2, 1.1), "neutral": (1.0, 1.0, 1.0),
             "sadness": (0.85, 0.6, 0.8), "fear": (1.4, 0.9, 1.25)}


# ---------------------------------------------------------------- corpus generation

def utt_name(i: int) -> tuple[str, str, str]:
    spk = f"scale-s{i // UTTS_PER_SPEAKER:05d}"
    return spk, f"{spk}-u{i:07d}", EMOTIONS[i % len(EMOTIONS)]


def _bank(seed: int):
    """Syllables (0.3 s each) of a glottal pulse train at 24 pitches x 8 vowels, formant-filtered."""
    import numpy as np
    from scipy import signal

    rng = np.random.default_rng(seed)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410),
              (440, 1020, 2240), (660, 1720, 2410), (490, 1350, 1690)]
    f0s = 90.0 * 2.0 ** (np.arange(24) / 8.0)  # 90-660 Hz
    n = int(0.3 * RATE)
    t = np.arange(n) / RATE
    bank = np.zeros((len(f0s), len(vowels), n), dtype=np.float32)
    for a, f0 in enumerate(f0s):
        # pitch declines over the syllable, with a little jitter
        inst = f0 * (1.0 - 0.15 * t / t[-1]) * (1.0 + 0.01 * rng.standard_normal(n))
        phase = np.cumsum(inst) / RATE
        pulses = np.diff(np.floor(phase), prepend=0.0)
        source = signal.lfilter([1.0], [1.0, -0.97], pulses)  # spectral tilt
        for b, formants in enumerate(vowels):
            y = source
            for k, f in enumerate(formants):
                r = np.exp(-np.pi * (60 + 40 * k) / RATE)
                y = signal.lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], y)
            y = y / (np.abs(y).max() + 1e-9)
            bank[a, b] = y
    return f0s, bank


_BANK: dict = {}


def _wav_header(num_samples: int) -> bytes:
    data = num_samples * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16) + b"data" + struct.pack("<I", data))


def _write_chunk(args: tuple[str, int, int, int]) -> float:
    """Writes utterances [start, stop) under root; returns their total duration in seconds."""
    import numpy as np

    root, start, stop, seed = args
    f0s, bank = _BANK.get(seed) or _BANK.setdefault(seed, _bank(seed))  # built once, before the fork
    windows: dict[int, np.ndarray] = {}
    log_f0s = np.log(f0s)
    seconds = 0.0
    made_dirs = set()
    for i in range(start, stop):
        rng = np.random.default_rng([seed, i])
        spk, utt, emo = utt_name(i)
        s = i // UTTS_PER_SPEAKER
        spk_rng = np.random.default_rng([seed, 1_000_000 + s])
        base_f0 = 110.0 * (1.9 if spk_rng.random() < 0.5 else 1.0) * np.exp(0.15 * spk_rng.standard_normal())
        spk_gain = 0.3 * np.exp(0.3 * spk_rng.standard_normal())
        pitch, loud, rate = EMO_STYLE[emo]
        n = int(rng.uniform(0.5, 1.5) * RATE)
        out = np.empty(n, dtype=np.float32)
        pos = 0
        while pos < n:
            length = min(int(rng.uniform(0.12, 0.28) / rate * RATE), bank.shape[2])
            f0 = base_f0 * pitch * np.exp(0.1 * rng.standard_normal())
            a = int(np.abs(log_f0s - np.log(f0)).argmin())
            window = windows.get(length)
            if window is None:
                window = windows[length] = np.hanning(length).astype(np.float32)
            seg = bank[a, rng.integers(bank.shape[1]), :length] * window
            take = min(length, n - pos)
            out[pos:pos + take] = seg[:take] * (loud * spk_gain * rng.uniform(0.6, 1.0))
            pos += take
            gap = int(rng.uniform(0.0, 0.06) * RATE)  # short pauses between syllables
            out[pos:pos + gap] = 0.0
            pos += gap
        out += 0.003 * rng.standard_normal(n).astype(np.float32)
        pcm = np.clip(out * 32767.0, -32768, 32767).astype("<i2")
        folder = os.path.join(root, spk)
        if folder not in made_dirs:
            os.makedirs(folder, exist_ok=True)
            made_dirs.add(folder)
        with open(os.path.join(folder, utt + ".wav"), "wb") as f:
            f.write(_wav_header(n))
            f.write(pcm.tobytes())
        seconds += n / RATE
    return seconds


def generate(wav_root: Path, start: int, stop: int, procs: int, seed: int = 0) -> float:
    chunk = 2000
    tasks = [(str(wav_root), a, min(a + chunk, stop), seed) for a in range(start, stop, chunk)]
    if seed not in _BANK:
        _BANK[seed] = _bank(seed)  # the workers inherit it
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        return sum(pool.map(_write_chunk, tasks, chunksize=1))


def write_data_dir(wav_root: Path, data: Path, n: int) -> None:
    from emogcn.data.datadir import spk2utt_from_utt2spk, write_map

    wav, utt2spk, utt2emo = {}, {}, {}
    for i in range(n):
        spk, utt, emo = utt_name(i)
        wav[utt] = str(wav_root / spk / f"{utt}.wav")
        utt2spk[utt] = spk
        utt2emo[utt] = emo
    data.mkdir(parents=True, exist_ok=True)
    write_map(data / "wav.scp", wav)
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "utt2emo", utt2emo)
    write_map(data / "utt2lang", {u: "qaa" for u in wav})
    write_map(data / "utt2corpus", {u: "scale" for u in wav})
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))


# ---------------------------------------------------------------- the training input pipeline

def cache_modes(cache_mbs: list[int]) -> list[tuple[str, dict]]:
    """How to ask for each caching mode, for whichever interface emogcn has now: a budget in MiB
    (TrainConfig.cache_mb, FeatureDataset(cache_mb=)), 0 = off; or the older `cache: bool`
    (TrainConfig.cache_features; then the only modes are off and on, without a bound)."""
    from emogcn.training.config import TrainConfig

    fields = TrainConfig.__dataclass_fields__
    if "cache_mb" in fields:
        return [("off" if mb == 0 else f"{mb} MB", {"cache_mb": mb}) for mb in cache_mbs]
    return [("off", {"cache_features": False}), ("on (no bound)", {"cache_features": True})]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pipeline_child(data: str, train_config: str, kwargs: dict, epochs: int) -> None:
    """Runs in a fresh interpreter; prints one JSON line."""
    import torch

    from emogcn.config import load_config
    from emogcn.data.dataset import make_loader
    from emogcn.training import trainer
    from emogcn.training.config import TrainConfig

    torch.set_num_threads(1)
    cfg = load_config(TrainConfig, train_config)
    rss_start = _rss_mb()
    t0 = time.perf_counter()
    classes = sorted(EMOTIONS)
    # the training set exactly as trainer.run builds it: make_dataset(cfg, train_dir, classes,
    # train=True, global_from=train_dir) with the config's cache setting (kwargs: the mode's value)
    cfg = dataclasses.replace(cfg, **kwargs)
    ds = trainer.make_dataset(cfg, Path(data), classes, train=True, global_from=Path(data))
    loader = make_loader(ds, cfg.batch_size, shuffle=True, seed=cfg.seed, max_frames=cfg.max_frames,
                         num_workers=cfg.num_workers)
    build_s = time.perf_counter() - t0
    rss_index = _rss_mb()
    epoch_s, epoch_rss = [], []
    seen = 0
    for epoch in range(1, epochs + 1):
        loader.batch_sampler.set_epoch(epoch)
        t = time.perf_counter()
        n = 0
        for batch in loader:
            n += len(batch["labels"])
        epoch_s.append(time.perf_counter() - t)
        epoch_rss.append(_rss_mb())
        seen = n
    print(json.dumps({"utts": len(ds), "per_epoch": seen, "build_s": build_s, "epoch_s": epoch_s,
                      "rss_start_mb": rss_start, "rss_index_mb": rss_index, "rss_epoch_mb": epoch_rss,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "batch_size": cfg.batch_size, "num_workers": cfg.num_workers}))


def run_pipeline(data: Path, train_config: str, label: str, kwargs: dict, epochs: int) -> dict:
    cmd = [sys.executable, __file__, "--_pipeline", str(data), train_config, json.dumps(kwargs), str(epochs)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_scale: the pipeline run ({label}) failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["label"] = label
    return r


# ---------------------------------------------------------------- main

def sh(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_scale: {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 100000])
    parser.add_argument("--workdir", type=Path, help="where the corpus, features and recipe go (default: new /tmp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--nj", type=int, nargs="+", default=[1, 2], help="stage 1 job counts to run")
    parser.add_argument("--config", default="conf/fbank.yaml")
    parser.add_argument("--train-config", default="conf/train_ecapa.yaml",
                        help="batch size, CMVN mode and loader settings come from here")
    parser.add_argument("--cache-mb", type=int, nargs="+", default=[0, 512],
                        help="feature cache budgets (MiB) of the pipeline runs; 0 = off (where the trainer takes a budget)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs iterated per pipeline run")
    parser.add_argument("--gen-procs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if "EMOGCN_ROOT" not in os.environ:
        sys.exit("bench_scale: source path.sh first: . ./path.sh && python benchmarks/bench_scale.py")
    from bench_feats import make_recipe_dir, run_stage

    sizes = sorted(set(args.sizes))
    modes = cache_modes(args.cache_mb)
    start = time.perf_counter()
    print(f"bench_scale: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before; sizes "
          f"{' '.join(map(str, sizes))}; stage 1 --nj {' '.join(map(str, args.nj))} with {args.config}; "
          f"pipeline of {args.train_config}, caching {' / '.join(m for m, _ in modes)}", flush=True)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_scale.", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"  work dir {root} ({shutil.disk_usage(root).free / 2**30:.0f} GB free)", flush=True)
    summary = []
    try:
        recipe = root / "recipe"
        if not recipe.exists():
            recipe = make_recipe_dir(root)
        wav_root = root / "wav"
        have = 0
        for n in sizes:
            t = time.perf_counter()
            audio_new = generate(wav_root, have, n, args.gen_procs)
            gen_s = time.perf_counter() - t
            write_data_dir(wav_root, recipe / "data" / f"s{n}", n)
            print(f"\n== {n} utterances: generated {n - have} new ({audio_new / 3600:.1f} h of audio) in {gen_s:.0f} s "
                  f"with {args.gen_procs} processes ({(n - have) / max(gen_s, 1e-9):.0f} files/s); "
                  f"wav folder {sum(f.stat().st_size for f in wav_root.rglob('*.wav')) / 2**30:.2f} GB", flush=True)
            have = n
            row = {"n": n}
            for nj in args.nj:
                r = run_stage(recipe, f"data/s{n}", nj, args.config, f"s{n}_nj{nj}")
                jobs = r["jobs"]
                print(f"  stage 1 nj={nj}: {r['utts']} utts ({r['failed']} failed), {r['audio'] / 3600:.2f} h audio; "
                      f"whole stage {r['wall']:.1f} s = {r['audio'] / r['wall']:.0f}x real time; "
                      f"processing (slowest job) {r['processing']:.1f} s = {r['audio'] / r['processing']:.0f}x", flush=True)
                for i, j in enumerate(jobs, 1):
                    print(f"    job {i}: {j['utts']} utts in {j['seconds']:.1f} s (CPU {j['cpu']:.1f} s); "
                          f"RSS after start-up {j['rss_startup']} MB, peak {j['rss_peak']} MB")
                print(f"    peak RSS of the process tree (largest single process): {r['tree_rss_mb']:.0f} MB", flush=True)
                row[f"nj{nj}"] = r
            ark_gb = sum(f.stat().st_size for f in (recipe / "fbank").glob(f"feats_data_s{n}.*.ark")) / 2**30
            cmvn_s = sh(["bash", "steps/compute_cmvn.sh", f"data/s{n}", f"exp/compute_cmvn/s{n}", "cmvn"], recipe)
            print(f"  features {ark_gb:.2f} GB of ark; per-speaker CMVN (steps/compute_cmvn.sh) {cmvn_s:.1f} s", flush=True)
            for label, kwargs in modes:
                p = run_pipeline(recipe / "data" / f"s{n}", str(REPO / args.train_config), label, kwargs, args.epochs)
                rates = " ".join(f"{p['per_epoch'] / s:.0f}" for s in p["epoch_s"])
                print(f"  pipeline, cache {label}: {p['utts']} utts, batch {p['batch_size']}, {p['num_workers']} workers; "
                      f"dataset+loader built (the trainer reads every matrix once) in {p['build_s']:.1f} s; epoch(s) {' '.join(f'{s:.1f}' for s in p['epoch_s'])} s "
                      f"= {rates} utt/s; RSS at start {p['rss_start_mb']:.0f} MB, with index {p['rss_index_mb']:.0f} MB, "
                      f"after epoch(s) {' '.join(f'{x:.0f}' for x in p['rss_epoch_mb'])} MB, peak {p['peak_mb']:.0f} MB",
                      flush=True)
                row[label] = p
            summary.append(row)
            # the features are not needed any more: keep the disk free for the next size
            for f in (recipe / "fbank").glob(f"feats_data_s{n}.*"):
                f.unlink()
        print("\nsummary (peak RSS in MB; rates in x real time and utterances/s):")
        head = f"{'utts':>7} " + " ".join(f"{'nj' + str(nj) + ' stage x':>11} {'nj' + str(nj) + ' tree MB':>11}" for nj in args.nj)
        head += " " + " ".join(f"{m + ' utt/s':>22} {'index/peak MB':>15}" for m, _ in modes)
        print(head)
        for row in summary:
            line = f"{row['n']:>7} " + " ".join(
                f"{row[f'nj{nj}']['audio'] / row[f'nj{nj}']['wall']:>11.0f} {row[f'nj{nj}']['tree_rss_mb']:>11.0f}"
                for nj in args.nj)
            for m, _ in modes:
                p = row[m]
                line += f" {p['per_epoch'] / p['epoch_s'][-1]:>22.0f} {p['rss_index_mb']:>7.0f}/{p['peak_mb']:<7.0f}"
            print(line)
        print(f"benchmark took {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f} after")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            print(f"removed {root}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--_pipeline":
        pipeline_child(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
