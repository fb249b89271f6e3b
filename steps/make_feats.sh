#!/usr/bin/env bash
# Computes fbank/MFCC features for a data directory with nj parallel jobs (Kaldi's make_fbank.sh),
# or, with a face config (conf/face*.yaml), the aligned face crops of its img.scp.
# Writes <feat-dir>/feats_<name>.<n>.{ark,scp}, then <data>/feats.scp, utt2num_frames and utt2dur.
# Utterances whose audio cannot be used are listed (with the reason) in <log-dir>/failed.txt and
# dropped from the data directory; more than --max-fail-fraction of them fails the stage.

set -euo pipefail

nj=4
cmd=utils/run.pl
config=conf/fbank.yaml
max_fail_fraction=0.1

help_message="Usage: $0 [options] <data-dir> <log-dir> <feat-dir>
e.g.: $0 --nj 4 --cmd utils/run.pl data/emodb/all exp/make_fbank/emodb fbank
Options:
  --nj <n>                    parallel jobs, each a share of the utterances (default: $nj)
  --cmd <cmd>                 how to run jobs, e.g. utils/run.pl (default: $cmd)
  --config <yaml>             feature config (default: $config)
  --max-fail-fraction <f>     fail when more than this fraction of utterances fails (default: $max_fail_fraction)"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 1
fi

data=${1%/}
logdir=${2%/}
featdir=${3%/}

[ -f "$config" ] || die "feature config '$config' not found"
[ -f "$data/wav.scp" ] || [ -f "$data/img.scp" ] || die "$data has neither wav.scp nor img.scp"
if ! awk -v f="$max_fail_fraction" 'BEGIN { exit !(f + 0 == f && f >= 0 && f <= 1) }'; then
  die "--max-fail-fraction must be a number in [0, 1], not '$max_fail_fraction'"
fi
case "$nj" in ''|*[!0-9]*|0) die "--nj must be a positive integer, not '$nj'" ;; esac

# Outputs of an earlier feature run describe other features: move them out of the way (Kaldi does
# the same), so that validation and later stages never mix old and new.
for f in feats.scp utt2num_frames utt2dur cmvn.scp cmvn_global.scp; do
  if [ -f "$data/$f" ]; then
    mkdir -p "$data/.backup"
    log "moving $data/$f to $data/.backup/"
    mv "$data/$f" "$data/.backup/$f"
  fi
done

utils/validate_data_dir.sh --no-feats "$data" || die "$data is not a valid data directory (see above)"

mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd)  # the scp files hold absolute paths to the arks
# A name per data directory, so that several data dirs can share one feature directory.
name=$(printf '%s' "$data" | sed -e 's:^\./::' -e 's:^/*::' -e 's:/:_:g')

# Features are per utterance, so the jobs split by utterance (--per-utt), not by speaker: with
# corpora of 4-10 speakers a speaker split leaves the jobs unequal (EmoDB in 2: 278 and 257).
num_utts=$(wc -l < "$data/utt2spk")
if [ "$nj" -gt "$num_utts" ]; then
  log "only $num_utts utterances: using --nj $num_utts instead of $nj"
  nj=$num_utts
fi
utils/split_data.sh --per-utt "$data" "$nj" > /dev/null

# The config used, kept with the data it describes (as Kaldi keeps data/<set>/conf/).
mkdir -p "$data/conf"
cp "$config" "$data/conf/.feats.yaml.tmp" && mv "$data/conf/.feats.yaml.tmp" "$data/conf/feats.yaml"

# Leftovers of a killed earlier run (temporary names) and outputs of a run with another nj; only
# job numbers between name and suffix, so that data/train_sp0.9 is not taken for data/train_sp0.
shopt -s extglob
outputs='@(ark|scp|utt2num_frames|utt2dur|failed)'
# shellcheck disable=SC2086
rm -f "$featdir"/feats_"$name".+([0-9]).$outputs "$featdir"/.feats_"$name".+([0-9]).$outputs.tmp

log "computing features for $data ($num_utts utterances) with $nj jobs; logs in $logdir"
if ! $cmd JOB=1:"$nj" "$logdir/make_feats.JOB.log" \
    python -m emogcn.bin.make_feats --config "$config" "$data/split${nj}utt/JOB" "$featdir/feats_$name.JOB"; then
  die "feature extraction failed; see $logdir/make_feats.*.log"
fi
for n in $(seq "$nj"); do
  [ -f "$featdir/feats_$name.$n.scp" ] || die "job $n left no $featdir/feats_$name.$n.scp; see $logdir/make_feats.$n.log"
done

# Failures over all jobs.
for n in $(seq "$nj"); do cat "$featdir/feats_$name.$n.failed"; done | LC_ALL=C sort > "$logdir/failed.txt"
num_failed=$(wc -l < "$logdir/failed.txt")
if [ "$num_failed" -gt 0 ]; then
  log "$num_failed of $num_utts utterances failed (list in $logdir/failed.txt):"
  sed 's/^/  /' "$logdir/failed.txt" >&2
fi
if awk -v n="$num_failed" -v t="$num_utts" -v f="$max_fail_fraction" 'BEGIN { exit !(n > f * t) }'; then
  fraction=$(awk -v n="$num_failed" -v t="$num_utts" 'BEGIN { printf "%.3f", n / t }')
  die "$num_failed of $num_utts utterances (fraction $fraction) failed feature extraction, more than --max-fail-fraction $max_fail_fraction; reasons in $logdir/failed.txt"
fi

# Combine the jobs' lists, each written under a temporary name and renamed when complete.
for f in utt2num_frames utt2dur scp; do
  out=$f; [ "$f" = scp ] && out=feats.scp
  for n in $(seq "$nj"); do cat "$featdir/feats_$name.$n.$f"; done | LC_ALL=C sort > "$data/.$out.tmp"
done
mv "$data/.utt2num_frames.tmp" "$data/utt2num_frames"
if [ -s "$data/.utt2dur.tmp" ]; then mv "$data/.utt2dur.tmp" "$data/utt2dur"; else rm -f "$data/.utt2dur.tmp"; fi  # none for images
mv "$data/.feats.scp.tmp" "$data/feats.scp"

if [ "$num_failed" -gt 0 ]; then
  log "dropping the $num_failed utterances without features from $data"
  utils/fix_data_dir.sh "$data"
fi
num_feats=$(wc -l < "$data/feats.scp")
[ "$num_feats" -eq "$(wc -l < "$data/utt2spk")" ] || die "$data/feats.scp has $num_feats entries but utt2spk has $(wc -l < "$data/utt2spk")"
log "done: features for $num_feats utterances of $data in $featdir"
