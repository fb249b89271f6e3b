#!/usr/bin/env bash
# Stage 5: scores one set of an experiment. Reads <exp-dir>/scores/<set>/predictions.tsv (written by
# inference) and writes metrics.json, confusion.txt and confusion.png next to it.
set -euo pipefail

classes=   # default: <exp-dir>/classes.txt if present, else the p_<class> columns of predictions.tsv
title=     # confusion plot title; default <exp-dir>/<set>

help_message="Usage: $0 [options] <exp-dir> <set-name>
 e.g.: $0 exp/emodb/fold1/emotion_gcn test
Scores <exp-dir>/scores/<set-name>/predictions.tsv into <exp-dir>/scores/<set-name>/.
Options:
  --classes <file>   class list, one per line, in model output order
                     (default: <exp-dir>/classes.txt if present, else the p_ columns)
  --title <text>     title of confusion.png (default: <exp-dir>/<set-name>)"

. "$(dirname "$0")/lib.sh"
. "$EMOGCN_ROOT/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  printf '%s\n' "$help_message" >&2
  exit 1
fi
exp=$1
set=$2
dir=$exp/scores/$set
predictions=$dir/predictions.tsv

[ -f "$predictions" ] || { echo "$0: $predictions: not found (run inference on '$set' first)" >&2; exit 1; }
if [ -z "$classes" ] && [ -f "$exp/classes.txt" ]; then
  classes=$exp/classes.txt
fi
opts=()
[ -n "$classes" ] && opts+=(--classes "$classes")
mkdir -p "$dir/log"
log=$dir/log/score.log
cmd=(python -m emogcn.bin.score "${opts[@]}" --title "${title:-$exp/$set}" "$predictions" "$dir")
echo "# ${cmd[*]}" >"$log"
if ! "${cmd[@]}" >>"$log" 2>&1; then
  echo "$0: scoring failed, see $log:" >&2
  tail -n 5 "$log" >&2
  exit 1
fi
grep -v '^#' "$log"
