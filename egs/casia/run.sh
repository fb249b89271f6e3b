#!/usr/bin/env bash
# CASIA (public subset): 6 classes, 4 speakers, Mandarin.
# Data preparation: local/prepare_casia.py (its docstring gives the naming rules and what is skipped).
# Protocol: leave-one-speaker-out, 4 folds, one dev speaker per fold.
#
#   ./run.sh --db-root /path/to/casia                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/casia --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus casia "$@"
