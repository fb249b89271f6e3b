#!/usr/bin/env bash
# Stage 0 of a corpus recipe: local/prepare_<corpus>.py writes <data>/all (every labelled file of
# the corpus, with counts and every skipped file reported) and the corpus's fold protocol in
# <data>/folds (docs/CORPORA.md, "Protocols"; the prepare script's default unless --fold-opts says
# otherwise), optionally restricted to some classes. Corpus `mini` is synthesized into <db-root> instead.
# Both appear only when complete (written as .tmp, validated, renamed); <data>/all/.done, written
# last, records what they were made from (corpus, folder, classes, fold options, label map): a
# finished stage 0 asked for the same is skipped, asked for anything else it is refused.
#
# Usage: steps/prepare_corpus.sh [--classes all|four|a,b,..] [--fold-opts "..."] [--prepare-opts "..."]
#                                <corpus> <db-root> <data>
#   e.g. steps/prepare_corpus.sh --classes four ravdess /data/RAVDESS data
# A <db-root> of '-' means the folder a finished stage 0 was made from (recipes rerun without --db-root).
set -euo pipefail

classes=all          # all | four (conf/emotions.yaml four_class) | a comma-separated list
labels=conf/emotions.yaml
fold_opts=           # e.g. "--protocol groups --num-groups 5" (default: the corpus's protocol)
prepare_opts=        # more options for local/prepare_<corpus>.py
help_message="Usage: $0 [--classes all|four|a,b] [--fold-opts '...'] [--prepare-opts '...'] <corpus> <db-root> <data>"

. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
corpus=$1; db_root=$2; data=$3

if [ "$db_root" = - ]; then
  [ -f "$data/all/.done" ] || die "stage 0 needs the corpus folder: --db-root <$corpus-dir>"
  db_root=$(python -m emogcn.bin.stage get "$data/all/.done" made_from.options.db_root) || exit 1
fi
made_from=(--config labels="$labels" --option corpus="$corpus" --option db_root="$(readlink -m "$db_root")"
           --option classes="$classes" --option fold_opts="$fold_opts" --option prepare_opts="$prepare_opts")
if stage_done "$data/all/.done" "stage 0: $data/all and $data/folds" "${made_from[@]}" \
    --ways "remove $data/all and $data/folds (and what was made from them) to prepare again, or use another recipe directory"; then
  exit 0
fi
[ "$corpus" = mini ] || [ -d "$db_root" ] || die "corpus folder '$db_root' not found (--db-root)"
rm -rf "$data/all.tmp" "$data/folds.tmp"
mkdir -p "$data"
# shellcheck disable=SC2086  # the option strings are word lists
if [ "$corpus" = mini ]; then
  python local/make_mini_corpus.py $prepare_opts "$db_root" "$data/all.tmp"
  python -m emogcn.bin.make_folds ${fold_opts:---protocol groups --num-groups 4} "$data/all.tmp" "$data/folds.tmp"
else
  [ -f "local/prepare_$corpus.py" ] || die "no local/prepare_$corpus.py for corpus '$corpus'"
  python "local/prepare_$corpus.py" --labels "$labels" --folds-dir "$data/folds.tmp" $fold_opts $prepare_opts \
    "$db_root" "$data/all.tmp"
fi
python -m emogcn.bin.datadir select-classes --classes "$classes" --labels "$labels" "$data/all.tmp" "$data/folds.tmp"
utils/validate_data_dir.sh --labels "$labels" "$data/all.tmp"
python -m emogcn.bin.datadir confound "$data/all.tmp"  # speakers who speak one emotion defeat per-speaker CMVN
rm -rf "$data/all" "$data/folds"
mv "$data/folds.tmp" "$data/folds"
mv "$data/all.tmp" "$data/all"
python -m emogcn.bin.stage write --stage data --label corpus="$corpus" --label classes="$classes" \
  "${made_from[@]}" "$data/all/.done"
