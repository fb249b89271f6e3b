#!/usr/bin/env bash
# TESS: 7 classes, 2 speakers (OAF, YAF), English.
# Data preparation: local/prepare_tess.py (its docstring gives the naming rules and what is skipped).
# Protocol: 2 folds: test one speaker, train on the other, dev every few words of the training speaker.
#
#   ./run.sh --db-root /path/to/tess                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/tess --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus tess "$@"
