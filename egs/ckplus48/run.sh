#!/usr/bin/env bash
# CK+48: the face-cropped Extended Cohn-Kanade set, 981 48x48 grayscale faces (made RGB) of 118
# subjects, 7 posed expressions (anger contempt disgust fear happy sadness surprise).
# Data preparation: local/prepare_ckplus48.py. Protocol: 10 subject-independent folds (round-robin
# subject groups); fold k tests on group k and selects its checkpoint on group k+1. No dimensions:
# the `prior` label graph. Model: a small BReG-NeXt from scratch that trains a fold in about two
# minutes on one CPU core (conf/train_bregnext_small.yaml). README.md: protocol and choices.
#
#   ./run.sh --db-root /path/to/CK+48              # stages 0-5, the three variants
#   ./run.sh --stage 3 --stop-stage 5               # graph, training, scoring again
#   ./run.sh --db-root /path/to/CK+48 --seeds "0 1 2 3 4"
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus ckplus48 --variants "single_task multi_task emotion_gcn" --seeds 0 --feat-config conf/face48.yaml --normalize false \
  --train-config conf/train_bregnext_small.yaml --train-tag bregnext_small --graph-tag prior "$@"
