#!/usr/bin/env bash
# Stage 4: trains one model. Skips a finished experiment made from the same config and data
# (exp-dir/.done), refuses one made otherwise; resumes an interrupted one from its last checkpoint
# unless --resume false. <dev-dir> `none`: no dev set (the config scores its last or averaged epochs);
# `inner`: the config's select.grid chosen by inner folds of the training speakers (emogcn/training/nested.py).
# --variant V overrides the config's model.variant (one config per backbone serves every variant).
# --ngpu N > 1 launches N processes with torchrun (DDP; one GPU each, or gloo CPU processes where
# there is no CUDA); the config's batch_size is the global batch, shared by the processes.
#
# Usage: steps/train.sh [options] <config.yaml> <train-dir> <dev-dir|none|inner> <graph-dir> <exp-dir>
set -euo pipefail

cmd=utils/run.pl
gpu=auto       # auto: CUDA device 0 when present, else CPU; -1: CPU; N: CUDA device N
resume=true
seed=
variant=       # single_task | multi_task | emotion_gcn: overrides the config's model.variant
epochs=
cmvn=          # speaker | global | none: overrides the config's normalisation
num_threads=0  # CPU threads for torch (0: its default); use 1 when several trainings run at once
ngpu=1         # > 1: processes of one DDP training, launched by torchrun
unlabelled=    # data dirs whose audio (not labels) a config with domain_adversarial.unlabelled_tests reads
help_message="Usage: $0 [--cmd utils/run.pl] [--gpu auto|-1|N] [--ngpu N] [--resume true|false] [--seed N] [--variant V] [--epochs N]
       [--cmvn speaker|corpus|global|none] [--num-threads N] [--unlabelled 'DIR ...'] <config.yaml> <train-dir> <dev-dir|none|inner> <graph-dir> <exp-dir>"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 5 ]; then echo "$help_message" >&2; exit 1; fi
config=$1; train=$2; dev=$3; graph=$4; exp=$5

for f in "$config" "$graph/.done"; do
  [ -f "$f" ] || { echo "$0: $f not found" >&2; exit 1; }
done
# a model whose upstream runs in the training loop (input: waveform) reads wav.scp, not features
need_feats=--need-feats
[ "$(config_input "$config")" != waveform ] || need_feats=
utils/validate_data_dir.sh $need_feats "$train"
case "$dev" in none|inner) ;; *) utils/validate_data_dir.sh $need_feats "$dev" ;; esac
case "$ngpu" in ''|*[!0-9]*|0) die "--ngpu must be a positive integer, not '$ngpu'" ;; esac
launch=(python -m emogcn.bin.train)
# torchrun's own launcher; --standalone: a rendezvous on this host, on a free port
[ "$ngpu" -le 1 ] || launch=(python -m torch.distributed.run --standalone --nproc-per-node "$ngpu" -m emogcn.bin.train)

if [ "$resume" = false ] && [ ! -f "$exp/.done" ]; then rm -rf "$exp/checkpoints"; fi

opts=(--resume "$resume" --num-threads "$num_threads")
[ "$gpu" = auto ] || opts+=(--gpu "$gpu")
[ -z "$seed" ] || opts+=(--seed "$seed")
[ -z "$variant" ] || opts+=(--variant "$variant")
[ -z "$epochs" ] || opts+=(--epochs "$epochs")
[ -z "$cmvn" ] || opts+=(--cmvn "$cmvn")
for d in $unlabelled; do opts+=(--unlabelled "$d"); done
if [ -f "$exp/.done" ]; then  # kept if trained with this config, refused if not (emogcn/bin/train.py)
  python -m emogcn.bin.train "${opts[@]}" "$config" "$train" "$dev" "$graph" "$exp"
  exit
fi
mkdir -p "$exp/log"
if [ -f "$exp/log/train.log" ]; then  # an interrupted run's log: kept as train.log.1, .2, ... (run.pl truncates)
  n=1; while [ -e "$exp/log/train.log.$n" ]; do n=$((n + 1)); done
  mv "$exp/log/train.log" "$exp/log/train.log.$n"
fi
echo "$0: training $exp (log: $exp/log/train.log)" >&2
$cmd "$exp/log/train.log" "${launch[@]}" "${opts[@]}" "$config" "$train" "$dev" "$graph" "$exp" || {
  echo "$0: training failed; the last lines of $exp/log/train.log:" >&2
  tail -n 5 "$exp/log/train.log" >&2
  exit 1
}
grep -E "best epoch|without a dev set" "$exp/log/train.log" | tail -n 1 | sed "s|^|$exp: |" >&2
