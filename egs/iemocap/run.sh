#!/usr/bin/env bash
# IEMOCAP: the common 4-class set (exc merged into happiness), valence/arousal/dominance, English.
# Data preparation: local/prepare_iemocap.py (its docstring gives the naming rules and what is skipped).
# Protocol: leave-one-session-out (5 folds), dev speakers from the training sessions. The graph is the
#   original's correlation graph (graph tag auto: the corpus has dimensions).
#
#   ./run.sh --db-root /path/to/iemocap                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/iemocap --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus iemocap "$@"
