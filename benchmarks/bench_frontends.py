#!/usr/bin/env python3
"""Stage-1 speed of each front-end (times real time) on the same EmoDB utterances.

    . ./path.sh && python benchmarks/bench_frontends.py [--utts 100] [--nj 1] [config ...]

Runs steps/make_feats.sh once per front-end config (default: fbank, eGeMAPS, ComParE and the
three base-size SSL upstreams with random weights, which cost what the pretrained ones cost) on
the first --utts EmoDB files, in a throw-away recipe directory (bench_feats.py's), and prints one
row per front-end: the processing speed of the jobs (audio seconds / seconds from first utterance
to last rename, start-up excluded), the same per CPU second, the whole stage's wall time, the job
peak RSS, the feature dimension and the ark bytes per audio second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import kaldiio

from bench_feats import DEFAULT_EMODB, make_recipe_dir, run_stage, write_emodb_data_dir

DEFAULT_CONFIGS = ["conf/fbank.yaml", "conf/egemaps.yaml", "conf/compare.yaml",
                   "benchmarks/conf/ssl_wav2vec2_base_random.yaml", "benchmarks/conf/ssl_hubert_base_random.yaml",
                   "benchmarks/conf/ssl_wavlm_base_random.yaml"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emodb", type=Path, default=DEFAULT_EMODB, help="folder of EmoDB wav files")
    parser.add_argument("--utts", type=int, default=100, help="the first N files of the corpus")
    parser.add_argument("--nj", type=int, default=1)
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS)
    args = parser.parse_args()
    if "EMOGCN_ROOT" not in os.environ:
        sys.exit("bench_frontends: source path.sh first: . ./path.sh && python benchmarks/bench_frontends.py")
    repo = Path(os.environ["EMOGCN_ROOT"])
    print(f"bench_frontends: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before, nj {args.nj}, "
          f"first {args.utts} files of {args.emodb}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_frontends.", dir="/tmp") as tmp:
        recipe = make_recipe_dir(Path(tmp))
        os.symlink(repo / "benchmarks", recipe / "benchmarks")
        data = recipe / "data" / "emodb"
        write_emodb_data_dir(args.emodb, data)
        for name in ("wav.scp", "utt2spk", "utt2emo"):  # keep the first --utts utterances
            path = data / name
            path.write_text("".join(path.read_text().splitlines(keepends=True)[:args.utts]))
        os.remove(data / "spk2utt")
        os.system(f"cd {recipe} && utils/fix_data_dir.sh data/emodb >/dev/null 2>&1")
        start = time.perf_counter()
        for config in args.configs:
            tag = Path(config).stem
            r = run_stage(recipe, "data/emodb", args.nj, config, tag)
            first = next(iter(kaldiio.load_scp(str(data / "feats.scp")).values()))
            ark_bytes = sum(p.stat().st_size for p in (recipe / "fbank").glob("*.ark"))
            rows.append((tag, r, first.shape[1], ark_bytes / r["audio"]))
            print(f"  {tag}: done ({r['wall']:.0f} s)", flush=True)
        print(f"{'front-end':34} {'dim':>6} {'x real time':>12} {'per CPU s':>10} {'stage wall s':>13} "
              f"{'job RSS MB':>11} {'ark kB/s audio':>15}")
        for tag, r, dim, bytes_per_s in rows:
            cpu = sum(j["cpu"] for j in r["jobs"])
            print(f"{tag:34} {dim:>6} {r['audio'] / r['processing']:>12.1f} {r['audio'] / cpu:>10.1f} "
                  f"{r['wall']:>13.1f} {max(j['rss_peak'] for j in r['jobs']):>11} {bytes_per_s / 1000:>15.1f}")
        print(f"  {rows[0][1]['utts']} utterances, {rows[0][1]['audio']:.0f} s of audio per front-end; "
              f"benchmark took {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
