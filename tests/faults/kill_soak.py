#!/usr/bin/env python3
"""Randomised kill soak: the mini recipe's stages 1-5, SIGKILLed at random moments, each kill
followed by the same command again, until it completes; then every output is compared with an
uninterrupted run of the same command.

    python tests/faults/kill_soak.py [--kills 50] [--per-cycle 5] [--seed 0] [--workdir DIR] [--report F]

The kills come in cycles: each cycle starts from stage 0's data (no features), draws its kill
moments uniformly over the uninterrupted run's duration, and restarts the command after each
kill until it ends; its outputs are then compared with the reference run's:
features (every matrix), CMVN statistics (per speaker and each fold's global), graphs (every
array), checkpoint weights (last, best, averaged), predictions, pooled metrics and RESULTS.md
rows. Where each kill landed is the first stage whose marker was missing at that moment.
Prints a markdown report (also to --report); exit status 1 when any output differs or a
restarted command fails. Run from the top of the checkout; needs the project's environment
(tools/run_tests.sh, or `. ./path.sh`). tests/faults/test_kill_soak.py runs a short one.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import kaldiio
import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/killing.py
from killing import kill, start  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STAGE0 = ("steps/prepare_corpus.sh --prepare-opts '--speakers-per-language 2 --utts-per-class {utts}' "
          "--fold-opts '--protocol groups --num-groups 2' mini db data")
RUN = ("steps/run_corpus.sh --stage 1 --nj 2 --train-nj 2 --folds '1 2' --epochs {epochs} "
       "--variants 'single_task emotion_gcn' --feat-config conf/fbank.yaml --train-config ./soak.yaml --train-tag soak --seeds 0 --dev speaker")
# A small CNN: every stage runs, and one training lasts seconds, so kills land in every stage.
SOAK_CONFIG = {
    "model": {"backbone": "speech_cnn", "backbone_options": {"channels": [8, 16], "embed_dim": 32}, "gcn_hidden": 16},
    "optim": {"name": "adam", "lr": 0.003}, "batch_size": 8, "average_last": 2, "inference_checkpoint": "averaged",
}
STAGE_NAMES = {1: "1 features", 2: "2 normalization", 3: "3 graph", 4: "4 training", 5: "5 scoring", 6: "after 5"}


def make_recipe(d: Path, utts: int, epochs: int) -> None:
    d.mkdir(parents=True)
    for name in ("steps", "utils", "conf", "local", "path.sh", "cmd.sh"):
        os.symlink(REPO / name, d / name)
    (d / "soak.yaml").write_text(yaml.safe_dump({**SOAK_CONFIG, "epochs": epochs}))  # the recipe sets the variant
    subprocess.run(["bash", "-c", STAGE0.format(utts=utts)], cwd=d, check=True, capture_output=True)


def stage_in_progress(d: Path) -> int:
    """The first stage whose output is not complete (6: all are)."""
    if not (d / "data/all/.feats.done").is_file():
        return 1
    if not (d / "data/folds/.cmvn.done").is_file():
        return 2
    if not all((d / f"exp/graph_auto/fold{k}/.done").is_file() for k in (1, 2)):
        return 3
    exps = [d / f"exp/{v}_soak_seed0/fold{k}" for v in ("single_task", "emotion_gcn") for k in (1, 2)]
    if not all((e / ".done").is_file() for e in exps):
        return 4
    pooled = [d / f"exp/{v}_soak_seed0/pooled/metrics.json" for v in ("single_task", "emotion_gcn")]
    results = (d / "RESULTS.md").read_text() if (d / "RESULTS.md").is_file() else ""
    if not all(p.is_file() for p in pooled) or results.count("_soak_seed0 |") < 2:
        return 5
    return 6


# ------------------------------------------------------------------------------------ comparison


def _scp(path: Path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in kaldiio.load_scp(str(path)).items()}


def compare(ref: Path, got: Path) -> list[str]:
    """Every difference between two recipe directories' outputs (empty: identical)."""
    diffs: list[str] = []

    def same_arrays(a: dict, b: dict, what: str) -> None:
        if a.keys() != b.keys():
            diffs.append(f"{what}: keys differ ({len(a)} vs {len(b)})")
            return
        bad = [k for k in a if not np.array_equal(a[k], b[k])]
        if bad:
            diffs.append(f"{what}: {len(bad)} of {len(a)} differ (first {bad[0]})")

    checked = Counter()
    scps = sorted(p.relative_to(ref) for p in ref.glob("data/**/*.scp") if p.name in ("feats.scp", "cmvn.scp",
                                                                                       "cmvn_global.scp"))
    for rel in scps:
        if not (got / rel).is_file():
            diffs.append(f"{rel}: missing")
            continue
        same_arrays(_scp(ref / rel), _scp(got / rel), str(rel))
        checked["feature/CMVN scp"] += 1
    for npy in sorted(ref.glob("exp/graph_auto/fold*/*.npy")):
        rel = npy.relative_to(ref)
        if not np.array_equal(np.load(npy, allow_pickle=False), np.load(got / rel, allow_pickle=False)):
            diffs.append(f"{rel}: differs")
        checked["graph arrays"] += 1
    for ckpt in sorted(ref.glob("exp/*_soak_seed0/fold*/checkpoints/*.pt")):
        rel = ckpt.relative_to(ref)
        if not (got / rel).is_file():
            diffs.append(f"{rel}: missing")
            continue
        a = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
        b = torch.load(got / rel, map_location="cpu", weights_only=True)["model"]
        if a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a):
            diffs.append(f"{rel}: weights differ")
        checked["checkpoints"] += 1
    for tsv in sorted(ref.glob("exp/*_soak_seed0/**/predictions.tsv")):
        rel = tsv.relative_to(ref)
        if not (got / rel).is_file() or tsv.read_bytes() != (got / rel).read_bytes():
            diffs.append(f"{rel}: differs")
        checked["predictions"] += 1

    def rows(d: Path) -> list[str]:  # RESULTS.md rows without their date
        text = (d / "RESULTS.md").read_text() if (d / "RESULTS.md").is_file() else ""
        return sorted(r.split("|", 2)[2] for r in text.splitlines() if "_soak_seed0 |" in r)

    if rows(ref) != rows(got):
        diffs.append("RESULTS.md rows differ")
    checked["RESULTS.md rows"] += len(rows(ref))
    leftovers = [str(p.relative_to(got)) for p in got.rglob("*.tmp")]
    if leftovers:
        diffs.append(f"temporary files left: {', '.join(leftovers[:3])}")
    if not diffs and min(checked.values(), default=0) == 0:
        diffs.append(f"nothing compared in some category: {dict(checked)}")
    compare.checked = checked  # for the report
    return diffs


