#!/usr/bin/env bash
# Stage 5, first half: predictions of a trained model on one or more data directories, each written
# to <exp-dir>/scores/<set-name>/predictions.tsv with a marker of the model and data it came from
# (then steps/score.sh computes the metrics). One process loads the model once for every set; a
# set already predicted from the same model, checkpoint and data is left as it is.
#
# Usage: steps/infer.sh [--gpu auto|-1|N] [--checkpoint config|best|last|averaged] <exp-dir> <data-dir> <set-name> [<data-dir> <set-name> ...]
# --checkpoint config (the default) uses the experiment config's inference_checkpoint.
# --label-space corpus predicts each utterance among its corpus's classes, union among all (default
# config: the experiment config's label_space; emogcn/inference/infer.py).
set -euo pipefail

cmd=utils/run.pl
gpu=auto
checkpoint=config
label_space=config
help_message="Usage: $0 [--cmd utils/run.pl] [--gpu auto|-1|N] [--checkpoint config|best|last|averaged] [--label-space config|corpus|union] <exp-dir> <data-dir> <set-name> [<data-dir> <set-name> ...]"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then echo "$help_message" >&2; exit 1; fi
exp=$1
shift
[ -f "$exp/.done" ] || die "$exp has not finished training (no $exp/.done)"
need_feats=--need-feats  # none for a model whose upstream runs inside it (input: waveform): wav.scp
[ "$(config_input "$exp/config.yaml")" != waveform ] || need_feats=
sets=()
names=()
while [ $# -gt 0 ]; do
  utils/validate_data_dir.sh $need_feats "$1"
  sets+=("$1" "$exp/scores/$2")
  names+=("$2")
  shift 2
done
opts=()
[ "$checkpoint" = config ] || opts+=(--checkpoint "$checkpoint")
[ "$label_space" = config ] || opts+=(--label-space "$label_space")
[ "$gpu" = auto ] || opts+=(--gpu "$gpu")
log_name=infer_${names[0]}
[ "${#names[@]}" -eq 1 ] || log_name=infer_${#names[@]}sets
$cmd "$exp/log/$log_name.log" python -m emogcn.bin.infer "${opts[@]}" "$exp" "${sets[@]}" || {
  echo "$0: inference failed; see $exp/log/$log_name.log" >&2
  tail -n 3 "$exp/log/$log_name.log" >&2
  exit 1
}
