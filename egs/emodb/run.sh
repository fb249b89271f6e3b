#!/usr/bin/env bash
# EmoDB (Berlin Database of Emotional Speech): 7 classes, 10 speakers, German.
# Leave-one-speaker-out: 10 folds, each with one test speaker and one dev speaker carved from
# the training speakers; 3 seeds, the three model variants, the ECAPA-TDNN configs.
#
#   ./run.sh --db-root /path/to/emodb                             # the full run of RESULTS.md
#   ./run.sh --db-root /path/to/emodb --folds "1 2" --seeds 0 --epochs 5   # a quick run
#   ./run.sh --stage 3 --stop-stage 5                              # graph, training, scoring again
#   ./run.sh --train-config conf/train_cnn.yaml --train-tag cnn    # the 2-D CNN of the first results
#   ./run.sh --feat-config conf/compare.yaml --feat-tag compare --train-config conf/train_mlp.yaml \
#            --train-tag compare_mlp                               # ComParE functionals + MLP, in data/compare
#   ./run_frontends.sh --db-root /path/to/emodb                    # the front-end x backbone table of RESULTS.md
#
# Every option of steps/run_corpus.sh applies; the ones below are this corpus's defaults.
set -euo pipefail
exec steps/run_corpus.sh --corpus emodb --seeds "0 1 2" --graph-tag prior "$@"
