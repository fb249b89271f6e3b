#!/usr/bin/env bash
# SUBESCO: 7 classes, 20 speakers, Bangla.
# Data preparation: local/prepare_subesco.py (its docstring gives the naming rules and what is skipped).
# Protocol: speaker groups of 4 speakers (5 folds), one dev speaker per fold.
#
#   ./run.sh --db-root /path/to/subesco                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/subesco --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus subesco "$@"
