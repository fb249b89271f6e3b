#!/usr/bin/env bash
# The classic baseline: an SVM over utterance-level functionals (features from conf/egemaps.yaml or
# conf/compare.yaml). Kernel and C are chosen by speaker-grouped cross-validation on the training
# speakers only; the refitted SVM writes <exp-dir>/scores/<name>/predictions.tsv for every test set
# (then steps/score.sh <exp-dir> <name>), classes.txt and svm.yaml. Several training directories,
# comma-separated, are combined (a fold's train and dev: the SVM needs no dev set). A finished
# experiment (exp-dir/.done) is kept if made with the same request, refused if not.
#
# Usage: steps/train_svm.sh [options] <train-dir>[,<train-dir2>...] [<name>=<test-dir> ...] <exp-dir>
set -euo pipefail

cmd=utils/run.pl
config=conf/svm.yaml
cmvn=          # speaker | global | none: overrides the config's normalisation
classes=       # class list, one per line (default: the training labels in conf/emotions.yaml order)
global_stats=  # --cmvn global: cmvn_global.scp or a data dir holding one (default: the first training dir's)
help_message="Usage: $0 [--cmd utils/run.pl] [--config conf/svm.yaml] [--cmvn speaker|corpus|global|none] [--classes FILE]
       [--global-stats SCP|DIR] <train-dir>[,<train-dir2>...] [<name>=<test-dir> ...] <exp-dir>
 e.g.: $0 --cmvn speaker data/compare/folds/fold1/train,data/compare/folds/fold1/dev \\
         test=data/compare/folds/fold1/test exp/svm_compare/fold1"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -lt 2 ]; then echo "$help_message" >&2; exit 1; fi
train=$1
exp=${*: -1}
tests=("${@:2:$#-2}")

[ -f "$config" ] || { echo "$0: $config not found" >&2; exit 1; }
IFS=, read -r -a train_dirs <<<"$train"
for d in "${train_dirs[@]}"; do utils/validate_data_dir.sh --need-feats "$d"; done
for t in "${tests[@]}"; do
  case $t in
    ?*=?*) utils/validate_data_dir.sh --need-feats "${t#*=}" ;;
    *) echo "$0: expected <name>=<test-dir>, got '$t'" >&2; exit 1 ;;
  esac
done

opts=(--config "$config")
[ -z "$cmvn" ] || opts+=(--cmvn "$cmvn")
[ -z "$classes" ] || opts+=(--classes "$classes")
[ -z "$global_stats" ] || opts+=(--global-stats "$global_stats")
if [ -f "$exp/.done" ]; then  # kept if made with this request, refused if not (emogcn/classic/experiment.py)
  python -m emogcn.bin.train_svm "${opts[@]}" "$exp" "$train" "${tests[@]}"
  exit
fi
mkdir -p "$exp/log"
echo "$0: SVM $exp (log: $exp/log/train_svm.log)" >&2
$cmd "$exp/log/train_svm.log" python -m emogcn.bin.train_svm "${opts[@]}" "$exp" "$train" "${tests[@]}" || {
  echo "$0: the SVM failed; the last lines of $exp/log/train_svm.log:" >&2
  tail -n 5 "$exp/log/train_svm.log" >&2
  exit 1
}
grep -E "chose " "$exp/log/train_svm.log" | tail -n 1 | sed "s|^.*: chose|$exp: chose|" >&2
