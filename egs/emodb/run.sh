#!/usr/bin/env bash
# EmoDB (Berlin Database of Emotional Speech): 7 classes, 10 speakers, German.
# Leave-one-speaker-out: 10 folds, each with one test speaker and one dev speaker carved from
# the training speakers; by default (steps/run_corpus.sh) ComParE functionals x MLP, single_task and
# emotion_gcn, 3 seeds, the dev speaker training too (--dev auto: the MLP scores its averaged last epochs),
# on the training speakers' audio and its noise and reverberation copies (--augment auto; none: off).
#
#   ./run.sh --db-root /path/to/emodb                             # the full run of RESULTS.md
#   ./run.sh --db-root /path/to/emodb --folds "1 2" --seeds 0 --epochs 5   # a quick run
#   ./run.sh --stage 3 --stop-stage 5                              # graph, training, scoring again
#   ./run.sh --feat-config conf/fbank.yaml --feat-tag fbank --train-config conf/train_ecapa.yaml \
#            --train-tag ecapa                                     # fbank x ECAPA-TDNN (the earlier default), in data/fbank
#   ./run.sh --cmvn global --train-tag mlp_global                  # no speaker statistics (the second normalisation)
#   ./run_frontends.sh --db-root /path/to/emodb                    # the front-end x backbone table of RESULTS.md
#
# Every option of steps/run_corpus.sh applies; the ones below are this corpus's defaults.
set -euo pipefail
exec steps/run_corpus.sh --corpus emodb --graph-tag prior "$@"
