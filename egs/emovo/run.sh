#!/usr/bin/env bash
# EMOVO: 7 classes, 6 speakers, Italian.
# Data preparation: local/prepare_emovo.py (its docstring gives the naming rules and what is skipped).
# Protocol: leave-one-speaker-out, 6 folds, one dev speaker per fold.
#
#   ./run.sh --db-root /path/to/emovo                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/emovo --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus emovo "$@"
