#!/usr/bin/env bash
# The front-end x backbone grid of RESULTS.md: each pair through the same stages as ./run.sh, its
# features in data/<front-end>/ (--feat-tag), its experiments exp/<variant>_<front-end>_<backbone>_seed<s>,
# then the table over folds and seeds (python -m emogcn.bin.pool_scores --grid).
#
#   ./run_frontends.sh --db-root /path/to/emodb                       # the pairs that need no download
#   ./run_frontends.sh --db-root /path/to/emodb --pairs "hubert_base:ssl_ecapa"   # needs the HuBERT weights
#   ./run_frontends.sh --pairs "compare_sp:mlp" --seeds 0              # ComParE with speed perturbation
#   ./run_frontends.sh --pairs "compare:mlp" --cmvn global             # fold-global statistics: exp/*_compare_mlp_global_seed*
#
# A pair is <front-end>:<backbone>: the front-end names conf/<front-end>.yaml (compare_sp: conf/compare.yaml
# with --speed-perturb "0.9 1.1"; hubert_base: conf/ssl_hubert_base.yaml), the backbone conf/train_<backbone>.yaml.
set -euo pipefail

db_root=
pairs="fbank:ecapa compare:mlp egemaps:mlp"
seeds="0 1 2"
variants="single_task emotion_gcn"
cmvn=       # speaker|global|none: overrides the training configs' normalisation, and is appended to the experiment names
folds=      # a subset of folds for a quick run (default: all)
epochs=     # fewer epochs for a quick run (default: the configs')
augment=none  # the grid of RESULTS.md trains on the audio as recorded; auto: with the recipes' default copies
help_message="Usage: $0 [--db-root <emodb>] [--pairs 'fbank:ecapa compare:mlp ...'] [--seeds '0 1 2'] [--variants '...'] [--cmvn speaker|global|none] [--folds '1 2'] [--epochs N] [--augment none|auto]"
. ./path.sh
. utils/parse_options.sh

config_of() {  # the front-end config of a front-end name
  case "$1" in
    *_sp) echo "conf/${1%_sp}.yaml" ;;
    wav2vec2_base|hubert_base|wavlm_base_plus) echo "conf/ssl_$1.yaml" ;;
    *) echo "conf/$1.yaml" ;;
  esac
}
case "$cmvn" in ""|speaker|global|none) ;; *) echo "$0: --cmvn $cmvn: expected speaker, global or none" >&2; exit 1 ;; esac
for pair in $pairs; do  # every pair checked before any runs
  [ -f "$(config_of "${pair%%:*}")" ] || { echo "$0: pair $pair: no $(config_of "${pair%%:*}")" >&2; exit 1; }
  [ -f "conf/train_${pair#*:}.yaml" ] || { echo "$0: pair $pair: no conf/train_${pair#*:}.yaml" >&2; exit 1; }
done

results=()
for pair in $pairs; do
  frontend=${pair%%:*}
  backbone=${pair#*:}
  tag=${frontend}_$backbone${cmvn:+_$cmvn}
  opts=(--augment "$augment")
  case "$frontend" in *_sp) opts+=(--speed-perturb "0.9 1.1") ;; esac
  [ -n "$cmvn" ] && opts+=(--cmvn "$cmvn")
  [ -n "$folds" ] && opts+=(--folds "$folds")
  [ -n "$epochs" ] && opts+=(--epochs "$epochs")
  echo "$0: front-end $frontend ($(config_of "$frontend")), backbone $backbone" >&2
  ./run.sh ${db_root:+--db-root "$db_root"} --feat-config "$(config_of "$frontend")" --feat-tag "$frontend" "${opts[@]}" \
    --train-config "conf/train_${backbone}.yaml" --train-tag "$tag" \
    --seeds "$seeds" --variants "$variants"
  for v in $variants; do for s in $seeds; do results+=("exp/${v}_${tag}_seed$s/pooled"); done; done
done
python -m emogcn.bin.pool_scores --grid "${results[@]}"
