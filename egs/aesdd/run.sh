#!/usr/bin/env bash
# AESDD: 5 classes, 5 actors, Greek.
# Data preparation: local/prepare_aesdd.py (its docstring gives the naming rules and what is skipped).
# Protocol: leave-one-speaker-out, 5 folds, one dev actor per fold.
#
#   ./run.sh --db-root /path/to/aesdd                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/aesdd --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus aesdd "$@"
