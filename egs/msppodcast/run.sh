#!/usr/bin/env bash
# MSP-Podcast: the consensus categorical labels and arousal/valence/dominance, English podcasts.
# Data preparation: local/prepare_msppodcast.py (its docstring gives the naming rules and what is skipped).
# Protocol: the official Split_Set partitions (Train / Development / Test1), one fold.
#
#   ./run.sh --db-root /path/to/msppodcast                    # stages 0-5: ComParE x MLP (+ noise/reverb copies), single_task and emotion_gcn, seeds 0 1 2
#   ./run.sh --db-root /path/to/msppodcast --classes four     # angry/happy/neutral/sad only
#   ./run.sh --stage 3 --stop-stage 5                      # graph, training, scoring again
#
# Every option of steps/run_corpus.sh applies.
set -euo pipefail
exec steps/run_corpus.sh --corpus msppodcast "$@"
