#!/usr/bin/env bash
# ESD: 5 classes, 20 speakers, English (0011-0020) and Mandarin (0001-0010).
# Data preparation: local/prepare_esd.py (its docstring gives the naming rules and what is skipped).
# Protocol: speaker groups of 4 speakers (5 folds), one dev speaker per fold; utt2lang holds en or zh.
#
#   ./run.sh --db-root /path/to/esd                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/esd --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus esd "$@"
