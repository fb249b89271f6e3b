#!/usr/bin/env bash
# The default recipe: every stage on the embedded mini corpus, which stage 0 synthesizes (no
# download), ending in a table of UA/WA/F1 for the three model variants.
#
#   ./run.sh                              # everything
#   ./run.sh --stage 3 --stop-stage 5     # graph, training and scoring again (finished work is skipped)
#
# Stages 1-5 are the shared recipe in steps/recipe.sh; egs/<corpus>/run.sh do the same on real corpora.
set -euo pipefail

stage=0
stop_stage=5
nj=2
seeds="0"
folds=          # e.g. "1 2" for a quick run; empty: all 4 folds
epochs=12       # overrides conf/train_*.yaml (20 epochs, sized for EmoDB); empty: theirs
gpu=auto
train_nj=1      # trainings at once; 2 uses both cores of a 2-core machine
variants="single_task multi_task emotion_gcn"
help_message="Usage: $0 [--stage 0] [--stop-stage 5] [--nj 2] [--seeds '0'] [--folds '1 2'] [--epochs N] [--gpu auto|-1|N]"

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -f data/all/.done ]; then
    log "stage 0: data/all already prepared"
  else
    log "stage 0: synthesizing the mini corpus into db/mini and data/all"
    rm -rf data/all.tmp data/folds data/all
    python local/make_mini_corpus.py --seed 0 db/mini data/all.tmp
    utils/validate_data_dir.sh --labels conf/emotions.yaml data/all.tmp
    mv data/all.tmp data/all
    # Speaker groups: 4 folds of 2 test speakers, one training speaker held out as dev.
    python -m emogcn.bin.make_folds --protocol groups --num-groups 4 data/all data/folds
    touch data/all/.done
  fi
fi

steps/recipe.sh --stage "$stage" --stop-stage "$stop_stage" --nj "$nj" --cmd "$train_cmd" \
  --seeds "$seeds" --folds "$folds" --epochs "$epochs" --gpu "$gpu" --train-nj "$train_nj" --variants "$variants" \
  --graph-tag auto --results RESULTS.md
