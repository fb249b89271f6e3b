#!/usr/bin/env bash
# AffectNet (manually annotated): 7 expressions, valence and arousal; faces aligned about the eye
# midpoint and cropped to the face box at 227 px (conf/face227.yaml). Test = validation.csv.
# The original Emotion-GCN's setting by default: DenseNet-121 (ImageNet weights), SGD, 10 epochs
# (conf/train_densenet.yaml); the graph comes from the training labels (classes + valence +
# arousal, the correlation graph). README.md says how to reproduce the paper's 66.46 %.
#
#   ./run.sh --db-root /path/to/AffectNet
#   ./run.sh --db-root /path/to/AffectNet --fold-opts "--dev-from validation"   # the paper's selection
#   ./run.sh --train-config conf/train_bregnext.yaml --train-tag bregnext     # BReG-NeXt instead
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus affectnet --variants "single_task multi_task emotion_gcn" --seeds 0 --feat-config conf/face227.yaml --normalize false \
  --train-config conf/train_densenet.yaml --train-tag densenet --train-nj 1 --graph-tag auto "$@"
