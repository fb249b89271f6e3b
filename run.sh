#!/usr/bin/env bash
# The default recipe: every stage on the embedded mini corpus, which stage 0 synthesizes into
# db/mini (no download), ending in a table of UA/WA/F1 for the three model variants.
#
#   ./run.sh                              # everything
#   ./run.sh --stage 3 --stop-stage 5     # graph, training and scoring again (finished work is skipped)
#   ./run.sh --folds "1 2" --epochs 4     # a quick run
#
# The mini corpus: 2 synthetic languages x 4 speakers, 5 classes; 4 folds of 2 test speakers
# (speaker groups), one training speaker held out as dev. Stages 0-5 are steps/run_corpus.sh, as
# in every egs/<corpus>/run.sh; the 2-D CNN config (conf/train_cnn.yaml), 12 epochs.
set -euo pipefail
exec steps/run_corpus.sh --corpus mini --db-root db/mini --epochs 12 --train-nj 1 \
  --feat-config conf/fbank.yaml \
  --train-config conf/train_cnn.yaml --train-tag "" --seeds 0 --variants "single_task multi_task emotion_gcn" "$@"
