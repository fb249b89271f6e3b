#!/usr/bin/env bash
# Stage 3: the Emotion-GCN label graph and node features from a TRAINING data directory.
# Run from a recipe directory (one with path.sh, utils/ and conf/). Writes <graph-dir>/{classes.txt,
# nodes.txt, adjacency/propagation/correlation .npy+.txt, node_features.npy, graph.yaml, .done};
# the log, with the propagation matrix as a table, is <graph-dir>/log/build_graph.log. A graph
# already built from the same config, label map, word vectors and training labels is kept; one
# built otherwise is refused (use another graph directory, or remove it).

set -euo pipefail

cmd=utils/run.pl
config=conf/graph.yaml   # '' for the built-in defaults
word_vectors=
method=
confusion_from=

help_message="Usage: $0 [options] <train-data-dir> <graph-dir>
e.g.: $0 --word-vectors /corpora/glove/glove.6B.300d.txt data/emodb/folds/fold1/train exp/emodb/graph/fold1
Options:
  --cmd <cmd>              how to run the job (default: $cmd)
  --config <yaml>          graph config (default: $config; '' for the built-in defaults)
  --word-vectors <file>    GloVe / word2vec / fastText text file for node features
                           (default: the config's word_vectors, else one-hot features)
  --method <method>        auto|correlation|prior|embedding|identity|circumplex|votes|confusion
                           (default: the config's)
  --confusion-from <tsv>   method confusion: a first model's predictions.tsv on training-speaker
                           data (default: the config's confusion_from)"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 2 ]; then
  printf '%s\n' "$help_message" >&2
  exit 1
fi
data=${1%/}
dir=${2%/}

opts=()
[ -z "$config" ] || opts+=(--config "$config")
[ -z "$word_vectors" ] || opts+=(--word-vectors "$word_vectors")
[ -z "$method" ] || opts+=(--method "$method")
[ -z "$confusion_from" ] || opts+=(--confusion-from "$confusion_from")

rc=0
python -m emogcn.bin.build_graph --check-only "${opts[@]}" "$data" "$dir" || rc=$?
case $rc in 0) exit 0 ;; 3) ;; *) exit 1 ;; esac  # built as asked / to build / refused (said why)
mkdir -p "$dir/log"
if ! $cmd "$dir/log/build_graph.log" python -m emogcn.bin.build_graph "${opts[@]}" "$data" "$dir"; then
  echo "$0: failed; from $dir/log/build_graph.log:" >&2
  grep -v '^#' "$dir/log/build_graph.log" | tail -n 2 >&2
  exit 1
fi
echo "$0: graph of $data in $dir ($(grep -m1 '^method:' "$dir/graph.yaml"))" >&2
