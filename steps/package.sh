#!/usr/bin/env bash
# Stage 6: packages one trained model into a self-contained directory (weights, configs, label
# graph, normalisation statistics, model card) for emogcn-predict and the Python API.
#
# Usage: steps/package.sh [options] <exp-dir> <out-dir>
#   e.g. steps/package.sh --fold 1 --results RESULTS.md exp/single_task_ecapa_seed0 exp/model
set -euo pipefail

fold=              # package <exp-dir>/fold<fold>; empty: <exp-dir> is one model already
checkpoint=config  # config (the experiment's inference_checkpoint) | best | last | averaged
results=           # RESULTS.md with the experiment's row, for the model card
results_name=      # the row to report; empty: the experiment's name (exp/<name>[/fold<k>])
feat_config=       # front-end YAML; empty: data[/<tag>]/all/conf/feats.yaml beside the training data
norm_default=      # normalisation policy of the package; empty: emogcn's choice (see the model card)
corpus=            # corpus name for the model card; empty: the training data's utt2corpus
help_message="Usage: $0 [--fold K] [--checkpoint config|best|last|averaged] [--results RESULTS.md] [--results-name NAME]
       [--feat-config F] [--norm-default global|utterance|batch|speaker|none] [--corpus NAME] <exp-dir> <out-dir>"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
exp=${1%/}; out=${2%/}

model=$exp${fold:+/fold$fold}
if [ -f "$model/config.yaml" ] && [ ! -f "$model/.done" ]; then
  echo "$0: $model has not finished training (no $model/.done)" >&2; exit 1
fi
opts=()
[ -z "$fold" ] || opts+=(--fold "$fold")
[ "$checkpoint" = config ] || opts+=(--checkpoint "$checkpoint")
[ -z "$results" ] || opts+=(--results "$results")
[ -z "$results_name" ] || opts+=(--results-name "$results_name")
[ -z "$feat_config" ] || opts+=(--feat-config "$feat_config")
[ -z "$norm_default" ] || opts+=(--norm-default "$norm_default")
[ -z "$corpus" ] || opts+=(--corpus "$corpus")
python -m emogcn.bin.package "${opts[@]}" "$exp" "$out"
