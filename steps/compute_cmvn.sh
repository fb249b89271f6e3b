#!/usr/bin/env bash
# Computes CMVN statistics of a data directory with features (Kaldi's compute_cmvn_stats.sh):
# per speaker into <data>/cmvn.scp, and over the whole directory into <data>/cmvn_global.scp
# (one key, `global`; a test set is normalised with its training set's). The ark files go to
# <cmvn-dir>, a log to <log-dir>/compute_cmvn.log.

set -euo pipefail

cmd=utils/run.pl

help_message="Usage: $0 [options] <data-dir> <log-dir> <cmvn-dir>
e.g.: $0 data/emodb/all exp/compute_cmvn/emodb cmvn
Options:
  --cmd <cmd>     how to run the job, e.g. utils/run.pl (default: $cmd)"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 1
fi

data=${1%/}
logdir=${2%/}
cmvndir=${3%/}

[ -f "$data/feats.scp" ] || die "$data/feats.scp not found; run steps/make_feats.sh first"
utils/validate_data_dir.sh --need-feats "$data" || die "$data is not a valid data directory (see above)"

mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd)  # the scp files hold absolute paths to the arks
name=$(printf '%s' "$data" | sed -e 's:^\./::' -e 's:^/*::' -e 's:/:_:g')

log "computing CMVN statistics of $data; log in $logdir/compute_cmvn.log"
if ! $cmd "$logdir/compute_cmvn.log" python -m emogcn.bin.compute_cmvn --name "$name" "$data" "$cmvndir"; then
  die "computing CMVN statistics failed; see $logdir/compute_cmvn.log"
fi
log "done: $data/cmvn.scp ($(wc -l < "$data/cmvn.scp") speakers) and $data/cmvn_global.scp"
