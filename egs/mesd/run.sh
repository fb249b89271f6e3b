#!/usr/bin/env bash
# MESD: 6 classes, female, male and child voices, Mexican Spanish.
# Data preparation: local/prepare_mesd.py (its docstring gives the naming rules and what is skipped).
# Protocol: leave-one-voice-out, 3 folds (adult female, adult male, child), one voice as dev:
#   voice-independent, not speaker-independent.
#
#   ./run.sh --db-root /path/to/mesd                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/mesd --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus mesd "$@"