# ------------------------------------------------------------------------------------ soak


def run_to_end(cmd: str, d: Path, log: Path) -> tuple[int, float]:
    t0 = time.time()
    proc = start(cmd, d, log)
    return proc.wait(), time.time() - t0


def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kill_soak."))
    work.mkdir(parents=True, exist_ok=True)
    cmd = RUN.format(epochs=args.epochs)
    ref = work / "reference"
    shutil.rmtree(ref, ignore_errors=True)
    make_recipe(ref, args.utts, args.epochs)
    rc, duration = run_to_end(cmd, ref, ref / "run.log")
    if rc != 0:
        print(f"kill_soak: the uninterrupted run failed (rc {rc}); see {ref / 'run.log'}", file=sys.stderr)
        return 1
    print(f"kill_soak: uninterrupted run {duration:.1f} s in {ref}", file=sys.stderr)
    landed: Counter = Counter()
    cycles = []
    kills_done = 0
    failures = 0
    cycle = 0
    while kills_done < args.kills:
        cycle += 1
        d = work / f"cycle{cycle}"
        shutil.rmtree(d, ignore_errors=True)
        make_recipe(d, args.utts, args.epochs)
        wanted = min(args.per_cycle, args.kills - kills_done)
        moments = sorted(rng.uniform(0, duration) for _ in range(wanted))
        gaps = [b - a for a, b in zip([0.0] + moments[:-1], moments)]
        where, restarts, t0 = [], 0, time.time()
        for gap in gaps:
            proc = start(cmd, d, d / "run.log")
            restarts += 1
            time.sleep(gap)
            if proc.poll() is not None:  # finished (or failed) before this moment: no kill
                if proc.returncode != 0:
                    failures += 1
                break
            stage = stage_in_progress(d)
            kill(proc)
            where.append(stage)
            landed[stage] += 1
            kills_done += 1
        rc, _ = run_to_end(cmd, d, d / "run.log")
        failures += rc != 0
        diffs = compare(ref, d) if rc == 0 else [f"the command run after the last kill failed (rc {rc})"]
        cycles.append({"cycle": cycle, "kills": where, "runs": restarts + 1, "seconds": time.time() - t0,
                       "diffs": diffs})
        print(f"kill_soak: cycle {cycle}: kills in stages {where}, {'identical' if not diffs else diffs}",
              file=sys.stderr)
        if not args.keep and not diffs:
            shutil.rmtree(d)
    report = format_report(args, duration, landed, cycles, failures)
    print(report)
    if args.report:
        Path(args.report).write_text(report)
    return 0 if failures == 0 and all(not c["diffs"] for c in cycles) else 1


def format_report(args, duration: float, landed: Counter, cycles: list[dict], failures: int) -> str:
    total = sum(landed.values())
    identical = sum(not c["diffs"] for c in cycles)
    lines = [f"Kill soak: {total} SIGKILLs in {len(cycles)} cycles (seed {args.seed}; mini corpus, "
             f"{args.utts} utterances per class and speaker, folds 1-2, 2 variants, {args.epochs} epochs; "
             f"the uninterrupted run took {duration:.0f} s)", "",
             "| stage in progress at the kill | kills |", "|---|---|"]
    for stage in sorted(landed):
        lines.append(f"| {STAGE_NAMES[stage]} | {landed[stage]} |")
    checked = getattr(compare, "checked", {})
    lines += ["", f"Outcome: {identical} of {len(cycles)} cycles ended with outputs identical to the "
              f"uninterrupted run ({', '.join(f'{n} {k}' for k, n in checked.items())} compared per cycle); "
              f"{failures} restarted command(s) failed."]
    for c in cycles:
        if c["diffs"]:
            lines.append(f"- cycle {c['cycle']} (kills in stages {c['kills']}): " + "; ".join(c["diffs"]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--per-cycle", type=int, default=5, help="kills in one run of the recipe to its end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--utts", type=int, default=6, help="mini corpus: utterances per class and speaker")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workdir", help="default: a new temporary directory")
    parser.add_argument("--report", help="also write the markdown report here")
    parser.add_argument("--keep", action="store_true", help="keep identical cycles' directories")
    return soak(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
