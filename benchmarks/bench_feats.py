#!/usr/bin/env python3
"""Throughput and memory of stage 1 (steps/make_feats.sh) on EmoDB.

    . ./path.sh && python benchmarks/bench_feats.py [--emodb /work/shared/corpora/emodb/wav] [--config conf/fbank.yaml]

Builds a throw-away recipe directory in /tmp (symlinks to steps/ utils/ conf/ path.sh, as
egs/<corpus>/ has) with an EmoDB data directory, the corpus itself left untouched, then runs
steps/make_feats.sh with nj=1, nj=2, and nj=1 on the corpus listed twice, each --repeats times
(interleaved), and reports the median run of each. Every wav is read once first, so that all runs
find the audio in the page cache alike. For each configuration it prints:
  - the whole stage: audio seconds / wall seconds of steps/make_feats.sh, everything included
    (validation, splitting, Python and torch start-up of every job, combining, checks);
  - the jobs' processing: audio seconds / the longest job's time from its first utterance to its
    last rename (reading, resampling to 16 kHz, fbank, writing the ark), start-up excluded;
  - peak RSS: of the whole process tree (getrusage RUSAGE_CHILDREN, measured in a fresh child per
    run so that runs do not mix), and each job's own RSS after start-up and at its peak.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EMODB = REPO.parent / "shared" / "corpora" / "emodb" / "wav"
DONE = re.compile(r"done: utterances=(\d+) failed=(\d+) audio_seconds=([\d.]+) processing_seconds=([\d.]+) "
                  r"cpu_seconds=([\d.]+) xrealtime=[\d.inf]+ rss_startup_mb=(\d+) rss_peak_mb=(\d+)")

# Runs one command in a fresh interpreter and prints its tree's peak RSS (KiB) and wall seconds,
# so that each configuration's RUSAGE_CHILDREN covers that configuration alone.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open('stage.err', 'w'))\n"
    "wall = time.perf_counter() - t\n"
    "print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def write_emodb_data_dir(wav_dir: Path, data: Path, copies: int = 1) -> int:
    """EmoDB data directory: speaker = first two digits of the name, emotion letter at position 6."""
    sys.path.insert(0, str(REPO))
    from emogcn.data.datadir import spk2utt_from_utt2spk, write_map
    from emogcn.data.labels import corpus_label_map

    label_map = corpus_label_map(REPO / "conf" / "emotions.yaml", "emodb")
    wav, utt2spk, utt2emo = {}, {}, {}
    for path in sorted(wav_dir.glob("*.wav")):
        name = path.stem
        for copy in range(copies):
            spk = f"emodb-{name[:2]}"
            utt = f"{spk}-{name[2:]}" + (f"-copy{copy}" if copies > 1 else "")
            wav[utt] = str(path)
            utt2spk[utt] = spk
            utt2emo[utt] = label_map[name[5]]
    data.mkdir(parents=True, exist_ok=True)
    write_map(data / "wav.scp", wav)
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "utt2emo", utt2emo)
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    return len(wav)


def make_recipe_dir(root: Path) -> Path:
    recipe = root / "recipe"
    recipe.mkdir()
    for name in ("steps", "utils", "conf", "path.sh"):
        os.symlink(REPO / name, recipe / name)
    return recipe


def run_stage(recipe: Path, data: str, nj: int, config: str, tag: str) -> dict:
    logdir = recipe / "exp" / "make_feats" / tag
    cmd = [sys.executable, "-c", MEASURE, "bash", "steps/make_feats.sh", "--nj", str(nj), "--config", config,
           data, str(logdir), "fbank"]
    out = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, check=True).stdout.split()
    rc, wall, tree_rss_kb = int(out[0]), float(out[1]), int(out[2])
    if rc != 0:
        sys.exit(f"bench_feats: steps/make_feats.sh failed:\n{(recipe / 'stage.err').read_text()}")
    jobs = []
    for log in sorted(logdir.glob("make_feats.*.log")):
        m = DONE.search(log.read_text())
        if not m:
            sys.exit(f"bench_feats: no summary line in {log}")
        jobs.append(dict(utts=int(m[1]), failed=int(m[2]), audio=float(m[3]), seconds=float(m[4]),
                         cpu=float(m[5]), rss_startup=int(m[6]), rss_peak=int(m[7])))
    audio = sum(j["audio"] for j in jobs)
    return dict(tag=tag, nj=nj, utts=sum(j["utts"] for j in jobs), failed=sum(j["failed"] for j in jobs),
                audio=audio, wall=wall, processing=max(j["seconds"] for j in jobs), tree_rss_mb=tree_rss_kb / 1024,
                jobs=jobs)


def median_run(runs: list[dict]) -> dict:
    """The run with the median processing time, its whole-stage wall replaced by the median wall."""
    ordered = sorted(runs, key=lambda r: r["processing"])
    r = dict(ordered[len(ordered) // 2])
    r["wall"] = sorted(x["wall"] for x in runs)[len(runs) // 2]
    r["all"] = runs
    return r


def report(r: dict) -> None:
    print(f"{r['tag']}: nj={r['nj']} utterances={r['utts']} failed={r['failed']} audio={r['audio']:.1f} s, "
          f"median of {len(r['all'])} runs")
    print("  runs (wall / processing s): " + ", ".join(f"{x['wall']:.2f} / {x['processing']:.2f}" for x in r["all"]))
    print(f"  whole stage : wall {r['wall']:.2f} s  = {r['audio'] / r['wall']:.0f}x real time")
    print(f"  processing  : {r['processing']:.2f} s (slowest job) = {r['audio'] / r['processing']:.0f}x real time")
    for i, j in enumerate(r["jobs"], 1):
        print(f"    job {i}: {j['utts']} utts, {j['audio']:.1f} s audio in {j['seconds']:.2f} s "
              f"= {j['audio'] / j['seconds']:.0f}x (CPU {j['cpu']:.2f} s = {j['audio'] / j['cpu']:.0f}x); RSS after start-up {j['rss_startup']} MB, peak {j['rss_peak']} MB")
    print(f"  peak RSS of the process tree: {r['tree_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emodb", type=Path, default=DEFAULT_EMODB, help="folder of EmoDB wav files")
    parser.add_argument("--config", default="conf/fbank.yaml")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration; the median is reported")
    args = parser.parse_args()
    if "EMOGCN_ROOT" not in os.environ:
        sys.exit("bench_feats: source path.sh first: . ./path.sh && python benchmarks/bench_feats.py")
    print(f"bench_feats: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before, "
          f"config {args.config}, corpus {args.emodb}")
    with tempfile.TemporaryDirectory(prefix="bench_feats.", dir="/tmp") as tmp:
        recipe = make_recipe_dir(Path(tmp))
        write_emodb_data_dir(args.emodb, recipe / "data" / "emodb")
        write_emodb_data_dir(args.emodb, recipe / "data" / "emodb_x2", copies=2)
        for path in args.emodb.glob("*.wav"):  # warm the page cache
            path.read_bytes()
        start = time.perf_counter()
        configurations = [("data/emodb", 1, "nj1"), ("data/emodb", 2, "nj2"), ("data/emodb_x2", 1, "nj1_corpus_x2")]
        runs: dict[str, list[dict]] = {tag: [] for _, _, tag in configurations}
        for _ in range(args.repeats):  # interleaved, so that a slow spell of the machine hits all alike
            for data, nj, tag in configurations:
                runs[tag].append(run_stage(recipe, data, nj, args.config, tag))
        results = [median_run(runs[tag]) for _, _, tag in configurations]
        for r in results:
            report(r)
        one, two, double = results
        print("summary:")
        print(f"  nj=2 / nj=1 speed-up: whole stage {one['wall'] / two['wall']:.2f}x, "
              f"processing {one['processing'] / two['processing']:.2f}x")
        print(f"  corpus x2 / x1 peak RSS: job {double['jobs'][0]['rss_peak']} / {one['jobs'][0]['rss_peak']} MB, "
              f"process tree {double['tree_rss_mb']:.0f} / {one['tree_rss_mb']:.0f} MB")
        print(f"  benchmark took {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
