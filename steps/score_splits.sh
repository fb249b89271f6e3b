#!/usr/bin/env bash
# Stage 5 of a recipe: predictions and scores of every variant x seed x split on the split's test
# sets: those listed in <data-root>/<split>/tests (the multilingual splits), else `test`. One
# inference process per model scores all its test sets (steps/infer.sh); a test set whose
# predictions were made from the same model and data is not predicted again. --nj models are scored
# at once (on the CPU each on one thread), as steps/train_splits.sh trains them.
#
#   model   <exp-root>/<variant>[_<tag>]_seed<seed>/<split>
#   scores  <model>/scores/<test-set>/{predictions.tsv,metrics.json,confusion.*}
#
# Usage: steps/score_splits.sh [options] <data-root> <exp-root> <split>...
set -euo pipefail

cmd=utils/run.pl
gpu=auto
seeds="0"
variants="single_task multi_task emotion_gcn"
tag=
label_space=config  # corpus | union: the classes each prediction is made among (steps/infer.sh)
nj=1                # models scored at once
help_message="Usage: $0 [--cmd CMD] [--gpu auto|-1|N] [--seeds '0'] [--variants '...'] [--tag T] [--label-space config|corpus|union] [--nj N] <data-root> <exp-root> <split>..."

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

[ $# -ge 3 ] || { echo "$help_message" >&2; exit 1; }
data_root=$1; exp_root=$2
shift 2
case "$nj" in ''|*[!0-9]*|0) die "--nj must be a positive integer, not '$nj'" ;; esac
[ "$nj" -le 1 ] || export OMP_NUM_THREADS=1  # several inference processes share the cores

score_model() {  # <exp-dir> <split>: predictions on every test set of the split, then their scores
  local e=$1 split=$2 tests=test t sets=()
  [ ! -f "$data_root/$split/tests" ] || tests=$(cat "$data_root/$split/tests")
  for t in $tests; do sets+=("$data_root/$split/$t" "$t"); done
  steps/infer.sh --cmd "$cmd" --gpu "$gpu" --label-space "$label_space" "$e" "${sets[@]}" || return 1
  for t in $tests; do steps/score.sh "$e" "$t" || return 1; done
}

for seed in $seeds; do
  for variant in $variants; do
    for split in "$@"; do
      score_model "$exp_root/$variant${tag:+_$tag}_seed$seed/$split" "$split" &
      pool_throttle "$nj"
    done
  done
done
pool_drain
[ "$pool_failed" -eq 0 ] || die "$pool_failed model(s) could not be scored; see the messages above"
