#!/usr/bin/env bash
# CREMA-D: 6 classes, 91 actors, English.
# Data preparation: local/prepare_cremad.py (its docstring gives the naming rules and what is skipped).
# Protocol: speaker groups of about 4 actors (23 folds), one dev actor per fold;
#   --fold-opts "--protocol groups --num-groups 5" for a quicker 5-fold run.
#
#   ./run.sh --db-root /path/to/cremad                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/cremad --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus cremad "$@"
