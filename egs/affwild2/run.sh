#!/usr/bin/env bash
# Aff-Wild2: 7 expressions in its own label order, valence and arousal, 112-px cropped-aligned
# frames (conf/face112.yaml: already aligned, so no landmarks). Frames with both an expression and
# valence/arousal in [-1, 1]; test = Validation_Set, dev = every 10th training video.
# BReG-NeXt from scratch by default (conf/train_bregnext.yaml); scoring adds the Aff-Wild2
# measures (expressions: macro-F1, accuracy and 0.67 F1 + 0.33 accuracy; mean CCC of V and A).
#
#   ./run.sh --db-root /path/to/Aff-Wild2
#   ./run.sh --train-config conf/train_densenet.yaml --train-tag densenet   # DenseNet-121 instead
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus affwild2 --variants "single_task multi_task emotion_gcn" --seeds 0 --feat-config conf/face112.yaml --normalize false \
  --train-config conf/train_bregnext.yaml --train-tag bregnext --train-nj 1 --graph-tag auto "$@"
