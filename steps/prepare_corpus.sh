#!/usr/bin/env bash
# Stage 0 of a corpus recipe: local/prepare_<corpus>.py writes <data>/all (every labelled file of
# the corpus, with counts and every skipped file reported) and the corpus's fold protocol in
# <data>/folds (CORPORA.md; the prepare script's default unless --fold-opts says otherwise),
# optionally restricted to some classes. Corpus `mini` is synthesized into <db-root> instead.
# Both appear only when complete (written as .tmp, validated, renamed); a finished stage 0 is
# skipped.
#
# Usage: steps/prepare_corpus.sh [--classes all|four|a,b,..] [--fold-opts "..."] [--prepare-opts "..."]
#                                <corpus> <db-root> <data>
#   e.g. steps/prepare_corpus.sh --classes four ravdess /data/RAVDESS data
set -euo pipefail

classes=all          # all | four (conf/emotions.yaml four_class) | a comma-separated list
labels=conf/emotions.yaml
fold_opts=           # e.g. "--protocol groups --num-groups 5" (default: the corpus's protocol)
prepare_opts=        # more options for local/prepare_<corpus>.py
help_message="Usage: $0 [--classes all|four|a,b] [--fold-opts '...'] [--prepare-opts '...'] <corpus> <db-root> <data>"

. ./path.sh
. utils/parse_options.sh

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
corpus=$1; db_root=$2; data=$3

if [ -f "$data/all/.done" ]; then  # written last: the folds are complete too
  echo "$0: $data/all and $data/folds already prepared ($(cat "$data/all/.done"))" >&2
  exit 0
fi
rm -rf "$data/all.tmp" "$data/folds.tmp"
mkdir -p "$data"
# shellcheck disable=SC2086  # the option strings are word lists
if [ "$corpus" = mini ]; then
  python local/make_mini_corpus.py $prepare_opts "$db_root" "$data/all.tmp"
  python -m emogcn.bin.make_folds ${fold_opts:---protocol groups --num-groups 4} "$data/all.tmp" "$data/folds.tmp"
else
  [ -f "local/prepare_$corpus.py" ] || { echo "$0: no local/prepare_$corpus.py for corpus '$corpus'" >&2; exit 1; }
  [ -d "$db_root" ] || { echo "$0: corpus folder '$db_root' not found (--db-root)" >&2; exit 1; }
  python "local/prepare_$corpus.py" --labels "$labels" --folds-dir "$data/folds.tmp" $fold_opts $prepare_opts \
    "$db_root" "$data/all.tmp"
fi
python -m emogcn.bin.datadir select-classes --classes "$classes" --labels "$labels" "$data/all.tmp" "$data/folds.tmp"
utils/validate_data_dir.sh --labels "$labels" "$data/all.tmp"
rm -rf "$data/all" "$data/folds"
mv "$data/folds.tmp" "$data/folds"
mv "$data/all.tmp" "$data/all"
echo "corpus $corpus classes $classes" > "$data/all/.done"
