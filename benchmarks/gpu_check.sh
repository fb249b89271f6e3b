#!/usr/bin/env bash
# Training speed on one EmoDB fold, with and without mixed precision, in one command.
#
#   benchmarks/gpu_check.sh --db-root /path/to/emodb [--workdir DIR] [--epochs N] [--config YAML] [--keep]
#
# 1. Prepares EmoDB with the recipe machinery in a throw-away copy of egs/emodb under --workdir
#    (default: a new /tmp/gpu_check.*): ./run.sh --db-root DIR --stage 0 --stop-stage 3 --folds 1
#    (data preparation, 80-dim fbank, per-speaker CMVN, and the label graph that training reads).
# 2. Trains fold 1 (train / dev sets of data/folds/fold1) with --config (default: the ECAPA-TDNN
#    recipe config, as single_task) once per `amp` setting: none, bf16, fp16. fp16 needs CUDA (its
#    gradient scaler) and is skipped on a CPU-only machine, which says so. Each row is a fresh
#    process running emogcn's own trainer (benchmarks/train_timing.py), and prints
#      epoch s     mean seconds of the training loop per epoch, epochs after the first
#                  (the first, with start-up and allocation, is printed apart), validation excluded
#      utt/s       training utterances per second of those epochs
#      data wait   the share of the loop's time spent waiting for the next batch (the trainer's
#                  own data_wait, also logged per epoch in train.log and history.tsv)
#      peak GPU    torch.cuda.max_memory_allocated over the run (CPU: n/a; the peak RSS instead)
# Epochs: --epochs, else 10 on a GPU and 2 on the CPU (bf16 autocast on a CPU without native
# bf16 instructions runs several times slower than fp32: its row takes minutes there).
# On a GPU the whole script is meant to take under 5 minutes; on 2 CPU cores about 5-10.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
db_root=
workdir=
epochs=
config=conf/train_ecapa.yaml   # trained as single_task (--variant)
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --db-root) db_root=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "$0: unknown option '$1' (see --help)" >&2; exit 1 ;;
  esac
done
[ -n "$db_root" ] || { echo "$0: --db-root /path/to/emodb is required" >&2; exit 1; }
[ -d "$db_root" ] || { echo "$0: --db-root '$db_root' is not a directory" >&2; exit 1; }
db_root=$(cd "$db_root" && pwd)

cd "$repo"
. ./path.sh
cuda=$(python -c 'import torch; print(int(torch.cuda.is_available()))')
if [ "$cuda" = 1 ]; then
  device=$(python -c 'import torch; print(torch.cuda.get_device_name(0))')
  epochs=${epochs:-10}
else
  device="CPU only ($(nproc) cores), torch $(python -c 'import torch; print(torch.__version__)')"
  epochs=${epochs:-2}
fi

if [ -z "$workdir" ]; then workdir=$(mktemp -d /tmp/gpu_check.XXXXXX); fi
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
cleanup() { if [ "$keep" = false ]; then rm -rf "$workdir"; fi; }
trap cleanup EXIT

start=$(date +%s)
echo "gpu_check: $(date -u '+%Y-%m-%d %H:%M UTC'), $device; EmoDB from $db_root; work dir $workdir"
echo "gpu_check: load average $(cut -d' ' -f1 /proc/loadavg) before"

# A recipe directory as egs/emodb is (links to the shared steps, utils, local, conf).
recipe=$workdir/emodb
mkdir -p "$recipe"
for f in steps utils local path.sh cmd.sh conf; do
  [ -e "$recipe/$f" ] || ln -s "$repo/egs/emodb/$f" "$recipe/$f"
done
cp "$repo/egs/emodb/run.sh" "$recipe/run.sh"

t=$(date +%s)
(cd "$recipe" && ./run.sh --db-root "$db_root" --stage 0 --stop-stage 3 --folds 1) > "$workdir/prepare.log" 2>&1 || {
  echo "gpu_check: preparing EmoDB failed; the end of $workdir/prepare.log:" >&2
  tail -n 20 "$workdir/prepare.log" >&2
  keep=true
  exit 1
}
echo "gpu_check: stages 0-3 (data, fbank, CMVN, graph) of fold 1 in $(( $(date +%s) - t )) s"

fold=$recipe/data/folds/fold1
graph=$(ls -d "$recipe"/exp/graph_*/fold1 | head -n 1)
rows=()
for amp in none bf16 fp16; do
  if [ "$amp" = fp16 ] && [ "$cuda" != 1 ]; then
    rows+=("$amp skipped: needs CUDA (no GPU on this machine)")
    continue
  fi
  log=$workdir/train_$amp.log
  if ! python "$repo/benchmarks/train_timing.py" --amp "$amp" --epochs "$epochs" --variant single_task "$repo/$config" \
      "$fold/train" "$fold/dev" "$graph" "$workdir/exp_$amp" > "$log" 2>&1; then
    rows+=("$amp FAILED: $(grep -v '^timing:' "$log" | tail -n 1)")
    continue
  fi
  rows+=("$amp $(grep '^timing:' "$log" | tail -n 1 | sed 's/^timing: //')")
done

echo "gpu_check: fold 1 of EmoDB, $config (single_task), $epochs epochs per row"
python - "${rows[@]}" <<'EOF'
import json, sys

print(f"{'amp':<6} {'first epoch s':>13} {'epoch s':>8} {'utt/s':>8} {'data wait':>10} {'peak GPU MB':>12} {'peak RSS MB':>12}  device")
for row in sys.argv[1:]:
    amp, rest = row.split(" ", 1)
    if not rest.startswith("{"):
        print(f"{amp:<6} {rest}")
        continue
    r = json.loads(rest)
    ep = r["epochs"]
    steady = ep[1:] or ep
    secs = sum(e["seconds"] for e in steady) / len(steady)
    utts = sum(e["utterances"] for e in steady) / len(steady)
    wait = sum(e["data_wait"] for e in steady) / max(sum(e["seconds"] for e in steady), 1e-9)
    gpu = f"{r['peak_gpu_mb']:.0f}" if r["peak_gpu_mb"] is not None else "n/a"
    print(f"{amp:<6} {ep[0]['seconds']:>13.2f} {secs:>8.2f} {utts / secs:>8.1f} {100 * wait:>9.1f}% {gpu:>12} "
          f"{r['peak_rss_mb']:>12.0f}  {r['device']}, {r['threads']} threads, {len(ep)} epochs of {ep[0]['utterances']} utts")
EOF
echo "gpu_check: took $(( $(date +%s) - start )) s; load average $(cut -d' ' -f1 /proc/loadavg) after"
