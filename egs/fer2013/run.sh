#!/usr/bin/env bash
# FER2013, the image-folder release: 7 classes, 48x48 grayscale faces (made RGB), no speakers.
# Data preparation: local/prepare_fer2013.py. Protocol: the release's train/test split, dev
# every 10th training image of each class. No dimensions: the `prior` label graph.
# Model: BReG-NeXt from scratch with the original's SGD setup (conf/train_bregnext.yaml).
#
#   ./run.sh --db-root /path/to/fer2013            # stages 0-5, the three variants
#   ./run.sh --stage 3 --stop-stage 5               # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus fer2013 --variants "single_task multi_task emotion_gcn" --seeds 0 --feat-config conf/face48.yaml --normalize false \
  --train-config conf/train_bregnext.yaml --train-tag bregnext --graph-tag prior "$@"
