#!/usr/bin/env bash
# Stage 5, first half: predictions of a trained model on a data directory, written to
# <exp-dir>/scores/<set-name>/predictions.tsv (then steps/score.sh computes the metrics).
#
# Usage: steps/infer.sh [--gpu auto|-1|N] [--checkpoint config|best|last|averaged] <exp-dir> <data-dir> <set-name>
# --checkpoint config (the default) uses the experiment config's inference_checkpoint.
set -euo pipefail

cmd=utils/run.pl
gpu=auto
checkpoint=config
help_message="Usage: $0 [--cmd utils/run.pl] [--gpu auto|-1|N] [--checkpoint config|best|last|averaged] <exp-dir> <data-dir> <set-name>"

. ./path.sh
. utils/parse_options.sh

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
exp=$1; data=$2; name=$3

[ -f "$exp/.done" ] || { echo "$0: $exp has not finished training (no $exp/.done)" >&2; exit 1; }
utils/validate_data_dir.sh --need-feats "$data"
opts=()
[ "$checkpoint" = config ] || opts+=(--checkpoint "$checkpoint")
[ "$gpu" = auto ] || opts+=(--gpu "$gpu")
$cmd "$exp/log/infer_$name.log" python -m emogcn.bin.infer "${opts[@]}" "$exp" "$data" "$exp/scores/$name" || {
  echo "$0: inference failed; see $exp/log/infer_$name.log" >&2
  tail -n 3 "$exp/log/infer_$name.log" >&2
  exit 1
}
