#!/usr/bin/env bash
# Stage 4 of a recipe: trains every variant x seed x split, --train-nj at a time (steps/train.sh
# each: finished experiments are kept when trained with the same config and data, interrupted
# ones resume). Shared by the corpus recipes (splits fold<k>) and the multilingual one.
#
#   data   <data-root>/<split>/{<train-set>,<dev-set>} (--dev-set none: no dev set)
#   graph  <graph-root>/<split>
#   exp    <exp-root>/<variant>[_<tag>]_seed<seed>/<split>, config <config> with model.variant set to <variant>
#   the split's test sets (those <data-root>/<split>/tests lists, else <data-root>/<split>/test) go to
#   steps/train.sh --unlabelled: a config with domain_adversarial.unlabelled_tests reads their audio
#
# Usage: steps/train_splits.sh [options] <config> <data-root> <graph-root> <exp-root> <split>...
#   e.g. steps/train_splits.sh --seeds "0 1" --tag ecapa conf/train_ecapa.yaml data/folds exp/graph_auto exp fold1 fold2
set -euo pipefail

cmd=utils/run.pl
gpu=auto
seeds="0"
variants="single_task multi_task emotion_gcn"
tag=
train_set=train
dev_set=dev       # none: train without a dev set; inner: choose by inner folds of the training speakers
train_nj=1        # trainings at once (CPU: up to the core count, each on one thread)
epochs=
cmvn=
help_message="Usage: $0 [--cmd CMD] [--gpu auto|-1|N] [--seeds '0'] [--variants '...'] [--tag T] [--train-set train]
       [--dev-set dev|none] [--train-nj N] [--epochs N] [--cmvn speaker|corpus|global|none] <config> <data-root> <graph-root> <exp-root> <split>..."

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

[ $# -ge 5 ] || { echo "$help_message" >&2; exit 1; }
config=$1; data_root=$2; graph_root=$3; exp_root=$4
shift 4
case "$train_nj" in ''|*[!0-9]*|0) die "--train-nj must be a positive integer, not '$train_nj'" ;; esac
[ -f "$config" ] || die "no training config $config"
for variant in $variants; do
  case "$variant" in single_task|multi_task|emotion_gcn) ;; *) die "unknown variant '$variant' (single_task, multi_task, emotion_gcn)" ;; esac
done

threads=0
[ "$train_nj" -le 1 ] || threads=1
test_sets_of() {  # the split's test sets: data dirs, one per line
  if [ -f "$data_root/$1/tests" ]; then sed "s|^|$data_root/$1/|" "$data_root/$1/tests"
  elif [ -d "$data_root/$1/test" ]; then echo "$data_root/$1/test"; fi
}

for seed in $seeds; do
  for variant in $variants; do
    for split in "$@"; do
      steps/train.sh --cmd "$cmd" --gpu "$gpu" --seed "$seed" --variant "$variant" --num-threads "$threads" \
        ${epochs:+--epochs "$epochs"} ${cmvn:+--cmvn "$cmvn"} --unlabelled "$(test_sets_of "$split")" "$config" \
        "$data_root/$split/$train_set" "$(case $dev_set in none|inner) echo "$dev_set" ;; *) echo "$data_root/$split/$dev_set" ;; esac)" \
        "$graph_root/$split" \
        "$exp_root/$variant${tag:+_$tag}_seed$seed/$split" &
      pool_throttle "$train_nj"
    done
  done
done
pool_drain
[ "$pool_failed" -eq 0 ] || die "$pool_failed training run(s) failed; see the messages above"
