#!/usr/bin/env bash
# RAVDESS, speech subset: 8 classes (calm kept), 24 actors, English.
# Data preparation: local/prepare_ravdess.py (its docstring gives the naming rules and what is skipped).
# Protocol: 6 speaker groups of 4 actors (the prepare script's default; --fold-opts "--protocol groups --num-groups 5"
#   mixes male and female test speakers), one dev actor per fold.
#
#   ./run.sh --db-root /path/to/ravdess                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/ravdess --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus ravdess "$@"
