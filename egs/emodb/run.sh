#!/usr/bin/env bash
# EmoDB (Berlin Database of Emotional Speech): 7 classes, 10 speakers, German.
# Leave-one-speaker-out: 10 folds, each with one test speaker and one dev speaker carved from
# the training speakers. Stages 1-5 are the shared recipe in steps/recipe.sh.
#
#   ./run.sh --db-root /path/to/emodb                       # the full 10-fold run, 3 variants
#   ./run.sh --db-root /path/to/emodb --folds "1 2" --epochs 5   # a quick run
#   ./run.sh --stage 3 --stop-stage 5                        # graph, training, scoring again
set -euo pipefail

db_root=
stage=0
stop_stage=5
nj=2
seeds="0 1 2"
folds=
epochs=
gpu=auto
train_nj=2      # trainings at once on the CPU, one thread each (the cores of a 2-core machine)
variants="single_task multi_task emotion_gcn"
train_config_prefix=conf/train_ecapa_   # conf/train_ for the 2-D CNN of the first results
train_tag=ecapa                         # experiments: exp/<variant>_<tag>_seed<s>
graph_config=conf/graph.yaml
graph_tag=prior
help_message="Usage: $0 --db-root <emodb-dir> [--stage 0] [--stop-stage 5] [--nj 2] [--seeds '0 1 2'] [--folds '1 2'] [--epochs N]
       [--train-nj 2] [--train-config-prefix conf/train_ecapa_ --train-tag ecapa]"

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -f data/all/.done ]; then
    log "stage 0: data/all already prepared"
  else
    [ -n "$db_root" ] || { echo "$0: stage 0 needs --db-root <emodb-dir>" >&2; exit 1; }
    log "stage 0: preparing EmoDB from $db_root"
    rm -rf data/all.tmp data/folds data/all
    python local/prepare_emodb.py "$db_root" data/all.tmp
    utils/validate_data_dir.sh --labels conf/emotions.yaml data/all.tmp
    mv data/all.tmp data/all
    python -m emogcn.bin.make_folds --protocol loso --num-dev-speakers 1 data/all data/folds
    touch data/all/.done
  fi
fi

steps/recipe.sh --stage "$stage" --stop-stage "$stop_stage" --nj "$nj" --cmd "$train_cmd" \
  --seeds "$seeds" --folds "$folds" --epochs "$epochs" --gpu "$gpu" --train-nj "$train_nj" --variants "$variants" \
  --train-config-prefix "$train_config_prefix" --train-tag "$train_tag" \
  --graph-config "$graph_config" --graph-tag "$graph_tag" --results RESULTS.md
