#!/usr/bin/env bash
# URDU: 4 classes, 38 speakers from talk shows, Urdu.
# Data preparation: local/prepare_urdu.py (its docstring gives the naming rules and what is skipped).
# Protocol: speaker groups of about 4 speakers, one dev speaker per fold; --fold-opts
#   "--protocol groups --num-groups 5" for a quicker 5-fold run.
#
#   ./run.sh --db-root /path/to/urdu                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/urdu --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus urdu "$@"
