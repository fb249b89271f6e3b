#!/usr/bin/env bash
# AffectNet (manually annotated): 7 expressions, valence and arousal; faces aligned about the eye
# midpoint and cropped to the face box at 227 px (conf/face227.yaml). Test = validation.csv.
# The original Emotion-GCN's setting by default: DenseNet-121 (ImageNet weights), SGD, 10 epochs
# (conf/train_densenet_*.yaml); the graph comes from the training labels (classes + valence +
# arousal, the correlation graph). README.md says how to reproduce the paper's 66.46 %.
#
#   ./run.sh --db-root /path/to/AffectNet
#   ./run.sh --db-root /path/to/AffectNet --fold-opts "--dev-from validation"   # the paper's selection
#   ./run.sh --train-config-prefix conf/train_bregnext_ --train-tag bregnext     # BReG-NeXt instead
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus affectnet --feat-config conf/face227.yaml --normalize false \
  --train-config-prefix conf/train_densenet_ --train-tag densenet --train-nj 1 --graph-tag auto "$@"
