#!/usr/bin/env bash
# Multilingual and cross-corpus speech emotion recognition over any set of corpora.
#
#   ./run.sh --corpora "emodb mini" --db-roots "emodb=/data/emodb" --mode matrix
#   ./run.sh --corpora "emodb ravdess emovo" --db-roots "emodb=... ravdess=... emovo=..." --mode loco
#
# Modes (emogcn/data/multicorpus.py):
#   pooled  every corpus's fold k trains one model; its test speakers are scored per corpus and language
#   loco    leave one corpus out: train on the others, test on the whole held-out corpus
#   matrix  train on each corpus (fold 1), test on its own test speakers and on every other corpus
# The label space is --classes (default four: angry/happy/neutral/sad, which every corpus shares).
# Corpus `mini` is synthesized (no --db-roots entry needed). Tables go to RESULTS.md and heat maps
# to exp/<sets>/<experiment>/ua_by_{corpus,lang}.png.
#
#   0 data      steps/prepare_corpus.sh per corpus                    -> data/<corpus>/{all,folds}
#   1-2 feats   steps/recipe.sh stages 1-2 per corpus                  -> features, per-speaker CMVN
#   3 sets      the mode's splits, their global CMVN and label graphs  -> data/<sets>/<split>, exp/<sets>/graph
#   4 train     steps/train.sh per variant, seed and split             -> exp/<sets>/<variant>_<tag>_seed<s>/<split>
#   5 score     steps/infer.sh + steps/score.sh per test set, tables   -> RESULTS.md, heat maps
# where <sets> = <mode>_<corpus1>_<corpus2>..., so other corpus lists never reuse these results.
set -euo pipefail

corpora="mini emodb"
db_roots=""                 # "emodb=/path/to/emodb ravdess=/path/to/ravdess ..."
mode=matrix                 # pooled | loco | matrix
classes=four
stage=0
stop_stage=5
nj=2
seeds="0"
folds="1"                   # pooled mode: the folds to run
epochs=
gpu=auto
variants="single_task emotion_gcn"
train_config_prefix=conf/train_ecapa_
train_tag=ecapa
graph_config=conf/graph.yaml
word_vectors=               # node features: one .vec file, or per language "en=wiki.multi.en.vec de=..."
help_message="Usage: $0 [--corpora 'mini emodb'] [--db-roots 'emodb=DIR ...'] [--mode pooled|loco|matrix]
       [--classes four|all] [--stage 0] [--stop-stage 5] [--seeds '0'] [--epochs N] [--variants '...']"

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }
root_of() {  # the --db-roots entry of a corpus
  local pair
  for pair in $db_roots; do [ "${pair%%=*}" != "$1" ] || { echo "${pair#*=}"; return; }; done
  [ "$1" != mini ] || { echo db/mini; return; }
  echo "$0: no --db-roots entry for corpus '$1' (e.g. --db-roots \"$1=/path/to/$1\")" >&2
  return 1
}
sets=${mode}_${corpora// /_}

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 0 ]; then
  for c in $corpora; do
    if [ "$stage" -le 0 ]; then
      db=$(root_of "$c")
      log "stage 0: $c from $db"
      steps/prepare_corpus.sh --classes "$classes" "$c" "$db" "data/$c"
    fi
    if [ "$stop_stage" -ge 1 ]; then
      log "stages 1-2: features and CMVN of $c"
      steps/recipe.sh --data "data/$c" --exp "exp/$c" --stage "$(( stage > 1 ? stage : 1 ))" \
        --stop-stage "$(( stop_stage < 2 ? stop_stage : 2 ))" --nj "$nj" --cmd "$train_cmd"
    fi
  done
fi

corpus_dirs=()
for c in $corpora; do corpus_dirs+=("$c=data/$c"); done
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  if [ -f "data/$sets/.done" ]; then
    log "stage 3: data/$sets already written"
  else
    log "stage 3: $mode sets of $corpora"
    python -m emogcn.bin.cross_corpus sets --mode "$mode" --folds "$folds" "data/$sets" "${corpus_dirs[@]}" \
      > "data/$sets.splits"
    for split in $(cat "data/$sets.splits"); do
      steps/compute_cmvn.sh --cmd "$train_cmd" "data/$sets/$split/train" "exp/$sets/compute_cmvn/$split" \
        "data/$sets/cmvn/$split"
    done
    mv "data/$sets.splits" "data/$sets/splits"
    touch "data/$sets/.done"
  fi
  graph_opts=(--config "$graph_config")
  [ -z "$word_vectors" ] || graph_opts+=(--word-vectors "$word_vectors")
  for split in $(cat "data/$sets/splits"); do
    g=exp/$sets/graph/$split
    [ -f "$g/.done" ] || steps/build_graph.sh --cmd "$train_cmd" "${graph_opts[@]}" "data/$sets/$split/train" "$g"
  done
fi

name_of() { echo "$1${train_tag:+_$train_tag}_seed$2"; }
if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for seed in $seeds; do
    for variant in $variants; do
      for split in $(cat "data/$sets/splits"); do
        log "stage 4: $variant, seed $seed, $split"
        steps/train.sh --cmd "$train_cmd" --gpu "$gpu" --seed "$seed" ${epochs:+--epochs "$epochs"} \
          "$train_config_prefix$variant.yaml" "data/$sets/$split/train" "data/$sets/$split/dev" \
          "exp/$sets/graph/$split" "exp/$sets/$(name_of "$variant" "$seed")/$split"
      done
    done
  done
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for seed in $seeds; do
    for variant in $variants; do
      e=exp/$sets/$(name_of "$variant" "$seed")
      for split in $(cat "data/$sets/splits"); do
        for test in $(cat "data/$sets/$split/tests"); do
          steps/infer.sh --cmd "$train_cmd" --gpu "$gpu" "$e/$split" "data/$sets/$split/$test" "$test"
          steps/score.sh "$e/$split" "$test"
        done
      done
      python -m emogcn.bin.cross_corpus table --mode "$mode" --name "$(name_of "$variant" "$seed")" \
        --results RESULTS.md "$e" $(cat "data/$sets/splits")
    done
  done
fi
